"""`adal commission` as an administrator runs it: a real process on a fresh instance."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from appeals.models import CommissionMember
from plugin.kernel.audit import AuditEntry
from plugin.kernel.clock import now_utc
from plugin.kernel.db import make_engine
from plugin.kernel.users import User, ensure_user

ADAL = str(Path(sys.executable).parent / "adal")
LMS = "https://lms.example.test"
NAME = "Академиялық адалдық комиссиясы (сынақ)"


def _adal(config, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"ADAL_INSTANCE_PATH": str(config.instance_path), "ADAL_DATABASE_URL": config.database_url,
           "ADAL_LANG": "en", "PATH": "/usr/bin:/bin"}
    return subprocess.run([ADAL, *args], env=env, capture_output=True, text=True, timeout=60)


def _add(config, subject: str, role: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return _adal(config, "commission", "add-member", NAME, "--issuer", LMS, "--subject", subject, "--role", role,
                 *extra)


def test_create_seat_list_and_remove(config, app):
    runtime = app.extensions["adal.runtime"]
    with runtime.session() as session:  # one person has launched Adal before: no name needed for them
        ensure_user(session, issuer=LMS, subject="staff-1", display_name="Гүлнар Сынаққызы", now=now_utc())
        session.commit()

    created = _adal(config, "commission", "create", NAME, "--scope", "institution")
    assert created.returncode == 0, created.stderr
    assert f"Commission {NAME} created" in created.stdout
    again = _adal(config, "commission", "create", NAME)
    assert again.returncode == 1 and "exists already" in again.stderr

    assert _add(config, "staff-1", "chair").returncode == 0
    unknown = _add(config, "staff-2", "secretary")
    assert unknown.returncode == 1 and "--name" in unknown.stderr and "staff-2" in unknown.stderr
    secretary = _add(config, "staff-2", "secretary", "--name", "Ержан Үлгібеков")
    assert secretary.returncode == 0, secretary.stderr
    assert secretary.stdout.strip() == f"Ержан Үлгібеков is on {NAME} as secretary."

    second_chair = _add(config, "staff-3", "chair", "--name", "Әсел Демобаева")
    assert second_chair.returncode == 1
    assert "already has a chair, Гүлнар Сынаққызы" in second_chair.stderr
    bad_role = _add(config, "staff-3", "president", "--name", "Әсел Демобаева")
    assert bad_role.returncode == 2 and "president" in bad_role.stderr
    assert _add(config, "staff-3", "member", "--name", "Әсел Демобаева").returncode == 0
    no_such = _adal(config, "commission", "add-member", "Жоқ", "--issuer", LMS, "--subject", "staff-1",
                    "--role", "member")
    assert no_such.returncode == 1 and "no commission named Жоқ" in no_such.stderr

    listed = _adal(config, "commission", "list")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0] == f"{NAME}  (institution)"
    assert [line.split()[0] for line in lines[1:4]] == ["chair", "secretary", "member"]
    assert "Гүлнар Сынаққызы" in lines[1] and f"{LMS} staff-1" in lines[1]
    assert "Ready to take cases." in lines[4]

    removed = _adal(config, "commission", "remove-member", NAME, "--issuer", LMS, "--subject", "staff-2")
    assert removed.returncode == 0, removed.stderr
    assert "no longer on" in removed.stdout and "no secretary" in removed.stdout
    gone = _adal(config, "commission", "remove-member", NAME, "--issuer", LMS, "--subject", "staff-2")
    assert gone.returncode == 1 and "not an active member" in gone.stderr
    listed = _adal(config, "commission", "list").stdout
    assert "(former member)" in listed and "Cannot take cases yet: It has no secretary" in listed

    engine = make_engine(config.database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(User.subject, CommissionMember.role, CommissionMember.active)
                                .join(User, User.id == CommissionMember.user_id).order_by(User.subject)).all()
            actions = conn.execute(select(AuditEntry.action).order_by(AuditEntry.seq)).scalars().all()
    finally:
        engine.dispose()
    assert [tuple(r) for r in rows] == [("staff-1", "chair", True), ("staff-2", "secretary", False),
                                        ("staff-3", "member", True)]
    assert [a for a in actions if a.startswith("commission.")] == [
        "commission.created", "commission.member_added", "commission.member_added", "commission.member_added",
        "commission.member_removed"]
    assert _adal(config, "audit", "verify").returncode == 0
