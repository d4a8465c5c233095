"""LTI Advantage services (AGS scores and line items, NRPS roster) against a fake LMS over HTTP.

The fake (tests/fake_lms_services.py) checks the client assertion with Adal's published JWKS, the
grant, the scopes of every bearer token and the media types, as a strict platform would.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import jwt
import pytest
import requests
from sqlmodel import select

from lti.models import ContextServices, Platform
from lti.registry import add_platform
from lti.services import (
    AGS_CLAIM,
    MEDIA_SCORE,
    NRPS_CLAIM,
    SCOPE_LINEITEM,
    SCOPE_MEMBERSHIPS,
    SCOPE_SCORE,
    LtiServices,
    PlatformEndpoint,
    PlatformTokens,
    ServiceRefused,
    record_context_services,
    scores_url,
)
from plugin.kernel.audit import AuditEntry, verify
from plugin.kernel.clock import now_utc
from plugin.kernel.ports import RosterMember, ScoreUpdate
from plugin.kernel.users import Actor, upsert_course
from tests.fake_lms_services import INSTRUCTOR, LEARNER, FakeLmsServices

CLIENT_ID = "adal-client"
GRADED = datetime(2026, 10, 5, 14, 30, 15, 250000, tzinfo=UTC)


class Clock:
    """A monotonic clock the test moves by hand (token expiry without sleeping)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class NoCalls(requests.Session):
    """An HTTP session that records and fails every request: the code under test must not send any."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, str]] = []

    def request(self, method, url, *args, **kwargs):  # type: ignore[override]
        self.calls.append((method, url))
        raise AssertionError(f"Adal called {method} {url}")


@pytest.fixture
def fake(adal) -> Iterator[FakeLmsServices]:
    """The LMS's services; Adal (the ``adal`` fixture of tests/integration/conftest.py) serves its JWKS."""
    with FakeLmsServices(client_id=CLIENT_ID, jwks_url=adal + "/lti/jwks").serve() as served:
        yield served


@pytest.fixture
def adal_runtime(app):
    return app.extensions["adal.runtime"]


def _register(runtime, fake: FakeLmsServices, *, client_id: str = CLIENT_ID, auth_audience: str | None = None) -> int:
    with runtime.session() as session:
        platform = add_platform(session, Actor.system("test"), issuer=fake.base_url, client_id=client_id,
                                deployment_id="dep-1", keyset_url=fake.base_url + "/jwks",
                                auth_login_url=fake.base_url + "/auth", auth_token_url=fake.token_url,
                                auth_audience=auth_audience, now=now_utc())
        session.commit()
        return platform.id


def _course(runtime, platform_id: int, claims: dict, context_id: str = "course-101") -> int:
    with runtime.session() as session:
        course_id = upsert_course(session, issuer="https://lms.example.test", context_id=context_id,
                                  title="Synthetic Course 101", now=now_utc())
        record_context_services(session, platform_id=platform_id, course_id=course_id, claims=claims, now=now_utc())
        session.commit()
        return course_id


@pytest.fixture
def course(adal_runtime, fake) -> int:
    return _course(adal_runtime, _register(adal_runtime, fake), fake.launch_claims())


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def tokens(clock) -> Iterator[PlatformTokens]:
    made = PlatformTokens(timeout=(2.0, 5.0), monotonic=clock)
    yield made
    made.close()


@pytest.fixture
def services(adal_runtime, tokens) -> Iterator[LtiServices]:
    made = LtiServices(adal_runtime, tokens, timeout=(2.0, 5.0))
    yield made
    made.close()


def _score(fake: FakeLmsServices, line_item: int = 1, **changes) -> ScoreUpdate:
    values = {"line_item_url": fake.line_item_url(line_item), "user_subject": "student-001", "score_given": 8.5,
              "score_maximum": 10.0, "activity_progress": "Completed", "grading_progress": "FullyGraded",
              "timestamp": GRADED, "comment": "Жақсы жұмыс"}
    return ScoreUpdate(**{**values, **changes})


