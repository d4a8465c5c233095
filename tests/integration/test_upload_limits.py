"""Upload limits on every route that accepts a body: a body over the installation's limit
(``ADAL_MAX_UPLOAD_MB`` → ``MAX_CONTENT_LENGTH``) is answered 413 and changes nothing, on every
form (walked from the URL map, so a new upload path is covered), the LTI endpoints included; the
integration API answers its own, lower limit with a JSON 413."""

from __future__ import annotations

import io
import re

from evidence.integrations import MAX_BODY_BYTES
from tests.integration.test_csrf import _snapshot, _state_changing_rules, signed_in  # noqa: F401  (fixture)

LIMIT = 64 * 1024


def test_every_form_refuses_a_body_over_the_limit_with_413_and_changes_nothing(app, signed_in):  # noqa: F811
    html = signed_in.get("/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    app.config["MAX_CONTENT_LENGTH"] = LIMIT
    before = _snapshot(app)
    wrong = []
    rules = [rule for rule in _state_changing_rules(app) if rule[0] != "api.post_signal"]
    for endpoint, method, url in rules:
        response = signed_in.open(url, method=method, headers={"Accept-Language": "en"}, data={
            "csrf_token": token, "files": (io.BytesIO(b"x" * (LIMIT + 1024)), "essay.txt"),
            "report_file": (io.BytesIO(b"{}" * LIMIT), "report.json")})
        if response.status_code != 413:
            wrong.append(f"{method} {url} ({endpoint}): {response.status_code}")
    assert not wrong, "accepted an oversized body:\n" + "\n".join(wrong)
    assert _snapshot(app) == before
    assert {endpoint for endpoint, _m, _u in rules} >= {"work.submit", "tools.stamp", "flags.upload_signal",
                                                        "lti.launch", "lti.login"}


def test_the_api_refuses_a_body_over_its_limit_before_reading_it(app, client):
    before = _snapshot(app)
    response = client.post("/api/v1/signals", data=b"{" + b" " * MAX_BODY_BYTES + b"}",
                           headers={"Authorization": "Bearer adal_it_x", "Content-Type": "application/json"})
    assert response.status_code == 413 and response.get_json()["error"] == "body_too_large"
    assert _snapshot(app) == before
