"""`adal retention run`, `adal hold` and `adal subject` as cron and an administrator run them, on a
fresh instance (each command builds its app from the environment). Expired data leaves the
database and the file store, the audit chain still verifies, a second run changes nothing, bad
input changes nothing."""

from __future__ import annotations

import io
import json
import subprocess
import zipfile
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from appeals.models import Case
from attribution.models import Submission
from plugin.app import create_app
from plugin.cli import main
from plugin.kernel.clock import now_utc
from plugin.kernel.retention_records import AnonymisedCase, LegalHold
from plugin.kernel.users import User
from tests.unit.admin.retention_world import case, counts, file_shas, hand_in, student

_BUILT: list = []


@pytest.fixture(autouse=True)
def _apps_disposed(monkeypatch):
    """Each command builds its app; its engine is closed once the command returns."""
    import plugin.cli

    def build(config):
        _BUILT.append(create_app(config))
        return _BUILT[-1]

    monkeypatch.setattr(plugin.cli, "create_app", build)


def _adal(config, *args: str) -> subprocess.CompletedProcess[str]:
    """The command in this process (click's runner): each one still builds its own app from the
    environment, as the installed ``adal`` does, without paying for a new interpreter."""
    env = {"ADAL_INSTANCE_PATH": str(config.instance_path), "ADAL_DATABASE_URL": config.database_url,
           "ADAL_LANG": "en"}
    try:
        result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    finally:
        while _BUILT:
            _BUILT.pop().extensions["adal.runtime"].engine.dispose()
    return subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)


def _snapshot(rt) -> dict[str, int]:
    with rt.session() as session:
        return counts(session)


def test_retention_run_holds_and_subject_requests(config, app, tmp_path):
    rt = app.extensions["adal.runtime"]
    now = now_utc()
    long_ago = now - timedelta(days=730)  # its term ended more than a year ago
    with app.app_context(), rt.session() as s:
        expired_one, recent_one, dismissed_one, held_one = student(s), student(s), student(s), student(s)
        expired = hand_in(s, expired_one, when=long_ago)
        recent = hand_in(s, recent_one, when=now - timedelta(days=10))
        dismissed_work = hand_in(s, dismissed_one, when=long_ago)
        dismissed = case(s, dismissed_work, dismissed_one, state="not_responsible",
                         decided=long_ago + timedelta(days=20))
        held = hand_in(s, held_one, when=long_ago)
        ids = {"expired": expired.id, "recent": recent.id, "dismissed_work": dismissed_work.id,
               "case": dismissed.id, "held": held.id, "recent_user": recent_one.user.id,
               "held_user": held_one.user.id, "recent_name": recent_one.user.display_name}
        gone_files = file_shas(s, expired) | file_shas(s, dismissed_work)
        kept_files = file_shas(s, recent) | file_shas(s, held)
        s.commit()
    assert gone_files and all(rt.files.exists(sha) for sha in gone_files | kept_files)

    # a hold, by its CLI; then bad holds are refused and change nothing
    added = _adal(config, "hold", "add", "--user", str(ids["held_user"]), "--reason", "Complaint under review")
    assert added.returncode == 0, added.stderr
    before = _snapshot(rt)
    no_case = _adal(config, "hold", "add", "--case", "1999-0001", "--reason", "x")
    assert no_case.returncode == 1 and "There is no case 1999-0001" in no_case.stderr
    nothing = _adal(config, "hold", "add", "--reason", "x")
    assert nothing.returncode == 2 and "exactly one of" in nothing.stderr
    assert _snapshot(rt) == before
    listed = _adal(config, "hold", "list")
    assert listed.returncode == 0 and "Complaint under review" in listed.stdout

    dry = _adal(config, "retention", "run", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "Dry run: nothing was changed" in dry.stdout
    assert "Submissions and their stamped copies: rows " in dry.stdout and "kept (legal hold) 1" in dry.stdout
    assert _snapshot(rt) == before
    assert all(rt.files.exists(sha) for sha in gone_files)

    run = _adal(config, "retention", "run")
    assert run.returncode == 0, run.stderr
    # the dry run printed what the run then did
    assert run.stdout.splitlines()[1:] == dry.stdout.splitlines()[1:]
    with rt.session() as s:
        assert s.get(Submission, ids["expired"]) is None and s.get(Submission, ids["dismissed_work"]) is None
        assert s.get(Case, ids["case"]) is None
        assert s.get(Submission, ids["recent"]) is not None and s.get(Submission, ids["held"]) is not None
        assert len(s.execute(select(AnonymisedCase)).scalars().all()) == 1
    assert not any(rt.files.exists(sha) for sha in gone_files)
    assert all(rt.files.exists(sha) for sha in kept_files)
    verified = _adal(config, "audit", "verify")
    assert verified.returncode == 0 and "chain intact" in verified.stdout, verified.stderr

    after = _snapshot(rt)
    again = _adal(config, "retention", "run")
    assert again.returncode == 0 and "Nothing has expired." in again.stdout
    assert _snapshot(rt) == after

    # the person's data, exported
    out = tmp_path / "subject.zip"
    exported = _adal(config, "subject", "export", str(ids["recent_user"]), "-o", str(out))
    assert exported.returncode == 0, exported.stderr
    archive = zipfile.ZipFile(io.BytesIO(out.read_bytes()))
    data = json.loads(archive.read("data.json"))
    assert [row["id"] for row in data["tables"]["submission"]] == [ids["recent"]]
    assert {f"files/{sha}" for sha in file_shas_of(rt, ids["recent"])} <= set(archive.namelist())

    # erased: refused for the held person (nothing changes), done for the other
    before = _snapshot(rt)
    refused = _adal(config, "subject", "erase", str(ids["held_user"]))
    assert refused.returncode == 1 and "legal hold" in refused.stderr
    preview = _adal(config, "subject", "erase", str(ids["recent_user"]), "--dry-run")
    assert preview.returncode == 0 and "Dry run" in preview.stdout
    assert _snapshot(rt) == before
    erased = _adal(config, "subject", "erase", str(ids["recent_user"]))
    assert erased.returncode == 0 and "Account deleted." in erased.stdout, erased.stderr
    with rt.session() as s:
        assert s.get(User, ids["recent_user"]) is None and s.get(Submission, ids["recent"]) is None
        hold = s.execute(select(LegalHold)).scalar_one()
    recent_files = file_shas_of_gone(kept_files, rt)
    assert recent_files and not any(rt.files.exists(sha) for sha in recent_files)
    assert _adal(config, "audit", "verify").returncode == 0

    released = _adal(config, "hold", "remove", str(hold.id))
    assert released.returncode == 0 and f"#{hold.id} released" in released.stdout


def file_shas_of(rt, submission_id: int) -> set[str]:
    with rt.session() as s:
        return file_shas(s, s.get(Submission, submission_id))


def file_shas_of_gone(candidates: set[str], rt) -> set[str]:
    """Of ``candidates``, the blobs no submission references any more (they must be gone)."""
    from plugin.admin.retention import is_referenced

    with rt.session() as s:
        return {sha for sha in candidates if not is_referenced(s, sha)}
