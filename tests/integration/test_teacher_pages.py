"""The teacher's pages over the WSGI stack: settings, the table, the CSV, one submission and its
files, grading, reopening; access for every role; and, against a fake LMS over HTTP, the grade
reaching the gradebook and the roster naming who has not submitted."""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlencode

import pytest
from flask_babel import gettext
from sqlalchemy import func, select

from attribution.models import Assignment, Reopening, Submission, SubmissionFile
from attribution.teacher_views import bp as teach_bp
from lti.registry import add_platform
from lti.services import record_context_services
from plugin.kernel.audit import AuditEntry
from plugin.kernel.clock import now_utc
from plugin.kernel.ports import RosterMember
from plugin.kernel.users import Actor, Course, Role
from tests.factories import make_course
from tests.factories_work import FakeRoster, login, make_assignment, person, publish_test_notice, submit
from tests.fake_lms_services import FakeLmsServices

LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"


@pytest.fixture
def rt(app):
    return app.extensions["adal.runtime"]


@pytest.fixture
def world(rt) -> dict:
    """A course with a teacher, a TA, two students and an assignment; another course with its
    teacher and assignment. Committed, as a launch would have left them."""
    with rt.session() as session:
        course = make_course(session)
        other = make_course(session, context_id="course-202", title="Synthetic Course 202")
        _t, teacher = person(session, course, "teacher-1", "Dana Synthetic", Role.TEACHER)
        _ta, ta = person(session, course, "ta-1", "Timur Assistentov", Role.TEACHER, is_ta=True)
        _a, student = person(session, course, "student-001", "Аружан <b>Тестова</b>")
        _b, student_b = person(session, course, "student-002", "Bolat Exampleuly")
        _o, outsider = person(session, other, "teacher-9", "Olga Otherova", Role.TEACHER)
        publish_test_notice(session)
        assignment = make_assignment(session, course, not_allowed=("trainer",))
        elsewhere = make_assignment(session, other, title="Another course's essay")
        session.commit()
        return {"course": course.id, "teacher": teacher, "ta": ta, "student": student, "student_b": student_b,
                "outsider": outsider, "assignment": assignment.id, "elsewhere": elsewhere.id}


def _csrf(client) -> str:
    html = client.get("/").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _as(client, actor: Actor, lang: str = "en") -> str:
    """Act as ``actor`` with the interface in ``lang``; returns a CSRF token of the session."""
    login(client, actor)
    client.get(f"/?lang={lang}")
    return _csrf(client)


def _state(rt) -> dict:
    """Everything a teacher's request could change: whole tables and the audit log's length."""
    with rt.session() as session:
        return {
            "assignments": [tuple(row) for row in session.execute(select(Assignment.__table__)).all()],
            "submissions": [tuple(row) for row in session.execute(select(Submission.__table__)).all()],
            "reopenings": [tuple(row) for row in session.execute(select(Reopening.__table__)).all()],
            "audit": session.execute(select(func.count()).select_from(AuditEntry)).scalar(),
        }


def _submit(rt, actor: Actor, assignment_id: int, **kwargs) -> int:
    with rt.session() as session:
        submission = submit(session, actor, session.get(Assignment, assignment_id), **kwargs)
        session.commit()
        return submission.id


def _audits(rt, action: str) -> list[dict]:
    with rt.session() as session:
        rows = session.execute(select(AuditEntry).where(AuditEntry.action == action)).scalars()
        return [json.loads(row.payload) for row in rows]


def _setup_form(token: str, **changes: str) -> dict[str, str]:
    form = {"csrf_token": token, "title": "Эссе: ЖИ және мен", "instructions": "Write 800 words.",
            "due_date": "2030-10-01", "due_time": "18:30", "late_policy": "refuse", "degree_level": "master",
            "task_ideas": "allowed", "task_language": "allowed", "task_trainer": "forbidden",
            "task_refactoring": "forbidden", "custom_title_1": "Drawing diagrams", "custom_allowed_1": "forbidden",
            "custom_title_2": "", "custom_allowed_2": "allowed", "drafts_required": "1",
            "no_ai_alternative": "A handwritten plan instead of an AI brainstorm."}
    form.update(changes)
    return {key: value for key, value in form.items() if value is not None}


