"""LTI 1.3 login and launch, driven over HTTP by an independent platform (lti1p3platform)."""

from __future__ import annotations

import base64
import json
import re
import time
from contextlib import ExitStack

import jwt
import pytest
import requests
from sqlalchemy import func
from sqlmodel import select

from plugin.kernel.audit import AuditEntry
from plugin.kernel.users import Membership, User
from tests.lti_flow import begin, full_launch, register
from tests.lti_platform import ADMIN, INSTRUCTOR, LEARNER, MENTOR, TA, TestPlatform, new_private_key_pem
from tests.servers import serve_wsgi


def _count(app, model, *where) -> int:
    with app.extensions["adal.runtime"].session() as session:
        return session.exec(select(func.count()).select_from(model).where(*where)).one()


def _refusals(app) -> int:
    return _count(app, AuditEntry, AuditEntry.action.in_(["lti.launch_refused", "lti.login_refused"]))


# -- valid launches ----------------------------------------------------------------------------
@pytest.mark.parametrize(("role", "expected"), [("student", "student"), ("teacher", "teacher")])
def test_valid_launch_from_two_registered_platforms(app, lms, canvas, role, expected):
    for platform in (lms, canvas):
        http = requests.Session()
        response = full_launch(platform, http, role=role, user=f"{role}-{platform.name}", locale="en")
        assert response.status_code == 200, response.text
        assert "Synthetic Course 101" in response.text
        assert expected in response.text
        assert http.get(response.url.rsplit("/lti/", 1)[0] + "/", timeout=5).status_code == 200
    assert _count(app, User) == 2
    assert _count(app, Membership, Membership.role == expected) == 2


def test_redirect_uri_is_always_our_launch_url_and_state_cookie_is_set(adal, lms):
    http = requests.Session()
    params = begin(adal, lms, http)
    assert params["redirect_uri"] == adal + "/lti/launch"
    assert params["client_id"] == lms.client_id
    assert params["response_mode"] == "form_post" and params["prompt"] == "none"
    assert http.cookies.get("adal_lti_state") == params["state"]


@pytest.mark.parametrize(("role", "page_has", "roles_stored"), [
    ("ta", "teaching assistant", {("teacher", True)}),
    ("mentor", "no integrity workflow", set()),
    ("admin", "no integrity workflow", set()),
])
def test_role_mapping(app, lms, role, page_has, roles_stored):
    response = full_launch(lms, role=role, user=f"user-{role}", locale="en")
    assert response.status_code == 200
    assert page_has in response.text
    with app.extensions["adal.runtime"].session() as session:
        rows = session.exec(select(Membership)).all()
        assert {(m.role, m.is_ta) for m in rows} == roles_stored


def test_launch_locale_sets_page_language(lms):
    response = full_launch(lms, role="student", locale="ru-KZ")
    assert '<html lang="ru"' in response.text


# -- refusals ----------------------------------------------------------------------------------
def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _assert_refused(app, response: requests.Response, before: int, status: int = 400) -> None:
    assert response.status_code == status, response.text[:500]
    assert "session=" not in response.headers.get("Set-Cookie", ""), "a refused launch creates no session"
    ref = response.headers["X-Correlation-Id"]
    assert ref in response.text
    assert "Traceback" not in response.text
    assert _refusals(app) == before + 1
    assert _count(app, User) == 0


