"""The console's retention page (``/admin/retention``): the periods, a dry-run preview, legal holds,
and data-subject export and erasure; plus the helpers ``adal retention``, ``adal hold`` and
``adal subject`` share with it.

Deleting rows and deleting files cannot be one transaction, so a run or an erasure commits its own
session first and removes the files after (``remove_unreferenced_files`` checks each again): a
failure in between leaves a file without a row, never a row without its file.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from sqlmodel import Session

from appeals.models import Case
from plugin.admin.auth import FLASH, admin_actor, admin_required, bp
from plugin.admin.holds import KIND_TITLES, add_hold, describe_subject, list_holds, release_hold
from plugin.admin.retention import CATEGORIES, Report, remove_unreferenced_files, retention_days, run_retention
from plugin.admin.subjects import Erasure, erase_subject, export_subject
from plugin.kernel.clock import now_utc
from plugin.kernel.errors import InvalidInput, NotFound
from plugin.kernel.runtime import Runtime
from plugin.kernel.settings import SettingError, set_setting
from plugin.kernel.users import Actor
from plugin.kernel.web import db, runtime


# -- shared with the CLI --------------------------------------------------------------------------
def case_id_of(session: Session, text: str) -> int:
    """A case named by its number (2026-0001) or its id. Raises ``NotFound``."""
    text = (text or "").strip()
    found = session.execute(select(Case.id).where(Case.number == text)).scalar_one_or_none()
    if found is None and text.isdecimal() and session.get(Case, int(text)) is not None:
        found = int(text)
    if found is None:
        raise NotFound(_("There is no case %(case)s.", case=text))
    return found


def run_and_remove_files(rt: Runtime, actor: Actor, *, now: datetime, dry_run: bool) -> Report:
    """One retention pass in its own transaction; then the blobs no row references any more."""
    with rt.session() as session:
        report = run_retention(session, actor, now=now, dry_run=dry_run)
        if dry_run:
            session.rollback()
            return report
        session.commit()
        remove_unreferenced_files(session, rt.files, report.files)
    return report


def erase_and_remove_files(rt: Runtime, actor: Actor, user_id: int, *, now: datetime, dry_run: bool) -> Erasure:
    """``erase_subject`` in its own transaction, then its files. Raises what it raises (nothing changed)."""
    with rt.session() as session:
        try:
            result = erase_subject(session, actor, user_id, now=now, dry_run=dry_run)
        except Exception:
            session.rollback()
            raise
        if dry_run:
            session.rollback()
            return result
        session.commit()
        remove_unreferenced_files(session, rt.files, result.files)
    return result


def echo_retention_report(report: Report) -> Iterator[str]:
    titles = {c.key: str(c.title) for c in CATEGORIES}
    yield _("Dry run: nothing was changed. A run would do this:") if report.dry_run else _("Retention run done:")
    for key, found in report.categories.items():
        parts = [f"{table} {count}" for table, count in sorted(found.rows.items())]
        yield _("%(category)s: rows %(rows)s; anonymised %(anonymised)d; files %(files)d; audit payloads erased "
                "%(erased)d; kept (open) %(open)d; kept (legal hold) %(held)d",
                category=titles[key], rows=", ".join(parts) or "0", anonymised=found.anonymised, files=found.files,
                erased=found.audit_erased, open=found.kept_open, held=found.kept_held)
    if not report.changed:
        yield _("Nothing has expired.")


def echo_erasure(result: Erasure) -> Iterator[str]:
    if result.dry_run:
        yield _("Dry run: nothing was changed. An erasure would do this:")
    deleted = ", ".join(f"{table} {count}" for table, count in result.deleted.items()) or "0"
    yield _("Deleted rows: %(rows)s", rows=deleted)
    if result.unlinked:
        yield _("Link to the person removed: %(rows)s",
                rows=", ".join(f"{table} {count}" for table, count in sorted(result.unlinked.items())))
    yield _("Cases kept only as anonymous figures: %(num)d", num=result.anonymised_cases)
    yield _("Audit payloads erased: %(num)d; files removed: %(files)d", num=result.audit_erased,
            files=len(result.files))
    yield _("Account deleted.") if result.account_deleted else _("Account kept.")
    for kept in result.kept:
        yield _("Kept: %(what)s", what=kept)


# -- the page -------------------------------------------------------------------------------------
def _page(status: int = 200, **context: Any) -> tuple[str, int]:
    session = db()
    days = retention_days(session)
    periods = [(c, days[c.key]) for c in CATEGORIES]
    holds = [(h, describe_subject(session, h.subject_kind, h.subject_id)) for h in list_holds(session)]
    context.setdefault("errors", {})
    context.setdefault("form", {})
    return render_template("admin/retention.html", periods=periods, holds=holds, kinds=KIND_TITLES,
                           titles={c.key: c.title for c in CATEGORIES}, current="retention", **context), status


def _done(message: str) -> Response:
    flash(message, FLASH)
    return redirect(url_for("admin.retention"), code=303)


@bp.get("/retention")
@admin_required
def retention() -> Any:
    preview = None
    if request.args.get("preview"):
        preview = run_retention(db(), admin_actor(), now=now_utc(), dry_run=True)  # writes nothing
    return _page(preview=preview)


@bp.post("/retention/periods")
@admin_required
def retention_periods() -> Any:
    typed = {c.key: request.form.get(f"days-{c.key}", "").strip() for c in CATEGORIES}
    errors = {f"days-{key}": _("Enter a whole number of days from 0 to 36500.")
              for key, text in typed.items() if not text.isdecimal() or int(text) > 36500}
    if errors:
        return _page(400, errors=errors, form=typed)
    value = {key: int(text) for key, text in typed.items()}
    try:
        set_setting(db(), admin_actor(), "retention.days", value, now=now_utc())
    except SettingError as exc:
        return _page(400, errors={"periods": str(exc)}, form=typed)
    return _done(_("Retention periods saved."))


@bp.post("/retention/holds")
@admin_required
def retention_hold_add() -> Any:
    kind = request.form.get("kind", "")
    subject = request.form.get("subject", "").strip()
    reason = request.form.get("reason", "")
    form = {"kind": kind, "subject": subject, "reason": reason}
    session = db()
    try:
        if kind == "case":
            subject_id = case_id_of(session, subject)
        elif subject.isdecimal():
            subject_id = int(subject)
        else:
            raise InvalidInput(_("Enter the id of the person or course (a number)."))
        found = add_hold(session, admin_actor(), kind, subject_id, reason=reason, now=now_utc())
    except (InvalidInput, NotFound) as exc:
        return _page(exc.status, errors={"hold": str(exc)}, form=form)
    return _done(_("Legal hold #%(id)d added.", id=found.id))


@bp.post("/retention/holds/<int:hold_id>/release")
@admin_required
def retention_hold_release(hold_id: int) -> Any:
    try:
        release_hold(db(), admin_actor(), hold_id, now=now_utc())
    except (InvalidInput, NotFound) as exc:
        return _page(exc.status, errors={"holds": str(exc)})
    return _done(_("Legal hold #%(id)d released.", id=hold_id))


def _user_id(field: str) -> int:
    text = request.form.get(field, "").strip()
    if not text.isdecimal():
        raise InvalidInput(_("Enter the person's user id (a number)."))
    return int(text)


@bp.post("/retention/subject/export")
@admin_required
def retention_subject_export() -> Any:
    try:
        user_id = _user_id("export_user")
        export = export_subject(db(), admin_actor(), user_id, now=now_utc())
    except (InvalidInput, NotFound) as exc:
        return _page(exc.status, errors={"export": str(exc)}, form={"export_user": request.form.get("export_user")})
    response = Response(export.to_zip(), mimetype="application/zip")
    response.headers["Content-Disposition"] = f'attachment; filename="adal-subject-{user_id}.zip"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/retention/subject/erase")
@admin_required
def retention_subject_erase() -> Any:
    dry_run = request.form.get("action") != "erase"
    form = {"erase_user": request.form.get("erase_user")}
    try:
        user_id = _user_id("erase_user")
        if not dry_run and request.form.get("confirm") != "yes":
            raise InvalidInput(_("Tick the box to confirm the erasure: it cannot be undone."))
        # The erasure commits in its own session before removing files; the request's session
        # (which may hold SQLite's write lock since the sign-in check) finishes first.
        db().commit()
        result = erase_and_remove_files(runtime(), admin_actor(), user_id, now=now_utc(), dry_run=dry_run)
    except (InvalidInput, NotFound) as exc:
        return _page(exc.status, errors={"erase": str(exc)}, form=form)
    return _page(erasure=list(echo_erasure(result)), form=form)
