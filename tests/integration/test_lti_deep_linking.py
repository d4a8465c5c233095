"""Deep Linking round trip with the independent platform: picker → Adal → signed answer → LMS."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import jwt
import requests
from sqlmodel import select

from attribution.models import Assignment
from tests.lti_flow import full_launch


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append({"action": attrs.get("action"), "fields": {}})
        if tag == "input" and self.forms:
            self.forms[-1]["fields"][attrs["name"]] = attrs.get("value", "")


def _forms(html: str) -> list[dict]:
    parser = _Forms()
    parser.feed(html)
    return parser.forms


def test_deep_linking_round_trip_places_an_assignment_with_a_line_item(app, adal, lms):
    http = requests.Session()
    picker = full_launch(lms, http, role="teacher", user="teacher-dl", message="deeplink", locale="en")
    assert picker.status_code == 200
    assert "Add an Adal assignment" in picker.text
    form = next(f for f in _forms(picker.text) if f["action"].endswith("/lti/deep-link"))
    answer = http.post(adal + form["action"] if form["action"].startswith("/") else form["action"],
                       data={**form["fields"], "title": "Essay: AI in education", "score_maximum": "20"}, timeout=10)
    assert answer.status_code == 200
    back = next(f for f in _forms(answer.text) if f["action"].endswith("/deep-link-return"))
    token = back["fields"]["JWT"]
    # the answer is signed with a key Adal publishes, and says what the LMS needs
    header = jwt.get_unverified_header(token)
    jwks = requests.get(adal + "/lti/jwks", timeout=5).json()
    key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    claims = jwt.decode(token, jwt.algorithms.RSAAlgorithm.from_jwk(key), algorithms=["RS256"], audience=lms.issuer)
    assert claims["iss"] == lms.client_id
    assert claims["https://purl.imsglobal.org/spec/lti/claim/message_type"] == "LtiDeepLinkingResponse"
    [item] = claims["https://purl.imsglobal.org/spec/lti-dl/claim/content_items"]
    assert item["type"] == "ltiResourceLink" and item["url"] == adal + "/lti/launch"
    assert item["lineItem"]["scoreMaximum"] == 20.0 and item["lineItem"]["label"] == "Essay: AI in education"
    # the browser posts it to the LMS, which verifies it with Adal's JWKS
    delivered = http.post(back["action"], data=back["fields"], timeout=10)
    assert delivered.status_code == 200, lms.deep_link_errors
    assert len(lms.placed_links) == 1
    with app.extensions["adal.runtime"].session() as session:
        [assignment] = session.exec(select(Assignment)).all()
    assert item["custom"] == {"adal_assignment_id": str(assignment.id)}
    # a student then launches the placed link: Adal learns the LMS's link and gradebook column
    launched = full_launch(lms, role="student", user="student-dl", link="0")
    assert launched.status_code == 200
    with app.extensions["adal.runtime"].session() as session:
        stored = session.get(Assignment, assignment.id)
    assert stored.resource_link_id == "placed-0"
    assert stored.line_item_url == lms.base_url + "/lineitems/0"


def test_picker_refuses_students_and_bad_input_and_needs_a_picker_session(app, adal, lms):
    student = requests.Session()
    page = full_launch(lms, student, role="student", user="student-x", message="deeplink", locale="en")
    assert page.status_code == 200 and "Only a teacher" in page.text
    assert not [f for f in _forms(page.text) if (f["action"] or "").endswith("/lti/deep-link")]
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    refused = student.post(adal + "/lti/deep-link", data={"csrf_token": token, "title": "x"}, timeout=10)
    assert refused.status_code == 403

    teacher = requests.Session()
    picker = full_launch(lms, teacher, role="teacher", user="teacher-y", message="deeplink", locale="en")
    form = next(f for f in _forms(picker.text) if f["action"].endswith("/lti/deep-link"))
    for bad in ({"title": " ", "score_maximum": "10"}, {"title": "Essay", "score_maximum": "0"},
                {"title": "Essay", "score_maximum": "lots"}):
        response = teacher.post(adal + "/lti/deep-link", data={**form["fields"], **bad}, timeout=10)
        assert response.status_code == 400
    with app.extensions["adal.runtime"].session() as session:
        assert session.exec(select(Assignment)).all() == []
    fresh = requests.Session()  # no picker in this browser's session
    assert fresh.post(adal + "/lti/deep-link", data={"title": "x"}, timeout=10).status_code in (400, 403)