def _audit(runtime, prefix: str = "lti.") -> list[tuple[str, str | None, dict]]:
    with runtime.session() as session:
        rows = session.exec(select(AuditEntry).where(AuditEntry.action.startswith(prefix))
                            .order_by(AuditEntry.seq)).all()
    return [(r.action, r.subject, json.loads(r.payload or "{}")) for r in rows if r.action != "lti.platform_added"]


def _tool_kids(adal: str) -> set[str]:
    with requests.get(adal + "/lti/jwks", timeout=5) as response:
        return {key["kid"] for key in response.json()["keys"]}


# -- what a launch offers -----------------------------------------------------------------------
def test_launch_claims_are_recorded_and_bad_urls_are_not(adal_runtime, fake):
    platform_id = _register(adal_runtime, fake)
    course_id = _course(adal_runtime, platform_id, fake.launch_claims())
    with adal_runtime.session() as session:
        row = session.exec(select(ContextServices).where(ContextServices.course_id == course_id)).one()
        assert (row.platform_id, row.lineitems_url, row.memberships_url) == (
            platform_id, fake.lineitems_url, fake.memberships_url)
        assert SCOPE_SCORE in row.ags_scopes.split() and SCOPE_LINEITEM in row.ags_scopes.split()
        # the next launch says otherwise: http on another host, scopes not a list, no NRPS
        later = now_utc() + timedelta(minutes=5)
        same = record_context_services(session, platform_id=platform_id, course_id=course_id, now=later, claims={
            AGS_CLAIM: {"lineitems": "http://lms.example.test/lineitems", "scope": SCOPE_SCORE}})
        assert same == row.id
        # a launch with neither claim changes nothing
        assert record_context_services(session, platform_id=platform_id, course_id=course_id, claims={},
                                       now=later + timedelta(minutes=1)) is None
        assert record_context_services(session, platform_id=platform_id, course_id=course_id, now=later,
                                       claims={NRPS_CLAIM: "not an object"}) is None
        session.commit()
    with adal_runtime.session() as session:
        row = session.exec(select(ContextServices).where(ContextServices.course_id == course_id)).one()
        assert (row.lineitems_url, row.ags_scopes, row.memberships_url) == (None, "", None)
        assert row.updated_at == later


def test_scores_url_appends_to_the_path_before_the_query():
    assert scores_url("https://lms.example.test/li/5/lineitem?type_id=1") == \
        "https://lms.example.test/li/5/lineitem/scores?type_id=1"
    assert scores_url("https://lms.example.test/api/line_items/7/") == "https://lms.example.test/api/line_items/7/scores"


# -- AGS scores ----------------------------------------------------------------------------------
def test_score_is_published_with_the_media_type_fields_and_a_valid_assertion(adal_runtime, adal, fake, course,
                                                                            services):
    fake.add_line_item(label="Essay 1", score_maximum=10, resource_link_id="rl-1")
    services.publish_score(course, _score(fake))
    assert fake.rejections == []
    [received] = fake.scores
    assert received["content_type"] == MEDIA_SCORE
    assert received["body"] == {"userId": "student-001", "scoreGiven": 8.5, "scoreMaximum": 10.0,
                                "activityProgress": "Completed", "gradingProgress": "FullyGraded",
                                "timestamp": "2026-10-05T14:30:15.250Z", "comment": "Жақсы жұмыс"}
    assert ("POST", "/ags/course-101/lineitems/1/lineitem/scores") in fake.requests
    [grant] = fake.token_requests
    assert grant["form"]["scope"] == SCOPE_SCORE
    assert grant["form"]["grant_type"] == "client_credentials"
    claims = grant["claims"]
    assert claims["iss"] == claims["sub"] == CLIENT_ID
    assert claims["aud"] == fake.token_url
    assert claims["exp"] - claims["iat"] == 300
    assert len(claims["jti"]) >= 16
    assert grant["header"]["alg"] == "RS256" and grant["header"]["kid"] in _tool_kids(adal)
    assert _audit(adal_runtime) == [("lti.score_published", f"course:{course}", {
        "line_item": fake.line_item_url(1), "user": "student-001", "score_given": 8.5, "score_maximum": 10.0,
        "activity_progress": "Completed", "grading_progress": "FullyGraded"})]
    with adal_runtime.session() as session:
        assert verify(session, adal_runtime.audit).ok


