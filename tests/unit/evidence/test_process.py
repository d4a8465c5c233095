"""Process evidence (S 7.5): drafts asked for and answered by a deadline on the institution's
clock, oral defences set openly and recorded only after they took place, the informal request to
fix an attribution (S 9.4 level 1), and who may see or do each."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from attribution.models import Reopening
from attribution.submissions import FieldErrors, Upload, effective_due, submission_gate
from attribution.teaching import parse_local
from evidence.flags import set_course_policy
from evidence.models import AttributionFixRequest, DraftRequest, DraftUpload, OralDefence
from evidence.process import (
    ANSWERED,
    OVERDUE,
    RESOLVED,
    SCHEDULED,
    TO_RECORD,
    UNANSWERED,
    WAITING,
    answer_draft_request,
    defence_status,
    draft_requests_of,
    draft_status,
    process_for_teacher,
    record_defence,
    recorded_defences_of,
    request_attribution_fix,
    request_drafts,
    requests_for_student,
    schedule_defence,
    visible_draft_upload,
)
from plugin.kernel.audit import AuditEntry
from plugin.kernel.errors import InvalidInput, NotFound, NotPermitted
from plugin.kernel.settings import set_setting
from plugin.kernel.users import Actor, Role
from tests.factories import T0, make_course
from tests.factories_work import make_assignment, person, submit

NOW = T0 + timedelta(days=2)  # 03.09.2026 09:00 UTC, 14:00 in Almaty
ZONE = "Asia/Almaty"


@pytest.fixture
def world(db_session):
    """One course with a teacher, a TA and two students, each of whom handed in work; another
    course with its own teacher."""
    course = make_course(db_session)
    other = make_course(db_session, context_id="course-202", title="Synthetic Course 202")
    _t, teacher = person(db_session, course, "teacher-1", "Dana Synthetic", Role.TEACHER)
    _ta, ta = person(db_session, course, "ta-1", "Timur Assistentov", Role.TEACHER, is_ta=True)
    aru, student = person(db_session, course, "student-1", "Аружан Тестова")
    _b, student_b = person(db_session, course, "student-2", "Bolat Exampleuly")
    _o, outsider = person(db_session, other, "teacher-9", "Olga Otherova", Role.TEACHER)
    assignment = make_assignment(db_session, course)
    work = submit(db_session, student, assignment)
    work_b = submit(db_session, student_b, assignment)
    return {"course": course, "teacher": teacher, "ta": ta, "student": student, "student_b": student_b,
            "outsider": outsider, "assignment": assignment, "work": work, "work_b": work_b, "aru": aru}


def _count(session, model) -> int:
    return session.execute(select(func.count()).select_from(model)).scalar_one()


def _audits(session, action: str) -> list[dict]:
    rows = session.execute(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)).scalars()
    return [json.loads(row.payload) for row in rows]


def _state(session, runtime) -> tuple:
    """What a refused request must leave as it was: the rows, the audit log and the file store."""
    return (_count(session, DraftRequest), _count(session, DraftUpload), _count(session, OralDefence),
            _count(session, AttributionFixRequest), _count(session, Reopening), _count(session, AuditEntry),
            sorted(runtime.files.iter_blobs()),
            [(r.answered_at, r.answer_note) for r in session.execute(select(DraftRequest)).scalars()],
            [(d.recorded_at, d.questions) for d in session.execute(select(OralDefence)).scalars()])


def _file(tmp_path: Path, name: str, content: bytes) -> Upload:
    path = tmp_path / f"upload-{len(list(tmp_path.iterdir()))}"
    path.write_bytes(content)
    return Upload(name, path)


def _ask(session, world, *, due_at: datetime | None = None, now: datetime = NOW) -> DraftRequest:
    return request_drafts(session, world["teacher"], world["work"].id, message="Send the plan and the first draft.",
                          due_at=due_at or now + timedelta(days=7), now=now)


# -- drafts: the deadline -----------------------------------------------------------------------------
def test_a_deadline_typed_on_the_institution_clock_is_stored_in_utc(db_session, world):
    due = parse_local("2026-09-10", "", ZONE)  # no time given: 23:59 in Almaty (UTC+5)
    request = _ask(db_session, world, due_at=due)
    db_session.expire_all()
    assert db_session.get(DraftRequest, request.id).due_at == datetime(2026, 9, 10, 18, 59, tzinfo=UTC)
    assert _audits(db_session, "drafts.requested")[-1]["due_at"] == "2026-09-10T18:59:00+00:00"


def test_an_answer_at_the_deadline_is_taken_a_minute_later_it_is_refused_naming_the_deadline(db_session, world,
                                                                                              runtime, tmp_path):
    due = parse_local("2026-09-10", "", ZONE)
    first, second = _ask(db_session, world, due_at=due), _ask(db_session, world, due_at=due)
    answer_draft_request(db_session, world["student"], first.id, [_file(tmp_path, "plan.txt", b"My plan.\n")],
                         "", now=due)
    assert draft_status(first, due) == ANSWERED
    before = _state(db_session, runtime)
    with pytest.raises(InvalidInput) as refused:
        answer_draft_request(db_session, world["student"], second.id,
                             [_file(tmp_path, "late.txt", b"A late draft, never stored.\n")], "Sorry",
                             now=due + timedelta(minutes=1))
    assert "10.09.2026 23:59 (Asia/Almaty)" in str(refused.value)
    assert _state(db_session, runtime) == before
    assert draft_status(second, due + timedelta(minutes=1)) == UNANSWERED


def test_the_refusal_names_the_deadline_in_the_zone_the_institution_set(db_session, world, tmp_path):
    set_setting(db_session, Actor.system("test"), "institution.timezone", "Europe/Moscow", now=T0)
    due = datetime(2026, 9, 10, 18, 59, tzinfo=UTC)
    request = _ask(db_session, world, due_at=due)
    with pytest.raises(InvalidInput, match=r"10\.09\.2026 21:59 \(Europe/Moscow\)"):
        answer_draft_request(db_session, world["student"], request.id, [], "here", now=due + timedelta(days=1))


def test_draft_status_waits_then_reads_unanswered_when_the_deadline_passes():
    request = DraftRequest(submission_id=1, message="m", due_at=NOW, requested_by="t", requested_at=T0)
    assert draft_status(request, NOW) == WAITING
    assert draft_status(request, NOW + timedelta(seconds=1)) == UNANSWERED
    request.answered_at = NOW - timedelta(hours=1)
    assert draft_status(request, NOW + timedelta(days=30)) == ANSWERED


@pytest.mark.parametrize(("message", "due", "fields"), [
    ("", NOW + timedelta(days=1), {"message"}),
    ("   ", NOW + timedelta(days=1), {"message"}),
    ("x" * 5001, NOW + timedelta(days=1), {"message"}),
    ("Send drafts.", None, {"due_at"}),
    ("Send drafts.", NOW, {"due_at"}),
    ("Send drafts.", NOW - timedelta(days=1), {"due_at"}),
    ("Send drafts.", NOW + timedelta(days=400), {"due_at"}),
    ("", None, {"message", "due_at"}),
])
def test_a_bad_request_for_drafts_names_its_fields_and_changes_nothing(db_session, world, runtime, message, due,
                                                                       fields):
    before = _state(db_session, runtime)
    with pytest.raises(FieldErrors) as refused:
        request_drafts(db_session, world["teacher"], world["work"].id, message=message, due_at=due, now=NOW)
    assert set(refused.value.errors) == fields
    assert _state(db_session, runtime) == before


def test_a_naive_deadline_is_a_programming_error(db_session, world):
    naive = datetime(2026, 9, 9)  # noqa: DTZ001  (the mistake under test)
    with pytest.raises(ValueError, match="aware"):
        request_drafts(db_session, world["teacher"], world["work"].id, message="m", due_at=naive, now=NOW)


# -- drafts: who may ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("who", "error"), [("outsider", NotFound), ("student", NotFound), ("student_b", NotFound)])
def test_only_a_teacher_of_the_course_asks_for_drafts(db_session, world, who, error):
    with pytest.raises(error):
        request_drafts(db_session, world[who], world["work"].id, message="m", due_at=NOW + timedelta(days=1),
                       now=NOW)
    with pytest.raises(NotFound):
        request_drafts(db_session, world["teacher"], 10**9, message="m", due_at=NOW + timedelta(days=1), now=NOW)


def test_a_teaching_assistant_asks_unless_the_course_withholds_flagging(db_session, world):
    request_drafts(db_session, world["ta"], world["work"].id, message="m", due_at=NOW + timedelta(days=1), now=NOW)
    set_course_policy(db_session, world["teacher"], ta_may_flag=False, now=NOW)
    with pytest.raises(NotPermitted):
        request_drafts(db_session, world["ta"], world["work"].id, message="m", due_at=NOW + timedelta(days=1),
                       now=NOW)
    with pytest.raises(NotPermitted):
        schedule_defence(db_session, world["ta"], world["work"].id, when=NOW + timedelta(days=1), place="Room 1",
                         now=NOW)
    assert not process_for_teacher(db_session, world["ta"], world["work"].id, now=NOW).may_act


def test_a_teacher_who_is_also_the_student_cannot_ask_about_their_own_work(db_session, world):
    both = Actor.for_user(world["aru"], frozenset({Role.STUDENT, Role.TEACHER}), course_id=world["course"].id)
    with pytest.raises(NotPermitted):
        request_drafts(db_session, both, world["work"].id, message="m", due_at=NOW + timedelta(days=1), now=NOW)


def test_a_student_answering_another_students_request_gets_not_found(db_session, world, runtime, tmp_path):
    request = _ask(db_session, world)
    before = _state(db_session, runtime)
    for who in ("student_b", "teacher", "outsider"):
        with pytest.raises(NotFound):
            answer_draft_request(db_session, world[who], request.id, [_file(tmp_path, "d.txt", b"draft\n")], "",
                                 now=NOW)
    with pytest.raises(NotFound):
        answer_draft_request(db_session, world["student"], 10**9, [], "note", now=NOW)
    with pytest.raises(NotFound):
        requests_for_student(db_session, world["student_b"], world["work"].id, now=NOW)
    assert _state(db_session, runtime) == before


# -- drafts: the answer -------------------------------------------------------------------------------
def test_the_student_answers_with_files_and_a_note_once(db_session, world, runtime, tmp_path):
    request = _ask(db_session, world)
    answer_draft_request(db_session, world["student"], request.id,
                         [_file(tmp_path, "plan.txt", b"Plan: three parts.\n"),
                          _file(tmp_path, "../../draft 1.md", b"# First draft\n")],
                         "  The rest is in my notebook.  ", now=NOW + timedelta(hours=1))
    uploads = db_session.execute(select(DraftUpload).order_by(DraftUpload.id)).scalars().all()
    assert [(u.name, u.kind, u.size) for u in uploads] == [("plan.txt", "text", 19), ("draft 1.md", "text", 14)]
    assert all(runtime.files.exists(u.sha256) for u in uploads)
    assert (request.answered_at, request.answer_note) == (NOW + timedelta(hours=1), "The rest is in my notebook.")
    audit = _audits(db_session, "drafts.answered")[-1]
    assert audit["request"] == request.id and [f["name"] for f in audit["files"]] == ["plan.txt", "draft 1.md"]
    assert visible_draft_upload(db_session, world["teacher"], request.id, uploads[0].id) == uploads[0]
    assert visible_draft_upload(db_session, world["student"], request.id, uploads[0].id) == uploads[0]
    for who in ("student_b", "outsider"):
        with pytest.raises(NotFound):
            visible_draft_upload(db_session, world[who], request.id, uploads[0].id)
    with pytest.raises(InvalidInput, match="already answered"):
        answer_draft_request(db_session, world["student"], request.id, [], "Another note", now=NOW + timedelta(hours=2))


def test_a_note_alone_is_an_answer(db_session, world):
    request = _ask(db_session, world)
    answer_draft_request(db_session, world["student"], request.id, [],
                         "History: https://docs.example.test/d/1/history", now=NOW)
    assert draft_status(request, NOW) == ANSWERED


def test_a_bad_answer_names_its_field_and_stores_no_file(db_session, world, runtime, tmp_path):
    request = _ask(db_session, world)
    before = _state(db_session, runtime)
    good = _file(tmp_path, "plan.txt", b"A plan that must not be stored alone.\n")
    cases = [
        ([], "", "files"),
        ([good, _file(tmp_path, "empty.txt", b"")], "", "files"),
        ([good, _file(tmp_path, "tool.exe", b"MZ\x90\x00\x03\x00\x00\x00binary")], "", "files"),
        ([good, _file(tmp_path, "essay.pdf", b"just text, not a PDF\n")], "", "files"),
        ([_file(tmp_path, f"d{i}.txt", b"d\n") for i in range(11)], "", "files"),
        ([good], "n" * 2001, "note"),
    ]
    for uploads, note, field in cases:
        with pytest.raises(FieldErrors) as refused:
            answer_draft_request(db_session, world["student"], request.id, uploads, note, now=NOW)
        assert field in refused.value.errors, (uploads, note)
        assert _state(db_session, runtime) == before


# -- oral defence -------------------------------------------------------------------------------------
@pytest.mark.parametrize("link", ["javascript:alert(1)", "JavaScript:alert(document.cookie)", "data:text/html,x",
                                  "ftp://files.example.test/x", "https://", "meet.example.test/abc",
                                  "https://meet.example.test/a b"])
def test_a_meeting_link_that_is_not_http_is_refused(db_session, world, runtime, link):
    before = _state(db_session, runtime)
    with pytest.raises(FieldErrors) as refused:
        schedule_defence(db_session, world["teacher"], world["work"].id, when=NOW + timedelta(days=1),
                         online_url=link, now=NOW)
    assert "online_url" in refused.value.errors
    with pytest.raises(FieldErrors):  # a place does not make a bad link acceptable
        schedule_defence(db_session, world["teacher"], world["work"].id, when=NOW + timedelta(days=1),
                         place="Room 204", online_url=link, now=NOW)
    assert _state(db_session, runtime) == before


@pytest.mark.parametrize(("when", "place", "link", "fields"), [
    (None, "Room 204", None, {"when"}),
    (NOW - timedelta(minutes=1), "Room 204", None, {"when"}),
    (NOW + timedelta(days=1), "", None, {"place"}),
    (NOW + timedelta(days=1), "   ", "", {"place"}),
    (NOW + timedelta(days=1), "x" * 301, None, {"place"}),
])
def test_a_defence_needs_a_future_time_and_a_place_or_a_link(db_session, world, runtime, when, place, link, fields):
    before = _state(db_session, runtime)
    with pytest.raises(FieldErrors) as refused:
        schedule_defence(db_session, world["teacher"], world["work"].id, when=when, place=place, online_url=link,
                         now=NOW)
    assert set(refused.value.errors) == fields
    assert _state(db_session, runtime) == before


def test_a_defence_is_recorded_only_after_its_time_and_only_once(db_session, world, runtime):
    when = NOW + timedelta(days=1)
    defence = schedule_defence(db_session, world["teacher"], world["work"].id, when=when, place=" Room  204 ",
                               online_url="https://meet.example.test/abc", now=NOW)
    assert (defence.place, defence.online_url) == ("Room 204", "https://meet.example.test/abc")
    assert defence_status(defence, NOW) == SCHEDULED and defence_status(defence, when) == TO_RECORD
    record = {"questions": "Why this structure?", "answers_summary": "Explained the plan and the sources.",
              "conclusion": "confirmed", "conclusion_text": "The student knows the work in depth."}
    before = _state(db_session, runtime)
    with pytest.raises(InvalidInput, match=r"04\.09\.2026 14:00 \(Asia/Almaty\)"):
        record_defence(db_session, world["teacher"], defence.id, now=when - timedelta(minutes=1), **record)
    assert _state(db_session, runtime) == before
    record_defence(db_session, world["teacher"], defence.id, now=when + timedelta(minutes=30), **record)
    assert defence.conclusion == "confirmed" and defence.recorded_at == when + timedelta(minutes=30)
    assert _audits(db_session, "defence.recorded")[-1]["conclusion"] == "confirmed"
    assert recorded_defences_of(db_session, world["work"].id) == [defence]
    with pytest.raises(InvalidInput, match="already recorded"):
        record_defence(db_session, world["teacher"], defence.id, now=when + timedelta(hours=1),
                       **(record | {"conclusion": "not_confirmed"}))
    assert defence.conclusion == "confirmed"


@pytest.mark.parametrize("missing", ["questions", "answers_summary", "conclusion", "conclusion_text"])
def test_a_defence_record_needs_every_part(db_session, world, runtime, missing):
    defence = schedule_defence(db_session, world["teacher"], world["work"].id, when=NOW + timedelta(hours=1),
                               place="Room 204", now=NOW)
    record = {"questions": "Q", "answers_summary": "A", "conclusion": "inconclusive", "conclusion_text": "R"}
    before = _state(db_session, runtime)
    with pytest.raises(FieldErrors) as refused:
        record_defence(db_session, world["teacher"], defence.id, now=NOW + timedelta(hours=2),
                       **(record | {missing: ""}))
    assert set(refused.value.errors) == {missing}
    with pytest.raises(FieldErrors):
        record_defence(db_session, world["teacher"], defence.id, now=NOW + timedelta(hours=2),
                       **(record | {"conclusion": "guilty"}))
    assert _state(db_session, runtime) == before


def test_another_course_cannot_record_a_defence(db_session, world):
    defence = schedule_defence(db_session, world["teacher"], world["work"].id, when=NOW + timedelta(hours=1),
                               place="Room 204", now=NOW)
    for who in ("outsider", "student"):
        with pytest.raises(NotFound):
            record_defence(db_session, world[who], defence.id, questions="Q", answers_summary="A",
                           conclusion="confirmed", conclusion_text="R", now=NOW + timedelta(hours=2))


# -- attribution fix ------------------------------------------------------------------------------------
def test_a_fix_reopens_a_closed_assignment_until_its_deadline_and_a_new_version_resolves_it(db_session, world):
    assignment = world["assignment"]
    assignment.due_at, assignment.late_policy = NOW - timedelta(hours=1), "refuse"
    student = world["student"]
    assert submission_gate(db_session, student, assignment, NOW) is not None  # closed for the student
    due = NOW + timedelta(days=5)
    fix = request_attribution_fix(db_session, world["teacher"], world["work"].id,
                                  note="Name the model and the date of use.", due_at=due, now=NOW)
    assert effective_due(db_session, assignment, student.user_id) == due
    assert effective_due(db_session, assignment, world["student_b"].user_id) == assignment.due_at
    assert _audits(db_session, "attribution_fix.requested")[-1]["reopening"] is not None
    overview = requests_for_student(db_session, student, world["work"].id, now=NOW)
    assert [(item.fix.id, item.status) for item in overview.fixes] == [(fix.id, WAITING)]
    corrected = submit(db_session, student, assignment, now=NOW + timedelta(days=1), ai_used=True)
    assert not corrected.late and corrected.version == 2
    # the request stays in view from either version's receipt, resolved by version 2
    for seen_from in (world["work"].id, corrected.id):
        overview = requests_for_student(db_session, student, seen_from, now=NOW + timedelta(days=1))
        assert [(item.status, item.corrected.id) for item in overview.fixes] == [(RESOLVED, corrected.id)]


def test_a_fix_never_shortens_the_students_time(db_session, world):
    assignment = world["assignment"]
    assignment.due_at = NOW + timedelta(days=20)
    request_attribution_fix(db_session, world["teacher"], world["work"].id, note="Add the model version.",
                            due_at=NOW + timedelta(days=3), now=NOW)
    assert effective_due(db_session, assignment, world["student"].user_id) == NOW + timedelta(days=20)
    assignment.due_at = None
    request_attribution_fix(db_session, world["teacher"], world["work"].id, note="Add the dates.",
                            due_at=NOW + timedelta(days=3), now=NOW)
    assert _count(db_session, Reopening) == 0


def test_a_fix_not_handed_in_by_its_deadline_reads_overdue(db_session, world):
    fix = request_attribution_fix(db_session, world["teacher"], world["work"].id, note="Add the tool.",
                                  due_at=NOW + timedelta(days=1), now=NOW)
    late = submit(db_session, world["student"], world["assignment"], now=NOW + timedelta(days=2))
    overview = process_for_teacher(db_session, world["teacher"], late.id, now=NOW + timedelta(days=2))
    assert [(item.fix.id, item.status, item.corrected) for item in overview.fixes] == [(fix.id, OVERDUE, None)]


def test_a_bad_fix_request_changes_nothing(db_session, world, runtime):
    world["assignment"].due_at = NOW - timedelta(days=1)
    before = _state(db_session, runtime)
    for note, due, field in [("", NOW + timedelta(days=1), "note"), ("x" * 2001, NOW + timedelta(days=1), "note"),
                             ("Fix it.", NOW - timedelta(days=1), "due_at"), ("Fix it.", None, "due_at")]:
        with pytest.raises(FieldErrors) as refused:
            request_attribution_fix(db_session, world["teacher"], world["work"].id, note=note, due_at=due, now=NOW)
        assert field in refused.value.errors
    with pytest.raises(NotFound):
        request_attribution_fix(db_session, world["outsider"], world["work"].id, note="Fix it.",
                                due_at=NOW + timedelta(days=1), now=NOW)
    assert _state(db_session, runtime) == before


# -- reading ---------------------------------------------------------------------------------------------
def test_the_student_sees_only_their_own_requests_and_an_unanswered_one_is_evidence(db_session, world):
    request = _ask(db_session, world, due_at=NOW + timedelta(days=1))
    request_drafts(db_session, world["teacher"], world["work_b"].id, message="Bolat's drafts",
                   due_at=NOW + timedelta(days=1), now=NOW)
    mine = requests_for_student(db_session, world["student"], world["work"].id, now=NOW)
    assert [item.request.id for item in mine.drafts] == [request.id]
    assert requests_for_student(db_session, world["student_b"], world["work_b"].id, now=NOW).drafts[0].request.message \
        == "Bolat's drafts"
    later = NOW + timedelta(days=2)
    assert draft_requests_of(db_session, world["work"].id, now=later) == [(request, UNANSWERED)]
    assert process_for_teacher(db_session, world["teacher"], world["work"].id, now=later).drafts[0].status \
        == UNANSWERED
    with pytest.raises(NotFound):
        process_for_teacher(db_session, world["outsider"], world["work"].id, now=NOW)
