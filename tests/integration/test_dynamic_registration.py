"""LTI Dynamic Registration against an LMS-side fake (tests/fake_lms_registration.py), the one-time
links that guard it, the Canvas JSON configuration and the `adal platform registration-link` command."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from sqlalchemy import func
from sqlmodel import select

from lti.dynreg import create_registration_link
from lti.models import Deployment, Platform, RegistrationLink
from lti.registry import add_platform
from plugin.kernel.audit import AuditEntry
from plugin.kernel.clock import now_utc
from plugin.kernel.users import Actor
from tests.conftest import make_config
from tests.fake_lms_registration import TOOL_CONFIGURATION, FakeLmsRegistration

ADAL = str(Path(sys.executable).parent / "adal")
AGS = "https://purl.imsglobal.org/spec/lti-ags/scope/"
NRPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
SCOPES = {AGS + "lineitem", AGS + "lineitem.readonly", AGS + "result.readonly", AGS + "score", NRPS}
EN = {"Accept-Language": "en"}


@pytest.fixture
def adal_url(adal) -> str:
    return adal


@pytest.fixture
def lms(adal_url) -> Iterator[FakeLmsRegistration]:
    fake = FakeLmsRegistration(adal_url)
    with fake.serve():
        yield fake


def new_link(app, *, valid_for: timedelta = timedelta(hours=1), now=None) -> str:
    """What `adal platform registration-link` does, through the same service."""
    with app.extensions["adal.runtime"].session() as session:
        token = create_registration_link(session, Actor.system("cli:test"), now=now or now_utc(), valid_for=valid_for)
        session.commit()
    return token


def open_link(adal_url: str, token: str, lms: FakeLmsRegistration | None, **params) -> requests.Response:
    """The LMS opens the pasted link with its configuration URL and registration token."""
    query = {"openid_configuration": lms.openid_configuration_url,
             "registration_token": lms.registration_token} if lms is not None else {}
    query.update(params)
    return requests.get(f"{adal_url}/lti/register/{token}", params=query, headers=EN, timeout=30)


def _count(app, model, *where) -> int:
    with app.extensions["adal.runtime"].session() as session:
        return session.exec(select(func.count()).select_from(model).where(*where)).one()


def _link(app, token: str) -> RegistrationLink:
    with app.extensions["adal.runtime"].session() as session:
        return session.exec(select(RegistrationLink).where(
            RegistrationLink.token_hash == hashlib.sha256(token.encode()).hexdigest())).one()


def _refusal_codes(app) -> list[str]:
    with app.extensions["adal.runtime"].session() as session:
        rows = session.exec(select(AuditEntry.payload).where(AuditEntry.action == "lti.registration_refused")
                            .order_by(AuditEntry.seq)).all()
    return [json.loads(p)["code"] for p in rows]


def _assert_refused(app, response: requests.Response, code: str, status: int = 400) -> None:
    assert response.status_code == status, response.text[:800]
    assert "Set-Cookie" not in response.headers, "a refused registration creates no session"
    assert response.headers["X-Correlation-Id"] in response.text
    assert "Traceback" not in response.text
    assert 'id="lti-close"' in response.text
    assert _refusal_codes(app)[-1] == code


# -- the full round trip ---------------------------------------------------------------------
def test_dynamic_registration_round_trip(app, adal_url, lms):
    token = new_link(app)
    response = open_link(adal_url, token, lms)

    assert response.status_code == 200, response.text[:800]
    assert "Adal is registered" in response.text
    assert lms.base_url in response.text and lms.client_id in response.text
    assert "Set-Cookie" not in response.headers  # the page opens no session in the LMS's frame
    script = re.search(r'<script src="([^"]+lti-close\.js)" defer></script>', response.text)
    assert script, "the Close button's script is a static file"
    assert "<script>" not in response.text  # no inline script: the CSP forbids it
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    js = requests.get(adal_url + script.group(1), timeout=10)
    assert js.status_code == 200 and "org.imsglobal.lti.close" in js.text
    assert "window.opener" in js.text and "window.parent" in js.text

    # what the LMS received
    assert lms.problems == []
    assert [h.get("Authorization") for h in lms.configuration_requests] == [f"Bearer {lms.registration_token}"]
    (body,) = lms.registrations
    assert body["initiate_login_uri"] == adal_url + "/lti/login"
    assert body["redirect_uris"] == [adal_url + "/lti/launch"]
    assert body["jwks_uri"] == adal_url + "/lti/jwks"
    assert body["response_types"] == ["id_token"]
    assert set(body["grant_types"]) == {"implicit", "client_credentials"}
    assert body["token_endpoint_auth_method"] == "private_key_jwt"
    assert set(body["scope"].split()) == SCOPES
    tool = body[TOOL_CONFIGURATION]
    assert tool["target_link_uri"] == adal_url + "/lti/launch"
    assert tool["domain"] == adal_url.split("//", 1)[1]
    assert tool["claims"] == ["iss", "sub", "name", "given_name", "family_name", "locale"]
    assert "email" not in tool["claims"]
    messages = {m["type"]: m for m in tool["messages"]}
    assert set(messages) == {"LtiResourceLinkRequest", "LtiDeepLinkingRequest"}
    placements = messages["LtiDeepLinkingRequest"]["placements"]
    assert "ContentArea" in placements
    assert "https://canvas.instructure.com/lti/assignment_selection" in placements
    assert "https://canvas.instructure.com/lti/link_selection" in placements

    # what Adal stored
    with app.extensions["adal.runtime"].session() as session:
        platform = session.exec(select(Platform)).one()
        assert (platform.issuer, platform.client_id) == (lms.base_url, lms.client_id)
        assert platform.keyset_url == lms.base_url + "/mod/lti/certs.php"
        assert platform.auth_login_url == lms.base_url + "/mod/lti/auth.php"
        assert platform.auth_token_url == lms.base_url + "/mod/lti/token.php"
        assert platform.auto_register_deployments is False
        deployments = session.exec(select(Deployment.deployment_id).where(Deployment.platform_id == platform.id)).all()
        assert deployments == [lms.deployment_id]
        actions = session.exec(select(AuditEntry.action).order_by(AuditEntry.seq)).all()
        assert actions == ["lti.registration_link_created", "lti.platform_added", "lti.platform_registered"]
        registered = json.loads(session.exec(select(AuditEntry.payload).where(
            AuditEntry.action == "lti.platform_registered")).one())
        assert registered["product"] == "moodle" and registered["deployment_id"] == lms.deployment_id
    link = _link(app, token)
    assert link.used_at is not None and link.platform_id == platform.id
    assert link.token_hash != token and token not in json.dumps(registered)


def test_spec_style_platform_without_deep_linking(app, adal_url, lms):
    """A platform that lists message types as objects, offers no deep linking, names its token
    audience and answers 201 Created."""
    lms.messages_supported = [{"type": "LtiResourceLinkRequest"}]
    lms.authorization_server = "https://auth.lms.example.kz"
    lms.success_status = 201
    assert open_link(adal_url, new_link(app), lms).status_code == 200
    (body,) = lms.registrations
    assert [m["type"] for m in body[TOOL_CONFIGURATION]["messages"]] == ["LtiResourceLinkRequest"]
    with app.extensions["adal.runtime"].session() as session:
        assert session.exec(select(Platform.auth_audience)).one() == "https://auth.lms.example.kz"


def test_second_use_of_a_link_is_refused_and_stores_nothing(app, adal_url, lms):
    token = new_link(app)
    assert open_link(adal_url, token, lms).status_code == 200
    attempts, platforms = lms.registration_attempts, _count(app, Platform)
    second = FakeLmsRegistration(adal_url, client_id="other-client")
    with second.serve():
        response = open_link(adal_url, token, second)
        _assert_refused(app, response, "used_link")
        assert "already used" in response.text
        assert second.configuration_requests == [] and second.registration_attempts == 0
    assert lms.registration_attempts == attempts
    assert _count(app, Platform) == platforms and _count(app, Deployment) == 1


def test_two_uses_at_the_same_time_register_once(app, adal_url, lms):
    token = new_link(app)
    lms.registration_delay = 0.5
    results: list[requests.Response] = []

    def use() -> None:
        results.append(open_link(adal_url, token, lms))

    threads = [threading.Thread(target=use) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(r.status_code for r in results) == [200, 400]
    assert lms.registration_attempts == 1, "the second use is refused before any call to the LMS"
    assert _count(app, Platform) == 1 and _count(app, Deployment) == 1
    assert _refusal_codes(app) == ["used_link"]


@pytest.mark.parametrize("case", ["unknown", "expired", "empty", "no_slash", "too_long"])
def test_call_without_a_valid_link_is_refused(app, adal_url, lms, case):
    expected = "expired_link" if case == "expired" else "unknown_link"
    if case == "expired":
        url = f"{adal_url}/lti/register/" + new_link(app, now=now_utc() - timedelta(hours=2),
                                                        valid_for=timedelta(hours=1))
    elif case == "unknown":
        url = f"{adal_url}/lti/register/" + secrets.token_urlsafe(32)  # well-formed, but nobody issued it
    elif case == "empty":
        url = f"{adal_url}/lti/register/"
    elif case == "no_slash":
        url = f"{adal_url}/lti/register"
    else:
        url = f"{adal_url}/lti/register/" + "x" * 500
    response = requests.get(url, params={"openid_configuration": lms.openid_configuration_url,
                                         "registration_token": lms.registration_token}, headers=EN, timeout=10)
    _assert_refused(app, response, expected)
    assert lms.configuration_requests == [] and lms.registration_attempts == 0
    assert _count(app, Platform) == 0


def test_link_only_works_with_get(app, adal_url, lms):
    token = new_link(app)
    query = {"openid_configuration": lms.openid_configuration_url, "registration_token": lms.registration_token}
    posted = requests.post(f"{adal_url}/lti/register/{token}", params=query, timeout=10)
    assert posted.status_code == 405
    head = requests.head(f"{adal_url}/lti/register/{token}", params=query, timeout=10)
    assert head.status_code == 405
    assert lms.configuration_requests == [] and lms.registration_attempts == 0
    assert _link(app, token).used_at is None
    assert open_link(adal_url, token, lms).status_code == 200


def _frame_ancestors(response: requests.Response) -> list[str]:
    policy = response.headers["Content-Security-Policy"]
    return re.search(r"frame-ancestors ([^;]*)", policy).group(1).split()


def test_the_lms_may_frame_the_registration_page(app, adal_url, lms):
    token = new_link(app)
    response = requests.get(f"{adal_url}/lti/register/{token}", timeout=30, params={
        "openid_configuration": lms.openid_configuration_url, "registration_token": lms.registration_token},
        headers={**EN, "Referer": "https://moodle.school.kz/admin/tool/lti/registration.php"})
    assert response.status_code == 200
    assert set(_frame_ancestors(response)) == {"'self'", lms.base_url, "https://moodle.school.kz"}
    refused = requests.get(f"{adal_url}/lti/register/{token}", timeout=30, params={
        "openid_configuration": lms.openid_configuration_url}, headers=EN)
    assert refused.status_code == 400
    assert set(_frame_ancestors(refused)) == {"'self'", lms.base_url}


@pytest.mark.parametrize("referer", ["https://moodle.school.kz;script-src *", "https://a b.kz/x",
                                     "http://moodle.school.kz/", "javascript:alert(1)", "http://[::1/x",
                                     "https://moodle.school.kz:99999/"])
def test_nothing_odd_reaches_the_frame_ancestors(app, adal_url, referer):
    response = requests.get(f"{adal_url}/lti/register/unknown", headers={**EN, "Referer": referer}, timeout=10)
    assert response.status_code == 400
    assert _frame_ancestors(response) == ["'self'"]
    assert response.headers["Content-Security-Policy"].count("script-src") == 1


# -- refusals that leave the link usable -------------------------------------------------------
def test_issuer_from_another_origin_is_refused_and_the_link_stays_usable(app, adal_url, lms):
    token = new_link(app)
    lms.issuer_override = "https://moodle.school.kz"
    response = open_link(adal_url, token, lms)
    _assert_refused(app, response, "bad_configuration")
    assert "issuer" in response.text
    assert lms.registration_attempts == 0, "nothing is posted to an LMS whose configuration lies"
    assert _link(app, token).used_at is None
    assert _count(app, Platform) == 0 and _count(app, Deployment) == 0
    lms.issuer_override = None
    assert open_link(adal_url, token, lms).status_code == 200
    assert _count(app, Platform) == 1


def test_lms_refusing_the_registration_gives_a_clear_page_and_the_link_stays_usable(app, adal_url, lms):
    token = new_link(app)
    lms.reject_with = 400
    response = open_link(adal_url, token, lms)
    _assert_refused(app, response, "registration_rejected")
    assert "refused the registration" in response.text and "HTTP 400" in response.text
    assert "does not accept new tools today" in response.text  # the LMS's own reason, escaped
    assert _link(app, token).used_at is None
    assert _count(app, Platform) == 0 and _count(app, Deployment) == 0
    lms.reject_with = 500
    _assert_refused(app, open_link(adal_url, token, lms), "registration_failed", status=502)
    lms.reject_with = None
    assert open_link(adal_url, token, lms).status_code == 200
    assert _count(app, Platform) == 1


def test_wrong_registration_token_is_refused_by_the_lms(app, adal_url, lms):
    token = new_link(app)
    response = open_link(adal_url, token, lms, registration_token="forged-token")
    _assert_refused(app, response, "registration_rejected")
    assert "HTTP 401" in response.text
    assert _link(app, token).used_at is None


def test_answer_without_deployment_id_stores_nothing(app, adal_url, lms):
    token = new_link(app)
    lms.omit_deployment_id = True
    _assert_refused(app, open_link(adal_url, token, lms), "bad_registration_response", status=502)
    assert _count(app, Platform) == 0 and _link(app, token).used_at is None


def test_platform_registered_with_other_urls_is_not_overwritten(app, adal_url, lms):
    with app.extensions["adal.runtime"].session() as session:
        add_platform(session, Actor.system("test"), now=now_utc(), issuer=lms.base_url, client_id=lms.client_id,
                     deployment_id="1", keyset_url=lms.base_url + "/old-certs", auth_login_url=lms.base_url + "/auth",
                     auth_token_url=lms.base_url + "/token")
        session.commit()
    token = new_link(app)
    _assert_refused(app, open_link(adal_url, token, lms), "conflict")
    assert _link(app, token).used_at is None and _count(app, Deployment) == 1
    with app.extensions["adal.runtime"].session() as session:
        assert session.exec(select(Platform.keyset_url)).one() == lms.base_url + "/old-certs"


def test_unreachable_lms_gives_502_quickly(app, adal_url):
    token = new_link(app)
    started = time.monotonic()
    response = requests.get(f"{adal_url}/lti/register/{token}", headers=EN, timeout=30, params={
        "openid_configuration": "http://127.0.0.1:9/mod/lti/openid-configuration.php"})
    assert time.monotonic() - started < 5
    _assert_refused(app, response, "lms_unreachable", status=502)
    assert _link(app, token).used_at is None


@pytest.mark.parametrize("url", ["http://moodle.school.kz/mod/lti/openid-configuration.php",
                                 "ftp://127.0.0.1/config", "https://user:pw@moodle.school.kz/config",
                                 "/mod/lti/openid-configuration.php", "http://[::1/config",
                                 "https://moodle.school.kz:99999/config", "https://moodle.school.kz:x/config"])
def test_configuration_url_must_be_https_except_loopback(app, adal_url, lms, url):
    token = new_link(app)
    response = open_link(adal_url, token, lms, openid_configuration=url)
    _assert_refused(app, response, "untrusted_configuration_url")
    assert "https" in response.text
    assert lms.configuration_requests == [] and lms.registration_attempts == 0
    assert _link(app, token).used_at is None


def test_missing_configuration_url_is_refused(app, adal_url):
    token = new_link(app)
    response = requests.get(f"{adal_url}/lti/register/{token}", headers=EN, timeout=10)
    _assert_refused(app, response, "incomplete")
    assert _link(app, token).used_at is None


# -- Canvas JSON configuration ------------------------------------------------------------------
def _check_canvas(config: dict, base: str) -> None:
    assert config["title"] == "Adal"
    assert config["oidc_initiation_url"] == base + "/lti/login"
    assert config["target_link_uri"] == base + "/lti/launch"
    assert config["public_jwk_url"] == base + "/lti/jwks"
    assert set(config["scopes"]) == SCOPES
    (canvas,) = config["extensions"]
    assert canvas["platform"] == "canvas.instructure.com"
    assert canvas["privacy_level"] == "name_only"
    placements = {p["placement"]: p for p in canvas["settings"]["placements"]}
    assert set(placements) == {"assignment_selection", "link_selection"}
    for placement in placements.values():
        assert placement["message_type"] == "LtiDeepLinkingRequest"
        assert placement["target_link_uri"] == base + "/lti/launch"


def test_canvas_json_configuration(client, tmp_path, migrated_url, make_app):
    response = client.get("/lti/canvas.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    _check_canvas(response.get_json(), "http://localhost")
    public = make_app(make_config(tmp_path / "public", migrated_url, ADAL_BASE_URL="https://adal.example.kz"))
    answer = public.test_client().get("/lti/canvas.json", headers={"Host": "evil.example"})
    config = answer.get_json()
    _check_canvas(config, "https://adal.example.kz")
    assert config["extensions"][0]["domain"] == "adal.example.kz"
    assert "evil.example" not in answer.get_data(as_text=True)


# -- the command ---------------------------------------------------------------------------------
def _adal(config, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {"ADAL_INSTANCE_PATH": str(config.instance_path), "ADAL_DATABASE_URL": config.database_url,
                   "ADAL_LANG": "en", "PATH": "/usr/bin:/bin", **env}
    return subprocess.run([ADAL, *args], env=environment, capture_output=True, text=True, timeout=60)


def test_registration_link_command(config, make_app):
    made = _adal(config, "platform", "registration-link", "--base-url", "https://adal.example.kz", "--valid-hours", "2")
    assert made.returncode == 0, made.stderr
    url, second, *rest = made.stdout.splitlines()
    assert rest == []
    match = re.fullmatch(r"https://adal\.example\.kz/lti/register/([A-Za-z0-9_-]{43})", url)
    assert match, url
    assert second == "It works once, for 2 hours."
    app = make_app(config)
    link = _link(app, match.group(1))
    assert link.used_at is None and link.created_by.startswith("system:cli:")
    assert timedelta(hours=1, minutes=59) < link.expires_at - link.created_at <= timedelta(hours=2)
    missing = _adal(config, "platform", "registration-link")
    assert missing.returncode != 0 and "ADAL_BASE_URL" in missing.stderr