def test_score_without_a_grade_omits_score_given(fake, course, services):
    fake.add_line_item(label="Essay 1", score_maximum=10)
    services.publish_score(course, _score(fake, score_given=None, comment=None, activity_progress="Submitted",
                                          grading_progress="PendingManual",
                                          timestamp=datetime(2026, 10, 5, 20, 0, tzinfo=UTC) + timedelta(hours=5)))
    [received] = fake.scores
    assert received["body"] == {"userId": "student-001", "scoreMaximum": 10.0, "activityProgress": "Submitted",
                                "gradingProgress": "PendingManual", "timestamp": "2026-10-06T01:00:00.000Z"}


@pytest.mark.parametrize("change", [{"activity_progress": "Done"}, {"grading_progress": "Graded"},
                                    {"score_given": -1.0}, {"score_maximum": 0.0},
                                    {"timestamp": datetime(2026, 10, 5, 14, 30)}])  # noqa: DTZ001 (naive on purpose)
def test_a_score_outside_the_ags_vocabulary_is_a_programming_error(fake, course, services, change):
    with pytest.raises(ValueError):  # noqa: PT011 (each case has its own message)
        services.publish_score(course, _score(fake, **change))
    assert fake.requests == []


def test_token_is_cached_then_refreshed_after_expiry(adal_runtime, fake, course, services, clock):
    fake.add_line_item(label="Essay 1", score_maximum=10)
    fake.expires_in = 120  # cached for 120 - 30 s
    services.publish_score(course, _score(fake))
    services.publish_score(course, _score(fake, user_subject="student-002"))
    assert len(fake.token_requests) == 1
    clock.now += 89
    services.publish_score(course, _score(fake, user_subject="student-003"))
    assert len(fake.token_requests) == 1
    clock.now += 2
    fake.expires_in = 2  # a short-lived token is kept for half its life
    services.publish_score(course, _score(fake, user_subject="student-004"))
    assert len(fake.token_requests) == 2
    services.publish_score(course, _score(fake, user_subject="student-005"))
    assert len(fake.token_requests) == 2
    clock.now += 1.01
    services.publish_score(course, _score(fake, user_subject="student-006"))
    assert len(fake.token_requests) == 3
    assert len({grant["claims"]["jti"] for grant in fake.token_requests}) == 3
    assert [s["body"]["userId"] for s in fake.scores] == [f"student-00{i}" for i in range(1, 7)]
    assert fake.rejections == []
    assert [a for a, _s, _p in _audit(adal_runtime)] == ["lti.score_published"] * 6


def test_one_token_request_for_many_threads(adal_runtime, fake, course, tokens):
    with adal_runtime.session() as session:
        platform = PlatformEndpoint.of(session.exec(select(Platform)).one())
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(lambda _i: tokens.access_token(adal_runtime, platform, [SCOPE_SCORE]), range(16)))
    assert len(set(got)) == 1
    assert len(fake.token_requests) == 1


def test_a_token_the_platform_forgot_is_replaced_once(fake, course, services):
    fake.add_line_item(label="Essay 1", score_maximum=10)
    services.publish_score(course, _score(fake))
    fake.revoke_tokens()
    services.publish_score(course, _score(fake, user_subject="student-002"))
    assert len(fake.token_requests) == 2
    assert len(fake.scores) == 2
    assert fake.rejections == ["unknown or expired token"]


def test_missing_scope_is_refused_without_any_http_call(adal_runtime, fake, services):
    course_id = _course(adal_runtime, _register(adal_runtime, fake), fake.launch_claims(scopes=[SCOPE_LINEITEM]))
    with pytest.raises(ServiceRefused) as refused:
        services.publish_score(course_id, _score(fake))
    assert refused.value.code == "scope_missing"
    assert refused.value.status == 502
    assert "has not allowed Adal" in refused.value.message
    assert fake.requests == []
    assert _audit(adal_runtime) == []


