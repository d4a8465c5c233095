"""The CLI as a user runs it: `adal init`, `adal db upgrade`, `adal serve` answering over HTTP."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ADAL = str(Path(sys.executable).parent / "adal")


def _env(instance: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADAL_")}
    env.update({"ADAL_INSTANCE_PATH": str(instance), "ADAL_LANG": "en", **extra})
    return env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str, **headers: str) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8")


def test_init_creates_keys_with_private_modes_and_is_repeatable(tmp_path):
    instance = tmp_path / "instance"
    first = subprocess.run([ADAL, "init"], env=_env(instance), capture_output=True, text=True, check=True)
    assert "Adal is ready." in first.stdout
    for name in ("secret.key", "audit.key", "data.key"):
        path = instance / name
        assert path.stat().st_mode & 0o777 == 0o600
        assert len(bytes.fromhex(path.read_text().strip())) == 32
    keys = {p.name: p.read_text() for p in instance.glob("*.key")}
    subprocess.run([ADAL, "init"], env=_env(instance), capture_output=True, text=True, check=True)
    assert keys == {p.name: p.read_text() for p in instance.glob("*.key")}, "a second init keeps the keys"
    upgraded = subprocess.run([ADAL, "db", "upgrade"], env=_env(instance), capture_output=True, text=True, check=True)
    assert re.search(r"revision \d{4}\.", upgraded.stdout)


def test_serve_refuses_an_unmigrated_database(tmp_path):
    result = subprocess.run([ADAL, "serve", "--port", str(_free_port())], env=_env(tmp_path / "instance"),
                            capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert "adal db upgrade" in result.stderr


@pytest.mark.slow
def test_serve_answers_healthz_and_pages_in_three_languages(tmp_path):
    instance = tmp_path / "instance"
    env = _env(instance)
    subprocess.run([ADAL, "init"], env=env, capture_output=True, check=True)
    port = _free_port()
    server = subprocess.Popen([ADAL, "serve", "--port", str(port), "--workers", "1"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                status, body = _get(f"{base}/healthz")
                break
            except (urllib.error.URLError, ConnectionError):
                assert server.poll() is None, server.stderr.read() if server.stderr else "server exited"
                assert time.monotonic() < deadline, "adal serve did not answer within 30 s"
                time.sleep(0.2)
        assert status == 200 and '"ok"' in body
        langs = {}
        for asked in ("", "?lang=ru", "?lang=en"):
            status, html = _get(f"{base}/{asked}")
            assert status == 200
            langs[asked] = re.search(r'<html lang="([a-z]+)"', html).group(1)
        assert langs == {"": "kk", "?lang=ru": "ru", "?lang=en": "en"}
        status, html = _get(f"{base}/missing", **{"Accept-Language": "ru"})
        assert status == 404 and '<html lang="ru"' in html
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=15)
        if server.stderr:
            server.stderr.close()


def test_background_copies_are_made_by_the_job_runner_that_serve_starts(tmp_path):
    """ADAL_COPY_MODE=background: the submission answers without its copy; the niced
    `adal jobs run --watch` that `adal serve` starts makes it; `adal jobs run` alone finds
    nothing left to do."""
    from pathlib import Path as _Path

    from attribution.submissions import Upload, pending_copies, submission_files, submit_work
    from plugin.app import create_app
    from plugin.config import load_config
    from tests.factories import T0, enrol, make_course, make_user
    from tests.factories_work import publish_test_notice
    from tests.work_samples import acknowledged, actor_for, disclosure, docx_bytes, make_assignment

    instance = tmp_path / "instance"
    env = _env(instance, ADAL_COPY_MODE="background")
    subprocess.run([ADAL, "init"], env=env, capture_output=True, text=True, check=True)
    app = create_app(load_config({"ADAL_INSTANCE_PATH": str(instance), "ADAL_COPY_MODE": "background"}))
    runtime = app.extensions["adal.runtime"]
    work = _Path(tmp_path / "w.docx")
    work.write_bytes(docx_bytes())
    with app.app_context(), runtime.session() as session:
        course, user = make_course(session), make_user(session)
        enrol(session, user, course)
        publish_test_notice(session)
        student = acknowledged(session, actor_for(user, course))
        assignment = make_assignment(session, course)
        submission, _ = submit_work(session, student, assignment.id, disclosure(), [Upload("w.docx", work)],
                                    statement_lang="kk", now=T0, copies="background")
        submission_id = submission.id
        session.commit()
        assert pending_copies(session) == [submission_id]
    port = _free_port()
    server = subprocess.Popen([ADAL, "serve", "--port", str(port), "--workers", "1"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            with runtime.session() as session:
                if not pending_copies(session):
                    roles = [f.role for f in submission_files(session, submission_id)]
                    break
            assert time.monotonic() < deadline, "the job runner did not make the copy"
            time.sleep(0.3)
        assert roles == ["original", "copy"]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    again = subprocess.run([ADAL, "jobs", "run"], env=env, capture_output=True, text=True, check=True, timeout=60)
    assert "0 submissions' copies made." in again.stdout
    runtime.engine.dispose()
