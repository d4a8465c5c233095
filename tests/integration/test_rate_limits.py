"""Rate limits at the endpoints: LTI login and launch per platform and user (never per address
alone), the integration API per token, and one counter shared by two app instances through Redis.

Every refused request answers 429 with Retry-After and changes nothing (no login state, no audit
entry, no signal)."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import jwt
import pytest
import redis
from sqlalchemy import func, select

from evidence.integrations import add_integration, signature
from evidence.models import Signal
from lti.models import LoginState
from plugin.kernel.audit import AuditEntry
from plugin.kernel.users import Actor
from tests.conftest import make_config
from tests.factories import T0, make_course
from tests.factories_work import make_assignment, person, submit
from tests.lti_flow import register
from tests.lti_platform import TestPlatform

SCHOOL_NAT = {"REMOTE_ADDR": "203.0.113.7"}  # one address for the whole class
REDIS_URL = "redis://127.0.0.1:6379/15"


def _platform(name: str, client_id: str = "adal-client") -> TestPlatform:
    """A registered platform that is never contacted: login only redirects to it."""
    platform = TestPlatform(name, client_id=client_id)
    platform.base_url = f"https://{name}.example.kz"
    return platform


def _counts(app) -> dict[str, int]:
    with app.extensions["adal.runtime"].session() as session:
        return {"login_states": session.execute(select(func.count()).select_from(LoginState)).scalar_one(),
                "audit": session.execute(select(func.count()).select_from(AuditEntry)).scalar_one(),
                "signals": session.execute(select(func.count()).select_from(Signal)).scalar_one()}


def _login(client, platform: TestPlatform, user: str, **environ: str):
    return client.post("/lti/login", data={"iss": platform.issuer, "login_hint": user,
                                           "client_id": platform.client_id,
                                           "target_link_uri": "http://localhost/lti/launch"},
                       environ_base={**SCHOOL_NAT, **environ}, headers={"Accept-Language": "en"})


def _assert_too_many(response, *, within: int) -> None:
    assert response.status_code == 429, response.get_data(as_text=True)[:500]
    assert 1 <= int(response.headers["Retry-After"]) <= within
    html = response.get_data(as_text=True)
    assert "Too many requests" in html and "Try again in" in html
    assert "session=" not in response.headers.get("Set-Cookie", "")  # a refused LTI request starts no session


# -- LTI login -------------------------------------------------------------------------------------
def test_a_class_of_1000_behind_one_nat_all_log_in(app):
    """1,000 different students, one school address, all within the minute: none is refused."""
    platform = _platform("moodle-nat")
    register(app, platform)
    client = app.test_client()
    started = time.monotonic()
    statuses = [_login(client, platform, f"student-{i:04d}").status_code for i in range(1000)]
    assert time.monotonic() - started < 60, "the class arrived within one window"
    assert statuses.count(302) == 1000, {s: statuses.count(s) for s in set(statuses)}
    assert _counts(app)["login_states"] == 1000


def test_one_user_hammering_login_is_limited_and_the_refusal_changes_nothing(tmp_path, migrated_url, make_app):
    app = make_app(make_config(tmp_path / "i", migrated_url, ADAL_RATE_LTI_USER="5/60"))
    platform = _platform("moodle-hammer")
    register(app, platform)
    client = app.test_client()
    for _ in range(5):
        assert _login(client, platform, "student-007").status_code == 302
    before = _counts(app)
    _assert_too_many(_login(client, platform, "student-007"), within=60)
    assert _counts(app) == before
    # Same address, same platform, another student: not affected.
    assert _login(client, platform, "student-008").status_code == 302
    # The same login_hint at another platform is another person.
    other = _platform("canvas-hammer")
    register(app, other)
    assert _login(client, other, "student-007").status_code == 302


def test_the_platform_ceiling_is_a_backstop_per_platform(tmp_path, migrated_url, make_app):
    app = make_app(make_config(tmp_path / "i", migrated_url, ADAL_RATE_LTI_PLATFORM="20/60"))
    busy, calm = _platform("moodle-busy"), _platform("moodle-calm")
    register(app, busy)
    register(app, calm)
    client = app.test_client()
    # From many addresses: the ceiling is per platform, not per address.
    for i in range(20):
        assert _login(client, busy, f"s-{i}", REMOTE_ADDR=f"198.51.100.{i}").status_code == 302
    before = _counts(app)
    _assert_too_many(_login(client, busy, "s-new", REMOTE_ADDR="198.51.100.99"), within=60)
    assert _counts(app) == before
    assert _login(client, calm, "s-new").status_code == 302


# -- LTI launch --------------------------------------------------------------------------------------
def _unsigned_launch(client, platform: TestPlatform, sub: str):
    """A launch whose token is well-formed but not the platform's: it is refused by validation
    (400), after the rate limit has keyed it on its unverified issuer, audience and subject."""
    token = jwt.encode({"iss": platform.issuer, "aud": platform.client_id, "sub": sub, "nonce": "n"},
                       "not-the-platform-key-not-the-platform-key", algorithm="HS256")
    return client.post("/lti/launch", data={"id_token": token, "state": "no-such-state"},
                       environ_base=SCHOOL_NAT, headers={"Accept-Language": "en"})


def test_launch_is_limited_per_user_from_the_token_not_per_address(tmp_path, migrated_url, make_app):
    app = make_app(make_config(tmp_path / "i", migrated_url, ADAL_RATE_LTI_USER="3/60"))
    platform = _platform("moodle-launch")
    register(app, platform)
    client = app.test_client()
    for _ in range(3):
        assert _unsigned_launch(client, platform, "student-001").status_code == 400
    before = _counts(app)
    _assert_too_many(_unsigned_launch(client, platform, "student-001"), within=60)
    assert _counts(app) == before  # not even the refusal's audit entry
    # The rest of the class, same address: validation answers them, not the rate limit.
    assert {_unsigned_launch(client, platform, f"student-{i:03d}").status_code for i in range(2, 60)} == {400}


def test_a_garbage_token_is_counted_in_a_bucket_of_its_own(tmp_path, migrated_url, make_app):
    app = make_app(make_config(tmp_path / "i", migrated_url, ADAL_RATE_LTI_PLATFORM="3/60"))
    platform = _platform("moodle-garbage")
    register(app, platform)
    client = app.test_client()
    garbage = {"id_token": "not.a.jwt", "state": "x"}
    for _ in range(3):
        assert client.post("/lti/launch", data=garbage).status_code == 400
    assert client.post("/lti/launch", data=garbage).status_code == 429
    assert _unsigned_launch(client, platform, "student-001").status_code == 400  # the real platform's own


# -- the integration API -----------------------------------------------------------------------------
@pytest.fixture
def api_app(tmp_path, migrated_url, make_app):
    return make_app(make_config(tmp_path / "i", migrated_url, ADAL_RATE_API_TOKEN="3/60"))


@pytest.fixture
def integrations(api_app) -> dict[str, Any]:
    with api_app.extensions["adal.runtime"].session() as session:
        course = make_course(session)
        _s, student = person(session, course, "student-001", "Аружан Тестова")
        submission = submit(session, student, make_assignment(session, course))
        one = add_integration(session, Actor.system("test"), "Detector one", now=submission.submitted_at)
        two = add_integration(session, Actor.system("test"), "Detector two", now=submission.submitted_at)
        session.commit()
        return {"submission": submission.id, "one": (one.token, one.secret.encode()),
                "two": (two.token, two.secret.encode())}


def _signal(client, integrations: dict[str, Any], which: str, scan: str):
    token, secret = integrations[which]
    raw = json.dumps({"submission_id": integrations["submission"], "kind": "detector", "vendor": "GPTZero",
                      "product": "GPTZero", "model_version": "m1", "score": 12.5,
                      "scanned_at": "2026-09-14T10:05:00+05:00", "vendor_scan_id": scan}).encode()
    stamp = str(int(time.time()))
    return client.post("/api/v1/signals", data=raw, environ_base=SCHOOL_NAT, headers={
        "Authorization": f"Bearer {token}", "X-Adal-Timestamp": stamp, "Content-Type": "application/json",
        "X-Adal-Signature": signature(secret, stamp, raw), "Accept-Language": "en"})


def test_the_api_is_limited_per_token(api_app, integrations):
    client = api_app.test_client()
    for i in range(3):
        assert _signal(client, integrations, "one", f"scan-{i}").status_code == 201
    before = _counts(api_app)
    refused = _signal(client, integrations, "one", "scan-3")
    assert refused.status_code == 429 and refused.mimetype == "application/json"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    answer = refused.get_json()
    assert answer["error"] == "rate_limited" and answer["retry_after"] == int(refused.headers["Retry-After"])
    assert "Try again in" in answer["message"]
    assert _counts(api_app) == before
    # Another integration from the same address has its own allowance.
    assert _signal(client, integrations, "two", "scan-3").status_code == 201


# -- admin sign-in ----------------------------------------------------------------------------------
def _admin_state(app) -> tuple:
    from plugin.admin.models import AdminAccount

    with app.extensions["adal.runtime"].session() as session:
        accounts = [tuple(r) for r in session.execute(select(AdminAccount.username, AdminAccount.failed_attempts,
                                                             AdminAccount.locked_until)).all()]
        return accounts, session.execute(select(func.count()).select_from(AuditEntry)).scalar_one()


def _admin_login(client, username: str, address: str):
    page = client.get("/admin/login?lang=en", environ_base={"REMOTE_ADDR": address}).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return client.post("/admin/login", data={"csrf_token": token, "username": username, "password": "wrong-password"},
                       environ_base={"REMOTE_ADDR": address})


def test_admin_sign_in_is_limited_per_account_and_per_address(tmp_path, migrated_url, make_app):
    from plugin.admin.accounts import create_admin

    app = make_app(make_config(tmp_path / "i", migrated_url, ADAL_RATE_ADMIN_ACCOUNT="3/900",
                               ADAL_RATE_ADMIN_ADDRESS="5/900"))
    with app.extensions["adal.runtime"].session() as session:
        for name in ("alice", "bob"):
            create_admin(session, Actor.system("test"), name, "correct horse battery staple", now=T0)
        session.commit()
    client = app.test_client()
    for _ in range(3):  # from three addresses: the account's own limit
        assert _admin_login(client, "alice", f"192.0.2.{_}").status_code == 401
    before = _admin_state(app)
    refused = _admin_login(client, "Alice", "192.0.2.50")  # the name as typed differently: the same account
    assert refused.status_code == 429 and 1 <= int(refused.headers["Retry-After"]) <= 900
    assert "Try again in" in refused.get_data(as_text=True)
    assert _admin_state(app) == before  # no failed attempt counted, no audit entry
    assert _admin_login(client, "bob", "192.0.2.50").status_code == 401  # another account: its own allowance
    # One address trying many accounts: the address's limit (alice's refused try did not count there).
    for name in ("carol", "dave", "erin", "frank"):  # with bob's, five from this address
        assert _admin_login(client, name, "192.0.2.50").status_code == 401
    assert _admin_login(client, "grace", "192.0.2.50").status_code == 429
    assert _admin_login(client, "grace", "192.0.2.51").status_code == 401


# -- several workers: one counter in Redis ------------------------------------------------------------
@pytest.fixture
def redis_prefix() -> Iterator[str]:
    name = f"adal-test:{uuid.uuid4().hex}"
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError:
        pytest.fail("Redis is not running at 127.0.0.1:6379 (see README, Running in production)")
    yield name
    for key in client.scan_iter(f"{name}:*"):
        client.delete(key)
    client.close()


def test_two_app_instances_share_the_counter_through_redis(tmp_path, migrated_url, make_app, redis_prefix):
    config = replace(make_config(tmp_path / "i", migrated_url, ADAL_REDIS_URL=REDIS_URL, ADAL_RATE_LTI_USER="4/60"),
                     rate_limit_prefix=redis_prefix)
    first, second = make_app(config), make_app(config)
    platform = _platform("moodle-shared")
    register(first, platform)
    a, b = first.test_client(), second.test_client()
    for client in (a, b, a, b):
        assert _login(client, platform, "student-042").status_code == 302
    before = _counts(first)
    _assert_too_many(_login(a, platform, "student-042"), within=60)
    _assert_too_many(_login(b, platform, "student-042"), within=60)
    assert _counts(first) == before
    assert list(redis.Redis.from_url(REDIS_URL).scan_iter(f"{redis_prefix}:*")), "the counters are in Redis"
