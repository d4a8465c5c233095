"""The teacher's pages of an assignment: settings, the table of submissions (and who has not
submitted), one submission with its files, grading, reopening for one student, the CSV export.

Thin views: parse, check the permission predicate, call one service, render. Every route admits
teachers of the course only (teaching assistants included): a student gets 403, a teacher of
another course 404. Anything that talks to the LMS runs after this request's transaction is
committed (the LMS ports open sessions of their own, which SQLite would make wait for ours).
A service's refusal (``NotFound``, ``NotPermitted``, ``InvalidInput``) propagates to the app's
error handler, which renders the translated page and rolls the request back.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from attribution.gradebook import FAILED, OFF, POSTED, push_to_gradebook
from attribution.models import Assignment, SubmissionFile
from attribution.statements import FORBIDDEN_USES, STANDARD_TASKS, TASK_TITLES, table_rows
from attribution.submissions import (
    MAX_CUSTOM_TASKS,
    AssignmentSettings,
    FieldErrors,
    configure_assignment,
    disclosure_of,
    effective_due,
    originality_threshold,
    submission_files,
    task_rules,
)
from attribution.teaching import (
    MAX_FEEDBACK,
    MAX_REASON,
    Filters,
    course_students,
    grade_submission,
    lms_status_title,
    local_parts,
    local_text,
    not_allowed_titles,
    parse_grade,
    parse_local,
    profile_level,
    reopen_for_student,
    reopenings,
    roster_gap,
    student_versions,
    submission_rows,
    submissions_csv,
    task_titles,
    teacher_assignment,
    teacher_submission,
)
from plugin.kernel.clock import now_utc
from plugin.kernel.settings import DEGREE_LEVELS, get_setting
from plugin.kernel.users import Role, User
from plugin.kernel.web import db, error_response, require_roles, runtime, send_stored_file

log = logging.getLogger("adal.teach")
bp = Blueprint("teach", __name__, template_folder="templates")
FLASH = "teach"

LEVEL_TITLES = {
    "bachelor": _l("Bachelor's"),
    "master": _l("Master's"),
    "doctoral": _l("Doctoral"),
    "school": _l("School"),
    "college": _l("College (TVET)"),
}


def _zone() -> str:
    return str(get_setting(db(), "institution.timezone"))


def _page(template: str, status: int = 200, **context: Any) -> Response:
    return Response(render_template(f"attribution/{template}", **context), status=status, mimetype="text/html")


# -- settings ---------------------------------------------------------------------------------------
def _values_of(assignment: Assignment, zone: str) -> dict[str, str]:
    """The form's values from the assignment as saved (its first launch: the defaults)."""
    day, clock = local_parts(assignment.due_at, zone)
    values = {"title": assignment.title, "instructions": assignment.instructions or "", "due_date": day,
              "due_time": clock, "late_policy": assignment.late_policy, "degree_level": assignment.degree_level or "",
              "drafts_required": "1" if assignment.drafts_required else "",
              "oral_defence_possible": "1" if assignment.oral_defence_possible else "",
              "no_ai_alternative": assignment.no_ai_alternative or ""}
    customs = [rule for rule in task_rules(assignment) if rule.code not in STANDARD_TASKS]
    for rule in task_rules(assignment):
        if rule.code in STANDARD_TASKS:
            values[f"task_{rule.code}"] = "allowed" if rule.allowed else "forbidden"
    for index, rule in enumerate(customs[:MAX_CUSTOM_TASKS], 1):
        values[f"custom_title_{index}"] = rule.title or ""
        values[f"custom_allowed_{index}"] = "allowed" if rule.allowed else "forbidden"
    return values


def _settings_from(form: Any, zone: str) -> tuple[AssignmentSettings, dict[str, str]]:
    """The settings the form asks for, and the problems only the form can have (a date that is
    not a date, an unanswered question); the service checks the rest."""
    errors: dict[str, str] = {}
    try:
        due_at = parse_local(form.get("due_date", ""), form.get("due_time", ""), zone)
    except ValueError:
        due_at = None
        errors["due_date"] = _("Give the due date as a calendar date, and the time as hours and minutes.")
    allowed = {}
    for code in STANDARD_TASKS:
        answer = form.get(f"task_{code}")
        if answer not in ("allowed", "forbidden"):
            errors[f"task_{code}"] = _("Choose whether this use is allowed: %(task)s.", task=TASK_TITLES[code])
        allowed[code] = answer == "allowed"
    customs = tuple((form.get(f"custom_title_{i}", ""), form.get(f"custom_allowed_{i}") == "allowed")
                    for i in range(1, MAX_CUSTOM_TASKS + 1))
    level = form.get("degree_level", "")
    settings = AssignmentSettings(
        title=form.get("title", ""), instructions=form.get("instructions", ""), due_at=due_at,
        late_policy=form.get("late_policy", ""), degree_level=level or None, allowed=allowed, custom=customs,
        drafts_required=form.get("drafts_required") == "1",
        oral_defence_possible=form.get("oral_defence_possible") == "1",
        no_ai_alternative=form.get("no_ai_alternative", ""))
    return settings, errors