# -- access -----------------------------------------------------------------------------------------
def _routes(world: dict, submission_id: int, file_id: int) -> list[tuple[str, str]]:
    a, s = world["assignment"], submission_id
    return [("GET", f"/a/{a}/setup"), ("POST", f"/a/{a}/setup"), ("GET", f"/a/{a}/submissions"),
            ("GET", f"/a/{a}/submissions.csv"), ("GET", f"/s/{s}/review"), ("GET", f"/s/{s}/file/{file_id}"),
            ("POST", f"/s/{s}/grade"), ("POST", f"/s/{s}/gradebook"), ("GET", f"/a/{a}/reopen"),
            ("POST", f"/a/{a}/reopen")]


def test_every_teacher_route_declares_teachers_only(app):
    endpoints = [name for name in app.view_functions if name.startswith("teach.")]
    assert len(endpoints) == 8
    for name in endpoints:
        assert app.view_functions[name].adal_roles == (Role.TEACHER,), name
    assert teach_bp.name == "teach"


def test_students_get_403_other_courses_404_and_teachers_and_tas_get_in(app, rt, world):
    submission_id = _submit(rt, world["student"], world["assignment"])
    with rt.session() as session:
        file_id = session.execute(select(SubmissionFile.id).where(SubmissionFile.submission_id == submission_id)
                                  ).scalar_one()
    routes = _routes(world, submission_id, file_id)
    before = _state(rt)
    for who, expected in (("anonymous", {403}), ("student", {403}), ("outsider", {404})):
        client = app.test_client()
        token = _csrf(client) if who == "anonymous" else _as(client, world[who])
        for method, url in routes:
            response = client.open(url, method=method, data={"csrf_token": token} if method == "POST" else None)
            assert response.status_code in expected, (who, method, url, response.status_code)
    assert _state(rt) == before
    for who in ("teacher", "ta"):
        client = app.test_client()
        _as(client, world[who])
        for method, url in routes:
            if method == "GET":
                assert client.get(url).status_code == 200, (who, url)
    # an assignment of another course looks the same as one that does not exist
    client = app.test_client()
    _as(client, world["teacher"])
    for url in (f"/a/{world['elsewhere']}/setup", f"/a/{world['elsewhere']}/submissions", "/a/999999/submissions",
                "/s/999999/review"):
        assert client.get(url).status_code == 404, url


def test_opening_the_assignment_leads_a_teacher_to_settings_first_then_to_the_table(app, rt, world):
    with rt.session() as session:
        fresh = make_assignment(session, session.get(Course, world["course"]), configured=False)
        session.commit()
        fresh_id = fresh.id
    client = app.test_client()
    _as(client, world["teacher"])
    assert client.get(f"/a/{fresh_id}").headers["Location"].endswith(f"/a/{fresh_id}/setup")
    configured = world["assignment"]
    assert client.get(f"/a/{configured}").headers["Location"].endswith(f"/a/{configured}/submissions")


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(app, rt, world):
    submission_id = _submit(rt, world["student"], world["assignment"])
    client = app.test_client()
    token = _as(client, world["teacher"])
    before = _state(rt)
    for url, form in ((f"/a/{world['assignment']}/setup", _setup_form(token)),
                      (f"/s/{submission_id}/grade", {"grade": "5"}),
                      (f"/s/{submission_id}/gradebook", {}),
                      (f"/a/{world['assignment']}/reopen", {"student": str(world["student"].user_id),
                                                            "due_at": "2031-01-01", "reason": "Illness."})):
        form.pop("csrf_token", None)
        assert client.post(url, data=form).status_code == 400, url
    assert _state(rt) == before


