"""The student's side: the course's assignments, the institution's notice, handing in work with
the disclosure, and the receipt. Thin views: parse, check, call one service, render."""

from __future__ import annotations

import secrets
import tempfile
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, current_app, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select

from attribution.filetypes import ACCEPT_ATTRIBUTE
from attribution.gradebook import push_to_gradebook
from attribution.models import Assignment, SubmissionFile
from attribution.statements import (
    FORBIDDEN_USES,
    OTHER_TASK,
    TASK_TITLES,
    UseRow,
    format_dates,
    sentence_74,
    short_attribution,
    table_rows,
)
from attribution.submissions import (
    MAX_FILES,
    FieldErrors,
    SubmissionInput,
    Upload,
    disclosure_of,
    effective_due,
    my_submissions,
    originals_without_copy,
    policy_problems,
    submission_files,
    submission_for,
    submission_gate,
    submit_work,
    task_rules,
    visible_assignment,
)
from plugin.kernel.clock import now_utc
from plugin.kernel.errors import AdalError, NotFound
from plugin.kernel.notices import (
    ADAPTED,
    FIELDS,
    acknowledge_notice,
    current_version,
    has_acknowledged,
    history,
    read_notice,
)
from plugin.kernel.settings import get_setting
from plugin.kernel.users import Role
from plugin.kernel.web import db, error_response, require_roles, runtime, send_stored_file

bp = Blueprint("work", __name__, template_folder="templates")

COPY_ROWS = 5  # empty rows offered for the extended (C.2) table
DATE_FIELDS = 3


def _language() -> str:
    return str(get_locale() or "kk")


def _local_path(target: str | None, fallback: str) -> str:
    """Only a path on this site (no open redirect)."""
    if not target:
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return fallback
    return target


@bp.get("/course")
@require_roles(Role.STUDENT, Role.TEACHER)
def course() -> str:
    """The course's Adal assignments (the page for a course-level link, ``adal_view=home``)."""
    assignments = db().execute(select(Assignment).where(Assignment.course_id == g.actor.course_id)
                               .order_by(Assignment.created_at)).scalars().all()
    return render_template("attribution/course.html", assignments=assignments, actor=g.actor)


@bp.get("/a/<int:assignment_id>")
@require_roles(Role.STUDENT, Role.TEACHER)
def assignment(assignment_id: int) -> Response | str:
    item = visible_assignment(db(), g.actor, assignment_id)
    if g.actor.has(Role.TEACHER):
        target = "teach.setup" if item.configured_at is None else "teach.submissions"
        return redirect(url_for(target, assignment_id=item.id), code=303)
    gate = submission_gate(db(), g.actor, item, now_utc())
    if gate == "notice":
        return redirect(url_for("work.notice", next=url_for("work.assignment", assignment_id=item.id)), code=303)
    return _form(item, gate=gate)


def _form(item: Assignment, *, gate: str | None, errors: dict[str, str] | None = None,
          values: dict[str, object] | None = None, status: int = 200) -> Response:
    actor = g.actor
    rules = task_rules(item)
    zone = get_setting(db(), "institution.timezone")
    html = render_template(
        "attribution/submit.html", assignment=item, gate=gate, rules=rules, other_code=OTHER_TASK,
        other_title=TASK_TITLES[OTHER_TASK], forbidden=FORBIDDEN_USES, errors=errors or {}, values=values or {},
        idempotency_key=(values or {}).get("idempotency_key") or secrets.token_urlsafe(24),
        due=effective_due(db(), item, actor.user_id) if actor.user_id else None, zone=zone,
        versions=my_submissions(db(), actor, item), max_files=MAX_FILES,
        max_mb=current_app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024), accept=ACCEPT_ATTRIBUTE,
        copy_rows=COPY_ROWS, date_fields=DATE_FIELDS, current=_language(),
        today=now_utc().astimezone(ZoneInfo(zone)).date().isoformat())
    return Response(html, status=status, mimetype="text/html")


def _dates(form: object) -> tuple[tuple[date, ...], bool]:
    out, bad = [], False
    for raw in form.getlist("dates"):  # type: ignore[attr-defined]
        raw = raw.strip()
        if not raw:
            continue
        try:
            out.append(date.fromisoformat(raw))
        except ValueError:
            bad = True
    return tuple(out), bad


def _rows(form: object) -> tuple[UseRow, ...]:
    columns = [form.getlist(name) for name in ("row_task", "row_prompt", "row_answer", "row_edit", "row_link")]  # type: ignore[attr-defined]
    rows = []
    for cells in zip(*columns, strict=False):
        cells = tuple(c.strip() for c in cells)
        if any(cells):
            rows.append(UseRow(*cells))
    return tuple(rows)


def _save(files: list, folder: Path, prefix: str) -> list[Upload]:
    uploads = []
    for index, storage in enumerate(files):
        if not storage or not storage.filename:
            continue
        path = folder / f"{prefix}{index}"
        storage.save(path)
        uploads.append(Upload(name=storage.filename, path=path))
    return uploads


