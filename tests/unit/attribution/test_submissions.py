"""Handing in work: the disclosure, the gate (set-up, notice, deadline), versions, idempotency,
the stamped copy, and bad input that must change nothing."""

from __future__ import annotations

import hashlib
import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from attribution.models import Submission, SubmissionFile
from attribution.stamping import inspect_file
from attribution.statements import Disclosure, sentence_74, short_attribution, statement_text
from attribution.submissions import (
    FieldErrors,
    Upload,
    submission_files,
    submission_for,
    submit_work,
    term_of,
)
from plugin.kernel.audit import AuditEntry
from plugin.kernel.errors import InvalidInput, NotFound, NotPermitted
from plugin.kernel.notices import acknowledge_notice, current_version, publish_notice
from plugin.kernel.runtime import runtime_of
from plugin.kernel.users import Actor, Role
from tests.factories import T0, enrol, make_course, make_user
from tests.work_samples import (
    acknowledged,
    actor_for,
    disclosure,
    docx_bytes,
    make_assignment,
    notice_text,
    pdf_bytes,
    publish_test_notice,
)


@pytest.fixture
def world(db_session):
    course = make_course(db_session)
    user = make_user(db_session)
    enrol(db_session, user, course)
    publish_test_notice(db_session)
    student = acknowledged(db_session, actor_for(user, course))
    assignment = make_assignment(db_session, course)
    return db_session, course, user, student, assignment


def _upload(tmp_path: Path, name: str, data: bytes) -> Upload:
    path = tmp_path / f"upload-{len(list(tmp_path.iterdir()))}"
    path.write_bytes(data)
    return Upload(name=name, path=path)


def _state(session) -> tuple[int, int, int, frozenset[str]]:
    files = runtime_of(session).files
    return (session.execute(select(func.count()).select_from(Submission)).scalar_one(),
            session.execute(select(func.count()).select_from(SubmissionFile)).scalar_one(),
            session.execute(select(func.count()).select_from(AuditEntry)).scalar_one(),
            frozenset(files.iter_blobs()))


# -- statements ------------------------------------------------------------------------------------
def test_statements_follow_the_standard_templates_verbatim_in_kazakh():
    used = Disclosure(ai_used=True, tasks=("language", "ideas"), service="ChatGPT", model="GPT-4o",
                      model_version="2024-08", dates=(date(2026, 8, 30), date(2026, 8, 2)), checked=True)
    assert short_attribution(used, "kk") == (
        "GenAI ChatGPT пайдаланылды, модель GPT-4o 2024-08, мақсат: тілдік түзету / идея генерациясы. "
        "Жүгіну күні: 02.08.2026, 30.08.2026. Негізгі сұраныстар мен жауаптар қосымшада/сілтемеде көрсетілген.")
    assert sentence_74(used, "kk") == ("Тілдік түзету/Идеяларды генерациялау үшін GenAI ChatGPT, GPT-4o 2024-08 "
                                       "моделі пайдаланылды. Негізгі нұсқамалар мен жауаптар - қосымшада")
    assert "Использован GenAI ChatGPT" in statement_text(used, "ru")
    assert statement_text(used, "en").endswith("The author confirms having personally checked the final result.")
    assert statement_text(Disclosure(ai_used=False), "kk") == "Бұл жұмысты орындау кезінде ЖИ пайдаланылған жоқ."


def test_term_follows_the_academic_year_in_the_institution_zone():
    from datetime import UTC, datetime

    assert term_of(datetime(2026, 9, 1, 9, tzinfo=UTC), "Asia/Almaty") == "2026-2027/1"
    assert term_of(datetime(2027, 1, 20, tzinfo=UTC), "Asia/Almaty") == "2026-2027/1"
    assert term_of(datetime(2027, 2, 1, tzinfo=UTC), "Asia/Almaty") == "2026-2027/2"
    # 31 August 20:00 UTC is already 1 September in Almaty
    assert term_of(datetime(2026, 8, 31, 20, tzinfo=UTC), "Asia/Almaty") == "2026-2027/1"
    assert term_of(datetime(2026, 8, 31, 20, tzinfo=UTC), "UTC") == "2025-2026/2"


