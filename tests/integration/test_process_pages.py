"""Process evidence over the WSGI stack: the teacher asks for drafts, sets and records an oral
defence and asks for an attribution fix from the submission page; the student sees each request
beside their receipt and answers; access for every role, CSRF, and bad input that changes
nothing (rows, audit log and file store compared)."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from attribution.models import Assignment, Reopening
from evidence.flags import set_course_policy
from evidence.models import AttributionFixRequest, DraftRequest, DraftUpload, OralDefence
from plugin.kernel.audit import AuditEntry
from plugin.kernel.clock import now_utc
from plugin.kernel.users import Actor, Role
from tests.factories import make_course
from tests.factories_work import login, make_assignment, person, publish_test_notice, submit

ZONE = ZoneInfo("Asia/Almaty")
# Deadlines are at most a year ahead, so the tests' dates follow the real clock.
FUTURE = (datetime.now(UTC) + timedelta(days=30)).astimezone(ZONE).date()
FUTURE_DAY, SHOWN_DAY = FUTURE.isoformat(), FUTURE.strftime("%d.%m.%Y")


def _utc(day: date, hours: int, minutes: int) -> datetime:
    """A time on the institution's clock (Almaty) as UTC."""
    return datetime.combine(day, time(hours, minutes), ZONE).astimezone(UTC)


@pytest.fixture
def rt(app):
    return app.extensions["adal.runtime"]


@pytest.fixture
def world(rt) -> dict:
    """A course with a teacher, a TA and two students who handed in work; another course's
    teacher. Committed, as launches and submissions would have left them."""
    with rt.session() as session:
        course = make_course(session)
        other = make_course(session, context_id="course-202", title="Synthetic Course 202")
        _t, teacher = person(session, course, "teacher-1", "Dana Synthetic", Role.TEACHER)
        _ta, ta = person(session, course, "ta-1", "Timur Assistentov", Role.TEACHER, is_ta=True)
        _a, student = person(session, course, "student-001", "Аружан Тестова")
        _b, student_b = person(session, course, "student-002", "Bolat Exampleuly")
        _o, outsider = person(session, other, "teacher-9", "Olga Otherova", Role.TEACHER)
        publish_test_notice(session)
        assignment = make_assignment(session, course)
        work = submit(session, student, assignment, drafts_url="https://drafts.example.test/history")
        work_b = submit(session, student_b, assignment)
        session.commit()
        return {"teacher": teacher, "ta": ta, "student": student, "student_b": student_b, "outsider": outsider,
                "assignment": assignment.id, "work": work.id, "work_b": work_b.id}


def _csrf(client) -> str:
    html = client.get("/").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _as(client, actor: Actor, lang: str = "en") -> str:
    login(client, actor)
    client.get(f"/?lang={lang}")
    return _csrf(client)


def _state(rt) -> tuple:
    """Everything a request here could change: whole tables, the audit log, the file store."""
    with rt.session() as session:
        tables = tuple([tuple(row) for row in session.execute(select(model.__table__)).all()]
                       for model in (DraftRequest, DraftUpload, OralDefence, AttributionFixRequest, Reopening))
        audit = session.execute(select(func.count()).select_from(AuditEntry)).scalar()
    return tables, audit, sorted(rt.files.iter_blobs())


def _field_error(html: str, field_id: str) -> None:
    """The error is tied to its field: the summary links to it, the field names its message."""
    summary = re.search(r'<div class="error-summary" id="error-summary".*?</div>', html, re.S).group(0)
    assert f'href="#{field_id}"' in summary, summary
    assert f'id="{field_id}-error"' in html
    control = re.search(rf'<(input|select|textarea)[^>]*\bid="{field_id}"[^>]*>', html).group(0)
    assert 'aria-invalid="true"' in control and f"{field_id}-error" in control


def _ask(client, token: str, work: int, **changes: str):
    form = {"csrf_token": token, "message": "Send your plan and the first draft.", "due_at": FUTURE_DAY,
            "due_time": ""} | changes
    return client.post(f"/s/{work}/drafts/request", data=form)


