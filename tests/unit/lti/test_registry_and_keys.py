"""Registrations, deployments and the tool's keys, as services."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from lti.claims import map_roles
from lti.errors import LaunchRefused
from lti.keys import PURPOSE, published_jwks, rotate_keys, signing_key
from lti.models import Deployment, ToolKey
from lti.registry import add_platform, check_deployment, find_platform, list_platforms, remove_platform
from lti.urls import acceptable_platform_url
from plugin.kernel.audit import AuditEntry
from plugin.kernel.errors import InvalidInput, NotFound
from plugin.kernel.users import Actor, Role
from tests.factories import T0

ADMIN = Actor.system("test")
LMS = {"issuer": "https://moodle.example.kz", "client_id": "c1", "deployment_id": "d1",
       "keyset_url": "https://moodle.example.kz/mod/lti/certs.php",
       "auth_login_url": "https://moodle.example.kz/mod/lti/auth.php",
       "auth_token_url": "https://moodle.example.kz/mod/lti/token.php"}


@pytest.fixture
def app_context(app):
    with app.app_context():
        yield


def test_add_list_remove_platform_with_audit(db_session, app_context):
    platform = add_platform(db_session, ADMIN, now=T0, **LMS)
    add_platform(db_session, ADMIN, now=T0, **{**LMS, "deployment_id": "d2"})
    rows = list_platforms(db_session)
    assert [(p.issuer, deps) for p, deps in rows] == [(LMS["issuer"], ["d1", "d2"])]
    assert find_platform(db_session, LMS["issuer"], None).id == platform.id
    remove_platform(db_session, ADMIN, issuer=LMS["issuer"], client_id="c1", now=T0)
    assert list_platforms(db_session) == []
    assert db_session.exec(select(Deployment)).all() == []
    actions = db_session.exec(select(AuditEntry.action).order_by(AuditEntry.seq)).all()
    assert actions == ["lti.platform_added", "lti.platform_added", "lti.platform_removed"]
    with pytest.raises(NotFound):
        remove_platform(db_session, ADMIN, issuer=LMS["issuer"], client_id="c1", now=T0)


@pytest.mark.parametrize("url", ["http://moodle.example.kz/certs", "ftp://x/y", "https://user:pw@x/y", "/relative"])
def test_platform_urls_must_be_https_except_loopback(db_session, app_context, url):
    with pytest.raises(InvalidInput):
        add_platform(db_session, ADMIN, now=T0, **{**LMS, "keyset_url": url})
    assert list_platforms(db_session) == []


def test_loopback_http_is_allowed():
    assert acceptable_platform_url("http://127.0.0.1:8000/jwks")
    assert acceptable_platform_url("http://localhost/jwks")
    assert acceptable_platform_url("http://[::1]:9/jwks")
    assert not acceptable_platform_url("http://127.0.0.1.evil.example/jwks")
    for broken in ("http://[::1", "https://lms.example.kz:99999/x", "https://lms.example.kz:abc/x"):
        assert not acceptable_platform_url(broken)


def test_same_issuer_with_other_urls_is_refused(db_session, app_context):
    add_platform(db_session, ADMIN, now=T0, **LMS)
    with pytest.raises(InvalidInput):
        add_platform(db_session, ADMIN, now=T0, **{**LMS, "keyset_url": "https://other.example.kz/certs"})


def test_two_clients_of_one_issuer_need_the_client_id(db_session, app_context):
    add_platform(db_session, ADMIN, now=T0, **LMS)
    add_platform(db_session, ADMIN, now=T0, **{**LMS, "client_id": "c2"})
    assert find_platform(db_session, LMS["issuer"], None) is None  # ambiguous: refused, not guessed
    assert find_platform(db_session, LMS["issuer"], "c2").client_id == "c2"


def test_unknown_deployment_refused_unless_auto_registration(db_session, app_context):
    strict = add_platform(db_session, ADMIN, now=T0, **LMS)
    with pytest.raises(LaunchRefused) as refused:
        check_deployment(db_session, strict, "d-new", now=T0)
    assert refused.value.code == "unknown_deployment"
    relaxed = add_platform(db_session, ADMIN, now=T0, auto_register_deployments=True,
                           **{**LMS, "client_id": "c-auto"})
    assert check_deployment(db_session, relaxed, "d-new", now=T0).deployment_id == "d-new"


def test_tool_key_is_sealed_and_rotation_keeps_old_key_for_grace(db_session, runtime):
    kid, pem = signing_key(db_session, now=T0)
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    stored = db_session.exec(select(ToolKey)).one()
    assert b"PRIVATE KEY" not in stored.private_key_sealed.encode()
    assert runtime.box.open(stored.private_key_sealed, PURPOSE) == pem
    assert [k["kid"] for k in published_jwks(db_session, now=T0)["keys"]] == [kid]
    assert all("d" not in k for k in published_jwks(db_session, now=T0)["keys"]), "no private part published"
    new = rotate_keys(db_session, ADMIN, now=T0, grace=timedelta(days=7))
    assert signing_key(db_session, now=T0)[0] == new.kid
    assert [k["kid"] for k in published_jwks(db_session, now=T0 + timedelta(days=6))["keys"]] == [kid, new.kid]
    assert [k["kid"] for k in published_jwks(db_session, now=T0 + timedelta(days=8))["keys"]] == [new.kid]


@pytest.mark.parametrize(("roles", "expected", "ta"), [
    (["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"], {Role.STUDENT}, False),
    (["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"], {Role.TEACHER}, False),
    (["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor",
      "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant"], {Role.TEACHER}, True),
    (["Learner"], {Role.STUDENT}, False),
    (["http://purl.imsglobal.org/vocab/lis/v2/membership#Mentor"], set(), False),
    (["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner",
      "http://purl.imsglobal.org/vocab/lti/system/person#TestUser"], set(), False),
    (["http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator",
      "http://purl.imsglobal.org/vocab/lis/v2/system/person#Administrator"], set(), False),
    ([], set(), False),
])
def test_role_mapping(roles, expected, ta):
    assert map_roles(roles) == (frozenset(expected), ta)


def test_purge_login_states_deletes_only_long_expired(db_session, app_context):
    from lti.launch import purge_login_states
    from lti.models import LoginState

    platform = add_platform(db_session, ADMIN, now=T0, **LMS)
    for i, age in enumerate((timedelta(minutes=5), timedelta(minutes=70), timedelta(days=3))):
        db_session.add(LoginState(state=f"s{i}", nonce=f"n{i}", platform_id=platform.id, target_link_uri="x",
                                  created_at=T0 - age, expires_at=T0 - age + timedelta(minutes=10)))
    db_session.flush()
    assert purge_login_states(db_session, now=T0) == 1
    assert sorted(s.state for s in db_session.exec(select(LoginState))) == ["s0", "s1"]