def test_a_course_without_services_is_refused_without_any_http_call(adal_runtime, fake, services):
    platform_id = _register(adal_runtime, fake)
    course_id = _course(adal_runtime, platform_id, {})
    for call in (lambda: services.publish_score(course_id, _score(fake)),
                 lambda: services.list_members(course_id)):
        with pytest.raises(ServiceRefused) as refused:
            call()
        assert refused.value.code == "service_not_offered"
    assert fake.requests == []


@pytest.mark.parametrize(("answer", "code", "words"), [
    ((400, '{"error": "invalid_client", "error_description": "unknown client"}'), "token_refused", "invalid_client"),
    ((401, "<html>Unauthorized</html>"), "token_refused", "HTTP 401"),
    ((200, "<html>Welcome to the LMS</html>"), "token_refused", "invalid_response"),
    ((200, '{"token_type": "Bearer", "expires_in": 3600}'), "token_refused", "no_access_token"),
    ((200, '{"access_token": "abc", "token_type": "mac"}'), "token_refused", "unsupported_token_type"),
    ((200, '{"access_token": "abc", "expires_in": "soon"}'), "token_refused", "invalid_response"),
    ((503, "down for maintenance"), "service_unavailable", "could not reach"),
])
def test_token_endpoint_refusing_gives_a_clear_error_and_nothing_is_recorded(adal_runtime, fake, course, services,
                                                                             answer, code, words):
    fake.add_line_item(label="Essay 1", score_maximum=10)
    fake.token_refusal = answer
    with pytest.raises(ServiceRefused) as refused:
        services.publish_score(course, _score(fake))
    assert refused.value.code == code
    assert words in refused.value.message
    assert fake.scores == []
    assert [r for r in fake.requests if r[1] != "/token"] == []
    assert _audit(adal_runtime) == []


@pytest.mark.parametrize("case", ["wrong_client_id", "wrong_audience", "scope_not_granted"])
def test_the_platform_checks_the_assertion_and_scopes(adal_runtime, fake, services, case):
    """The fake refuses what a strict platform refuses, and Adal says so clearly."""
    platform_id = _register(adal_runtime, fake, client_id="another-client" if case == "wrong_client_id" else CLIENT_ID,
                            auth_audience="https://lms.example.test/aud" if case == "wrong_audience" else None)
    course_id = _course(adal_runtime, platform_id, fake.launch_claims())
    fake.add_line_item(label="Essay 1", score_maximum=10)
    if case == "scope_not_granted":  # the launch offered the scope, the token endpoint does not grant it
        fake.granted_scopes = frozenset({SCOPE_MEMBERSHIPS})
    with pytest.raises(ServiceRefused) as refused:
        services.publish_score(course_id, _score(fake))
    why = {"wrong_client_id": "Invalid issuer", "wrong_audience": "Audience doesn't match",
           "scope_not_granted": "scopes not granted"}[case]
    assert refused.value.code == "token_refused"
    assert ("invalid_scope" if case == "scope_not_granted" else "invalid_client") in refused.value.message
    assert any(why in reason for reason in fake.rejections), fake.rejections
    assert len(fake.rejections) == 1
    assert fake.scores == []
    assert _audit(adal_runtime) == []


def test_the_assertion_is_addressed_to_the_registered_audience(adal_runtime, fake, services):
    fake.audience = "https://lms.example.test/oauth2/aud"
    platform_id = _register(adal_runtime, fake, auth_audience=fake.audience)
    course_id = _course(adal_runtime, platform_id, fake.launch_claims())
    fake.add_line_item(label="Essay 1", score_maximum=10)
    services.publish_score(course_id, _score(fake))
    assert [grant["claims"]["aud"] for grant in fake.token_requests] == [fake.audience]
    assert len(fake.scores) == 1


def test_a_token_granted_for_fewer_scopes_is_refused(adal_runtime, fake, course, tokens):
    """A platform that answers with a narrower ``scope`` than asked for: Adal does not use the token."""
    fake.answer_scope = SCOPE_SCORE
    with adal_runtime.session() as session:
        platform = PlatformEndpoint.of(session.exec(select(Platform)).one())
    with pytest.raises(ServiceRefused) as refused:
        tokens.access_token(adal_runtime, platform, [SCOPE_SCORE, SCOPE_LINEITEM])
    assert refused.value.code == "scope_missing"
    assert len(fake.token_requests) == 1
    # and nothing was cached: the next call asks again
    with pytest.raises(ServiceRefused):
        tokens.access_token(adal_runtime, platform, [SCOPE_SCORE, SCOPE_LINEITEM])
    assert len(fake.token_requests) == 2