ATTACKS = {
    "bad_signature": lambda p, n: p.sign(p.claims(nonce=n), key=new_private_key_pem()),
    "alg_none": lambda p, n: _b64({"alg": "none", "kid": p.kid}) + "." + _b64(p.claims(nonce=n)) + ".",
    "hs256_with_public_key": lambda p, n: jwt.api_jws.PyJWS(algorithms=["HS256"]).encode(
        json.dumps(p.claims(nonce=n)).encode(), p.jwks()["keys"][0]["n"].encode(), algorithm="HS256",
        headers={"kid": p.kid}),
    "expired": lambda p, n: p.sign(p.claims(nonce=n, iat=int(time.time()) - 900, exp=int(time.time()) - 600)),
    "future_iat": lambda p, n: p.sign(p.claims(nonce=n, iat=int(time.time()) + 900, exp=int(time.time()) + 1200)),
    "future_nbf": lambda p, n: p.sign(p.claims(nonce=n, nbf=int(time.time()) + 900)),
    "missing_exp": lambda p, n: p.sign({k: v for k, v in p.claims(nonce=n).items() if k != "exp"}),
    "wrong_aud": lambda p, n: p.sign(p.claims(nonce=n, aud="someone-else")),
    "aud_list_without_azp": lambda p, n: p.sign(p.claims(nonce=n, aud=[p.client_id, "other"])),
    "aud_list_wrong_azp": lambda p, n: p.sign(p.claims(nonce=n, aud=[p.client_id, "other"], azp="other")),
    "missing_message_type": lambda p, n: p.sign({k: v for k, v in p.claims(nonce=n).items()
                                                 if not k.endswith("/message_type")}),
    "wrong_message_type": lambda p, n: p.sign(p.claims(nonce=n, **{
        "https://purl.imsglobal.org/spec/lti/claim/message_type": "LtiSomethingElse"})),
    "wrong_version": lambda p, n: p.sign(p.claims(nonce=n, **{"https://purl.imsglobal.org/spec/lti/claim/version":
                                                              "1.1"})),
    "missing_sub": lambda p, n: p.sign({k: v for k, v in p.claims(nonce=n).items() if k != "sub"}),
    "missing_nonce": lambda p, n: p.sign({k: v for k, v in p.claims(nonce=n).items() if k != "nonce"}),
    "roles_not_a_list": lambda p, n: p.sign(p.claims(nonce=n, **{"https://purl.imsglobal.org/spec/lti/claim/roles":
                                                                 LEARNER})),
    "context_not_an_object": lambda p, n: p.sign(p.claims(nonce=n, **{
        "https://purl.imsglobal.org/spec/lti/claim/context": "course-101"})),
    "missing_resource_link": lambda p, n: p.sign({k: v for k, v in p.claims(nonce=n).items()
                                                  if not k.endswith("/resource_link")}),
    "missing_deployment_id": lambda p, n: p.sign(p.claims(nonce=n, **{
        "https://purl.imsglobal.org/spec/lti/claim/deployment_id": None})),
    "unknown_deployment": lambda p, n: p.sign(p.claims(nonce=n, **{
        "https://purl.imsglobal.org/spec/lti/claim/deployment_id": "dep-unknown"})),
    "unknown_kid": lambda p, n: p.sign(p.claims(nonce=n), headers={"kid": "not-published"}),
    "jku_pointing_elsewhere": lambda p, n: p.sign(p.claims(nonce=n), key=new_private_key_pem(),
                                                  headers={"jku": "http://127.0.0.1:9/evil-jwks"}),
    "wrong_nonce": lambda p, n: p.sign(p.claims(nonce="another-nonce")),
    "garbage": lambda p, n: "not.a.token",
    "oversized": lambda p, n: p.sign(p.claims(nonce=n, padding="x" * 70_000)),
}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_forged_launch_is_refused_cleanly(app, adal, lms, attack):
    http = requests.Session()
    login = begin(adal, lms, http)
    before = _refusals(app)
    token = ATTACKS[attack](lms, login["nonce"])
    response = http.post(adal + "/lti/launch", data={"id_token": token, "state": login["state"]}, timeout=10)
    _assert_refused(app, response, before)


def test_token_signed_by_another_registered_platform_is_refused(app, adal, lms, canvas):
    http = requests.Session()
    login = begin(adal, lms, http)
    before = _refusals(app)
    forged = lms.sign(lms.claims(nonce=login["nonce"]), key=canvas.private_pem, headers={"kid": canvas.kid})
    response = http.post(adal + "/lti/launch", data={"id_token": forged, "state": login["state"]}, timeout=10)
    _assert_refused(app, response, before)


# A launch with no state cookie at all is not refused but finished another way (Platform Storage
# or a new window), without using anything up: see test_lti_cookieless.py.
@pytest.mark.parametrize("case", ["missing", "mismatch", "unknown"])
def test_state_must_match_the_browser(app, adal, lms, case):
    http = requests.Session()
    login = begin(adal, lms, http)
    token = lms.sign(lms.claims(nonce=login["nonce"]))
    data = {"id_token": token, "state": login["state"]}
    if case == "missing":
        del data["state"]
    elif case == "mismatch":
        http.cookies.clear()
        http.cookies.set("adal_lti_state", "something-else", path="/lti/")
    else:
        data["state"] = "state-nobody-issued"
    before = _refusals(app)
    _assert_refused(app, http.post(adal + "/lti/launch", data=data, timeout=10), before)