# -- access -------------------------------------------------------------------------------------------
def test_every_route_declares_who_may_use_it(app):
    roles = {name: app.view_functions[name].adal_roles for name in app.view_functions if name.startswith("process.")}
    assert roles == {
        "process.request_drafts_page": (Role.TEACHER,), "process.schedule_defence_page": (Role.TEACHER,),
        "process.record_defence_page": (Role.TEACHER,), "process.request_fix_page": (Role.TEACHER,),
        "process.answer_drafts_page": (Role.STUDENT,), "process.draft_file": (Role.STUDENT, Role.TEACHER)}


def test_students_get_403_other_courses_and_other_students_404(app, rt, world):
    teacher = app.test_client()
    token = _as(teacher, world["teacher"])
    assert _ask(teacher, token, world["work"]).status_code == 303
    with rt.session() as session:
        request_id = session.execute(select(DraftRequest.id)).scalar_one()
        defence = OralDefence(submission_id=world["work"], scheduled_for=now_utc() + timedelta(days=1),
                              place="Room 204", scheduled_by="test", scheduled_at=now_utc())
        session.add(defence)
        session.commit()
        defence_id = defence.id
    teacher_routes = [f"/s/{world['work']}/drafts/request", f"/s/{world['work']}/defence/new",
                      f"/defence/{defence_id}/record", f"/s/{world['work']}/attribution-fix"]
    before = _state(rt)
    for who, expected in (("anonymous", 403), ("student", 403), ("outsider", 404)):
        client = app.test_client()
        token = _csrf(client) if who == "anonymous" else _as(client, world[who])
        for url in teacher_routes:
            for method in ("GET", "POST"):
                response = client.open(url, method=method, data={"csrf_token": token} if method == "POST" else None)
                assert response.status_code == expected, (who, method, url, response.status_code)
    for who, expected in (("anonymous", 403), ("teacher", 403), ("student_b", 404)):
        client = app.test_client()
        token = _csrf(client) if who == "anonymous" else _as(client, world[who])
        assert client.get(f"/drafts/{request_id}/answer").status_code == expected, who
        response = client.post(f"/drafts/{request_id}/answer",
                               data={"csrf_token": token, "note": "not mine",
                                     "files": (io.BytesIO(b"draft\n"), "d.txt")})
        assert response.status_code == expected, who
    for url in ("/s/999999/drafts/request", "/defence/999999/record", "/drafts/999999/answer"):
        client = app.test_client()
        _as(client, world["teacher"] if "answer" not in url else world["student"])
        assert client.get(url).status_code == 404, url
    assert _state(rt) == before
    # the other student's receipt shows nothing of this request
    client = app.test_client()
    _as(client, world["student_b"])
    assert "What your teacher asks of you" not in client.get(f"/s/{world['work_b']}").get_data(as_text=True)


def test_a_teaching_assistant_is_refused_when_the_course_withholds_flagging(app, rt, world):
    with rt.session() as session:
        set_course_policy(session, world["teacher"], ta_may_flag=False, now=now_utc())
        session.commit()
    ta = app.test_client()
    token = _as(ta, world["ta"])
    page = ta.get(f"/s/{world['work']}/review").get_data(as_text=True)
    assert "Drafts and oral defence" in page and f'action="/s/{world["work"]}/drafts/request"' not in page
    before = _state(rt)
    assert ta.get(f"/s/{world['work']}/drafts/request").status_code == 403
    assert _ask(ta, token, world["work"]).status_code == 403
    assert _state(rt) == before


def test_a_post_without_the_csrf_token_changes_nothing(app, rt, world):
    client = app.test_client()
    token = _as(client, world["teacher"])
    before = _state(rt)
    for url, form in ((f"/s/{world['work']}/drafts/request", {"message": "m", "due_at": FUTURE_DAY}),
                      (f"/s/{world['work']}/defence/new", {"when": FUTURE_DAY, "when_time": "10:00", "place": "R"}),
                      (f"/s/{world['work']}/attribution-fix", {"note": "n", "due_at": FUTURE_DAY})):
        assert client.post(url, data=form).status_code == 400, url
        assert client.post(url, data=form | {"csrf_token": "forged"}).status_code == 400, url
    assert _state(rt) == before
    assert _ask(client, token, world["work"]).status_code == 303


