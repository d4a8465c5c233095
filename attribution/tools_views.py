"""Pages for staff: mark files as made with AI, and inspect what a file carries (S C.3, 6.3).
Thin: parse, check the role, call ``attribution.tools``, render or send."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from flask import Blueprint, Response, current_app, render_template, request, send_file, session
from flask_babel import get_locale
from flask_babel import gettext as _

from attribution.tools import (
    MAX_FILES,
    PENDING_LIFETIME,
    ZIP_NAME,
    Upload,
    discard_pending,
    inspect_upload,
    institution_today,
    parse_stamp_form,
    report_rows,
    stamp_uploads,
    take_pending,
)
from plugin.kernel.clock import now_utc
from plugin.kernel.users import Role
from plugin.kernel.web import db, error_response, require_roles

bp = Blueprint("tools", __name__, template_folder="templates")
#: Teachers launched from the LMS, and Adal's administrators.
STAFF = (Role.TEACHER, Role.ADMIN)
PENDING_KEY = "tools_pending"  # the session's one ZIP waiting for download: {"token", "name"}


def _work_root() -> Path:
    return Path(current_app.instance_path) / "tmp" / "tools"


def _max_upload_mb() -> int:
    return int(current_app.config["MAX_CONTENT_LENGTH"] or 0) // (1024 * 1024)


def _uploads(name: str) -> list[Upload]:
    # A file input left empty still sends a part, with no file name.
    return [Upload(f.filename, f.stream) for f in request.files.getlist(name) if f.filename]


def _stamp_form(values: object, errors: dict[str, str], status: int = 200) -> Response:
    html = render_template("attribution/stamp.html", values=values, errors=errors, max_files=MAX_FILES,
                           max_mb=_max_upload_mb())
    return Response(html, status=status, mimetype="text/html")


def _download(handle: BinaryIO, size: int, name: str) -> Response:
    response = send_file(handle, as_attachment=True, download_name=name)
    response.content_length = size
    response.headers["Cache-Control"] = "no-store"  # a colleague's file: no copy in any cache
    return response


@bp.route("/tools/stamp", methods=["GET", "POST"])
@require_roles(*STAFF)
def stamp() -> Response:
    now = now_utc()
    today = institution_today(db(), now)
    if request.method == "GET":
        return _stamp_form({"generation_date": today.isoformat(), "lang": str(get_locale())}, {})
    uploads = _uploads("files")
    fields, errors = parse_stamp_form(request.form, file_count=len(uploads), today=today)
    if fields is None:
        return _stamp_form(request.form, errors, status=400)
    result = stamp_uploads(uploads, fields, work_root=_work_root(), now=now)
    if result.file is not None:
        return _download(result.file, result.size, result.download_name or ZIP_NAME)
    previous = session.pop(PENDING_KEY, None)
    discard_pending(_work_root(), previous.get("token") if isinstance(previous, dict) else None)
    if result.pending:
        session[PENDING_KEY] = {"token": result.pending}
    html = render_template("attribution/stamp_result.html", result=result,
                           minutes=int(PENDING_LIFETIME.total_seconds() // 60))
    return Response(html, status=200 if result.stamped else 422, mimetype="text/html")


@bp.post("/tools/stamp/download")
@require_roles(*STAFF)
def stamp_download() -> Response:
    """The ZIP of the files that were stamped when others failed: once, by the session that asked."""
    pending = session.pop(PENDING_KEY, None)
    taken = take_pending(_work_root(), pending.get("token") if isinstance(pending, dict) else None, now=now_utc())
    if taken is None:
        return error_response(404, _("This download has expired or was already taken. Mark the files again."))
    return _download(*taken, ZIP_NAME)


@bp.route("/tools/inspect", methods=["GET", "POST"])
@require_roles(*STAFF)
def inspect() -> Response:
    if request.method == "GET":
        return Response(render_template("attribution/inspect.html", inspection=None, errors={}), mimetype="text/html")
    uploads = _uploads("file")
    if len(uploads) != 1:
        html = render_template("attribution/inspect.html", inspection=None, errors={"file": _("Choose one file.")})
        return Response(html, status=400, mimetype="text/html")
    inspection = inspect_upload(uploads[0], work_root=_work_root(), now=now_utc())
    rows = report_rows(inspection.report) if inspection.report is not None else []
    errors = {"file": inspection.failure.reason} if inspection.failure else {}
    html = render_template("attribution/inspect.html", inspection=inspection, rows=rows, errors=errors)
    return Response(html, status=422 if inspection.failure else 200, mimetype="text/html")
