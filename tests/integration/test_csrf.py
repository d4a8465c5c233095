"""CSRF on every state-changing route: the test walks the application's URL map, so a route added
later is covered without anyone remembering to add it here.

Every rule accepting POST, PUT, PATCH or DELETE, unless listed in ``EXEMPT`` below, must refuse a
request without a CSRF token with 400 and the "form expired" page, and change nothing (every
table's rows and the file store compared before and after), even for a signed-in user holding
every role."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select
from sqlmodel import SQLModel

from plugin.kernel.users import Actor, Role
from plugin.migrations import load_all_models
from tests.factories import make_course
from tests.factories_work import login, make_assignment, person, submit

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
#: Routes without CSRF, each with what protects it instead. Nothing else may be exempt.
EXEMPT = {
    # The LMS posts these from its own origin (OIDC third-party login and the form_post of the
    # id_token): the state cookie, the nonce and the platform's signature protect them.
    "lti.login": "OIDC state + nonce",
    "lti.launch": "signed id_token, state cookie, single-use nonce",
    "lti.launch_with_platform_storage": "signed id_token, state secret from Platform Storage, nonce",
    # A server-to-server API without a browser session: bearer token + HMAC over timestamp and body.
    "api.post_signal": "bearer token + HMAC signature",
}
CSRF_MESSAGE = "The form expired or did not come from this page"


def _state_changing_rules(app: Flask) -> list[tuple[str, str, str]]:
    """(endpoint, method, URL) for every state-changing rule, ids filled with 1."""
    found = []
    for rule in app.url_map.iter_rules():
        for method in sorted((rule.methods or set()) & STATE_CHANGING):
            values = dict.fromkeys(rule.arguments, 1)  # an id, or text "1": every converter accepts it
            with app.test_request_context():
                url = app.url_for(rule.endpoint, **values, _method=method)
            found.append((rule.endpoint, method, url))
    return found


def _snapshot(app: Flask) -> dict[str, object]:
    load_all_models()
    runtime = app.extensions["adal.runtime"]
    with runtime.session() as session:
        tables = {table.name: sorted(map(repr, session.execute(select(table)).all()))
                  for table in SQLModel.metadata.sorted_tables}
    files = sorted(str(p) for p in Path(app.config["ADAL_CONFIG"].file_store_path).rglob("*") if p.is_file())
    return {"tables": tables, "files": files}


@pytest.fixture
def signed_in(app, client):
    """A user holding every role in a course with a submission (ids 1 exist, so a view that ran
    would find something to change)."""
    with app.extensions["adal.runtime"].session() as session:
        course = make_course(session)
        user, student = person(session, course, "student-001", "Аружан Тестова")
        submit(session, student, make_assignment(session, course))
        session.commit()
        everything = Actor.for_user(user, frozenset(Role), course_id=course.id)
    login(client, everything)
    return client


def test_every_state_changing_route_refuses_a_request_without_a_csrf_token(app, signed_in):
    rules = _state_changing_rules(app)
    checked = [(endpoint, method, url) for endpoint, method, url in rules if endpoint not in EXEMPT]
    assert len(checked) >= 30, "the walk found the application's forms"
    before = _snapshot(app)
    accepted = []
    for endpoint, method, url in checked:
        response = signed_in.open(url, method=method, data={"comment": "x", "lang": "en", "confirm": "1"},
                                  headers={"Accept-Language": "en"})
        if response.status_code != 400 or CSRF_MESSAGE not in response.get_data(as_text=True):
            accepted.append(f"{method} {url} ({endpoint}): {response.status_code}")
    assert not accepted, "answered without a CSRF token:\n" + "\n".join(accepted)
    assert _snapshot(app) == before


def test_the_same_form_with_its_token_gets_past_the_check(app, signed_in):
    """The refusal above is CSRF's, not the view's: with the page's token the form is accepted."""
    html = signed_in.get("/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    response = signed_in.post("/lang", data={"lang": "en", "next": "/", "csrf_token": token})
    assert response.status_code == 303


def test_the_exemptions_are_exactly_the_listed_ones_and_they_exist(app, client):
    endpoints = {endpoint for endpoint, _method, _url in _state_changing_rules(app)}
    assert set(EXEMPT) <= endpoints, f"stale exemptions: {set(EXEMPT) - endpoints}"
    for endpoint, method, url in _state_changing_rules(app):
        if endpoint in EXEMPT:
            response = client.open(url, method=method, data={}, headers={"Accept-Language": "en"})
            assert CSRF_MESSAGE not in response.get_data(as_text=True), endpoint  # its own check answers
