"""The admin console over HTTP: every console page refuses anyone without a complete admin session
(anonymous, password only, wrong or replayed code, locked, LTI identity with an admin role, idle
timeout); the pages' forms call the services, are CSRF-protected, and write audit entries."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pyotp
import pytest
from sqlalchemy import func, select, update

from plugin.admin.accounts import create_admin
from plugin.admin.demo import install_demo_admin
from plugin.admin.models import AdminAccount, AdminSession, UsageJournalEntry
from plugin.kernel.audit import AuditEntry
from plugin.kernel.clock import now_utc
from plugin.kernel.settings import get_setting
from plugin.kernel.users import Actor, Role
from plugin.kernel.web import remember_actor
from tests.conftest import make_config

PASSWORD = "correct horse battery staple"
NOTICES = Path(__file__).resolve().parents[2] / "plugin" / "demo" / "notices"


@pytest.fixture
def rt(app):
    return app.extensions["adal.runtime"]


@pytest.fixture
def enrolled(app, rt):
    with app.app_context(), rt.session() as session:
        enrolment = create_admin(session, Actor.system("cli:tester"), "alice", PASSWORD, now=now_utc())
        session.commit()
    return enrolment


def _csrf(client, path: str = "/admin/login?lang=en") -> str:
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _password(client, username: str = "alice", password: str = PASSWORD):
    return client.post("/admin/login", data={"csrf_token": _csrf(client), "username": username,
                                              "password": password})


def _code(client, code: str):
    token = _csrf(client, "/admin/second-factor")
    return client.post("/admin/second-factor", data={"csrf_token": token, "code": code})


def _sign_in(client, enrolled, code: str | None = None):
    assert _password(client).status_code == 303
    return _code(client, code or pyotp.TOTP(enrolled.seed).now())


def _actions(rt, action: str) -> list[AuditEntry]:
    with rt.session() as session:
        return list(session.execute(select(AuditEntry).where(AuditEntry.action == action)
                                    .order_by(AuditEntry.seq)).scalars())


def _console_routes(app) -> list[tuple[str, str]]:
    """Every (method, path) of the console, found in the URL map (sign-in pages aside)."""
    open_pages = {"admin.login", "admin.second_factor", "admin.logout"}
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("admin.") or rule.endpoint in open_pages:
            continue
        path = re.sub(r"<[^>]+>", "1", rule.rule)  # any id: refused before it is looked up
        found += [(method, path) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return found


def _assert_refused(client, app) -> None:
    routes = _console_routes(app)
    assert len(routes) >= 14
    token = _csrf(client)
    for method, path in routes:
        response = client.open(path, method=method, data={"csrf_token": token} if method == "POST" else None)
        assert response.status_code == 302, (method, path, response.status_code)
        assert response.headers["Location"].startswith("/admin/login"), (method, path)


def test_anonymous_is_sent_to_sign_in_everywhere(app, client, enrolled):
    _assert_refused(client, app)


def test_the_password_alone_opens_nothing(app, client, enrolled):
    assert _password(client).headers["Location"] == "/admin/second-factor"
    _assert_refused(client, app)


def test_a_wrong_code_opens_nothing(app, client, rt, enrolled):
    totp = pyotp.TOTP(enrolled.seed)
    _password(client)
    wrong = "000000" if totp.now() != "000000" else "111111"
    refused = _code(client, wrong)
    assert refused.status_code == 401
    assert "not right" in refused.get_data(as_text=True)
    _assert_refused(client, app)
    failed = _actions(rt, "admin.login_failed")
    assert failed[-1].actor == "system:admin:alice" and '"code"' in failed[-1].payload


def test_a_replayed_code_opens_nothing(app, client, rt, enrolled):
    code = pyotp.TOTP(enrolled.seed).now()
    assert _sign_in(client, enrolled, code).headers["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    client.post("/admin/logout", data={"csrf_token": _csrf(client, "/admin/")})
    assert client.get("/admin/").status_code == 302  # logged out on the server
    other = app.test_client()
    assert _sign_in(other, enrolled, code).status_code == 401
    _assert_refused(other, app)
    assert '"replayed"' in _actions(rt, "admin.login_failed")[-1].payload
    assert len(_actions(rt, "admin.logout")) == 1


def test_lockout_refuses_the_right_password_and_code(app, client, rt, enrolled):
    for attempt in range(5):
        assert _password(client, password=f"wrong password {attempt}").status_code == 401
    assert len(_actions(rt, "admin.locked")) == 1
    assert _password(client).status_code == 401  # locked: the right password is refused too
    _assert_refused(client, app)
    with rt.session() as session:  # 15 minutes later (moved back in the database), it opens again
        session.execute(update(AdminAccount).values(locked_until=now_utc() - timedelta(seconds=1)))
        session.commit()
    assert _sign_in(client, enrolled).status_code == 303
    assert client.get("/admin/").status_code == 200


def test_an_lti_identity_with_an_admin_role_opens_nothing(app, client, enrolled):
    with client.session_transaction() as session, app.test_request_context():
        from flask import session as flask_session

        remember_actor(Actor(label="user:1", user_id=1, roles=frozenset({Role.ADMIN, Role.TEACHER})))
        session.update(flask_session)
    _assert_refused(client, app)


def test_signing_in_drops_an_lti_identity(client, enrolled):
    with client.session_transaction() as session:
        session["actor"] = {"label": "user:1", "user_id": 1, "roles": ["teacher"]}
    _sign_in(client, enrolled)
    with client.session_transaction() as session:
        assert "actor" not in session and "adal_admin" in session


def test_idle_timeout_is_configurable_and_ends_the_session(tmp_path, migrated_url, make_app):
    app = make_app(make_config(tmp_path / "instance", migrated_url, ADAL_ADMIN_IDLE_MINUTES="5"))
    rt = app.extensions["adal.runtime"]
    with app.app_context(), rt.session() as session:
        enrolment = create_admin(session, Actor.system("t"), "alice", PASSWORD, now=now_utc())
        session.commit()
    client = app.test_client()
    _sign_in(client, enrolment)

    def idle_for(minutes: int) -> None:
        with rt.session() as session:
            session.execute(update(AdminSession).values(last_seen_at=now_utc() - timedelta(minutes=minutes)))
            session.commit()

    idle_for(4)
    assert client.get("/admin/").status_code == 200
    idle_for(6)
    expired = client.get("/admin/settings")
    assert expired.status_code == 302 and "expired=1" in expired.headers["Location"]
    assert "idle too long" in client.get(expired.headers["Location"]).get_data(as_text=True)
    assert client.get("/admin/").status_code == 302  # ended on the server: the same cookie stays out
    assert '"idle"' in _actions(rt, "admin.session_expired")[0].payload


def test_unknown_username_and_wrong_password_read_the_same(client, rt, enrolled):
    unknown = _password(client, username="nobody")
    wrong = _password(client, password="not the password")
    assert unknown.status_code == wrong.status_code == 401
    text = re.compile(r'<p class="error-summary"[^>]*>(.*?)</p>', re.S)
    assert text.search(unknown.get_data(as_text=True)).group(1) == text.search(wrong.get_data(as_text=True)).group(1)
    assert len(_actions(rt, "admin.login_failed")) == 2


def test_the_next_page_is_kept_and_only_inside_the_console(client, enrolled):
    login = client.get("/admin/login?next=/admin/journal")
    token = re.search(r'name="csrf_token" value="([^"]+)"', login.get_data(as_text=True)).group(1)
    client.post("/admin/login", data={"csrf_token": token, "username": "alice", "password": PASSWORD,
                                      "next": "/admin/journal"})
    assert _code(client, pyotp.TOTP(enrolled.seed).now()).headers["Location"] == "/admin/journal"
    other_client = client.application.test_client()
    token = _csrf(other_client)
    other_client.post("/admin/login", data={"csrf_token": token, "username": "alice", "password": PASSWORD,
                                            "next": "https://evil.example/admin/"})
    code = pyotp.TOTP(enrolled.seed).at(now_utc() + timedelta(seconds=30))  # the next step: not a replay
    assert _code(other_client, code).headers["Location"] == "/admin/"


def test_posts_need_the_csrf_token(client, enrolled):
    _sign_in(client, enrolled)
    refused = client.post("/admin/journal", data={"system_name": "x"})
    assert refused.status_code == 400
    refused = client.post("/admin/login", data={"username": "alice", "password": PASSWORD})
    assert refused.status_code == 400


# -- the pages --------------------------------------------------------------------------------------
@pytest.fixture
def signed_in(client, enrolled):
    _sign_in(client, enrolled)
    return client


def _post(client, path: str, **data):
    return client.post(path, data={"csrf_token": _csrf(client, "/admin/"), **data})


def test_settings_change_is_audited_and_a_bad_value_changes_nothing(signed_in, rt):
    bad = _post(signed_in, "/admin/settings", **{"commission.quorum": "5", "detector.low_band_percent": "300"})
    assert bad.status_code == 400
    page = bad.get_data(as_text=True)
    assert "detector.low_band_percent" in page and 'aria-invalid="true"' in page
    with rt.session() as session:
        assert get_setting(session, "commission.quorum") == 3  # the valid one was not saved either
    good = _post(signed_in, "/admin/settings", **{"commission.quorum": "5", "institution.type": "university"})
    assert good.status_code == 303
    with rt.session() as session:
        assert get_setting(session, "commission.quorum") == 5
        assert get_setting(session, "institution.type") == "university"
    changed = _actions(rt, "settings.changed")
    assert len(changed) == 2 and {e.actor for e in changed} == {"system:admin:alice"}


def test_journal_add_edit_export(signed_in, rt):
    fields = {"system_name": "=Сынақ-GPT", "scenario": "Тапсырма жобасы", "responsible_unit": "ОӘБ",
              "decision_number": "7/3", "decision_date": "2026-08-28", "note": ""}
    missing = _post(signed_in, "/admin/journal", **{**fields, "decision_date": ""})
    assert missing.status_code == 400 and 'id="decision_date-error"' in missing.get_data(as_text=True)
    assert _post(signed_in, "/admin/journal", **fields).status_code == 303
    with rt.session() as session:
        entry_id = session.execute(select(UsageJournalEntry.id)).scalar_one()
    assert _post(signed_in, f"/admin/journal/{entry_id}", **{**fields, "decision_number": "8/1"}).status_code == 303
    assert signed_in.get("/admin/journal/999999").status_code == 404
    export = signed_in.get("/admin/journal.csv")
    assert export.mimetype == "text/csv" and "'=Сынақ-GPT" in export.get_data(as_text=True)
    assert "8/1" in export.get_data(as_text=True)
    assert [e.actor for e in _actions(rt, "journal.entry_added") + _actions(rt, "journal.entry_changed")] == \
        ["system:admin:alice"] * 2


def test_integration_token_is_shown_once_and_revoked(signed_in, rt):
    added = _post(signed_in, "/admin/integrations", name="antiplagiat-main")
    page = added.get_data(as_text=True)
    token = re.search(r'id="issued-token">([^<]+)<', page).group(1)
    assert token.startswith("adal_it_")
    assert token not in signed_in.get("/admin/integrations").get_data(as_text=True)
    assert _post(signed_in, "/admin/integrations", name="bad name!").status_code == 400
    assert _post(signed_in, "/admin/integrations/revoke", name="antiplagiat-main").status_code == 303
    assert "revoked" in signed_in.get("/admin/integrations").get_data(as_text=True)
    assert _actions(rt, "integration.revoked")[0].actor == "system:admin:alice"


def test_commission_and_members(signed_in, rt):
    assert _post(signed_in, "/admin/commissions", name="Адалдық комиссиясы", scope="institution").status_code == 303
    seat = dict(commission="Адалдық комиссиясы", issuer="https://lms.example.test", subject="staff-1",
                role="chair", display_name="Гүлнар Сынаққызы")
    assert _post(signed_in, "/admin/commissions/members", **seat).status_code == 303
    second = _post(signed_in, "/admin/commissions/members", **{**seat, "subject": "staff-2"})
    assert second.status_code == 400 and "already has a chair" in second.get_data(as_text=True)
    assert "Гүлнар Сынаққызы" in signed_in.get("/admin/commissions").get_data(as_text=True)
    assert _post(signed_in, "/admin/commissions/members/remove", commission=seat["commission"],
                 issuer=seat["issuer"], subject="staff-1").status_code == 303
    assert [e.action for e in _actions(rt, "commission.member_added") + _actions(rt, "commission.member_removed")] \
        == ["commission.member_added", "commission.member_removed"]


def test_platform_and_registration_link(signed_in, rt):
    values = dict(issuer="https://moodle.example.test", client_id="c-1", deployment_id="d-1",
                  keyset_url="https://moodle.example.test/jwks", auth_login_url="https://moodle.example.test/auth",
                  auth_token_url="https://moodle.example.test/token", audience="")
    bad = _post(signed_in, "/admin/platforms", **{**values, "keyset_url": "http://moodle.example.test/jwks"})
    assert bad.status_code == 400
    assert _post(signed_in, "/admin/platforms", **values).status_code == 303
    assert "https://moodle.example.test/jwks" in signed_in.get("/admin/platforms").get_data(as_text=True)
    link = _post(signed_in, "/admin/platforms/registration-link", valid_hours="2")
    assert re.search(r"http://localhost/lti/register/[\w-]{20,}", link.get_data(as_text=True))
    assert _post(signed_in, "/admin/platforms/registration-link", valid_hours="0").status_code == 400
    assert _post(signed_in, "/admin/platforms/remove", issuer=values["issuer"], client_id="c-1").status_code == 303
    assert len(_actions(rt, "lti.registration_link_created")) == 1
    assert _actions(rt, "lti.platform_removed")[0].actor == "system:admin:alice"


def test_notice_published_from_an_upload(signed_in, rt):
    from io import BytesIO

    for lang in ("kk", "ru"):
        data = {"csrf_token": _csrf(signed_in, "/admin/"), "lang": lang,
                "file": (BytesIO((NOTICES / f"notice.{lang}.toml").read_bytes()), f"notice.{lang}.toml")}
        assert signed_in.post("/admin/notices", data=data, content_type="multipart/form-data").status_code == 303
    page = signed_in.get("/admin/notices").get_data(as_text=True)
    assert "kk ru" in page
    broken = {"csrf_token": _csrf(signed_in, "/admin/"), "lang": "en",
              "file": (BytesIO(b"not = [toml"), "broken.toml")}
    assert signed_in.post("/admin/notices", data=broken, content_type="multipart/form-data").status_code == 400
    with rt.session() as session:
        published = session.execute(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.actor == "system:admin:alice", AuditEntry.action.like("notice.%"))).scalar_one()
    assert published == 2


def test_demo_admin_is_shown_on_the_demo_page_and_signs_in(app, rt):
    from plugin.demo import install_demo

    install_demo(app, "http://127.0.0.1:5999")
    demo = install_demo_admin(app)
    client = app.test_client()
    page = client.get("/demo/?lang=en").get_data(as_text=True)
    assert f'id="demo-admin-username">{demo.username}<' in page
    assert f'id="demo-admin-password">{demo.password}<' in page
    code = re.search(r'id="demo-admin-code">(\d{6})<', page).group(1)
    assert _password(client, demo.username, demo.password).status_code == 303
    assert _code(client, code).status_code == 303
    assert client.get("/admin/").status_code == 200
    again = install_demo_admin(app)  # a second start: a new password, the old one stops working
    assert again.password != demo.password
    assert _password(app.test_client(), demo.username, demo.password).status_code == 401