def _setup_page(assignment: Assignment, values: dict[str, str], errors: dict[str, str], status: int = 200) -> Response:
    session = db()
    levels = get_setting(session, "originality.max_nonoriginal_percent")
    level_of_profile = profile_level(session)
    return _page("teach_setup.html", status, assignment=assignment, values=values, errors=errors,
                 tasks=[(code, TASK_TITLES[code]) for code in STANDARD_TASKS], forbidden=FORBIDDEN_USES,
                 levels=[(level, LEVEL_TITLES[level], levels[level]) for level in DEGREE_LEVELS],
                 profile_level=(LEVEL_TITLES[level_of_profile], levels[level_of_profile]),
                 threshold=originality_threshold(session, assignment),
                 institution_type=get_setting(session, "institution.type"), max_custom=MAX_CUSTOM_TASKS,
                 zone=_zone())


@bp.route("/a/<int:assignment_id>/setup", methods=["GET", "POST"])
@require_roles(Role.TEACHER)
def setup(assignment_id: int) -> Response:
    session = db()
    assignment = teacher_assignment(session, g.actor, assignment_id)
    zone = _zone()
    if request.method == "GET":
        return _setup_page(assignment, _values_of(assignment, zone), {})
    form = request.form
    values = {key: form.get(key, "") for key in form if key != "csrf_token"}
    settings, errors = _settings_from(form, zone)
    try:
        if errors:
            raise FieldErrors(errors)
        configure_assignment(session, g.actor, assignment.id or 0, settings, now=now_utc())
    except FieldErrors as exc:
        return _setup_page(assignment, values, {**errors, **exc.errors}, status=400)
    flash(_("The assignment settings are saved. Students can hand in their work."), FLASH)
    return redirect(url_for("teach.submissions", assignment_id=assignment.id), code=303)


# -- the table ---------------------------------------------------------------------------------------
@bp.get("/a/<int:assignment_id>/submissions")
@require_roles(Role.TEACHER)
def submissions(assignment_id: int) -> Response:
    session = db()
    assignment = teacher_assignment(session, g.actor, assignment_id)
    filters = Filters.from_args(request.args)
    everyone = submission_rows(session, assignment)
    rows = [row for row in everyone if filters.admits(row)]
    students = course_students(session, assignment.course_id)
    reopened = reopenings(session, assignment)
    zone = _zone()
    session.commit()  # the roster port opens sessions of its own: ours must not hold the database
    gap = roster_gap(runtime(), assignment.course_id, [row.student_subject for row in everyone])
    return _page("teach_submissions.html", assignment=assignment, rows=rows, total=len(everyone), filters=filters,
                 gap=gap, students=students, reopened=reopened, zone=zone, status_title=lms_status_title,
                 reopen_values={}, errors={}, max_reason=MAX_REASON)