@pytest.mark.parametrize("slow", ["token", "scores", "roster"])
def test_a_slow_platform_is_given_up_within_the_timeout(adal_runtime, fake, course, slow):
    fake.add_line_item(label="Essay 1", score_maximum=10)
    tokens = PlatformTokens(timeout=(0.5, 0.5))
    services = LtiServices(adal_runtime, tokens, timeout=(0.5, 0.5))
    try:
        if slow == "token":
            fake.token_delay = 3.0
        else:
            fake.service_delay = 3.0
        call = (lambda: services.list_members(course)) if slow == "roster" else \
            (lambda: services.publish_score(course, _score(fake)))
        started = time.monotonic()
        with pytest.raises(ServiceRefused) as refused:
            call()
        assert time.monotonic() - started < 1.5
    finally:
        services.close()
        tokens.close()
    assert refused.value.code == "service_unavailable"
    assert "could not reach" in refused.value.message
    assert fake.scores == []
    assert _audit(adal_runtime) == []


# -- AGS line items -----------------------------------------------------------------------------
def test_line_item_is_found_or_else_created(adal_runtime, fake, course, services):
    fake.add_line_item(label="Another activity", score_maximum=5, resource_link_id="rl-other")
    created = services.find_or_create_line_item(course, resource_link_id="rl-1", label="Essay 1",
                                                score_maximum=20, tag="adal")
    assert created.url == fake.line_item_url(2)
    assert (created.label, created.score_maximum, created.resource_link_id, created.tag) == (
        "Essay 1", 20, "rl-1", "adal")
    found = services.find_or_create_line_item(course, resource_link_id="rl-1", label="Essay 1", score_maximum=20,
                                              tag="adal")
    assert found == created
    assert [r for r in fake.requests if r[0] == "POST" and r[1].endswith("/lineitems")] == [
        ("POST", "/ags/course-101/lineitems")]
    assert {grant["form"]["scope"] for grant in fake.token_requests} == {SCOPE_LINEITEM}
    assert len(fake.line_items) == 2
    services.publish_score(course, _score(fake, line_item=2))
    assert fake.scores[0]["line_item"] == 2
    assert [(a, p.get("resource_link_id")) for a, _s, p in _audit(adal_runtime)] == [
        ("lti.line_item_created", "rl-1"), ("lti.score_published", None)]
    assert fake.rejections == []


def test_line_items_need_the_lineitem_scope(adal_runtime, fake, services):
    course_id = _course(adal_runtime, _register(adal_runtime, fake), fake.launch_claims(scopes=[SCOPE_SCORE]))
    with pytest.raises(ServiceRefused) as refused:
        services.find_or_create_line_item(course_id, resource_link_id="rl-1", label="Essay 1", score_maximum=10)
    assert refused.value.code == "scope_missing"
    assert fake.requests == []


# -- NRPS roster ---------------------------------------------------------------------------------
def test_roster_collects_every_member_across_pages(adal_runtime, fake, course, services):
    members = services.list_members(course)
    assert members == [
        RosterMember(user_subject="teacher-001", name="Dana Synthetic", roles=(INSTRUCTOR,), status="Active"),
        *[RosterMember(user_subject=f"student-{i:03d}", name=f"Student Number{i}", roles=(LEARNER,))
          for i in range(1, 5)]]
    assert [r for r in fake.requests if r[1].startswith("/nrps/")] == [("GET", "/nrps/course-101/memberships")] * 3
    assert [grant["form"]["scope"] for grant in fake.token_requests] == [SCOPE_MEMBERSHIPS]
    assert fake.rejections == []
    assert _audit(adal_runtime) == [("lti.roster_read", f"course:{course}", {"members": 5, "pages": 3})]