def test_replay_is_refused_in_same_browser_fresh_browser_and_with_new_state(app, adal, lms):
    http = requests.Session()
    login = begin(adal, lms, http)
    token = lms.sign(lms.claims(nonce=login["nonce"]))
    data = {"id_token": token, "state": login["state"]}
    cookie = http.cookies.get("adal_lti_state")
    first = http.post(adal + "/lti/launch", data=data, timeout=10)
    assert first.status_code == 200
    users = _count(app, User)

    def refused(response):
        assert response.status_code == 400
        assert "session=" not in response.headers.get("Set-Cookie", "")

    same = requests.Session()
    same.cookies.set("adal_lti_state", cookie, path="/lti/")
    refused(same.post(adal + "/lti/launch", data=data, timeout=10))  # same browser (state cookie again)
    refused(requests.post(adal + "/lti/launch", data=data, timeout=10))  # a fresh browser
    newer = requests.Session()
    fresh = begin(adal, lms, newer)  # the old token with a new, valid state
    refused(newer.post(adal + "/lti/launch", data={"id_token": token, "state": fresh["state"]}, timeout=10))
    assert _count(app, User) == users


@pytest.mark.parametrize("case", ["unknown_issuer", "unknown_client", "offsite_target", "incomplete"])
def test_login_refusals_are_clear_4xx(app, adal, lms, case):
    params = {"iss": lms.issuer, "login_hint": "u1", "target_link_uri": adal + "/lti/launch",
              "client_id": lms.client_id}
    if case == "unknown_issuer":
        params["iss"] = "https://unknown.example"
    elif case == "unknown_client":
        params["client_id"] = "nobody"
    elif case == "offsite_target":
        params["target_link_uri"] = "https://evil.example/lti/launch"
    else:
        del params["login_hint"]
    before = _refusals(app)
    response = requests.post(adal + "/lti/login", data=params, allow_redirects=False, timeout=10)
    assert response.status_code == 400
    assert "Set-Cookie" not in response.headers
    assert response.headers["X-Correlation-Id"] in response.text
    assert _refusals(app) == before + 1


def test_jwks_outage_and_slow_jwks_give_clear_message_within_timeout(app, adal, lms):
    app.extensions["adal.lti_keys"].timeout = (1.0, 1.0)
    for setup in ("broken", "slow"):
        lms.jwks_broken, lms.jwks_delay = setup == "broken", 3.0 if setup == "slow" else 0.0
        http = requests.Session()
        login = begin(adal, lms, http)
        before = _refusals(app)
        started = time.monotonic()
        response = http.post(adal + "/lti/launch", data={
            "id_token": lms.sign(lms.claims(nonce=login["nonce"])), "state": login["state"]}, timeout=10)
        assert time.monotonic() - started < 2.5
        _assert_refused(app, response, before, status=502)
        assert re.search(r"(?i)could not (get|reach)", response.text) or "LMS" in response.text


def test_unknown_kid_refetches_the_jwks_once_and_accepts_a_rotated_platform_key(app, adal, lms):
    assert full_launch(lms, role="student").status_code == 200
    fetches = lms.jwks_requests
    lms.private_pem = new_private_key_pem()  # the platform rotates its key
    from lti1p3platform.registration import Registration

    lms.kid = Registration.get_jwk(lms.private_pem)["kid"]
    response = full_launch(lms, role="teacher", user="teacher-1")
    assert response.status_code == 200
    assert lms.jwks_requests == fetches + 1
    # a second unknown kid right after is refused without hammering the platform
    http = requests.Session()
    login = begin(adal, lms, http)
    forged = lms.sign(lms.claims(nonce=login["nonce"]), headers={"kid": "never-published"})
    assert http.post(adal + "/lti/launch", data={"id_token": forged, "state": login["state"]},
                     timeout=10).status_code == 400
    assert lms.jwks_requests == fetches + 1


def test_unknown_deployment_accepted_when_auto_registration_is_allowed(app, adal):
    platform = TestPlatform("auto", deployment_id="registered")
    with platform.serve(adal):
        register(app, platform, auto_register_deployments=True)
        platform.deployment_id = "new-deployment"
        assert full_launch(platform, role="student").status_code == 200


def test_jwks_endpoints_publish_the_tool_key(client):
    first = client.get("/lti/jwks").get_json()
    second = client.get("/.well-known/jwks.json").get_json()
    assert first == second
    assert len(first["keys"]) == 0 or first["keys"][0]["alg"] == "RS256"


