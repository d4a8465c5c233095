"""The teacher's side of submission (S C.5, 7.5): the table of submissions per assignment, who
has not submitted (the LMS roster), grades and feedback, reopening for one student, the CSV.

Services take the session and the actor, check permission, change rows, write the audit entry
and never commit. Reading helpers take an assignment the caller already got through
``teacher_assignment`` (the permission predicate of every teacher page).
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import select
from sqlmodel import Session

from attribution.models import Assignment, Reopening, Submission
from attribution.statements import OTHER_TASK, TASK_TITLES
from attribution.submissions import FieldErrors, submission_for, task_rules, visible_assignment
from plugin.kernel import audit
from plugin.kernel.errors import AdalError, NotFound, NotPermitted
from plugin.kernel.ports import PortNotConfigured, RosterMember
from plugin.kernel.runtime import Runtime
from plugin.kernel.settings import get_setting
from plugin.kernel.users import Actor, Membership, Role, User

MAX_FEEDBACK = 5_000
MAX_REASON = 2_000
#: Cells starting with these are formulas to Excel and LibreOffice (CSV injection): quoted as text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
_INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"


# -- access --------------------------------------------------------------------------------------
def teacher_assignment(session: Session, actor: Actor, assignment_id: int) -> Assignment:
    """The assignment when the actor teaches its course (teaching assistants included).

    Raises ``NotFound`` when it is not in the actor's course (whether it exists elsewhere is not
    revealed), ``NotPermitted`` for anyone but a teacher.
    """
    assignment = visible_assignment(session, actor, assignment_id)
    if not actor.has(Role.TEACHER):
        raise NotPermitted(_("Only a teacher of this course can see this."))
    return assignment


def teacher_submission(session: Session, actor: Actor, submission_id: int) -> tuple[Submission, Assignment]:
    """A submission in a course the actor teaches. ``NotFound`` otherwise, also for a student's own
    submission: these are the teacher's pages."""
    submission, assignment = submission_for(session, actor, submission_id)
    if not actor.has(Role.TEACHER) or assignment.course_id != actor.course_id:
        raise NotFound(_("There is no such submission."))
    return submission, assignment


# -- time in the institution's zone ---------------------------------------------------------------
def local_text(moment: datetime | None, zone: str) -> str:
    """An instant as the institution's clock shows it, dd.mm.yyyy HH:MM (the standard's date form)."""
    if moment is None:
        return ""
    return moment.astimezone(ZoneInfo(zone)).strftime("%d.%m.%Y %H:%M")


def parse_local(day: str, clock: str, zone: str, *, default_time: time = time(23, 59)) -> datetime | None:
    """A date (YYYY-MM-DD) and an optional time (HH:MM) on the institution's clock, as aware UTC;
    ``None`` when both are empty. Raises ``ValueError`` for anything else, including a time
    without a date."""
    day, clock = day.strip(), clock.strip()
    if not day:
        if clock:
            raise ValueError("a time without a date")
        return None
    parsed_day = date.fromisoformat(day)
    parsed_time = time.fromisoformat(clock) if clock else default_time
    if not 2000 <= parsed_day.year <= 2100:
        raise ValueError("year out of range")
    local = datetime.combine(parsed_day, parsed_time.replace(second=0, microsecond=0), tzinfo=ZoneInfo(zone))
    return local.astimezone(ZoneInfo("UTC"))


def local_parts(moment: datetime | None, zone: str) -> tuple[str, str]:
    """(YYYY-MM-DD, HH:MM) of an instant on the institution's clock, for date and time inputs."""
    if moment is None:
        return "", ""
    local = moment.astimezone(ZoneInfo(zone))
    return local.date().isoformat(), local.strftime("%H:%M")


