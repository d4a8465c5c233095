"""Cookies behind an HTTPS reverse proxy, and the `adal platform` / `adal keys` commands."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lti.registry import add_platform
from plugin.kernel.clock import now_utc
from plugin.kernel.users import Actor
from tests.conftest import make_config
from tests.lti_platform import TestPlatform, login_params

ADAL = str(Path(sys.executable).parent / "adal")


@pytest.fixture
def https_app(tmp_path, migrated_url, make_app):
    app = make_app(make_config(tmp_path / "instance", migrated_url, ADAL_BASE_URL="https://adal.example.kz",
                                 ADAL_PROXY_FIX="1", ADAL_FRAME_ANCESTORS="https://moodle.example.kz"))
    with app.extensions["adal.runtime"].session() as session:
        add_platform(session, Actor.system("test"), now=now_utc(), issuer="https://moodle.example.kz",
                     client_id="c1", deployment_id="d1", keyset_url="https://moodle.example.kz/certs",
                     auth_login_url="https://moodle.example.kz/auth", auth_token_url="https://moodle.example.kz/token")
        session.commit()
    return app


def test_behind_https_proxy_cookies_are_samesite_none_secure_and_redirect_uri_is_base_url(https_app):
    client = https_app.test_client()
    response = client.get("/lti/login", query_string={
        "iss": "https://moodle.example.kz", "login_hint": "u1", "client_id": "c1",
        "target_link_uri": "https://adal.example.kz/lti/launch"},
        headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "adal.example.kz"})
    assert response.status_code == 302
    assert login_params(response.headers["Location"])["redirect_uri"] == "https://adal.example.kz/lti/launch"
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "SameSite=None" in cookie and "HttpOnly" in cookie
    assert https_app.config["SESSION_COOKIE_SAMESITE"] == "None" and https_app.config["SESSION_COOKIE_SECURE"]


def test_target_link_uri_must_be_adal_even_when_host_header_lies(https_app):
    response = https_app.test_client().get("/lti/login", query_string={
        "iss": "https://moodle.example.kz", "login_hint": "u1", "client_id": "c1",
        "target_link_uri": "https://evil.example/lti/launch"}, headers={"Host": "evil.example"})
    assert response.status_code == 400


def test_plain_http_on_loopback_keeps_lax_cookies(app):
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax" and not app.config["SESSION_COOKIE_SECURE"]


def _adal(config, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"ADAL_INSTANCE_PATH": str(config.instance_path), "ADAL_DATABASE_URL": config.database_url,
           "ADAL_LANG": "en", "PATH": "/usr/bin:/bin"}
    return subprocess.run([ADAL, *args], env=env, capture_output=True, text=True, timeout=60)


def test_platform_and_keys_commands(config):
    lms = TestPlatform("cli-lms")
    lms.base_url = "http://127.0.0.1:8999"
    args = lms.cli_args()
    added = _adal(config, "platform", "add", "--issuer", args["issuer"], "--client-id", args["client_id"],
                  "--deployment-id", args["deployment_id"], "--keyset-url", args["keyset_url"],
                  "--auth-login-url", args["auth_login_url"], "--auth-token-url", args["auth_token_url"])
    assert added.returncode == 0, added.stderr
    listed = _adal(config, "platform", "list")
    assert args["issuer"] in listed.stdout and "deployments=dep-1" in listed.stdout
    refused = _adal(config, "platform", "add", "--issuer", "http://lms.example.kz", "--client-id", "x",
                    "--deployment-id", "d", "--keyset-url", "http://lms.example.kz/k",
                    "--auth-login-url", "http://lms.example.kz/a", "--auth-token-url", "http://lms.example.kz/t")
    assert refused.returncode != 0 and "https" in refused.stderr
    assert "lms.example.kz" not in _adal(config, "platform", "list").stdout
    rotated = _adal(config, "keys", "rotate", "--grace-days", "3")
    assert rotated.returncode == 0 and "3 days" in rotated.stdout
    removed = _adal(config, "platform", "remove", "--issuer", args["issuer"], "--client-id", args["client_id"])
    assert removed.returncode == 0
    assert "No platform is registered." in _adal(config, "platform", "list").stdout
    missing = _adal(config, "platform", "remove", "--issuer", args["issuer"], "--client-id", args["client_id"])
    assert missing.returncode != 0
    assert _adal(config, "audit", "verify").returncode == 0
    cleaned = _adal(config, "housekeeping")
    assert cleaned.returncode == 0 and "Removed 0 expired login states" in cleaned.stdout