# -- settings ---------------------------------------------------------------------------------------
def test_setup_shows_the_policy_and_saves_it(app, rt, world):
    client = app.test_client()
    token = _as(client, world["teacher"])
    page = client.get(f"/a/{world['assignment']}/setup").get_data(as_text=True)
    assert 'value="Synthetic essay"' in page
    assert 'id="task_trainer_no" name="task_trainer" value="forbidden" checked' in page  # the saved policy
    assert "Deepfakes and manipulative content." in page  # S 7.3, read-only
    assert "From the institution profile: School, at most 35 %" in page  # the default profile is a school
    assert "Master's: at most 25 %" in page
    response = client.post(f"/a/{world['assignment']}/setup", data=_setup_form(token))
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/a/{world['assignment']}/submissions")
    table = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "The assignment settings are saved." in table
    with rt.session() as session:
        saved = session.get(Assignment, world["assignment"])
    assert saved.title == "Эссе: ЖИ және мен"
    assert saved.due_at == datetime(2030, 10, 1, 13, 30, tzinfo=UTC)  # 18:30 in Almaty
    assert (saved.late_policy, saved.degree_level, saved.drafts_required, saved.oral_defence_possible) == (
        "refuse", "master", True, False)
    assert json.loads(saved.task_policy) == [
        {"code": "ideas", "allowed": True}, {"code": "language", "allowed": True},
        {"code": "trainer", "allowed": False}, {"code": "refactoring", "allowed": False},
        {"code": "custom1", "title": "Drawing diagrams", "allowed": False}]
    assert saved.no_ai_alternative == "A handwritten plan instead of an AI brainstorm."
    assert [entry["title"] for entry in _audits(rt, "assignment.configured")] == ["Эссе: ЖИ және мен"]
    again = client.get(f"/a/{world['assignment']}/setup").get_data(as_text=True)
    assert 'value="2030-10-01"' in again and 'value="18:30"' in again  # shown on the institution's clock
    assert 'value="Drawing diagrams"' in again
    assert "Saved now: at most 25 %" in again


@pytest.mark.parametrize(("changes", "field"), [
    ({"title": "   "}, "title"), ({"due_date": "01.10.2030"}, "due_date"), ({"due_date": "", "due_time": "10:00"},
                                                                          "due_date"),
    ({"task_ideas": None}, "task_ideas"), ({"degree_level": "kindergarten"}, "degree_level"),
    ({"late_policy": "ignore"}, "late_policy"), ({"instructions": "x" * 20_001}, "instructions")])
def test_bad_settings_are_tied_to_their_field_and_change_nothing(app, rt, world, changes, field):
    client = app.test_client()
    token = _as(client, world["teacher"])
    before = _state(rt)
    response = client.post(f"/a/{world['assignment']}/setup", data=_setup_form(token, **changes))
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert _state(rt) == before
    summary = re.search(r'<div class="error-summary" id="error-summary" role="alert" tabindex="-1".*?</div>', html,
                        re.S).group(0)
    assert f'href="#{field}"' in summary
    assert f'id="{field}-error"' in html
    control = re.search(rf'<(input|select|textarea)[^>]*\bid="{field}"[^>]*>', html).group(0)
    assert 'aria-invalid="true"' in control and f"{field}-error" in control
    assert 'src="/static/js/teach.js"' in html
    assert "Drawing diagrams" in html  # what the teacher typed is kept


def test_an_empty_title_on_a_new_assignment_leaves_it_unconfigured(app, rt, world):
    with rt.session() as session:
        fresh = make_assignment(session, session.get(Course, world["course"]), configured=False)
        session.commit()
        fresh_id = fresh.id
    client = app.test_client()
    token = _as(client, world["teacher"])
    page = client.get(f"/a/{fresh_id}/setup").get_data(as_text=True)
    assert "Students cannot hand in work until you save these settings once." in page
    assert client.post(f"/a/{fresh_id}/setup", data=_setup_form(token, title="")).status_code == 400
    with rt.session() as session:
        assert session.get(Assignment, fresh_id).configured_at is None