# -- drafts ---------------------------------------------------------------------------------------------
def test_the_teacher_asks_for_drafts_and_the_student_answers_beside_the_receipt(app, rt, world):
    teacher = app.test_client()
    token = _as(teacher, world["teacher"])
    review = teacher.get(f"/s/{world['work']}/review").get_data(as_text=True)
    assert 'id="process"' in review and "Drafts and oral defence" in review
    assert "https://drafts.example.test/history" in review  # the drafts link handed in with the work
    assert "You have not asked for drafts." in review
    response = _ask(teacher, token, world["work"], due_time="18:30")
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/s/{world['work']}/review#process")
    review = teacher.get(response.headers["Location"]).get_data(as_text=True)
    assert f"The student is asked for drafts by {SHOWN_DAY} 18:30 (Asia/Almaty)." in review
    assert "waiting for the student" in review
    with rt.session() as session:
        request = session.execute(select(DraftRequest)).scalar_one()
    assert request.due_at == _utc(FUTURE, 18, 30)

    student = app.test_client()
    token = _as(student, world["student"])
    receipt = student.get(f"/s/{world['work']}").get_data(as_text=True)
    asks = re.search(r'<section aria-labelledby="asks-title" id="asks">.*?</section>', receipt, re.S).group(0)
    assert "What your teacher asks of you" in asks and "Send your plan and the first draft." in asks
    assert f"{SHOWN_DAY} 18:30" in asks and "Asia/Almaty" in asks
    assert f'action="/drafts/{request.id}/answer"' in asks and 'enctype="multipart/form-data"' in asks
    response = student.post(f"/drafts/{request.id}/answer", data={
        "csrf_token": token, "note": "The outline is on paper.",
        "files": [(io.BytesIO(b"Plan: intro, body, end.\n"), "plan.txt"), (io.BytesIO(b"# Draft 1\n"), "draft.md")]},
        content_type="multipart/form-data")
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/s/{world['work']}#asks")
    receipt = student.get(response.headers["Location"]).get_data(as_text=True)
    assert "Your drafts were sent to your teacher." in receipt and "You sent your answer on" in receipt
    with rt.session() as session:
        uploads = session.execute(select(DraftUpload).order_by(DraftUpload.id)).scalars().all()
    assert [u.name for u in uploads] == ["plan.txt", "draft.md"]
    download = student.get(f"/drafts/{request.id}/files/{uploads[0].id}")
    assert download.data == b"Plan: intro, body, end.\n"
    assert download.headers["Content-Type"] == "application/octet-stream"
    assert download.headers["Content-Disposition"].startswith("attachment")

    review = teacher.get(f"/s/{world['work']}/review").get_data(as_text=True)
    assert "answered" in review and "The outline is on paper." in review
    assert f'href="/drafts/{request.id}/files/{uploads[1].id}"' in review
    assert teacher.get(f"/drafts/{request.id}/files/{uploads[1].id}").data == b"# Draft 1\n"
    for who in ("student_b", "outsider"):
        other = app.test_client()
        _as(other, world[who])
        assert other.get(f"/drafts/{request.id}/files/{uploads[0].id}").status_code == 404, who
    assert student.get(f"/drafts/{request.id}/files/{uploads[0].id + 1000}").status_code == 404


@pytest.mark.parametrize(("changes", "field"), [
    ({"message": "  "}, "dr-message"), ({"due_at": "01.10.2030"}, "dr-due_at"), ({"due_at": "2020-01-01"}, "dr-due_at"),
    ({"due_at": ""}, "dr-due_at"), ({"due_at": "", "due_time": "10:00"}, "dr-due_at"),
    ({"due_time": "25:99"}, "dr-due_at"), ({"message": "x" * 5001}, "dr-message")])
