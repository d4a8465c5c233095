"""Security headers on a sample of responses: an HTML page, an authenticated page, the JSON API,
a file download, an error page, a static file, and the LTI pages the LMS opens as popups."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from attribution.models import SubmissionFile
from plugin.kernel.web import HSTS, PERMISSIONS_POLICY
from tests.conftest import make_config
from tests.factories import make_course
from tests.factories_work import login, make_assignment, person, submit

OFF = ("camera", "microphone", "geolocation", "display-capture")


@pytest.fixture
def world(app):
    with app.extensions["adal.runtime"].session() as session:
        course = make_course(session)
        _user, student = person(session, course, "student-001", "Аружан Тестова")
        submission = submit(session, student, make_assignment(session, course))
        file_id = session.execute(select(SubmissionFile.id).where(
            SubmissionFile.submission_id == submission.id)).scalars().first()
        session.commit()
        return {"student": student, "submission": submission.id, "file": file_id}


def _sample(app, client, world) -> dict[str, object]:
    login(client, world["student"])
    pages = {
        "html": client.get("/"),
        "authenticated": client.get(f"/s/{world['submission']}"),
        "download": client.get(f"/s/{world['submission']}/files/{world['file']}"),
        "json": client.get("/api/v1/openapi.json"),
        "json_refusal": client.post("/api/v1/signals", data=b"{}"),
        "error": client.get("/no/such/page"),
        "forbidden": app.test_client().get(f"/s/{world['submission']}"),
    }
    assert pages["html"].status_code == 200 and pages["html"].mimetype == "text/html"
    assert pages["authenticated"].status_code == 200
    assert pages["download"].status_code == 200 and pages["download"].mimetype == "application/octet-stream"
    assert pages["json"].mimetype == "application/json" and pages["json_refusal"].status_code == 401
    assert pages["error"].status_code == 404 and pages["forbidden"].status_code == 403
    return pages


def test_every_sampled_response_carries_the_security_headers(app, client, world):
    for name, response in _sample(app, client, world).items():
        headers = response.headers
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp, name
        assert "object-src 'none'" in csp and "frame-ancestors 'self'" in csp, name
        assert "X-Frame-Options" not in headers, f"{name}: would contradict frame-ancestors (the LMS frames Adal)"
        assert headers["X-Content-Type-Options"] == "nosniff", name
        assert headers["Referrer-Policy"] == "same-origin", name
        policy = headers["Permissions-Policy"]
        assert policy == PERMISSIONS_POLICY, name
        for feature in OFF:
            assert f"{feature}=()" in policy, (name, feature)
        assert headers["Cross-Origin-Opener-Policy"] == "same-origin", name
        assert "Strict-Transport-Security" not in headers, f"{name}: plain http here, no HSTS"
        assert re.fullmatch(r"[0-9a-f]{12}", headers["X-Correlation-Id"]), name


@pytest.mark.parametrize("name", ["html", "authenticated", "download", "json_refusal", "error", "forbidden"])
def test_pages_with_personal_data_are_never_cached(app, client, world, name):
    response = _sample(app, client, world)[name]
    assert "no-store" in response.headers["Cache-Control"]


def test_public_keys_and_static_files_may_be_cached(client):
    assert client.get("/lti/jwks").headers["Cache-Control"] == "public, max-age=300"
    with client.get("/static/css/adal.css") as static:
        assert static.status_code == 200
        assert static.headers["X-Content-Type-Options"] == "nosniff"  # headers on static files too
        assert static.headers["Cache-Control"] == "no-cache"  # public, revalidated by its ETag


def test_hsts_only_when_the_installation_is_served_over_https(tmp_path, migrated_url, make_app):
    https_app = make_app(make_config(tmp_path / "a", migrated_url, ADAL_BASE_URL="https://adal.example.kz"))
    assert https_app.test_client().get("/").headers["Strict-Transport-Security"] == HSTS
    assert "includeSubDomains" not in HSTS
    # Behind a proxy that says the browser came over https (ProxyFix trusts one hop here).
    proxied = make_app(make_config(tmp_path / "b", migrated_url, ADAL_PROXY_FIX="1"))
    client = proxied.test_client()
    assert client.get("/", headers={"X-Forwarded-Proto": "https"}).headers["Strict-Transport-Security"] == HSTS
    assert "Strict-Transport-Security" not in client.get("/", headers={"X-Forwarded-Proto": "http"}).headers
    # Without ProxyFix a client's own X-Forwarded-Proto is not believed.
    plain = make_app(make_config(tmp_path / "c", migrated_url))
    assert "Strict-Transport-Security" not in plain.test_client().get(
        "/", headers={"X-Forwarded-Proto": "https"}).headers


def test_lti_popups_keep_their_opener(client):
    """The LMS opens the login, launch and registration pages as popups that post messages back to
    ``window.opener`` (Platform Storage, the registration's close message): no COOP there."""
    for response in (client.get("/lti/login?iss=https://unknown.example.kz&login_hint=x"),
                     client.get("/lti/register/"), client.post("/lti/launch", data={"id_token": "x"})):
        assert "Cross-Origin-Opener-Policy" not in response.headers, response.request.path
        assert response.headers["Permissions-Policy"] == PERMISSIONS_POLICY
        assert "no-store" in response.headers["Cache-Control"]