# -- the table ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Filters:
    """The table's filters, from the query string: AI used (yes/no), late only, not-allowed marks
    only, and part of a name."""

    ai: str = ""
    late: bool = False
    not_allowed: bool = False
    search: str = ""

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> Filters:
        ai = args.get("ai", "")
        return cls(ai=ai if ai in ("yes", "no") else "", late=args.get("late") == "1",
                   not_allowed=args.get("not_allowed") == "1", search=" ".join(args.get("q", "").split())[:200])

    @property
    def active(self) -> bool:
        return bool(self.ai or self.late or self.not_allowed or self.search)

    def as_args(self) -> dict[str, str]:
        out = {"ai": self.ai, "late": "1" if self.late else "", "not_allowed": "1" if self.not_allowed else "",
               "q": self.search}
        return {key: value for key, value in out.items() if value}

    def admits(self, row: Row) -> bool:
        latest = row.latest
        if self.ai and latest.ai_used != (self.ai == "yes"):
            return False
        if self.late and not latest.late:
            return False
        if self.not_allowed and not row.not_allowed:
            return False
        return not self.search or self.search.casefold() in row.student_name.casefold()


@dataclass(frozen=True)
class Row:
    """One student's latest version, with what the table shows of it."""

    student_id: int
    student_name: str
    student_subject: str | None
    latest: Submission
    versions: int
    tasks: tuple[str, ...]  # titles in the interface language
    not_allowed: tuple[str, ...]  # titles of declared tasks the assignment does not allow

    @property
    def tool(self) -> str:
        return " ".join(part for part in (self.latest.service, self.latest.model, self.latest.model_version) if part)


def task_titles(assignment: Assignment, submission: Submission) -> tuple[str, ...]:
    """The declared tasks by title: the assignment's own categories by the teacher's words, and
    "other" with what the student wrote."""
    rules = {rule.code: rule for rule in task_rules(assignment)}
    out = []
    for code in json.loads(submission.tasks):
        if code == OTHER_TASK:
            other = str(TASK_TITLES[OTHER_TASK])
            out.append(f"{other}: {submission.other_text}" if submission.other_text else other)
        elif code in rules:
            out.append(rules[code].display)
        else:  # a category the teacher removed after the student declared it
            out.append(str(TASK_TITLES.get(code, code)))
    return tuple(out)


def not_allowed_titles(assignment: Assignment, submission: Submission) -> tuple[str, ...]:
    rules = {rule.code: rule for rule in task_rules(assignment)}
    return tuple(rules[code].display if code in rules else str(TASK_TITLES.get(code, code))
                 for code in json.loads(submission.not_allowed))


def submission_rows(session: Session, assignment: Assignment, filters: Filters | None = None) -> list[Row]:
    """One row per student who submitted (the latest version and the number of versions), by
    name, narrowed by ``filters``."""
    found = session.execute(
        select(Submission, User.display_name, User.subject)
        .join(User, User.id == Submission.student_id)
        .where(Submission.assignment_id == assignment.id)
        .order_by(Submission.student_id, Submission.version.desc())
    ).all()
    latest: dict[int, tuple[Submission, str, str | None]] = {}
    counts: dict[int, int] = {}
    for submission, name, subject in found:
        latest.setdefault(submission.student_id, (submission, name, subject))
        counts[submission.student_id] = counts.get(submission.student_id, 0) + 1
    rows = [Row(student_id=student_id, student_name=name, student_subject=subject, latest=submission,
                versions=counts[student_id], tasks=task_titles(assignment, submission),
                not_allowed=not_allowed_titles(assignment, submission))
            for student_id, (submission, name, subject) in latest.items()]
    rows.sort(key=lambda row: (row.student_name.casefold(), row.student_id))
    chosen = filters or Filters()
    return [row for row in rows if chosen.admits(row)]


def student_versions(session: Session, assignment: Assignment, student_id: int) -> list[Submission]:
    """Every version one student handed in, newest first."""
    return list(session.execute(select(Submission).where(Submission.assignment_id == assignment.id,
                                                         Submission.student_id == student_id)
                                .order_by(Submission.version.desc())).scalars())


# -- who has not submitted ------------------------------------------------------------------------
@dataclass(frozen=True)
class RosterGap:
    """Students on the LMS roster without a submission, or why the roster could not be read."""

    available: bool
    missing: tuple[str, ...] = ()
    problem: str | None = None


def is_learner(member: RosterMember) -> bool:
    roles = set(member.roles)
    learner = bool(roles & {_LEARNER, "Learner"})
    teaching = bool(roles & {_INSTRUCTOR, "Instructor"}) or any("#TeachingAssistant" in r for r in roles)
    return learner and not teaching and member.status == "Active"