@bp.get("/a/<int:assignment_id>/submissions.csv")
@require_roles(Role.TEACHER)
def submissions_export(assignment_id: int) -> Response:
    session = db()
    assignment = teacher_assignment(session, g.actor, assignment_id)
    rows = submission_rows(session, assignment, Filters.from_args(request.args))
    body = submissions_csv(rows, assignment, _zone())
    response = Response(body.encode("utf-8"), mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="adal-submissions-{assignment.id}.csv"'
    return response


# -- one submission -----------------------------------------------------------------------------------
def _submission_page(submission_id: int, *, errors: dict[str, str] | None = None,
                     values: dict[str, str] | None = None, status: int = 200) -> Response:
    session = db()
    submission, assignment = teacher_submission(session, g.actor, submission_id)
    disclosure = disclosure_of(submission)
    versions = student_versions(session, assignment, submission.student_id)
    student = session.get(User, submission.student_id)
    return _page("teach_submission.html", status, submission=submission, assignment=assignment,
                 student=student, disclosure=disclosure, tasks=task_titles(assignment, submission),
                 not_allowed=not_allowed_titles(assignment, submission),
                 table=table_rows(disclosure, submission.statement_lang),
                 files=submission_files(session, submission.id or 0),
                 versions=versions, latest=versions[0].id == submission.id if versions else True,
                 due=effective_due(session, assignment, submission.student_id), zone=_zone(),
                 errors=errors or {}, values=values or {}, status_title=lms_status_title, max_feedback=MAX_FEEDBACK)


@bp.get("/s/<int:submission_id>/review")
@require_roles(Role.TEACHER)
def submission(submission_id: int) -> Response:
    return _submission_page(submission_id)


@bp.get("/s/<int:submission_id>/file/<int:file_id>")
@require_roles(Role.TEACHER)
def file(submission_id: int, file_id: int) -> Response:
    session = db()
    found, _assignment = teacher_submission(session, g.actor, submission_id)
    row = session.get(SubmissionFile, file_id)
    if row is None or row.submission_id != found.id:
        return error_response(404)
    return send_stored_file(row.sha256, row.name)


def _gradebook_message(status: str) -> str:
    if status == POSTED:
        return _("Sent to the LMS gradebook.")
    if status == FAILED:
        return _("The LMS gradebook did not accept it. Nothing is lost: send it again later.")
    if status == OFF:
        return _("This assignment has no LMS gradebook column, so nothing was sent.")
    return status


@bp.post("/s/<int:submission_id>/grade")
@require_roles(Role.TEACHER)
def grade(submission_id: int) -> Response:
    form = request.form
    values = {"grade": form.get("grade", ""), "feedback": form.get("feedback", "")}
    try:
        given = parse_grade(values["grade"])
        grade_submission(db(), g.actor, submission_id, given, values["feedback"], now=now_utc())
    except FieldErrors as exc:
        return _submission_page(submission_id, errors=exc.errors, values=values, status=400)
    db().commit()  # the grade stands before the LMS hears of it
    status = push_to_gradebook(runtime(), submission_id, now=now_utc())
    flash(_("The grade is saved.") + " " + _gradebook_message(status), FLASH)
    return redirect(url_for("teach.submission", submission_id=submission_id), code=303)


@bp.post("/s/<int:submission_id>/gradebook")
@require_roles(Role.TEACHER)
def resend(submission_id: int) -> Response:
    _found, assignment = teacher_submission(db(), g.actor, submission_id)
    db().commit()
    status = push_to_gradebook(runtime(), submission_id, now=now_utc())
    flash(_gradebook_message(status), FLASH)
    if request.form.get("back") == "table":
        return redirect(url_for("teach.submissions", assignment_id=assignment.id), code=303)
    return redirect(url_for("teach.submission", submission_id=submission_id), code=303)


# -- reopening ------------------------------------------------------------------------------------------
@bp.route("/a/<int:assignment_id>/reopen", methods=["GET", "POST"])
@require_roles(Role.TEACHER)
def reopen(assignment_id: int) -> Response:
    session = db()
    assignment = teacher_assignment(session, g.actor, assignment_id)
    zone = _zone()
    source = request.form if request.method == "POST" else request.args
    values = {key: source.get(key, "") for key in ("student", "due_at", "due_time", "reason")}
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            due_at = parse_local(values["due_at"], values["due_time"], zone)
        except ValueError:
            due_at, errors["due_at"] = None, _("Give the new due date as a calendar date, and the time as hours "
                                               "and minutes.")
        student_id = int(values["student"]) if values["student"].isdecimal() else 0
        try:
            if errors:
                raise FieldErrors(errors)
            reopen_for_student(session, g.actor, assignment.id or 0, student_id, due_at, values["reason"],
                               now=now_utc())
        except FieldErrors as exc:
            errors = {**errors, **exc.errors}
        else:
            student = session.get(User, student_id)
            flash(_("The assignment is reopened for %(name)s until %(due)s.",
                    name=student.display_name if student else "",
                    due=local_text(due_at, zone)), FLASH)
            return redirect(url_for("teach.submissions", assignment_id=assignment.id), code=303)
    return _page("teach_reopen.html", 400 if errors else 200, assignment=assignment,
                 students=course_students(session, assignment.course_id), values=values, errors=errors,
                 max_reason=MAX_REASON, zone=zone)