def test_roster_limits(adal_runtime, fake, course, tokens):
    fake.members = fake.members * 2  # the platform repeats people on later pages: each is listed once
    services = LtiServices(adal_runtime, tokens, max_pages=10)
    try:
        assert len(services.list_members(course)) == 5
        services.max_pages = 2
        with pytest.raises(ServiceRefused) as refused:
            services.list_members(course)
        assert refused.value.code == "roster_too_large"
        services.max_pages, services.max_members = 10, 3
        with pytest.raises(ServiceRefused) as refused:
            services.list_members(course)
        assert refused.value.code == "roster_too_large"
    finally:
        services.close()
    assert [a for a, _s, _p in _audit(adal_runtime)] == ["lti.roster_read"]


@pytest.mark.parametrize("elsewhere", ["https://elsewhere.example/nrps/steal?page=2",
                                       "http://lms.example.test/nrps/course-101/memberships?page=2"])
def test_a_next_page_elsewhere_is_not_followed(adal_runtime, fake, course, services, elsewhere):
    fake.next_link_override = elsewhere
    with pytest.raises(ServiceRefused) as refused:
        services.list_members(course)
    assert refused.value.code == "url_refused"
    assert [r for r in fake.requests if r[1].startswith("/nrps/")] == [("GET", "/nrps/course-101/memberships")]
    assert _audit(adal_runtime) == []


# -- where Adal sends nothing -------------------------------------------------------------------
@pytest.mark.parametrize("url", ["http://lms.example.test/ags/course-101/lineitems/1/lineitem",
                                 "https://elsewhere.example/ags/course-101/lineitems/1/lineitem",
                                 "http://127.0.0.1:9/ags/course-101/lineitems/1/lineitem",
                                 "ftp://lms.example.test/lineitem", "/ags/course-101/lineitems/1/lineitem"])
def test_a_line_item_that_is_not_an_https_address_of_the_platform_is_never_called(adal_runtime, fake, course, url):
    http = NoCalls()
    tokens = PlatformTokens(http=http)
    services = LtiServices(adal_runtime, tokens, http=http)
    with pytest.raises(ServiceRefused) as refused:
        services.publish_score(course, _score(fake, line_item_url=url))
    assert refused.value.code == "url_refused"
    assert http.calls == []
    assert fake.requests == []
    assert _audit(adal_runtime) == []
    http.close()


@pytest.mark.parametrize("column", ["memberships_url", "lineitems_url", "token_url"])
def test_stored_urls_without_https_are_never_called(adal_runtime, fake, course, column):
    """Rows written behind Adal's back (or by an older version): checked again before each call."""
    with adal_runtime.session() as session:
        if column == "token_url":
            platform = session.exec(select(Platform)).one()
            platform.auth_token_url = "http://lms.example.test/token"
        else:
            row = session.exec(select(ContextServices)).one()
            setattr(row, column, "http://lms.example.test/service")
        session.commit()
    http = NoCalls()
    services = LtiServices(adal_runtime, PlatformTokens(http=http), http=http)
    call = (lambda: services.find_or_create_line_item(course, resource_link_id="rl-1", label="Essay 1",
                                                      score_maximum=10)) if column == "lineitems_url" else \
        (lambda: services.list_members(course))
    with pytest.raises(ServiceRefused) as refused:
        call()
    assert refused.value.code == "url_refused"
    assert http.calls == []
    assert fake.requests == []
    http.close()


def test_assertion_is_signed_with_the_current_tool_key_after_rotation(adal_runtime, adal, fake, course, services):
    from lti.keys import rotate_keys

    services.list_members(course)
    first_kid = fake.token_requests[0]["header"]["kid"]
    with adal_runtime.session() as session:
        rotate_keys(session, Actor.system("test"), now=now_utc())
        session.commit()
    services.tokens.clear()
    services.list_members(course)
    second_kid = fake.token_requests[1]["header"]["kid"]
    assert second_kid != first_kid
    assert {first_kid, second_kid} <= _tool_kids(adal)
    assert jwt.get_unverified_header(fake.token_requests[1]["form"]["client_assertion"])["kid"] == second_kid
