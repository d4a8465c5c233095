"""The student's pages over the whole WSGI stack: notice, form, submission, receipt, downloads;
and bad requests, each checked to change nothing (rows, audit entries, the file store)."""

from __future__ import annotations

import hashlib
import io
import re

import flask
import pytest
import requests
from sqlalchemy import func, select

from attribution.models import Submission, SubmissionFile
from plugin.kernel.audit import AuditEntry
from plugin.kernel.notices import Acknowledgement
from plugin.kernel.users import Actor, Role
from plugin.kernel.web import remember_actor
from tests.factories import enrol, make_course, make_user
from tests.work_samples import actor_for, docx_bytes, make_assignment, publish_test_notice


@pytest.fixture
def world(app):
    runtime = app.extensions["adal.runtime"]
    with runtime.session() as session:
        course = make_course(session)
        other_course = make_course(session, "course-202", "Another course")
        student, classmate = make_user(session), make_user(session, "student-002", "Тимур Сынақов")
        teacher = make_user(session, "teacher-001", "Бақыт Үлгіұлы")
        for person in (student, classmate):
            enrol(session, person, course)
        enrol(session, teacher, course, Role.TEACHER)
        publish_test_notice(session)
        assignment = make_assignment(session, course)
        elsewhere = make_assignment(session, other_course)
        session.commit()
        return {"course": course, "student": actor_for(student, course), "classmate": actor_for(classmate, course),
                "teacher": actor_for(teacher, course, Role.TEACHER), "assignment": assignment.id,
                "elsewhere": elsewhere.id}


def sign_in(app, client, actor: Actor, lang: str = "en") -> None:
    with app.test_request_context():
        remember_actor(actor)
        data = dict(flask.session)
    with client.session_transaction() as session:
        session.clear()
        session.update(data)
        session["lang"] = lang


def _token(page_text: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page_text).group(1)


def _key(page_text: str) -> str:
    return re.search(r'name="idempotency_key" value="([^"]+)"', page_text).group(1)


def _state(app) -> tuple:
    runtime = app.extensions["adal.runtime"]
    with runtime.session() as session:
        counts = tuple(session.execute(select(func.count()).select_from(model)).scalar_one()
                       for model in (Submission, SubmissionFile, AuditEntry, Acknowledgement))
    return counts, frozenset(runtime.files.iter_blobs())


def _acknowledge(client) -> None:
    page = client.get("/notice")
    assert page.status_code == 200
    answer = client.post("/notice", data={"csrf_token": _token(page.text), "version": "1", "next": "/course"})
    assert answer.status_code == 303


def _form(client, assignment_id: int, **overrides):
    page = client.get(f"/a/{assignment_id}")
    assert page.status_code == 200, page.text
    data = {"csrf_token": _token(page.text), "idempotency_key": _key(page.text), "language": "kk", "ai_used": "yes",
            "tasks": ["language", "trainer"], "service": "ChatGPT", "model": "GPT-4o", "model_version": "2024-08",
            "dates": ["2026-01-10", ""], "checked": "yes", "drafts_url": "https://docs.example.test/history",
            "row_task": ["тілдік түзету"], "row_prompt": ["<script>alert(1)</script>"], "row_answer": ["Жауап"],
            "row_edit": ["Өзгерттім"], "row_link": [""],
            "files": (io.BytesIO(docx_bytes()), "Эссе.docx")}
    data.update(overrides)
    return data


def test_student_reads_the_notice_then_hands_in_work_and_gets_a_receipt(app, client, world):
    sign_in(app, client, world["student"])
    first = client.get(f"/a/{world['assignment']}")
    assert first.status_code == 303 and "/notice" in first.headers["Location"]
    notice = client.get(first.headers["Location"])
    assert "Purpose of processing" in notice.text and "Version 1" in notice.text
    _acknowledge(client)
    page = client.get(f"/a/{world['assignment']}")
    assert "AI used" in page.text and "not allowed in this assignment" in page.text
    original = docx_bytes()  # once: python-docx stamps the time into each new document
    response = client.post(f"/a/{world['assignment']}/submit",
                           data=_form(client, world["assignment"], files=(io.BytesIO(original), "Эссе.docx")),
                           content_type="multipart/form-data")
    assert response.status_code == 303, response.text
    receipt = client.get(response.headers["Location"])
    assert receipt.status_code == 200
    assert hashlib.sha256(original).hexdigest() in receipt.text
    assert "GenAI ChatGPT пайдаланылды" in receipt.text  # in the language of the work (kk), not of the page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in receipt.text and "<script>alert(1)" not in receipt.text
    assert "does not allow" in receipt.text
    links = re.findall(r'href="(/s/\d+/files/\d+)"', receipt.text)
    assert len(links) == 2
    assert client.get(links[0]).data == original
    text = client.get(re.search(r'href="(/s/\d+/receipt\.txt)"', receipt.text).group(1))
    assert text.headers["Content-Disposition"].startswith("attachment")
    assert hashlib.sha256(original).hexdigest() in text.text


