"""The server-side rules of a launch whose state cookie did not come back (no browser needed)."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import requests
from sqlalchemy import func
from sqlmodel import select

from lti.models import LoginState
from plugin.kernel.users import User
from tests.lti_platform import new_private_key_pem


def _count(app, model) -> int:
    with app.extensions["adal.runtime"].session() as session:
        return session.exec(select(func.count()).select_from(model)).one()


def _login(adal: str, lms, *, storage: bool) -> tuple[dict[str, str], str | None]:
    """Our login as the platform starts it; returns (state and nonce, the secret put in storage)."""
    params = {"iss": lms.issuer, "login_hint": "student-001", "target_link_uri": adal + "/lti/launch",
              "client_id": lms.client_id, "lti_message_hint": "hint-42", "lti_deployment_id": lms.deployment_id}
    if storage:
        params["lti_storage_target"] = "_parent"
    response = requests.get(adal + "/lti/login", params=params, allow_redirects=False, timeout=10)
    if not storage:
        location = response.headers["Location"]
        return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}, None
    assert response.status_code == 200
    assert "session=" not in response.headers.get("Set-Cookie", "")
    page = response.text
    secret = re.search(r'data-value="([^"]+)"', page).group(1)
    following = unescape(re.search(r'data-next="([^"]+)"', page).group(1))
    assert re.search(r'data-target="_parent"', page)
    return {k: v[0] for k, v in parse_qs(urlsplit(following).query).items()}, secret


def test_without_cookie_a_valid_launch_offers_a_new_window_and_uses_nothing_up(app, adal, lms):
    login, _ = _login(adal, lms, storage=False)
    token = lms.sign(lms.claims(nonce=login["nonce"]))
    response = requests.post(adal + "/lti/launch", data={"id_token": token, "state": login["state"]}, timeout=10,
                             headers={"Accept-Language": "en"})
    assert response.status_code == 200
    assert "Open Adal in a new window" in response.text
    assert "Set-Cookie" not in response.headers
    relaunch = unescape(re.search(r'href="([^"]*/lti/login\?[^"]+)"', response.text).group(1))
    query = {k: v[0] for k, v in parse_qs(urlsplit(relaunch).query).items()}
    assert relaunch.startswith(adal + "/lti/login?")
    assert query == {"iss": lms.issuer, "login_hint": "student-001", "target_link_uri": adal + "/lti/launch",
                     "client_id": lms.client_id, "lti_message_hint": "hint-42", "lti_deployment_id": lms.deployment_id}
    with app.extensions["adal.runtime"].session() as session:
        assert session.get(LoginState, login["state"]).used_at is None
    assert _count(app, User) == 0


def test_without_cookie_a_forged_or_replayed_launch_is_refused_not_offered(app, adal, lms):
    login, _ = _login(adal, lms, storage=False)
    forged = lms.sign(lms.claims(nonce=login["nonce"]), key=new_private_key_pem())
    refused = requests.post(adal + "/lti/launch", data={"id_token": forged, "state": login["state"]}, timeout=10)
    assert refused.status_code == 400 and "new window" not in refused.text
    unknown = requests.post(adal + "/lti/launch", data={
        "id_token": lms.sign(lms.claims(nonce=login["nonce"])), "state": "not-ours"}, timeout=10)
    assert unknown.status_code == 400
    wrong_nonce = requests.post(adal + "/lti/launch", data={
        "id_token": lms.sign(lms.claims(nonce="other")), "state": login["state"]}, timeout=10)
    assert wrong_nonce.status_code == 400
    # used in a browser with the cookie, then replayed without it
    http = requests.Session()
    http.cookies.set("adal_lti_state", login["state"], path="/lti/")
    token = lms.sign(lms.claims(nonce=login["nonce"]))
    assert http.post(adal + "/lti/launch", data={"id_token": token, "state": login["state"]},
                     timeout=10).status_code == 200
    replay = requests.post(adal + "/lti/launch", data={"id_token": token, "state": login["state"]}, timeout=10)
    assert replay.status_code == 400 and "new window" not in replay.text


def test_platform_storage_secret_completes_the_launch_once(app, adal, lms):
    login, secret = _login(adal, lms, storage=True)
    token = lms.sign(lms.claims(nonce=login["nonce"]))
    first = requests.post(adal + "/lti/launch", data={"id_token": token, "state": login["state"]}, timeout=10)
    assert first.status_code == 200 and 'data-mode="get"' in first.text
    assert f'data-key="adal_state_{login["state"]}"' in first.text
    for wrong in ("", "guess", secret[:-1] + ("A" if secret[-1] != "A" else "B")):
        response = requests.post(adal + "/lti/launch/storage", data={
            "id_token": token, "state": login["state"], "storage_secret": wrong}, timeout=10)
        assert response.status_code == 400
    assert _count(app, User) == 0
    done = requests.post(adal + "/lti/launch/storage", data={
        "id_token": token, "state": login["state"], "storage_secret": secret}, timeout=10)
    assert done.status_code == 200 and "Aigerim Testova" in done.text
    assert _count(app, User) == 1
    again = requests.post(adal + "/lti/launch/storage", data={
        "id_token": token, "state": login["state"], "storage_secret": secret}, timeout=10)
    assert again.status_code == 400


def test_bad_storage_target_falls_back_to_the_cookie(adal, lms):
    response = requests.get(adal + "/lti/login", params={
        "iss": lms.issuer, "login_hint": "u", "target_link_uri": adal + "/lti/launch", "client_id": lms.client_id,
        "lti_storage_target": "<script>"}, allow_redirects=False, timeout=10)
    assert response.status_code == 302
