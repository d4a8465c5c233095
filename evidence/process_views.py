"""Pages for process evidence (S 7.5): the teacher asks for drafts, sets and records an oral
defence, asks for an attribution fix; the student answers beside their receipt.

Thin views: parse, call one service, render. The teacher's part of the submission page and the
student's part of the receipt are partials (``evidence/_teacher_process.html``,
``evidence/_student_process.html``) that read their data through the functions the context
processor below gives every template. A refused form comes back on its own page with each
problem tied to its field; the request boundary rolls the transaction back (nothing stored).
"""

from __future__ import annotations

import tempfile
from datetime import time, timedelta
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from attribution.filetypes import ACCEPT_ATTRIBUTE
from attribution.models import Submission
from attribution.submissions import FieldErrors, Upload
from attribution.teaching import local_parts, parse_local
from evidence.models import DEFENCE_CONCLUSIONS
from evidence.process import (
    CONCLUSION_TITLES,
    MAX_ANSWER_NOTE,
    MAX_DRAFT_FILES,
    MAX_MESSAGE,
    MAX_NOTE,
    MAX_PLACE,
    MAX_RECORD,
    ProcessOverview,
    answer_draft_request,
    deadline_text,
    draft_status,
    own_draft_request,
    process_for_teacher,
    record_defence,
    request_attribution_fix,
    request_drafts,
    requests_for_student,
    schedule_defence,
    staff_defence,
    visible_draft_upload,
)
from plugin.kernel.clock import now_utc
from plugin.kernel.errors import AdalError, InvalidInput, NotPermitted
from plugin.kernel.settings import get_setting
from plugin.kernel.users import Role, User
from plugin.kernel.web import current_actor, db, require_roles, send_stored_file

bp = Blueprint("process", __name__, template_folder="templates")
TEACHER_FLASH = "teach"  # shown by the teacher's submission page
STUDENT_FLASH = "process"  # shown by the student's partial on the receipt
DEFAULT_DAYS = 7  # the deadline a new request proposes


# -- what the partials read --------------------------------------------------------------------------
def _teacher_overview(submission: Submission | None) -> ProcessOverview | None:
    actor = current_actor()
    if actor is None or submission is None or submission.id is None:
        return None
    try:
        return process_for_teacher(db(), actor, submission.id, now=now_utc())
    except AdalError:
        return None


def _student_overview(submission: Submission | None) -> ProcessOverview | None:
    actor = current_actor()
    if actor is None or submission is None or submission.id is None or not actor.has(Role.STUDENT):
        return None
    try:
        return requests_for_student(db(), actor, submission.id, now=now_utc())
    except AdalError:
        return None


@bp.app_context_processor
def _process_helpers() -> dict[str, object]:
    return {"teacher_process": _teacher_overview, "student_process": _student_overview,
            "process_defaults": _defaults, "process_limits": _limits()}


def _limits() -> dict[str, object]:
    return {"message": MAX_MESSAGE, "note": MAX_NOTE, "answer_note": MAX_ANSWER_NOTE, "record": MAX_RECORD,
            "place": MAX_PLACE, "files": MAX_DRAFT_FILES, "accept": ACCEPT_ATTRIBUTE,
            "conclusions": [(code, CONCLUSION_TITLES[code]) for code in DEFENCE_CONCLUSIONS]}


def _zone() -> str:
    return str(get_setting(db(), "institution.timezone"))


def _defaults() -> dict[str, str]:
    """A new request's proposed deadline: a week from today, on the institution's clock."""
    day, _clock = local_parts(now_utc() + timedelta(days=DEFAULT_DAYS), _zone())
    return {"due_at": day, "due_time": "23:59"}


# -- helpers --------------------------------------------------------------------------------------------
def _page(status: int = 200, **context: Any) -> Response:
    context.setdefault("errors", {})
    context.setdefault("values", {})
    context.setdefault("zone", _zone())
    return Response(render_template("evidence/process_form.html", **context), status=status, mimetype="text/html")