def test_a_double_submit_with_the_same_form_makes_one_submission(app, client, world):
    sign_in(app, client, world["student"])
    _acknowledge(client)
    form = _form(client, world["assignment"])
    first = client.post(f"/a/{world['assignment']}/submit", data=form, content_type="multipart/form-data")
    form["files"] = (io.BytesIO(docx_bytes()), "Эссе.docx")
    second = client.post(f"/a/{world['assignment']}/submit", data=form, content_type="multipart/form-data")
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert _state(app)[0][0] == 1


@pytest.mark.parametrize(("overrides", "message"), [
    ({"drafts_url": "javascript:alert(1)"}, "must be a web address"),
    ({"checked": ""}, "personally checked"),
    ({"files": (io.BytesIO(b""), "empty.docx")}, "empty"),
    ({"files": (io.BytesIO(b"not a pdf at all"), "essay.pdf")}, "not a file type"),
    ({"dates": ["not-a-date"]}, "calendar dates"),
])
def test_a_bad_form_is_shown_again_with_the_reason_and_nothing_changes(app, client, world, overrides, message):
    sign_in(app, client, world["student"])
    _acknowledge(client)
    form = _form(client, world["assignment"], **overrides)
    before = _state(app)
    response = client.post(f"/a/{world['assignment']}/submit", data=form, content_type="multipart/form-data")
    assert response.status_code == 400
    assert message in response.text and 'role="alert"' in response.text and 'aria-invalid="true"' in response.text
    assert 'value="ChatGPT"' in response.text  # what the student typed is kept
    assert _state(app) == before


def test_without_the_csrf_token_nothing_is_saved(app, client, world):
    sign_in(app, client, world["student"])
    _acknowledge(client)
    form = _form(client, world["assignment"])
    form.pop("csrf_token")
    before = _state(app)
    response = client.post(f"/a/{world['assignment']}/submit", data=form, content_type="multipart/form-data")
    assert response.status_code == 400
    assert _state(app) == before


def test_an_oversized_upload_gets_a_413_naming_the_limit_and_nothing_changes(app, client, adal, world):
    sign_in(app, client, world["student"])
    _acknowledge(client)
    form = _form(client, world["assignment"])
    cookie = client.get_cookie("session")
    limit = app.config["MAX_CONTENT_LENGTH"]
    files = {"files": ("big.docx", b"0" * (limit + 1))}
    fields = {k: v for k, v in form.items() if k != "files"}
    before = _state(app)
    # over real HTTP: the test client would leave its buffered body open when the server refuses it
    response = requests.post(f"{adal}/a/{world['assignment']}/submit", data=fields, files=files,
                             cookies={"session": cookie.value}, timeout=30)
    assert response.status_code == 413
    assert f"{limit // (1024 * 1024)} MB" in response.text
    assert _state(app) == before


def test_a_student_cannot_reach_another_students_work_or_another_course(app, client, world):
    sign_in(app, client, world["student"])
    _acknowledge(client)
    done = client.post(f"/a/{world['assignment']}/submit", data=_form(client, world["assignment"]),
                       content_type="multipart/form-data")
    receipt_url = done.headers["Location"]
    file_url = re.findall(r'href="(/s/\d+/files/\d+)"', client.get(receipt_url).text)[0]
    sign_in(app, client, world["classmate"])
    for url in (receipt_url, receipt_url + "/receipt.txt", receipt_url + "/statement.txt", file_url,
                f"/a/{world['elsewhere']}"):
        assert client.get(url).status_code == 404, url
    before = _state(app)
    page = client.get("/notice")
    forged = client.post(f"/a/{world['elsewhere']}/submit", data={"csrf_token": _token(page.text)},
                         content_type="multipart/form-data")
    assert forged.status_code == 404 and _state(app) == before
    sign_in(app, client, world["teacher"])
    assert client.get(receipt_url).status_code == 200  # the teacher of the course may


def test_anonymous_visitors_get_nothing(client, world):
    for url in (f"/a/{world['assignment']}", "/course", "/notice", "/s/1"):
        assert client.get(url).status_code == 403


def test_a_file_that_cannot_be_copied_is_handed_in_and_the_receipt_says_why_there_is_no_copy(app, client, world):
    sign_in(app, client, world["student"])
    _acknowledge(client)
    damaged = b"%PDF-1.7\n" + b"\x00not really a pdf body\n" * 20  # a PDF header, then nothing a reader can parse
    response = client.post(f"/a/{world['assignment']}/submit",
                           data=_form(client, world["assignment"], files=(io.BytesIO(damaged), "essay.pdf")),
                           content_type="multipart/form-data")
    assert response.status_code == 303
    receipt = client.get(response.headers["Location"]).text
    assert "could not add your statement to a copy of essay.pdf" in receipt
    assert hashlib.sha256(damaged).hexdigest() in receipt
    assert len(re.findall(r'href="(/s/\d+/files/\d+)"', receipt)) == 1  # the original only


def test_a_normal_copy_has_no_such_warning(app, client, world):
    sign_in(app, client, world["student"])
    _acknowledge(client)
    response = client.post(f"/a/{world['assignment']}/submit", data=_form(client, world["assignment"]),
                           content_type="multipart/form-data")
    assert "could not add your statement" not in client.get(response.headers["Location"]).text
