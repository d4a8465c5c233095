"""`adal admin` as an operator runs it: a real process. The printed enrolment URI gives a working
authenticator; the seed is printed once and never again."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pyotp
from sqlalchemy import select, text

from plugin.admin.models import AdminAccount
from plugin.kernel.audit import AuditEntry

ADAL = str(Path(sys.executable).parent / "adal")
PASSWORD = "correct horse battery staple"


def _adal(config, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {"ADAL_INSTANCE_PATH": str(config.instance_path), "ADAL_DATABASE_URL": config.database_url,
           "ADAL_LANG": "en", "PATH": "/usr/bin:/bin"}
    return subprocess.run([ADAL, *args], env=env, capture_output=True, text=True, timeout=60, input=stdin)


def _sign_in(app, username: str, password: str, code: str) -> int:
    client = app.test_client()
    html = client.get("/admin/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    assert client.post("/admin/login", data={"csrf_token": token, "username": username,
                                             "password": password}).status_code == 303
    html = client.get("/admin/second-factor").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    client.post("/admin/second-factor", data={"csrf_token": token, "code": code})
    return client.get("/admin/").status_code


def test_create_prints_an_enrolment_that_signs_in(config, app):
    created = _adal(config, "admin", "create", "Alice", "--password-stdin", stdin=PASSWORD + "\n")
    assert created.returncode == 0, created.stderr
    uri = re.search(r"^otpauth://totp/\S+$", created.stdout, re.M).group(0)
    totp = pyotp.parse_uri(uri)
    assert totp.issuer == "Adal" and totp.name == "alice"
    assert "\u2580" in created.stdout or "\u2584" in created.stdout or "\u2588" in created.stdout  # the QR code
    codes = re.findall(r"^  ([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})$", created.stdout, re.M)
    assert len(codes) == 10
    assert _sign_in(app, "alice", PASSWORD, totp.now()) == 200
    assert _sign_in(app, "alice", PASSWORD, codes[0]) == 200  # a recovery code, once
    assert _sign_in(app, "alice", PASSWORD, codes[0]) == 302

    listed = _adal(config, "admin", "list")
    assert listed.returncode == 0 and "alice  active" in listed.stdout and "9 recovery codes left" in listed.stdout
    assert totp.secret not in listed.stdout  # the seed is not shown again
    again = _adal(config, "admin", "create", "alice", "--password-stdin", stdin=PASSWORD + "\n")
    assert again.returncode == 1 and "exists already" in again.stderr
    short = _adal(config, "admin", "create", "bob", "--password-stdin", stdin="short\n")
    assert short.returncode == 1 and "at least 12" in short.stderr

    runtime = app.extensions["adal.runtime"]
    with runtime.session() as session:
        assert session.execute(select(AdminAccount.username)).scalars().all() == ["alice"]
        sealed = session.execute(text("SELECT totp_seed_sealed FROM admin_account")).scalar_one()
        assert totp.secret not in sealed
        created_entry = session.execute(select(AuditEntry).where(AuditEntry.action == "admin.created")).scalar_one()
        assert created_entry.actor.startswith("system:cli:")


def test_unlock_and_reset_second_factor(config, app):
    assert _adal(config, "admin", "create", "alice", "--password-stdin", stdin=PASSWORD + "\n").returncode == 0
    runtime = app.extensions["adal.runtime"]
    client = app.test_client()
    for attempt in range(5):
        html = client.get("/admin/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
        assert client.post("/admin/login", data={"csrf_token": token, "username": "alice",
                                                 "password": f"wrong {attempt}"}).status_code == 401
    assert "locked until" in _adal(config, "admin", "list").stdout
    unlocked = _adal(config, "admin", "unlock", "alice")
    assert unlocked.returncode == 0 and "alice" in unlocked.stdout
    assert "alice  active" in _adal(config, "admin", "list").stdout
    assert _adal(config, "admin", "unlock", "nobody").returncode == 1

    reset = _adal(config, "admin", "reset-second-factor", "alice")
    assert reset.returncode == 0, reset.stderr
    fresh = pyotp.parse_uri(re.search(r"^otpauth://totp/\S+$", reset.stdout, re.M).group(0))
    assert _sign_in(app, "alice", PASSWORD, fresh.now()) == 200
    with runtime.session() as session:
        actions = session.execute(select(AuditEntry.action).where(AuditEntry.action.like("admin.%"))
                                  .order_by(AuditEntry.seq)).scalars().all()
    assert actions.count("admin.locked") == 1 and "admin.unlocked" in actions and "admin.second_factor_reset" in actions