@bp.post("/a/<int:assignment_id>/submit")
@require_roles(Role.STUDENT, Role.TEACHER)
def submit(assignment_id: int) -> Response:
    item = visible_assignment(db(), g.actor, assignment_id)
    form = request.form
    dates, bad_date = _dates(form)
    ai_used = form.get("ai_used") == "yes"
    data = SubmissionInput(
        idempotency_key=form.get("idempotency_key", ""), ai_used=ai_used, language=form.get("language", ""),
        tasks=tuple(dict.fromkeys(form.getlist("tasks"))) if ai_used else (),
        other_text=form.get("other_text", "") if ai_used else "", service=form.get("service", "") if ai_used else "",
        model=form.get("model", "") if ai_used else "", model_version=form.get("model_version", "") if ai_used else "",
        dates=dates if ai_used else (), drafts_url=form.get("drafts_url", ""),
        rows=_rows(form) if ai_used else (), checked=ai_used and form.get("checked") == "yes")
    values = {key: form.get(key, "") for key in ("idempotency_key", "language", "other_text", "service", "model",
                                                 "model_version", "drafts_url")}
    values.update(ai_used=ai_used, tasks=list(data.tasks), dates=[d.isoformat() for d in dates], rows=data.rows,
                  checked=data.checked)
    with tempfile.TemporaryDirectory(prefix="adal-upload-") as folder:
        uploads = _save(request.files.getlist("files"), Path(folder), "f")
        drafts = _save(request.files.getlist("draft_files"), Path(folder), "d")
        try:
            if bad_date and ai_used:
                raise FieldErrors({"dates": _("Write the dates as calendar dates.")})
            submission, created = submit_work(db(), g.actor, item.id, data, uploads, drafts=drafts,
                                              statement_lang=_language(), now=now_utc(),
                                              copies=current_app.config["ADAL_CONFIG"].copy_mode)
        except FieldErrors as exc:
            return _form(item, gate=None, errors=exc.errors, values=values, status=400)
        except AdalError as exc:
            return error_response(exc.status, str(exc))
    submission_id = submission.id
    db().commit()  # the submission stands before the LMS hears of it
    if created:
        push_to_gradebook(runtime(), submission_id, now=now_utc())
    return redirect(url_for("work.receipt", submission_id=submission_id), code=303)


@bp.get("/s/<int:submission_id>")
@require_roles(Role.STUDENT, Role.TEACHER)
def receipt(submission_id: int) -> str:
    submission, item = submission_for(db(), g.actor, submission_id)
    disclosure = disclosure_of(submission)
    rules = {rule.code: rule.display for rule in task_rules(item)}
    lang = submission.statement_lang
    files = submission_files(db(), submission.id)
    return render_template(
        "attribution/receipt.html", submission=submission, assignment=item, files=files,
        uncopied=originals_without_copy(submission, files),
        disclosure=disclosure, task_names=[submission.other_text if c == OTHER_TASK and submission.other_text
                                           else rules.get(c, str(TASK_TITLES.get(c, c))) for c in disclosure.tasks],
        problems=policy_problems(item, disclosure.tasks), dates=format_dates(disclosure.dates),
        short=short_attribution(disclosure, lang), sentence=sentence_74(disclosure, lang),
        table=table_rows(disclosure, lang), zone=get_setting(db(), "institution.timezone"))


@bp.get("/s/<int:submission_id>/receipt.txt")
@require_roles(Role.STUDENT, Role.TEACHER)
def receipt_text(submission_id: int) -> Response:
    submission, item = submission_for(db(), g.actor, submission_id)
    text = render_template("attribution/receipt.txt", submission=submission, assignment=item,
                           files=submission_files(db(), submission.id), disclosure=disclosure_of(submission),
                           dates=format_dates(disclosure_of(submission).dates))
    response = Response(text, mimetype="text/plain; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="adal-receipt-{submission.id}.txt"'
    return response


@bp.get("/s/<int:submission_id>/statement.txt")
@require_roles(Role.STUDENT, Role.TEACHER)
def statement_text(submission_id: int) -> Response:
    submission, _item = submission_for(db(), g.actor, submission_id)
    response = Response(submission.statement + "\n", mimetype="text/plain; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="adal-statement-{submission.id}.txt"'
    return response


@bp.get("/s/<int:submission_id>/files/<int:file_id>")
@require_roles(Role.STUDENT, Role.TEACHER)
def file(submission_id: int, file_id: int) -> Response:
    submission, _item = submission_for(db(), g.actor, submission_id)
    row = db().get(SubmissionFile, file_id)
    if row is None or row.submission_id != submission.id:
        raise NotFound()
    return send_stored_file(row.sha256, row.name)


@bp.route("/notice", methods=["GET", "POST"])
@require_roles(Role.STUDENT, Role.TEACHER)
def notice() -> Response | str:
    version = current_version(db())
    back = _local_path(request.values.get("next"), url_for("work.course"))
    if request.method == "POST":
        try:
            acknowledge_notice(db(), g.actor, version=int(request.form.get("version", "0") or 0), now=now_utc())
        except (AdalError, ValueError) as exc:
            return error_response(400, str(exc) if isinstance(exc, AdalError) else None)
        return redirect(back, code=303)
    if version is None:
        abort(404)
    text = read_notice(db(), version, _language())
    done = g.actor.user_id is not None and has_acknowledged(db(), g.actor.user_id, version)
    return render_template("attribution/notice.html", notice=text, fields=FIELDS, adapted=ADAPTED, next=back,
                           acknowledged=done, history=history(db(), _language()),
                           can_acknowledge=g.actor.has(Role.STUDENT))