def test_a_bad_request_for_drafts_comes_back_with_the_field_marked(app, rt, world, changes, field):
    client = app.test_client()
    token = _as(client, world["teacher"])
    before = _state(rt)
    response = _ask(client, token, world["work"], **changes)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    _field_error(html, field)
    assert 'src="/static/js/teach.js"' in html
    assert _state(rt) == before


def test_a_bad_answer_or_a_late_one_stores_nothing_and_says_why(app, rt, world):
    teacher = app.test_client()
    assert _ask(teacher, _as(teacher, world["teacher"]), world["work"]).status_code == 303
    with rt.session() as session:
        request_id = session.execute(select(DraftRequest.id)).scalar_one()
    student = app.test_client()
    token = _as(student, world["student"])
    before = _state(rt)
    for files, field in (([], "ans-files"), ([(io.BytesIO(b""), "empty.txt")], "ans-files"),
                         ([(io.BytesIO(b"ok\n"), "ok.txt"), (io.BytesIO(b"not a pdf\n"), "essay.pdf")], "ans-files")):
        response = student.post(f"/drafts/{request_id}/answer", data={"csrf_token": token, "note": "", "files": files},
                                content_type="multipart/form-data")
        assert response.status_code == 400
        _field_error(response.get_data(as_text=True), field)
        assert _state(rt) == before
    with rt.session() as session:  # the deadline passes
        past = (now_utc() - timedelta(days=3)).astimezone(ZONE).date()
        session.get(DraftRequest, request_id).due_at = _utc(past, 23, 59)
        session.commit()
    before = _state(rt)
    response = student.post(f"/drafts/{request_id}/answer", data={
        "csrf_token": token, "note": "Late", "files": [(io.BytesIO(b"late draft\n"), "late.txt")]},
        content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert f"The deadline for this request was {past.strftime('%d.%m.%Y')} 23:59 (Asia/Almaty)." in html
    assert 'type="file"' not in html  # no form any more, only what happened
    assert _state(rt) == before
    receipt = student.get(f"/s/{world['work']}").get_data(as_text=True)
    assert "The deadline has passed without an answer." in receipt
    teacher_view = teacher.get(f"/s/{world['work']}/review").get_data(as_text=True)
    assert "unanswered: the deadline passed" in teacher_view


# -- oral defence ------------------------------------------------------------------------------------------
def test_a_defence_is_set_shown_to_the_student_and_recorded_after_it_took_place(app, rt, world):
    teacher = app.test_client()
    token = _as(teacher, world["teacher"])
    before = _state(rt)
    response = teacher.post(f"/s/{world['work']}/defence/new", data={
        "csrf_token": token, "when": FUTURE_DAY, "when_time": "10:00", "place": "",
        "online_url": "javascript:alert(document.cookie)"})
    assert response.status_code == 400
    _field_error(response.get_data(as_text=True), "df-online_url")
    response = teacher.post(f"/s/{world['work']}/defence/new", data={
        "csrf_token": token, "when": FUTURE_DAY, "when_time": "", "place": "Room 204"})
    assert response.status_code == 400
    _field_error(response.get_data(as_text=True), "df-when")
    assert _state(rt) == before
    response = teacher.post(f"/s/{world['work']}/defence/new", data={
        "csrf_token": token, "when": FUTURE_DAY, "when_time": "10:00", "place": "Room 204",
        "online_url": "https://meet.example.test/abc"})
    assert response.status_code == 303
    with rt.session() as session:
        defence = session.execute(select(OralDefence)).scalar_one()
    assert defence.scheduled_for == _utc(FUTURE, 10, 0)
    review = teacher.get(f"/s/{world['work']}/review").get_data(as_text=True)
    assert "You can record it after it has taken place." in review
    assert f'action="/defence/{defence.id}/record"' not in review
    # before its time: no form, and a forged POST is refused with the time named
    assert teacher.get(f"/defence/{defence.id}/record").status_code == 303
    record = {"csrf_token": token, "questions": "Why three parts?", "answers_summary": "She explained the plan.",
              "conclusion": "confirmed", "conclusion_text": "Knows the work well."}
    early = teacher.post(f"/defence/{defence.id}/record", data=record)
    assert early.status_code == 400 and f"{SHOWN_DAY} 10:00 (Asia/Almaty)" in early.get_data(as_text=True)

    student = app.test_client()
    _as(student, world["student"])
    receipt = student.get(f"/s/{world['work']}").get_data(as_text=True)
    assert "Oral defence of your work (version 1)" in receipt and f"{SHOWN_DAY} 10:00" in receipt
    assert "Room 204" in receipt
    link = re.search(r'<a href="https://meet.example.test/abc"[^>]*>', receipt).group(0)
    assert 'rel="noopener noreferrer"' in link

    with rt.session() as session:  # the defence took place
        session.get(OralDefence, defence.id).scheduled_for = now_utc() - timedelta(hours=1)
        session.commit()
    review = teacher.get(f"/s/{world['work']}/review").get_data(as_text=True)
    assert f'action="/defence/{defence.id}/record"' in review and "took place: record it" in review
    before = _state(rt)
    missing = teacher.post(f"/defence/{defence.id}/record", data=record | {"conclusion": ""})
    assert missing.status_code == 400
    assert 'href="#rec-conclusion-confirmed"' in missing.get_data(as_text=True)
    assert _state(rt) == before
    assert teacher.post(f"/defence/{defence.id}/record", data=record).status_code == 303
    again = teacher.post(f"/defence/{defence.id}/record", data=record | {"conclusion": "not_confirmed"})
    assert again.status_code == 400 and "already recorded" in again.get_data(as_text=True)
    receipt = student.get(f"/s/{world['work']}").get_data(as_text=True)
    assert "The record of your oral defence" in receipt
    for text in ("Why three parts?", "She explained the plan.", "Authorship confirmed", "Knows the work well."):
        assert text in receipt, text


# -- attribution fix --------------------------------------------------------------------------------------------
def test_an_attribution_fix_reopens_the_assignment_and_the_student_is_sent_back_to_it(app, rt, world):
    with rt.session() as session:
        assignment = session.get(Assignment, world["assignment"])
        assignment.due_at, assignment.late_policy = now_utc() - timedelta(days=1), "refuse"
        session.commit()
    teacher = app.test_client()
    token = _as(teacher, world["teacher"])
    before = _state(rt)
    bad = teacher.post(f"/s/{world['work']}/attribution-fix", data={"csrf_token": token, "note": "",
                                                                      "due_at": FUTURE_DAY})
    assert bad.status_code == 400
    _field_error(bad.get_data(as_text=True), "fx-note")
    assert _state(rt) == before
    response = teacher.post(f"/s/{world['work']}/attribution-fix", data={
        "csrf_token": token, "note": "Name the model and the date of use.", "due_at": FUTURE_DAY, "due_time": ""})
    assert response.status_code == 303
    with rt.session() as session:
        reopening = session.execute(select(Reopening)).scalar_one()
        assert reopening.student_id == world["student"].user_id
        assert reopening.due_at == _utc(FUTURE, 23, 59)
    with rt.session() as session:
        rows = session.execute(select(AuditEntry).where(AuditEntry.action == "attribution_fix.requested")).scalars()
        audits = [json.loads(row.payload) for row in rows]
    assert audits[0]["reopening"] == reopening.id
    student = app.test_client()
    _as(student, world["student"])
    receipt = student.get(f"/s/{world['work']}").get_data(as_text=True)
    assert "Correct your attribution (version 1)" in receipt
    assert "This is an informal request, not a sanction." in receipt
    assert f'href="/a/{world["assignment"]}"' in receipt
    assert "Name the model and the date of use." in receipt
    form = student.get(f"/a/{world['assignment']}").get_data(as_text=True)
    assert "does not accept late work" not in form  # reopened for this student


def test_a_teacher_opening_a_students_receipt_does_not_get_the_students_forms(app, rt, world):
    teacher = app.test_client()
    token = _as(teacher, world["teacher"])
    assert _ask(teacher, token, world["work"]).status_code == 303
    page = teacher.get(f"/s/{world['work']}").get_data(as_text=True)
    assert "What your teacher asks of you" not in page