def roster_gap(runtime: Runtime, course_id: int, submitted_subjects: Iterable[str | None]) -> RosterGap:
    """Who on the course's NRPS roster has not submitted.

    Talks to the LMS: call it with no write transaction of the caller open (the port audits in a
    session of its own). A roster service that is not configured or not offered, or an LMS that
    refuses or does not answer, gives ``available=False`` with a message, never an exception.
    """
    try:
        members = runtime.ports.roster.list_members(course_id)
    except PortNotConfigured:
        return RosterGap(False, problem=_("This installation has no LMS roster service."))
    except AdalError as exc:
        if getattr(exc, "code", None) == "service_not_offered":
            return RosterGap(False, problem=_("The LMS has not offered its roster (Names and Roles) to Adal in "
                                              "this course."))
        return RosterGap(False, problem=str(exc))
    done = {subject for subject in submitted_subjects if subject}
    missing = sorted({member.name or member.user_subject for member in members
                      if is_learner(member) and member.user_subject not in done}, key=str.casefold)
    return RosterGap(True, missing=tuple(missing))


# -- grading --------------------------------------------------------------------------------------
def parse_grade(text: str) -> float:
    """A grade as typed: a decimal comma is accepted. Raises ``FieldErrors`` for anything else."""
    try:
        value = float(text.strip().replace(",", "."))
    except ValueError:
        raise FieldErrors({"grade": _("The grade must be a number, for example 8 or 8.5.")}) from None
    return value


def grade_submission(session: Session, actor: Actor, submission_id: int, grade: float, feedback: str, *,
                     now: datetime) -> Submission:
    """Record the teacher's grade (0 to the assignment's maximum) and feedback (at most 5,000
    characters) on the latest version of a student's work; audits ``submission.graded``.

    The caller commits, then sends the result to the LMS (``attribution.gradebook``). Raises
    ``NotFound`` outside the actor's course, ``NotPermitted`` for a non-teacher or for one's own
    work, ``FieldErrors`` (``grade``, ``feedback``) for bad values or an older version.
    """
    submission, assignment = submission_for(session, actor, submission_id)
    if not actor.has(Role.TEACHER) or assignment.course_id != actor.course_id:
        raise NotPermitted(_("Only a teacher of this course can grade."))
    if actor.user_id is not None and actor.user_id == submission.student_id:
        raise NotPermitted(_("You cannot grade your own work."))
    errors: dict[str, str] = {}
    maximum = float(assignment.score_maximum)
    if not math.isfinite(grade) or not 0 <= grade <= maximum:
        errors["grade"] = _("The grade must be between 0 and %(maximum)s.", maximum=f"{maximum:g}")
    feedback = feedback.strip()
    if len(feedback) > MAX_FEEDBACK:
        errors["feedback"] = _("The feedback is longer than %(n)d characters.", n=MAX_FEEDBACK)
    newest = session.execute(select(Submission.version).where(
        Submission.assignment_id == assignment.id, Submission.student_id == submission.student_id)
        .order_by(Submission.version.desc()).limit(1)).scalar_one()
    if newest != submission.version:
        errors["grade"] = _("The student has handed in a newer version: grade that one.")
    if errors:
        raise FieldErrors(errors)
    previous = submission.grade
    submission.grade = round(grade, 2)
    submission.feedback = feedback or None
    submission.graded_at = now
    submission.graded_by = actor.label
    session.flush()
    audit.record(session, actor, "submission.graded", now=now, subject=f"submission:{submission.id}",
                 payload={"assignment": assignment.id, "version": submission.version, "grade": submission.grade,
                          "previous": previous, "score_maximum": maximum, "feedback": bool(feedback)})
    return submission


# -- reopening ------------------------------------------------------------------------------------
def course_students(session: Session, course_id: int) -> list[User]:
    """The course's students Adal knows (everyone who launched as a student), by name."""
    users = session.execute(select(User).join(Membership, Membership.user_id == User.id).where(
        Membership.course_id == course_id, Membership.role == Role.STUDENT.value)).scalars()
    return sorted(users, key=lambda user: (user.display_name.casefold(), user.id or 0))


