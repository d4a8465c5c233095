"""The request boundary, language choice, security headers and error pages, over the WSGI stack."""

from __future__ import annotations

import re

import pytest
from flask import Flask, abort
from sqlalchemy import func
from sqlmodel import select

from plugin.kernel.i18n import SESSION_LTI_LOCALE
from plugin.kernel.users import User
from plugin.kernel.web import db
from tests.conftest import make_config
from tests.factories import T0


def _lang(html: str) -> str:
    match = re.search(r'<html lang="([a-z]+)"', html)
    assert match, "every page declares its language"
    return match.group(1)


def _csrf(client) -> str:
    html = client.get("/").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_healthz_answers_ok_with_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_healthz_reports_unreachable_database(tmp_path, make_app):
    config = make_config(tmp_path / "instance", f"sqlite:///{tmp_path / 'no-such-dir' / 'x.sqlite3'}")
    response = make_app(config).test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] == "unreachable"


def test_pages_are_kazakh_by_default(client):
    html = client.get("/").get_data(as_text=True)
    assert _lang(html) == "kk"
    assert "Skip to main content" not in html  # the kk catalog is in use, not the English source


@pytest.mark.parametrize(("header", "expected"), [("ru-RU,ru;q=0.9", "ru"), ("en-GB", "en"), ("kk", "kk"),
                                                  ("de-DE,fr;q=0.5", "kk")])
def test_accept_language_is_followed(client, header, expected):
    assert _lang(client.get("/", headers={"Accept-Language": header}).get_data(as_text=True)) == expected


def test_explicit_choice_beats_lti_locale_which_beats_browser(client):
    with client.session_transaction() as session:
        session[SESSION_LTI_LOCALE] = "ru-KZ"
    assert _lang(client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)) == "ru"
    assert _lang(client.get("/?lang=en", headers={"Accept-Language": "kk"}).get_data(as_text=True)) == "en"
    # the choice is remembered for the next page
    assert _lang(client.get("/", headers={"Accept-Language": "kk"}).get_data(as_text=True)) == "en"


def test_language_switch_form_needs_csrf_and_never_redirects_off_site(client):
    refused = client.post("/lang", data={"lang": "ru", "next": "/"})
    assert refused.status_code == 400
    token = _csrf(client)
    for target in ("https://evil.example/", "//evil.example/x", "javascript:alert(1)"):
        response = client.post("/lang", data={"lang": "ru", "next": target, "csrf_token": token})
        assert response.status_code == 303
        assert response.headers["Location"] == "/"
    response = client.post("/lang", data={"lang": "en", "next": "/?x=1", "csrf_token": token})
    assert response.headers["Location"] == "/?x=1"
    assert _lang(client.get("/").get_data(as_text=True)) == "en"


def test_headers_allow_framing_by_the_lms_only(tmp_path, migrated_url, make_app):
    config = make_config(tmp_path / "i", migrated_url, ADAL_FRAME_ANCESTORS="https://moodle.example.kz")
    response = make_app(config).test_client().get("/")
    assert "X-Frame-Options" not in response.headers
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'self' https://moodle.example.kz" in csp
    assert "script-src 'self'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_404_page_is_translated_with_correlation_id(client, lang):
    response = client.get(f"/no/such/page?lang={lang}")
    html = response.get_data(as_text=True)
    assert response.status_code == 404
    assert _lang(html) == lang
    ref = response.headers["X-Correlation-Id"]
    assert re.fullmatch(r"[0-9a-f]{12}", ref)
    assert ref in html


def test_405_and_413_pages(client, app):
    assert client.delete("/healthz").status_code == 405
    app.config["MAX_CONTENT_LENGTH"] = 1024
    response = client.post("/lang", data={"lang": "ru", "blob": "x" * 5000})
    assert response.status_code == 413
    assert response.headers["X-Correlation-Id"] in response.get_data(as_text=True)


def _install_probe_routes(app: Flask) -> None:
    def write_user(status: int):
        db().add(User(display_name="Probe Testuly", created_at=T0))
        db().flush()
        if status >= 400:
            abort(status)
        return "written"

    def explode():
        db().add(User(display_name="Probe Explodova", created_at=T0))
        db().flush()
        raise RuntimeError("secret internals /etc/passwd")

    app.add_url_rule("/_probe/write/<int:status>", view_func=write_user)
    app.add_url_rule("/_probe/explode", view_func=explode)


def _users(app: Flask) -> int:
    with app.extensions["adal.runtime"].session() as session:
        return session.exec(select(func.count()).select_from(User)).one()


def test_request_boundary_commits_success_and_rolls_back_failure(app, client):
    _install_probe_routes(app)
    assert client.get("/_probe/write/200").status_code == 200
    assert _users(app) == 1
    assert client.get("/_probe/write/400").status_code == 400
    assert client.get("/_probe/write/403").status_code == 403
    assert _users(app) == 1


def test_500_page_hides_internals_and_changes_nothing(app, client, caplog):
    _install_probe_routes(app)
    response = client.get("/_probe/explode?lang=ru")
    html = response.get_data(as_text=True)
    assert response.status_code == 500
    assert _lang(html) == "ru"
    assert "Traceback" not in html and "/etc/passwd" not in html and "RuntimeError" not in html
    assert response.headers["X-Correlation-Id"] in html
    assert response.headers["X-Correlation-Id"] in caplog.text  # the log has the reference and the stack
    assert _users(app) == 0


def test_the_demo_lms_exists_only_in_adal_demo(client):
    assert client.get("/demo/").status_code == 404
    assert client.get("/demo/jwks").status_code == 404
    assert client.post("/demo/token").status_code == 404
