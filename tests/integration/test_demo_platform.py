"""The demo LMS as a real platform for what Adal calls back: a placed assignment, a score in its
gradebook through AGS (token endpoint checking Adal's client assertion), its roster through NRPS."""

from __future__ import annotations

from datetime import UTC, datetime

import requests
from sqlmodel import select

from attribution.models import Assignment
from lti.models import ContextServices
from plugin.demo import install_demo
from plugin.kernel.ports import ScoreUpdate
from tests.integration.test_lti_deep_linking import _forms
from tests.servers import serve_wsgi


def _follow_demo_launch(http: requests.Session, base: str, query: str) -> requests.Response:
    page = http.get(f"{base}/demo/start?{query}", timeout=10)  # → Adal login → demo auth → auto-post form
    form = _forms(page.text)[-1]
    return http.post(form["action"], data=form["fields"], timeout=10)


def test_demo_platform_takes_a_score_and_gives_its_roster(app, make_app):
    with serve_wsgi(app) as base:
        state = install_demo(app, base)
        try:
            teacher = requests.Session()
            picker = _follow_demo_launch(teacher, base, "person=teacher-bakyt&message=deeplink")
            form = next(f for f in _forms(picker.text) if f["action"].endswith("/lti/deep-link"))
            choice = {**form["fields"], "title": "Essay 1", "score_maximum": "20"}
            answer = teacher.post(base + form["action"], data=choice, timeout=10)
            back = next(f for f in _forms(answer.text) if f["action"].endswith("/deep-link-return"))
            assert teacher.post(back["action"], data=back["fields"], timeout=10).status_code == 200
            assert len(state.links) == 1 and len(state.line_items) == 1
            student = requests.Session()
            assert _follow_demo_launch(student, base, "person=student-aigerim&link=0").status_code == 200

            runtime = app.extensions["adal.runtime"]
            with runtime.session() as session:
                assignment = session.exec(select(Assignment)).one()
                services = session.exec(select(ContextServices)).one()
            assert assignment.line_item_url == state.links[0]["line_item_url"]
            assert services.lineitems_url == base + "/demo/lineitems"
            assert "https://purl.imsglobal.org/spec/lti-ags/scope/score" in services.ags_scopes

            runtime.ports.grades.publish_score(assignment.course_id, ScoreUpdate(
                line_item_url=assignment.line_item_url, user_subject="student-aigerim", score_given=17.5,
                score_maximum=20.0, activity_progress="Completed", grading_progress="FullyGraded",
                timestamp=datetime(2026, 11, 22, 10, 0, tzinfo=UTC)))
            [(key, score)] = state.scores.items()
            assert key[1] == "student-aigerim" and score["scoreGiven"] == 17.5
            assert score["gradingProgress"] == "FullyGraded"
            gradebook = requests.get(base + "/demo/gradebook?lang=en", timeout=10).text
            assert "17.5" in gradebook

            members = runtime.ports.roster.list_members(assignment.course_id)
            assert {m.user_subject for m in members} == {"student-aigerim", "student-timur", "teacher-bakyt",
                                                         "ta-dana", "mentor-erlan"}
        finally:
            app.extensions["adal.runtime"].ports.grades.close()