def _when(form: Any, day_field: str, time_field: str, *, default_time: time | None, message: str
          ) -> tuple[Any, dict[str, str]]:
    """A local date and time from the form as aware UTC, or ``None`` and the field's problem."""
    day, clock = form.get(day_field, ""), form.get(time_field, "")
    if default_time is None and day.strip() and not clock.strip():
        return None, {day_field: message}
    try:
        return parse_local(day, clock, _zone(), default_time=default_time or time(23, 59)), {}
    except ValueError:
        return None, {day_field: message}


def _student_name(submission: Submission) -> str:
    user = db().get(User, submission.student_id)
    return user.display_name if user else ""


def _acting(submission_id: int) -> ProcessOverview:
    """The overview for a teacher about to ask or record: a teaching assistant the course does not
    let flag is refused before the form, not after filling it in."""
    overview = process_for_teacher(db(), g.actor, submission_id, now=now_utc())
    if not overview.may_act:
        raise NotPermitted(_("This course does not let teaching assistants ask for drafts, set oral defences "
                             "or ask for attribution fixes."))
    return overview


def _teacher_back(submission_id: int) -> Response:
    return redirect(url_for("teach.submission", submission_id=submission_id) + "#process", code=303)


# -- the teacher ----------------------------------------------------------------------------------------
@bp.route("/s/<int:submission_id>/drafts/request", methods=["GET", "POST"])
@require_roles(Role.TEACHER)
def request_drafts_page(submission_id: int) -> Response:
    overview = _acting(submission_id)
    values = _defaults() | {key: request.form.get(key, "") for key in ("message", "due_at", "due_time")
                            if request.method == "POST"}
    errors: dict[str, str] = {}
    if request.method == "POST":
        due_at, errors = _when(request.form, "due_at", "due_time", default_time=time(23, 59),
                               message=_("Give the deadline as a calendar date, and the time as hours and minutes."))
        try:
            request_drafts(db(), g.actor, submission_id, message=values["message"], due_at=due_at, now=now_utc())
        except FieldErrors as exc:
            errors = {**exc.errors, **errors}
        if not errors:
            flash(_("The student is asked for drafts by %(due)s.", due=deadline_text(due_at, _zone())),
                  TEACHER_FLASH)
            return _teacher_back(submission_id)
    return _page(400 if errors else 200, which="drafts", overview=overview, values=values, errors=errors,
                 student=_student_name(overview.submission), heading=_("Ask for drafts"))


@bp.route("/s/<int:submission_id>/defence/new", methods=["GET", "POST"])
@require_roles(Role.TEACHER)
def schedule_defence_page(submission_id: int) -> Response:
    overview = _acting(submission_id)
    values = {key: request.form.get(key, "") for key in ("when", "when_time", "place", "online_url")}
    errors: dict[str, str] = {}
    if request.method == "POST":
        when, errors = _when(request.form, "when", "when_time", default_time=None,
                             message=_("Give the date as a calendar date and the time as hours and minutes."))
        try:
            schedule_defence(db(), g.actor, submission_id, when=when, place=values["place"],
                             online_url=values["online_url"], now=now_utc())
        except FieldErrors as exc:
            errors = {**exc.errors, **errors}
        if not errors:
            flash(_("The oral defence is set for %(when)s. The student sees it beside their receipt.",
                    when=deadline_text(when, _zone())), TEACHER_FLASH)
            return _teacher_back(submission_id)
    return _page(400 if errors else 200, which="defence", overview=overview, values=values, errors=errors,
                 student=_student_name(overview.submission), heading=_("Set an oral defence"))