# -- the table and the CSV ----------------------------------------------------------------------------
def _two_submissions(rt, world) -> tuple[int, int]:
    first = _submit(rt, world["student"], world["assignment"], ai_used=True, tasks=("ideas", "trainer"),
                    drafts_url="https://drafts.example.test/history", service="=Tool")
    second = _submit(rt, world["student"], world["assignment"], ai_used=True, tasks=("ideas", "trainer"),
                     drafts_url="https://drafts.example.test/history", service="=Tool")
    with rt.session() as session:
        session.get(Assignment, world["assignment"]).due_at = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)
        session.commit()
    late = _submit(rt, world["student_b"], world["assignment"])
    assert first != second
    return second, late


def test_the_table_shows_one_row_per_student_with_marks_and_links(app, rt, world):
    latest, late = _two_submissions(rt, world)
    client = app.test_client()
    _as(client, world["teacher"])
    rt.ports.roster_impl = FakeRoster([])
    response = client.get(f"/a/{world['assignment']}/submissions")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert ('<div class="scroll" id="submissions-region" role="region" aria-labelledby="submissions-caption" '
            'tabindex="0">') in html  # a scrolling region the keyboard can reach, named by the caption
    assert '<caption id="submissions-caption">' in html
    rows = re.findall(r"<tr>\s*<th scope=\"row\">.*?</tr>", html, re.S)
    assert len(rows) == 2
    aru, bolat = (rows[1], rows[0]) if "Bolat" in rows[0] else (rows[0], rows[1])
    assert "Аружан &lt;b&gt;Тестова&lt;/b&gt;" in aru  # a name is text, never markup
    assert f'href="/s/{latest}/review"' in aru
    assert "declared a use this assignment does not allow" in aru
    assert "Solution trainers, then worked through on my own" in aru
    assert '<a href="https://drafts.example.test/history" rel="noopener noreferrer" target="_blank">' in aru
    assert "<td>2</td>" in aru  # versions
    assert "=Tool GPT-4o 2024-08-06" in aru
    assert 'class="badge late"' in bolat and 'class="badge late"' not in aru
    assert f'href="/s/{late}/review"' in bolat
    assert "declared a use" not in bolat


def test_filters_narrow_the_table_and_the_csv_alike(app, rt, world):
    _two_submissions(rt, world)
    rt.ports.roster_impl = FakeRoster([])
    client = app.test_client()
    _as(client, world["teacher"])
    url = f"/a/{world['assignment']}/submissions"
    for query, names in (("ai=yes", ["Аружан"]), ("ai=no", ["Bolat"]), ("late=1", ["Bolat"]),
                         ("not_allowed=1", ["Аружан"]), ("q=bolat", ["Bolat"]), ("q=нет", [])):
        html = client.get(f"{url}?{query}").get_data(as_text=True)
        shown = re.findall(r'<th scope="row"><a [^>]*>([^<&]+)', html)
        assert [name.split()[0] for name in shown] == names, query
        assert f'href="{url}.csv?{urlencode(parse_qsl(query))}"' in html  # the CSV link carries the same filters
        lines = client.get(f"{url}.csv?{query}").get_data(as_text=True).lstrip("\ufeff").splitlines()
        assert [line.split(",")[0].split()[0] for line in lines[1:]] == names, query
    assert "No submission matches these filters." in client.get(f"{url}?q=нет").get_data(as_text=True)


