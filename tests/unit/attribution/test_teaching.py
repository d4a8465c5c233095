"""The teacher's services: grading, reopening, the table and its filters, the roster gap, the CSV."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from attribution.models import Reopening
from attribution.submissions import FieldErrors, effective_due, submission_gate
from attribution.teaching import (
    Filters,
    csv_cell,
    grade_submission,
    is_learner,
    parse_grade,
    parse_local,
    reopen_for_student,
    roster_gap,
    submission_rows,
    submissions_csv,
    teacher_assignment,
    teacher_submission,
)
from plugin.kernel.audit import AuditEntry
from plugin.kernel.errors import InvalidInput, NotFound, NotPermitted
from plugin.kernel.notices import acknowledge_notice
from plugin.kernel.ports import RosterMember
from plugin.kernel.users import Actor, Role
from tests.factories import T0, make_course
from tests.factories_work import FakeRoster, make_assignment, person, publish_test_notice, submit

LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
NOW = T0 + timedelta(days=2)


@pytest.fixture
def world(db_session):
    """One course with a teacher, a TA and two students; another course with its own teacher."""
    course = make_course(db_session)
    other = make_course(db_session, context_id="course-202", title="Synthetic Course 202")
    _t, teacher = person(db_session, course, "teacher-1", "Dana Synthetic", Role.TEACHER)
    _ta, ta = person(db_session, course, "ta-1", "Timur Assistentov", Role.TEACHER, is_ta=True)
    aru, student = person(db_session, course, "student-1", "Аружан Тестова")
    _b, student_b = person(db_session, course, "student-2", "Bolat Exampleuly")
    _o, outsider = person(db_session, other, "teacher-9", "Olga Otherova", Role.TEACHER)
    assignment = make_assignment(db_session, course, not_allowed=("trainer",), custom=(("Diagrams", False),))
    return {"course": course, "teacher": teacher, "ta": ta, "student": student, "student_b": student_b,
            "outsider": outsider, "assignment": assignment, "aru": aru}


def _audits(session, action: str) -> list[dict]:
    rows = session.execute(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)).scalars()
    return [json.loads(row.payload) for row in rows]


# -- access -----------------------------------------------------------------------------------------
def test_only_teachers_of_the_course_reach_an_assignment(db_session, world):
    assignment = world["assignment"]
    assert teacher_assignment(db_session, world["teacher"], assignment.id) is assignment
    assert teacher_assignment(db_session, world["ta"], assignment.id) is assignment
    with pytest.raises(NotPermitted):
        teacher_assignment(db_session, world["student"], assignment.id)
    with pytest.raises(NotFound):
        teacher_assignment(db_session, world["outsider"], assignment.id)
    with pytest.raises(NotFound):
        teacher_assignment(db_session, world["teacher"], 987654)


def test_a_student_cannot_open_even_their_own_submission_as_a_teacher_page(db_session, world):
    submission = submit(db_session, world["student"], world["assignment"])
    assert teacher_submission(db_session, world["teacher"], submission.id)[0] is submission
    for actor in (world["student"], world["student_b"], world["outsider"]):
        with pytest.raises(NotFound):
            teacher_submission(db_session, actor, submission.id)


# -- grading ----------------------------------------------------------------------------------------
def test_grade_and_feedback_are_saved_and_audited(db_session, world):
    submission = submit(db_session, world["student"], world["assignment"])
    graded = grade_submission(db_session, world["ta"], submission.id, 8.5, "  Жақсы жұмыс.  ", now=NOW)
    assert (graded.grade, graded.feedback, graded.graded_at, graded.graded_by) == (
        8.5, "Жақсы жұмыс.", NOW, world["ta"].label)
    assert _audits(db_session, "submission.graded") == [{
        "assignment": world["assignment"].id, "version": 1, "grade": 8.5, "previous": None, "score_maximum": 10.0,
        "feedback": True}]
    grade_submission(db_session, world["teacher"], submission.id, 10, "", now=NOW)  # the maximum itself is fine
    assert (submission.grade, submission.feedback) == (10, None)
    assert _audits(db_session, "submission.graded")[-1]["previous"] == 8.5


@pytest.mark.parametrize(("grade", "feedback", "field"), [
    (10.01, "", "grade"), (-0.5, "", "grade"), (float("nan"), "", "grade"), (float("inf"), "", "grade"),
    (5, "x" * 5001, "feedback")])
def test_a_bad_grade_changes_nothing(db_session, world, grade, feedback, field):
    submission = submit(db_session, world["student"], world["assignment"])
    with pytest.raises(FieldErrors) as refused:
        grade_submission(db_session, world["teacher"], submission.id, grade, feedback, now=NOW)
    assert list(refused.value.errors) == [field]
    assert (submission.grade, submission.feedback, submission.graded_at) == (None, None, None)
    assert _audits(db_session, "submission.graded") == []


def test_feedback_of_exactly_5000_characters_is_accepted(db_session, world):
    submission = submit(db_session, world["student"], world["assignment"])
    grade_submission(db_session, world["teacher"], submission.id, 1, "ә" * 5000, now=NOW)
    assert len(submission.feedback) == 5000


def test_parse_grade_takes_a_decimal_comma_and_refuses_words():
    assert parse_grade(" 8,5 ") == 8.5
    assert parse_grade("7") == 7.0
    for text in ("", "eight", "8/10", "1e", "--1"):
        with pytest.raises(FieldErrors) as refused:
            parse_grade(text)
        assert list(refused.value.errors) == ["grade"]


def test_only_a_teacher_of_the_course_grades_and_only_the_latest_version(db_session, world):
    first = submit(db_session, world["student"], world["assignment"])
    with pytest.raises(NotPermitted):
        grade_submission(db_session, world["student"], first.id, 9, "", now=NOW)  # their own work
    with pytest.raises(NotFound):
        grade_submission(db_session, world["student_b"], first.id, 9, "", now=NOW)
    with pytest.raises(NotFound):
        grade_submission(db_session, world["outsider"], first.id, 9, "", now=NOW)
    second = submit(db_session, world["student"], world["assignment"], now=NOW)
    with pytest.raises(FieldErrors) as refused:
        grade_submission(db_session, world["teacher"], first.id, 9, "", now=NOW)
    assert "newer version" in refused.value.errors["grade"]
    grade_submission(db_session, world["teacher"], second.id, 9, "", now=NOW)
    assert (first.grade, second.grade) == (None, 9)


def test_a_teacher_who_is_also_the_student_cannot_grade_their_own_work(db_session, world):
    both = Actor.for_user(world["aru"], frozenset({Role.STUDENT, Role.TEACHER}), course_id=world["course"].id)
    submission = submit(db_session, world["student"], world["assignment"])
    with pytest.raises(NotPermitted):
        grade_submission(db_session, both, submission.id, 9, "", now=NOW)


# -- reopening --------------------------------------------------------------------------------------
def test_reopening_gives_one_student_a_new_due_date(db_session, world):
    course = world["course"]
    assignment = make_assignment(db_session, course, due_at=T0, late_policy="refuse")
    student, other = world["student"], world["student_b"]
    acknowledge_notice(db_session, student, version=publish_test_notice(db_session), now=T0)
    assert "due date has passed" in submission_gate(db_session, student, assignment, NOW)
    new_due = NOW + timedelta(days=3)
    reopening = reopen_for_student(db_session, world["teacher"], assignment.id, student.user_id, new_due,
                                   "  Illness, with a certificate. ", now=NOW)
    assert (reopening.due_at, reopening.reason, reopening.created_by) == (new_due, "Illness, with a certificate.",
                                                                          world["teacher"].label)
    assert effective_due(db_session, assignment, student.user_id) == new_due
    assert effective_due(db_session, assignment, other.user_id) == T0
    assert submission_gate(db_session, student, assignment, NOW) is None
    submitted = submit(db_session, student, assignment, now=NOW + timedelta(days=1))
    assert submitted.late is False
    assert _audits(db_session, "assignment.reopened") == [{
        "student": student.user_id, "due_at": new_due.isoformat(), "reason": "Illness, with a certificate.",
        "previous_due_at": T0.isoformat()}]


def test_a_case_decision_reopens_as_a_system_actor(db_session, world):
    commission = Actor.system("case:17")
    reopen_for_student(db_session, commission, world["assignment"].id, world["student"].user_id,
                       NOW + timedelta(days=7), "Decision of case 17: resubmit (level 1).", now=NOW)
    assert effective_due(db_session, world["assignment"], world["student"].user_id) == NOW + timedelta(days=7)
    with pytest.raises(NotFound):
        reopen_for_student(db_session, commission, 987654, world["student"].user_id, NOW + timedelta(days=7),
                           "x", now=NOW)


@pytest.mark.parametrize(("who", "error"), [("student", NotPermitted), ("outsider", NotFound),
                                            ("nobody", NotPermitted)])
def test_reopening_is_refused_to_others(db_session, world, who, error):
    # "nobody": in the course but without a role (a mentor's launch)
    actor = Actor(label="user:0", course_id=world["course"].id) if who == "nobody" else world[who]
    with pytest.raises(error):
        reopen_for_student(db_session, actor, world["assignment"].id, world["student"].user_id,
                           NOW + timedelta(days=1), "Because.", now=NOW)
    assert db_session.execute(select(func.count()).select_from(Reopening)).scalar() == 0


def test_bad_reopening_input_changes_nothing(db_session, world):
    teacher, assignment = world["teacher"], world["assignment"]
    cases = [
        (world["ta"].user_id, NOW + timedelta(days=1), "Because.", "student"),  # a teacher, not a student
        (world["outsider"].user_id, NOW + timedelta(days=1), "Because.", "student"),  # another course
        (world["student"].user_id, NOW - timedelta(minutes=1), "Because.", "due_at"),
        (world["student"].user_id, None, "Because.", "due_at"),
        (world["student"].user_id, NOW + timedelta(days=1), "   ", "reason"),
        (world["student"].user_id, NOW + timedelta(days=1), "x" * 2001, "reason"),
    ]
    for student_id, due_at, reason, field in cases:
        with pytest.raises(FieldErrors) as refused:
            reopen_for_student(db_session, teacher, assignment.id, student_id, due_at, reason, now=NOW)
        assert field in refused.value.errors
    with pytest.raises(ValueError, match="aware"):
        reopen_for_student(db_session, teacher, assignment.id, world["student"].user_id,
                           datetime(2030, 1, 1), "Because.", now=NOW)  # noqa: DTZ001 (naive on purpose)
    assert db_session.execute(select(func.count()).select_from(Reopening)).scalar() == 0
    assert _audits(db_session, "assignment.reopened") == []


# -- the table --------------------------------------------------------------------------------------
def test_one_row_per_student_with_the_latest_version_and_filters(db_session, world):
    assignment = world["assignment"]
    course = world["course"]
    _c, third = person(db_session, course, "student-3", "Carl Placeholder")
    submit(db_session, world["student"], assignment, now=T0 + timedelta(hours=1))
    latest = submit(db_session, world["student"], assignment, ai_used=True, tasks=("ideas", "trainer", "custom1",
                    "other"), other_text="checking sources", now=T0 + timedelta(hours=2))
    submit(db_session, world["student_b"], assignment, ai_used=False)
    assignment.due_at = T0 + timedelta(hours=3)
    late = submit(db_session, third, assignment, ai_used=True, tasks=("language",), now=T0 + timedelta(hours=4))
    rows = submission_rows(db_session, assignment)
    assert [row.student_name for row in rows] == ["Bolat Exampleuly", "Carl Placeholder", "Аружан Тестова"]
    aru = rows[2]
    assert (aru.latest.id, aru.versions) == (latest.id, 2)
    assert aru.tasks == ("Generating ideas, plans and questions on the topic",
                         "Solution trainers, then worked through on my own", "Diagrams", "Other: checking sources")
    assert aru.not_allowed == ("Solution trainers, then worked through on my own", "Diagrams")
    assert aru.tool == "ChatGPT GPT-4o 2024-08-06"
    assert rows[1].latest.id == late.id and late.late

    def names(**args):
        return [row.student_name for row in submission_rows(db_session, assignment, Filters.from_args(args))]

    assert names(ai="yes") == ["Carl Placeholder", "Аружан Тестова"]
    assert names(ai="no") == ["Bolat Exampleuly"]
    assert names(late="1") == ["Carl Placeholder"]
    assert names(not_allowed="1") == ["Аружан Тестова"]
    assert names(q="  аружан ") == ["Аружан Тестова"]  # any case, Cyrillic too
    assert names(q="PLACE") == ["Carl Placeholder"]
    assert names(ai="maybe", late="yes") == names()  # unknown values filter nothing
    assert names(ai="yes", not_allowed="1", q="carl") == []


def test_filters_round_trip_through_the_query_string():
    filters = Filters.from_args({"ai": "no", "late": "1", "not_allowed": "0", "q": "  Aru   T "})
    assert filters == Filters(ai="no", late=True, not_allowed=False, search="Aru T")
    assert Filters.from_args(filters.as_args()) == filters
    assert not Filters().active and Filters().as_args() == {}


# -- who has not submitted ---------------------------------------------------------------------------
class Refused(InvalidInput):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def test_the_roster_gap_lists_learners_without_a_submission(runtime):
    runtime.ports.roster_impl = FakeRoster([
        RosterMember("teacher-1", "Dana Synthetic", (INSTRUCTOR,)),
        RosterMember("student-1", "Аружан Тестова", (LEARNER,)),
        RosterMember("student-2", "Bolat Exampleuly", (LEARNER,)),
        RosterMember("student-3", None, ("Learner",)),  # the LMS shares no name: the id is shown
        RosterMember("student-4", "Inactive Leaverova", (LEARNER,), status="Inactive"),
        RosterMember("ta-1", "Timur Assistentov", (INSTRUCTOR, LEARNER)),
    ])
    gap = roster_gap(runtime, 7, ["student-1", None])
    assert gap.available and gap.problem is None
    assert gap.missing == ("Bolat Exampleuly", "student-3")
    assert runtime.ports.roster_impl.calls == [7]


@pytest.mark.parametrize(("port", "words"), [
    (None, "no LMS roster service"),
    (FakeRoster(refusal=Refused("service_not_offered", "not offered")), "has not offered its roster"),
    (FakeRoster(refusal=Refused("service_unavailable", "The LMS did not answer in time.")),
     "The LMS did not answer in time."),
])
def test_without_a_roster_the_gap_says_why_instead_of_failing(runtime, port, words):
    runtime.ports.roster_impl = port
    gap = roster_gap(runtime, 7, [])
    assert not gap.available and gap.missing == ()
    assert words in gap.problem


def test_an_unexpected_roster_failure_is_not_hidden(runtime):
    runtime.ports.roster_impl = FakeRoster(refusal=RuntimeError("a bug"))
    with pytest.raises(RuntimeError):
        roster_gap(runtime, 7, [])


def test_learner_roles():
    assert is_learner(RosterMember("a", "A", (LEARNER,)))
    assert not is_learner(RosterMember("b", "B", (INSTRUCTOR,)))
    assert not is_learner(RosterMember("c", "C", (LEARNER,), status="Deleted"))
    ta = "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant"
    assert not is_learner(RosterMember("d", "D", (LEARNER, ta)))


# -- CSV and time --------------------------------------------------------------------------------------
@pytest.mark.parametrize(("value", "expected"), [
    ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"), ("+1", "'+1"), ("-2+3", "'-2+3"),
    ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"), ("\rx", "'\rx"), ("Aru = 1", "Aru = 1"), ("", ""),
    (None, ""), (3, "3")])
def test_csv_cells_never_start_a_formula(value, expected):
    assert csv_cell(value) == expected


def test_csv_has_a_bom_headers_and_one_line_per_student(db_session, world):
    assignment = world["assignment"]
    _u, sneaky = person(db_session, world["course"], "student-9", "=cmd|' /C calc'!A0")
    submit(db_session, sneaky, assignment, ai_used=True, tasks=("other",), other_text="@risky", service="+Tool",
           model="-m", drafts_url="https://drafts.example.test/doc")
    submit(db_session, world["student"], assignment)
    text = submissions_csv(submission_rows(db_session, assignment), assignment, "Asia/Almaty")
    assert text.startswith("\ufeff")
    table = list(csv.reader(io.StringIO(text[1:])))
    assert table[0][:4] == ["Student", "Submitted at", "Late", "AI used"]
    assert len(table) == 3
    sneaky_row = next(row for row in table[1:] if "calc" in row[0])
    assert sneaky_row[0] == "'=cmd|' /C calc'!A0"
    assert sneaky_row[5] == "'+Tool -m 2024-08-06"
    assert sneaky_row[4] == "Other: @risky"
    assert sneaky_row[6] == "https://drafts.example.test/doc"
    assert sneaky_row[1] == "02.09.2026 14:00"  # 09:00 UTC on the next day, on Almaty's clock (UTC+5)
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in table for cell in row)


def test_local_dates_are_read_on_the_institutions_clock():
    assert parse_local("2026-10-01", "18:30", "Asia/Almaty") == datetime(2026, 10, 1, 13, 30, tzinfo=UTC)
    assert parse_local("2026-10-01", "", "Asia/Almaty") == datetime(2026, 10, 1, 18, 59, tzinfo=UTC)
    assert parse_local(" ", "", "Asia/Almaty") is None
    for day, clock in (("2026-13-01", ""), ("01.10.2026", ""), ("", "10:00"), ("2026-10-01", "25:00"),
                       ("1999-01-01", ""), ("2026-10-01", "noon")):
        with pytest.raises(ValueError):  # noqa: PT011 (each case has its own message)
            parse_local(day, clock, "Asia/Almaty")