def test_roles_constants_are_what_lms_send():
    assert INSTRUCTOR.endswith("#Instructor") and TA.endswith("#TeachingAssistant")
    assert ADMIN.endswith("#Administrator") and MENTOR.endswith("#Mentor")


# -- several workers: the nonce store in Redis ---------------------------------------------------
REDIS_URL = "redis://127.0.0.1:6379/15"


def _redis_available() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


@pytest.fixture
def two_workers(tmp_path, migrated_url, make_app):
    """Two Adal processes' worth of apps on one database and one Redis, as on two machines."""
    if not _redis_available():
        pytest.fail("Redis is not running at 127.0.0.1:6379 (start it: see README, Running in production)")
    from tests.conftest import make_config

    first = make_config(tmp_path / "instance", migrated_url, ADAL_REDIS_URL=REDIS_URL)
    apps = [make_app(first), make_app(first)]
    with ExitStack() as running:
        yield apps, [running.enter_context(serve_wsgi(application)) for application in apps]


def test_nonce_is_single_use_across_workers_through_redis(two_workers):
    import redis

    apps, urls = two_workers
    platform = TestPlatform("redis-lms")
    with platform.serve(urls[0]):
        register(apps[0], platform)
        http = requests.Session()
        login = begin(urls[0], platform, http)
        token = platform.sign(platform.claims(nonce=login["nonce"]))
        data = {"id_token": token, "state": login["state"]}
        assert http.post(urls[0] + "/lti/launch", data=data, timeout=10).status_code == 200
        assert redis.Redis.from_url(REDIS_URL).exists(f"adal:lti:nonce:{login['nonce']}") == 1
        # the same token at the other worker: refused there too
        replay = requests.Session()
        replay.cookies.set("adal_lti_state", login["state"], path="/lti/")
        assert replay.post(urls[1] + "/lti/launch", data=data, timeout=10).status_code == 400


def test_redis_down_refuses_the_launch_with_a_clear_503(tmp_path, migrated_url, make_app):
    from tests.conftest import make_config

    app = make_app(make_config(tmp_path / "instance", migrated_url, ADAL_REDIS_URL="redis://127.0.0.1:9/0"))
    platform = TestPlatform("redis-down")
    with serve_wsgi(app) as url, platform.serve(url):
        register(app, platform)
        http = requests.Session()
        login = begin(url, platform, http)
        response = http.post(url + "/lti/launch", data={
            "id_token": platform.sign(platform.claims(nonce=login["nonce"])), "state": login["state"]}, timeout=10)
        assert response.status_code == 503
        assert "session=" not in response.headers.get("Set-Cookie", "")
        assert _count(app, User) == 0


def test_concurrent_launches_all_succeed_and_the_audit_chain_stays_whole(app, adal, lms):
    """Several browsers at once (the SQLite default serialises writers; nothing may fail)."""
    from concurrent.futures import ThreadPoolExecutor

    from plugin.kernel.audit import verify

    def one(i: int) -> int:
        http = requests.Session()
        login = begin(adal, lms, http)
        token = lms.sign(lms.claims(nonce=login["nonce"], sub=f"student-{i:03d}"))
        return http.post(adal + "/lti/launch", data={"id_token": token, "state": login["state"]},
                         timeout=30).status_code

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(one, range(24)))
    assert statuses == [200] * 24
    assert _count(app, User) == 24
    runtime = app.extensions["adal.runtime"]
    with runtime.session() as session:
        result = verify(session, runtime.audit)
    assert result.ok, result.problem
    assert result.note is None, "the head record keeps up with concurrent commits"


def test_return_url_is_offered_only_when_it_is_a_safe_lms_address(adal, lms):
    presentation = "https://purl.imsglobal.org/spec/lti/claim/launch_presentation"
    for url, shown in (("https://lms.example.kz/course/view.php?id=7", True), ("http://evil.example/x", False),
                       ("javascript:alert(1)", False)):
        http = requests.Session()
        login = begin(adal, lms, http)
        token = lms.sign(lms.claims(nonce=login["nonce"], **{presentation: {"return_url": url, "locale": "en"}}))
        page = http.post(adal + "/lti/launch", data={"id_token": token, "state": login["state"]}, timeout=10)
        assert page.status_code == 200
        assert ("Back to the course in the LMS" in page.text) is shown
        assert (url in page.text) is shown