# -- notices ---------------------------------------------------------------------------------------
def test_a_notice_is_current_once_published_in_kazakh_and_russian(db_session):
    admin = Actor.system("test")
    publish_notice(db_session, admin, notice_text("kk"), lang="kk", require_adapted=True, now=T0)
    assert current_version(db_session) is None
    publish_notice(db_session, admin, notice_text("ru"), lang="ru", require_adapted=True, now=T0)
    assert current_version(db_session) == 1
    publish_notice(db_session, admin, notice_text("kk", 2), lang="kk", require_adapted=True, now=T0)
    assert current_version(db_session) == 1  # version 2 has no ru yet
    with pytest.raises(InvalidInput, match="older"):
        publish_notice(db_session, admin, notice_text("en", 1), lang="en", require_adapted=True, now=T0)


@pytest.mark.parametrize(("change", "message"), [
    (lambda t: t.replace('purpose = "', 'purpose_x = "'), "purpose"),
    (lambda t: t.replace("date = 2026-09-01", 'date = "someday"'), "date"),
    (lambda t: t.replace("[adapted]", "[other]"), "minors"),
    (lambda t: t + "\n[broken", "TOML"),
])
def test_a_notice_missing_a_field_is_refused_and_nothing_is_stored(db_session, change, message):
    with pytest.raises(InvalidInput, match=message):
        publish_notice(db_session, Actor.system("test"), change(notice_text("kk")), lang="kk", require_adapted=True,
                       now=T0)
    assert current_version(db_session) is None


def test_acknowledgement_is_recorded_once_and_only_for_the_current_version(db_session):
    course, user = make_course(db_session), make_user(db_session)
    publish_test_notice(db_session)
    student = actor_for(user, course)
    with pytest.raises(InvalidInput):
        acknowledge_notice(db_session, student, version=2, now=T0)
    acknowledge_notice(db_session, student, version=1, now=T0)
    acknowledge_notice(db_session, student, version=1, now=T0 + timedelta(hours=1))
    entries = db_session.execute(select(AuditEntry).where(AuditEntry.action == "notice.acknowledged")).scalars().all()
    assert len(entries) == 1
    with pytest.raises(InvalidInput, match="acknowledged"):  # a version people read cannot be rewritten
        publish_notice(db_session, Actor.system("test"), notice_text("kk"), lang="kk", require_adapted=True, now=T0)


# -- submitting ------------------------------------------------------------------------------------
def test_a_submission_keeps_the_original_and_adds_a_stamped_copy_with_the_statement(world, tmp_path):
    session, _course, _user, student, assignment = world
    original = docx_bytes()
    submission, created = submit_work(session, student, assignment.id, disclosure(),
                                      [_upload(tmp_path, "Эссе.docx", original)], statement_lang="kk", now=T0)
    assert created and submission.version == 1 and not submission.late
    assert submission.term == "2026-2027/1" and submission.notice_version == 1
    assert submission.statement.startswith("GenAI ChatGPT пайдаланылды")
    files = submission_files(session, submission.id)
    assert [f.role for f in files] == ["original", "copy"]
    store = runtime_of(session).files
    assert store.read(files[0].sha256) == original
    assert files[0].sha256 == hashlib.sha256(original).hexdigest()
    assert files[1].copy_of == files[0].id and files[1].name == "Эссе.adal.docx"
    copy_path = tmp_path / "copy.docx"
    copy_path.write_bytes(store.read(files[1].sha256))
    from docx import Document

    text = "\n".join(p.text for p in Document(str(copy_path)).paragraphs)
    assert "GenAI ChatGPT пайдаланылды" in text
    report = inspect_file(copy_path)
    assert report.has_ai_provenance and report.fields["Model"] == "GPT-4o"
    audit = session.execute(select(AuditEntry).where(AuditEntry.action == "submission.created")).scalar_one()
    assert json.loads(audit.payload)["files"][0]["sha256"] == files[0].sha256


def test_a_declared_use_the_assignment_does_not_allow_is_marked_not_blocked(world, tmp_path):
    session, _course, _user, student, assignment = world
    submission, _ = submit_work(session, student, assignment.id, disclosure(tasks=("trainer", "language"),
                                                                            language="other"),
                                [_upload(tmp_path, "work.pdf", pdf_bytes())], statement_lang="ru", now=T0)
    assert json.loads(submission.not_allowed) == ["trainer"]
    assert submission.statement.startswith("Использован GenAI")


def test_no_ai_means_no_ai_fields_and_no_copy(world, tmp_path):
    session, _course, _user, student, assignment = world
    data = disclosure(ai_used=False, tasks=(), service="", model="", model_version="", dates=(), rows=(),
                      checked=False, language="en")
    submission, _ = submit_work(session, student, assignment.id, data, [_upload(tmp_path, "w.docx", docx_bytes())],
                                statement_lang="en", now=T0)
    assert submission.service is None and submission.tasks == "[]"
    assert [f.role for f in submission_files(session, submission.id)] == ["original"]
    assert submission.statement == "No AI was used in doing this work."