@bp.route("/defence/<int:defence_id>/record", methods=["GET", "POST"])
@require_roles(Role.TEACHER)
def record_defence_page(defence_id: int) -> Response:
    defence, submission = staff_defence(db(), g.actor, defence_id, acting=False)
    overview = _acting(submission.id or 0)
    values = {key: request.form.get(key, "") for key in ("questions", "answers_summary", "conclusion",
                                                          "conclusion_text")}
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            record_defence(db(), g.actor, defence_id, questions=values["questions"],
                           answers_summary=values["answers_summary"], conclusion=values["conclusion"],
                           conclusion_text=values["conclusion_text"], now=now_utc())
        except FieldErrors as exc:
            errors = exc.errors
        else:
            flash(_("The record of the oral defence is saved. The student can read it."), TEACHER_FLASH)
            return _teacher_back(submission.id or 0)
    elif defence.recorded_at is not None or now_utc() < defence.scheduled_for:
        return _teacher_back(submission.id or 0)  # nothing to record (yet): the submission page says why
    view = next(item for item in overview.defences if item.defence.id == defence_id)
    return _page(400 if errors else 200, which="record", overview=overview, defence=view, values=values,
                 errors=errors, student=_student_name(submission), heading=_("Record the oral defence"))


@bp.route("/s/<int:submission_id>/attribution-fix", methods=["GET", "POST"])
@require_roles(Role.TEACHER)
def request_fix_page(submission_id: int) -> Response:
    overview = _acting(submission_id)
    values = _defaults() | {key: request.form.get(key, "") for key in ("note", "due_at", "due_time")
                            if request.method == "POST"}
    errors: dict[str, str] = {}
    if request.method == "POST":
        due_at, errors = _when(request.form, "due_at", "due_time", default_time=time(23, 59),
                               message=_("Give the deadline as a calendar date, and the time as hours and minutes."))
        try:
            request_attribution_fix(db(), g.actor, submission_id, note=values["note"], due_at=due_at, now=now_utc())
        except FieldErrors as exc:
            errors = {**exc.errors, **errors}
        if not errors:
            flash(_("The student is asked to hand in a corrected attribution by %(due)s.",
                    due=deadline_text(due_at, _zone())), TEACHER_FLASH)
            return _teacher_back(submission_id)
    return _page(400 if errors else 200, which="fix", overview=overview, values=values, errors=errors,
                 student=_student_name(overview.submission), heading=_("Ask for a corrected attribution"))


# -- the student ----------------------------------------------------------------------------------------
def _saved(files: list, folder: Path) -> list[Upload]:
    uploads = []
    for index, storage in enumerate(files):
        if storage and storage.filename:
            path = folder / f"draft{index}"
            storage.save(path)
            uploads.append(Upload(name=storage.filename, path=path))
    return uploads


@bp.route("/drafts/<int:request_id>/answer", methods=["GET", "POST"])
@require_roles(Role.STUDENT)
def answer_drafts_page(request_id: int) -> Response:
    found, submission = own_draft_request(db(), g.actor, request_id)
    values = {"note": request.form.get("note", "")}
    errors: dict[str, str] = {}
    if request.method == "POST":
        with tempfile.TemporaryDirectory(prefix="adal-drafts-") as folder:
            uploads = _saved(request.files.getlist("files"), Path(folder))
            try:
                answer_draft_request(db(), g.actor, request_id, uploads, values["note"], now=now_utc())
            except FieldErrors as exc:
                errors = exc.errors
            except InvalidInput as exc:  # late or already answered: the page says so, nothing stored
                errors = {"form": str(exc)}
        if not errors:
            flash(_("Your drafts were sent to your teacher."), STUDENT_FLASH)
            return redirect(url_for("work.receipt", submission_id=submission.id) + "#asks", code=303)
    status = draft_status(found, now_utc())
    return _page(400 if errors else 200, which="answer", draft=found, draft_status=status, submission=submission,
                 values=values, errors=errors, heading=_("Send your drafts"))


# -- draft files -----------------------------------------------------------------------------------------
@bp.get("/drafts/<int:request_id>/files/<int:upload_id>")
@require_roles(Role.STUDENT, Role.TEACHER)
def draft_file(request_id: int, upload_id: int) -> Response:
    upload = visible_draft_upload(db(), g.actor, request_id, upload_id)
    return send_stored_file(upload.sha256, upload.name)