def reopen_for_student(session: Session, actor: Actor, assignment_id: int, student_id: int,
                       due_at: datetime | None, reason: str, *, now: datetime) -> Reopening:
    """Give one student a new due date on one assignment; audits ``assignment.reopened``.

    Who may: a teacher of the assignment's course (from a teacher's page), or a system actor
    (label ``system:…``), which is how a commission's case decision reopens work for a student.
    Raises ``NotFound`` when a teacher names an assignment outside their course,
    ``NotPermitted`` for anyone else, ``FieldErrors`` (``student``, ``due_at``, ``reason``) when
    the student is not a student of the course, the date is missing or not in the future, or
    the reason is empty or longer than 2,000 characters.
    """
    if actor.label.startswith("system:"):
        found = session.get(Assignment, assignment_id)
        if found is None:
            raise NotFound(_("There is no such assignment in this course."))
        assignment = found
    else:
        assignment = teacher_assignment(session, actor, assignment_id)
    errors: dict[str, str] = {}
    enrolled = session.execute(select(Membership.id).where(
        Membership.user_id == student_id, Membership.course_id == assignment.course_id,
        Membership.role == Role.STUDENT.value)).first()
    if enrolled is None:
        errors["student"] = _("Choose a student of this course.")
    if due_at is None:
        errors["due_at"] = _("Give the new due date.")
    elif due_at.tzinfo is None:
        raise ValueError("due_at must be aware")
    elif due_at <= now:
        errors["due_at"] = _("The new due date must be in the future.")
    reason = reason.strip()
    if not reason:
        errors["reason"] = _("Say why the assignment is reopened: the student and the record will show it.")
    elif len(reason) > MAX_REASON:
        errors["reason"] = _("The reason is longer than %(n)d characters.", n=MAX_REASON)
    if errors:
        raise FieldErrors(errors)
    assert due_at is not None
    reopening = Reopening(assignment_id=assignment.id, student_id=student_id, due_at=due_at, reason=reason,
                          created_by=actor.label, created_at=now)
    session.add(reopening)
    session.flush()
    audit.record(session, actor, "assignment.reopened", now=now, subject=f"assignment:{assignment.id}",
                 payload={"student": student_id, "due_at": due_at.isoformat(), "reason": reason,
                          "previous_due_at": assignment.due_at.isoformat() if assignment.due_at else None})
    return reopening


def reopenings(session: Session, assignment: Assignment) -> list[tuple[Reopening, str]]:
    """Every reopening of the assignment with the student's name, newest first."""
    rows = session.execute(select(Reopening, User.display_name).join(User, User.id == Reopening.student_id)
                           .where(Reopening.assignment_id == assignment.id)
                           .order_by(Reopening.created_at.desc(), Reopening.id.desc())).all()
    return [(reopening, name) for reopening, name in rows]


# -- CSV --------------------------------------------------------------------------------------------
def csv_cell(value: object) -> str:
    """A cell that a spreadsheet shows as text, never runs as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def lms_status_title(status: str | None) -> str:
    return {"posted": _("sent"), "failed": _("failed"), "off": _("off"), None: _("not sent yet")}.get(
        status, status or "")


def submissions_csv(rows: Sequence[Row], assignment: Assignment, zone: str) -> str:
    """The table as CSV for Excel: UTF-8 with a byte-order mark, translated headers, one line per
    student, formula-like cells quoted as text."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([_("Student"), _("Submitted at"), _("Late"), _("AI used"), _("Tasks"), _("Tool, model, version"),
                     _("Drafts link"), _("Uses not allowed here"), _("Versions"), _("Grade"),
                     _("Maximum score"), _("LMS gradebook")])
    yes, no = _("yes"), _("no")
    for row in rows:
        latest = row.latest
        writer.writerow([csv_cell(cell) for cell in (
            row.student_name, local_text(latest.submitted_at, zone), yes if latest.late else no,
            yes if latest.ai_used else no, "; ".join(row.tasks), row.tool, latest.drafts_url or "",
            "; ".join(row.not_allowed), row.versions, "" if latest.grade is None else f"{latest.grade:g}",
            f"{float(assignment.score_maximum):g}", lms_status_title(latest.lms_status))])
    return out.getvalue()


def profile_level(session: Session) -> str:
    """The level an assignment without its own takes from the institution profile (as
    ``attribution.submissions.degree_level`` does)."""
    return {"school": "school", "college": "college"}.get(get_setting(session, "institution.type"), "bachelor")