def test_the_same_key_twice_is_one_submission_and_new_keys_make_versions(world, tmp_path):
    session, _course, _user, student, assignment = world
    first, created = submit_work(session, student, assignment.id, disclosure("a" * 24),
                                 [_upload(tmp_path, "w.docx", docx_bytes())], statement_lang="kk", now=T0)
    again, created_again = submit_work(session, student, assignment.id, disclosure("a" * 24),
                                       [_upload(tmp_path, "w.docx", docx_bytes())], statement_lang="kk", now=T0)
    assert created and not created_again and again.id == first.id
    second, _ = submit_work(session, student, assignment.id, disclosure("b" * 24),
                            [_upload(tmp_path, "w2.docx", docx_bytes("v2"))], statement_lang="kk", now=T0)
    assert second.version == 2
    assert session.execute(select(func.count()).select_from(Submission)).scalar_one() == 2


def test_late_work_is_marked_or_refused_by_the_policy(db_session, tmp_path):
    course, user = make_course(db_session), make_user(db_session)
    enrol(db_session, user, course)
    publish_test_notice(db_session)
    student = acknowledged(db_session, actor_for(user, course))
    marked = make_assignment(db_session, course, due_at=T0 - timedelta(days=1), late_policy="mark")
    refused = make_assignment(db_session, course, due_at=T0 - timedelta(days=1), late_policy="refuse")
    late, _ = submit_work(db_session, student, marked.id, disclosure("c" * 24),
                          [_upload(tmp_path, "w.docx", docx_bytes())], statement_lang="kk", now=T0)
    assert late.late
    before = _state(db_session)
    with pytest.raises(NotPermitted, match="due date"):
        submit_work(db_session, student, refused.id, disclosure("d" * 24), [_upload(tmp_path, "w.docx", docx_bytes())],
                    statement_lang="kk", now=T0)
    assert _state(db_session) == before


def test_the_gate_needs_a_set_up_assignment_a_notice_and_its_acknowledgement(db_session, tmp_path):
    course, user = make_course(db_session), make_user(db_session)
    student = actor_for(user, course)
    waiting = make_assignment(db_session, course, configured=False)
    ready = make_assignment(db_session, course)
    files = [_upload(tmp_path, "w.docx", docx_bytes())]
    with pytest.raises(NotPermitted, match="not set up"):
        submit_work(db_session, student, waiting.id, disclosure(), files, statement_lang="kk", now=T0)
    with pytest.raises(NotPermitted, match="notice"):
        submit_work(db_session, student, ready.id, disclosure(), files, statement_lang="kk", now=T0)
    publish_test_notice(db_session)
    with pytest.raises(NotPermitted, match="acknowledge"):
        submit_work(db_session, student, ready.id, disclosure(), files, statement_lang="kk", now=T0)
    teacher = actor_for(user, course, Role.TEACHER)
    with pytest.raises(NotPermitted, match="students"):
        submit_work(db_session, teacher, ready.id, disclosure(), files, statement_lang="kk", now=T0)


@pytest.mark.parametrize(("changes", "field"), [
    ({"drafts_url": "javascript:alert(1)"}, "drafts_url"),
    ({"drafts_url": "data:text/html,<b>x</b>"}, "drafts_url"),
    ({"checked": False}, "checked"),
    ({"tasks": ()}, "tasks"),
    ({"tasks": ("made-up",)}, "tasks"),
    ({"tasks": ("other",), "other_text": ""}, "other_text"),
    ({"service": "  "}, "service"),
    ({"dates": ()}, "dates"),
    ({"dates": (date(2030, 1, 1),)}, "dates"),
    ({"language": "xx"}, "language"),
    ({"idempotency_key": "short"}, "form"),
])
def test_a_bad_form_names_the_field_and_changes_nothing(world, tmp_path, changes, field):
    session, _course, _user, student, assignment = world
    before = _state(session)
    with pytest.raises(FieldErrors) as caught:
        submit_work(session, student, assignment.id, disclosure(**changes), [_upload(tmp_path, "w.docx", docx_bytes())],
                    statement_lang="kk", now=T0)
    assert field in caught.value.errors
    assert _state(session) == before


