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
