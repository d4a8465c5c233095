"""`adal reminders run` as cron runs it (a real process), and the SMTP settings it is given."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from plugin.config import ConfigError, load_config

ADAL = str(Path(sys.executable).parent / "adal")


def _run(config, **env: str) -> subprocess.CompletedProcess[str]:
    base = {"ADAL_INSTANCE_PATH": str(config.instance_path), "ADAL_DATABASE_URL": config.database_url,
            "ADAL_LANG": "en", "PATH": "/usr/bin:/bin", **env}
    return subprocess.run([ADAL, "reminders", "run"], env=base, capture_output=True, text=True, timeout=60)


def test_runs_without_smtp_and_says_so(config):
    first = _run(config)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "Reminders: 0 created; no e-mail is sent (ADAL_SMTP_HOST is not set)."


def test_with_smtp_it_prints_the_counts(config):
    from tests.smtp_server import smtp_server

    with smtp_server() as (inbox, port):
        done = _run(config, ADAL_SMTP_HOST="127.0.0.1", ADAL_SMTP_PORT=str(port), ADAL_SMTP_SECURITY="none",
                    ADAL_MAIL_FROM="adal@school.example.test")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "Reminders: 0 created, 0 e-mailed, 0 failed." and inbox.messages == []


def test_smtp_settings(tmp_path):
    env = {"ADAL_INSTANCE_PATH": str(tmp_path)}
    assert load_config(env).smtp is None
    smtp = load_config({**env, "ADAL_SMTP_HOST": "mail.example.test", "ADAL_MAIL_FROM": "adal@example.test",
                        "ADAL_SMTP_USER": "adal", "ADAL_SMTP_PASSWORD": "s3cret"}).smtp
    assert (smtp.host, smtp.port, smtp.security, smtp.user) == ("mail.example.test", 587, "starttls", "adal")
    assert "s3cret" not in repr(smtp)
    implicit = load_config({**env, "ADAL_SMTP_HOST": "m", "ADAL_MAIL_FROM": "a@b", "ADAL_SMTP_SECURITY": "tls"})
    assert implicit.smtp.port == 465
    with pytest.raises(ConfigError, match="ADAL_MAIL_FROM"):
        load_config({**env, "ADAL_SMTP_HOST": "mail.example.test"})
    with pytest.raises(ConfigError, match="ADAL_SMTP_SECURITY"):
        load_config({**env, "ADAL_SMTP_HOST": "m", "ADAL_MAIL_FROM": "a@b", "ADAL_SMTP_SECURITY": "ssl"})
    with pytest.raises(ConfigError, match="unencrypted"):
        load_config({**env, "ADAL_SMTP_HOST": "m", "ADAL_MAIL_FROM": "a@b", "ADAL_SMTP_SECURITY": "none",
                     "ADAL_SMTP_USER": "u"})