def test_the_csv_is_excel_ready_translated_and_safe(app, rt, world):
    _two_submissions(rt, world)
    client = app.test_client()
    _as(client, world["teacher"], lang="en")
    response = client.get(f"/a/{world['assignment']}/submissions.csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="adal-submissions-{world["assignment"]}.csv"')
    body = response.get_data()
    assert body.startswith(codecs.BOM_UTF8)
    table = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert table[0] == ["Student", "Submitted at", "Late", "AI used", "Tasks", "Tool, model, version", "Drafts link",
                        "Uses not allowed here", "Versions", "Grade", "Maximum score", "LMS gradebook"]
    aru = next(row for row in table if row[0].startswith("Аружан"))
    assert aru[5] == "'=Tool GPT-4o 2024-08-06"  # a formula-looking cell is text
    assert aru[2:4] == ["no", "yes"] and aru[8] == "2" and aru[10] == "10"
    # in Kazakh the headers are the kk catalog's words for the same messages
    _as(client, world["teacher"], lang="kk")
    kk = client.get(f"/a/{world['assignment']}/submissions.csv").get_data().decode("utf-8-sig").splitlines()[0]
    with app.test_request_context("/?lang=kk"):
        from flask import session

        session["lang"] = "kk"
        expected = [gettext("Student"), gettext("Submitted at"), gettext("Late")]
    assert kk.split(",")[:3] == expected


def test_who_has_not_submitted_comes_from_the_roster_or_says_plainly_why_not(app, rt, world):
    _submit(rt, world["student"], world["assignment"])
    client = app.test_client()
    _as(client, world["teacher"])
    rt.ports.roster_impl = FakeRoster([RosterMember("student-001", "Аружан Тестова", (LEARNER,)),
                                       RosterMember("student-002", "Bolat Exampleuly", (LEARNER,)),
                                       RosterMember("student-003", "Carl Placeholder", (LEARNER,))])
    html = client.get(f"/a/{world['assignment']}/submissions").get_data(as_text=True)
    missing = re.search(r'<section aria-labelledby="missing-title">.*?</section>', html, re.S).group(0)
    assert "2 students on the LMS roster have not handed in work" in missing
    assert "Bolat Exampleuly" in missing and "Carl Placeholder" in missing and "Аружан" not in missing
    rt.ports.roster_impl = None
    response = client.get(f"/a/{world['assignment']}/submissions")
    assert response.status_code == 200
    assert "Adal cannot list who has not submitted" in response.get_data(as_text=True)


# -- one submission, its files ----------------------------------------------------------------------------
def test_the_submission_page_shows_the_disclosure_files_and_versions(app, rt, world):
    first = _submit(rt, world["student"], world["assignment"], content=b"first draft\n")
    latest = _submit(rt, world["student"], world["assignment"], ai_used=True, tasks=("language", "other"),
                     other_text="<script>alert(1)</script>", content="Менің эссем.\n".encode(),
                     name="Эссе <final>.txt")
    client = app.test_client()
    _as(client, world["teacher"])
    html = client.get(f"/s/{latest}/review").get_data(as_text=True)
    assert "Other: &lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert" not in html
    assert '<blockquote class="statement" lang="kk">GenAI ChatGPT пайдаланылды' in html
    with rt.session() as session:
        stored = session.execute(select(SubmissionFile).where(SubmissionFile.submission_id == latest)).scalar_one()
        first_file = session.execute(select(SubmissionFile).where(SubmissionFile.submission_id == first)).scalar_one()
    assert stored.sha256 in html and f'href="/s/{latest}/file/{stored.id}"' in html
    assert f'href="/s/{first}/review"' in html  # every version is listed
    assert f'action="/s/{latest}/grade"' in html
    older = client.get(f"/s/{first}/review").get_data(as_text=True)
    assert "This is an earlier version." in older and "/grade" not in older
    download = client.get(f"/s/{latest}/file/{stored.id}")
    assert download.status_code == 200
    assert download.get_data() == "Менің эссем.\n".encode()
    assert download.mimetype == "application/octet-stream"
    disposition = download.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and "filename*=UTF-8''" in disposition
    assert "<" not in disposition.split("filename*=")[1]
    assert download.headers["Cache-Control"] == "private, no-store"
    # a file of another submission through this one's address, or no file at all: not found
    assert client.get(f"/s/{latest}/file/{first_file.id}").status_code == 404
    assert client.get(f"/s/{latest}/file/999999").status_code == 404


# -- grading --------------------------------------------------------------------------------------------
def test_grading_saves_and_says_what_the_gradebook_heard(app, rt, world):
    submission_id = _submit(rt, world["student"], world["assignment"])
    client = app.test_client()
    token = _as(client, world["teacher"])
    response = client.post(f"/s/{submission_id}/grade", data={"csrf_token": token, "grade": "8,5",
                                                               "feedback": "Жақсы жұмыс."})
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "The grade is saved." in page and "no LMS gradebook column" in page
    assert "Grade: 8.5 of 10." in page
    with rt.session() as session:
        graded = session.get(Submission, submission_id)
    assert (graded.grade, graded.feedback, graded.graded_by, graded.lms_status) == (
        8.5, "Жақсы жұмыс.", world["teacher"].label, "off")
    assert _audits(rt, "submission.graded")[0]["grade"] == 8.5


@pytest.mark.parametrize(("grade", "feedback", "field"), [("11", "", "grade"), ("-1", "", "grade"),
                                                          ("ten", "", "grade"), ("", "", "grade"),
                                                          ("nan", "", "grade"), ("5", "x" * 5001, "feedback")])
def test_a_bad_grade_is_refused_on_the_page_and_changes_nothing(app, rt, world, grade, feedback, field):
    submission_id = _submit(rt, world["student"], world["assignment"])
    client = app.test_client()
    token = _as(client, world["teacher"])
    before = _state(rt)
    response = client.post(f"/s/{submission_id}/grade", data={"csrf_token": token, "grade": grade,
                                                               "feedback": feedback})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert _state(rt) == before
    assert f'href="#{field}"' in html and f'id="{field}-error"' in html
    assert re.search(rf'id="{field}"[^>]*aria-describedby="{field}-hint {field}-error" aria-invalid="true"', html)


# -- reopening ------------------------------------------------------------------------------------------
def test_reopening_for_one_student(app, rt, world):
    client = app.test_client()
    token = _as(client, world["ta"])
    student_id = world["student"].user_id
    page = client.get(f"/a/{world['assignment']}/reopen?student={student_id}").get_data(as_text=True)
    assert f'<option value="{student_id}" selected>' in page
    assert "Dana Synthetic" not in page  # teachers are not offered
    response = client.post(f"/a/{world['assignment']}/reopen", data={
        "csrf_token": token, "student": str(student_id), "due_at": "2031-02-03", "due_time": "",
        "reason": "Illness, with a certificate."})
    assert response.status_code == 303
    table = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "The assignment is reopened for Аружан &lt;b&gt;Тестова&lt;/b&gt; until 03.02.2031 23:59." in table
    assert "Illness, with a certificate." in table
    with rt.session() as session:
        reopening = session.execute(select(Reopening)).scalar_one()
    assert (reopening.student_id, reopening.due_at, reopening.created_by) == (
        student_id, datetime(2031, 2, 3, 18, 59, tzinfo=UTC), world["ta"].label)


@pytest.mark.parametrize(("changes", "field"), [
    ({"student": ""}, "student"), ({"student": "abc"}, "student"), ({"student": "teacher"}, "student"),
    ({"student": "outsider"}, "student"), ({"due_at": "2020-01-01"}, "due_at"), ({"due_at": "soon"}, "due_at"),
    ({"due_at": ""}, "due_at"), ({"reason": "  "}, "reason")])
def test_bad_reopening_is_refused_on_the_page_and_changes_nothing(app, rt, world, changes, field):
    client = app.test_client()
    token = _as(client, world["teacher"])
    form = {"csrf_token": token, "student": str(world["student"].user_id), "due_at": "2031-02-03",
            "due_time": "10:00", "reason": "Illness."}
    form.update(changes)
    if form["student"] in ("teacher", "outsider"):
        form["student"] = str(world[form["student"]].user_id)
    before = _state(rt)
    response = client.post(f"/a/{world['assignment']}/reopen", data=form)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert _state(rt) == before
    assert f'href="#{field}"' in html and f'id="{field}-error"' in html


# -- against an LMS over HTTP: the gradebook and the roster ------------------------------------------------
@pytest.fixture
def fake_lms(adal, rt, world) -> Iterator[FakeLmsServices]:
    """The course's LMS with grade and roster services; Adal registered in it, its column placed."""
    with FakeLmsServices(client_id="adal-client", jwks_url=adal + "/lti/jwks").serve() as fake:
        with rt.session() as session:
            platform = add_platform(session, Actor.system("test"), issuer=fake.base_url, client_id="adal-client",
                                    deployment_id="dep-1", keyset_url=fake.base_url + "/jwks",
                                    auth_login_url=fake.base_url + "/auth", auth_token_url=fake.token_url,
                                    now=now_utc())
            record_context_services(session, platform_id=platform.id, course_id=world["course"],
                                    claims=fake.launch_claims(), now=now_utc())
            assignment = session.get(Assignment, world["assignment"])
            assignment.line_item_url = fake.add_line_item(label="Synthetic essay", score_maximum=10,
                                                          resource_link_id=assignment.resource_link_id)
            session.commit()
        yield fake


def test_the_grade_reaches_the_lms_and_a_failure_can_be_sent_again(app, rt, world, fake_lms):
    submission_id = _submit(rt, world["student"], world["assignment"], now=now_utc() - timedelta(minutes=5))
    client = app.test_client()
    token = _as(client, world["teacher"])
    fake_lms.token_refusal = (503, "maintenance")  # the LMS is down when the teacher grades
    response = client.post(f"/s/{submission_id}/grade", data={"csrf_token": token, "grade": "9",
                                                               "feedback": "Жарайсың!"})
    assert response.status_code == 303
    assert "did not accept it" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert fake_lms.scores == []
    with rt.session() as session:
        assert session.get(Submission, submission_id).lms_status == "failed"
    table = client.get(f"/a/{world['assignment']}/submissions").get_data(as_text=True)
    assert f'action="/s/{submission_id}/gradebook"' in table and "Send again" in table
    fake_lms.token_refusal = None
    response = client.post(f"/s/{submission_id}/gradebook", data={"csrf_token": token, "back": "table"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/a/{world['assignment']}/submissions")
    [score] = fake_lms.scores
    assert score["line_item"] == 1
    body = score["body"]
    assert (body["userId"], body["scoreGiven"], body["scoreMaximum"], body["comment"]) == (
        "student-001", 9.0, 10.0, "Жарайсың!")
    assert (body["activityProgress"], body["gradingProgress"]) == ("Completed", "FullyGraded")
    with rt.session() as session:
        assert session.get(Submission, submission_id).lms_status == "posted"
    assert "Sent to the LMS gradebook." in client.get(f"/a/{world['assignment']}/submissions").get_data(
        as_text=True)


def test_the_roster_of_the_lms_names_who_has_not_submitted(app, rt, world, fake_lms):
    _submit(rt, world["student"], world["assignment"])  # student-001
    client = app.test_client()
    _as(client, world["teacher"])
    html = client.get(f"/a/{world['assignment']}/submissions").get_data(as_text=True)
    missing = re.search(r'<section aria-labelledby="missing-title">.*?</section>', html, re.S).group(0)
    assert re.findall(r"<li>(.*?)</li>", missing) == ["Student Number2", "Student Number3", "Student Number4"]
    assert ("GET", "/nrps/course-101/memberships") in fake_lms.requests