@pytest.mark.parametrize(("name", "data", "says"), [
    ("empty.docx", b"", "empty"),
    ("essay.pdf", "Бұл мәтін, PDF емес.".encode(), "not a file type"),
    ("essay.docx", pdf_bytes(), "named as .docx"),
    ("blob.bin", bytes(range(256)) * 10, "not a file type"),
    ("broken.zip", b"PK\x03\x04" + b"\x00" * 100, "cannot be read"),
])
def test_a_bad_file_is_refused_with_a_reason_and_changes_nothing(world, tmp_path, name, data, says):
    session, _course, _user, student, assignment = world
    before = _state(session)
    with pytest.raises(FieldErrors) as caught:
        submit_work(session, student, assignment.id, disclosure(), [_upload(tmp_path, name, data)],
                    statement_lang="kk", now=T0)
    assert says in caught.value.errors["files"]
    assert _state(session) == before


def test_text_code_and_archives_are_accepted_by_content(world, tmp_path):
    import io
    import zipfile

    session, _course, _user, student, assignment = world
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("main.py", "print('сәлем')\n")
    uploads = [_upload(tmp_path, "main.py", "print('сәлем')\n".encode()),
               _upload(tmp_path, "code.zip", archive.getvalue()),
               _upload(tmp_path, "notes.txt", "Жазбалар".encode())]
    submission, _ = submit_work(session, student, assignment.id, disclosure(), uploads, statement_lang="kk", now=T0)
    assert [f.kind for f in submission_files(session, submission.id)] == ["text", "zip", "text"]


def test_another_course_or_another_students_work_is_not_found(world, tmp_path):
    session, course, _user, student, assignment = world
    submission, _ = submit_work(session, student, assignment.id, disclosure(), [_upload(tmp_path, "w.docx",
                                                                                        docx_bytes())],
                                statement_lang="kk", now=T0)
    other_course = make_course(session, "course-202", "Another course")
    stranger = make_user(session, "student-002", "Тимур Сынақов")
    enrol(session, stranger, other_course)
    outsider = acknowledged(session, actor_for(stranger, other_course))
    with pytest.raises(NotFound):
        submit_work(session, outsider, assignment.id, disclosure("z" * 24), [_upload(tmp_path, "w.docx",
                                                                                     docx_bytes())],
                    statement_lang="kk", now=T0)
    classmate = actor_for(stranger, course)
    with pytest.raises(NotFound):
        submission_for(session, classmate, submission.id)
    with pytest.raises(NotFound):
        submission_for(session, actor_for(stranger, other_course, Role.TEACHER), submission.id)
    teacher = actor_for(make_user(session, "teacher-001", "Бақыт Үлгіұлы"), course, Role.TEACHER)
    assert submission_for(session, teacher, submission.id)[0].id == submission.id


# -- background copies -----------------------------------------------------------------------------
def test_in_background_mode_the_copy_is_made_later_once_and_survives_a_crash(world, tmp_path):
    from attribution.submissions import finish_copies, pending_copies

    session, _course, _user, student, assignment = world
    submission, _ = submit_work(session, student, assignment.id, disclosure(),
                                [_upload(tmp_path, "Эссе.docx", docx_bytes())], statement_lang="kk", now=T0,
                                copies="background")
    assert submission.copies_pending
    assert [f.role for f in submission_files(session, submission.id)] == ["original"]
    assert pending_copies(session) == [submission.id]
    # a runner that dies before its commit: the claim goes with it, the copy stays pending
    with session.begin_nested() as attempt:
        assert finish_copies(session, submission.id, now=T0)
        attempt.rollback()
    assert pending_copies(session) == [submission.id]
    assert finish_copies(session, submission.id, now=T0)
    assert not finish_copies(session, submission.id, now=T0)  # a second runner finds nothing to do
    files = submission_files(session, submission.id)
    assert [f.role for f in files] == ["original", "copy"] and files[1].name == "Эссе.adal.docx"
    copy_path = tmp_path / "copy.docx"
    copy_path.write_bytes(runtime_of(session).files.read(files[1].sha256))
    from docx import Document

    assert "GenAI ChatGPT пайдаланылды" in "\n".join(p.text for p in Document(str(copy_path)).paragraphs)
    assert pending_copies(session) == []
    made = session.execute(select(AuditEntry).where(AuditEntry.action == "submission.copies_made")).scalars().all()
    assert len(made) == 1


def test_no_ai_or_no_copyable_file_leaves_nothing_pending(world, tmp_path):
    session, _course, _user, student, assignment = world
    text_only, _ = submit_work(session, student, assignment.id, disclosure("t" * 24),
                               [_upload(tmp_path, "notes.txt", "Жазбалар".encode())], statement_lang="kk", now=T0,
                               copies="background")
    assert not text_only.copies_pending
