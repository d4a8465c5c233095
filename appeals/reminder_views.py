"""A person's reminders in the tool (blueprint ``reminders``): the page at /reminders, the partial
``appeals/_reminders.html`` that other pages include (it calls ``unread_reminders()``), and
"mark as read", one or all. Everyone signed in from the LMS has reminders, whatever their role;
a reminder of someone else answers 404, like one that does not exist.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from appeals.reminders import ShownReminder, shown_reminders
from plugin.kernel.clock import now_utc
from plugin.kernel.notifications import mark_all_read, mark_read, recent_read, unread
from plugin.kernel.settings import get_setting
from plugin.kernel.users import Role
from plugin.kernel.web import current_actor, db

bp = Blueprint("reminders", __name__, template_folder="templates")
FLASH = "reminders"
#: What the access-matrix test reads: any person launched from the LMS (or seated on a commission).
PERSON_ROLES = (Role.STUDENT, Role.TEACHER, Role.COMMISSION_MEMBER, Role.COMMISSION_SECRETARY,
                Role.COMMISSION_CHAIR)
F = TypeVar("F", bound=Callable[..., Any])


def require_person(view: F) -> F:
    """Admit a signed-in person with a user account (403 for anyone else, anonymous included)."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        actor = current_actor()
        if actor is None or actor.user_id is None:
            abort(403)
        g.actor = actor
        return view(*args, **kwargs)

    wrapped.adal_roles = PERSON_ROLES  # type: ignore[attr-defined]  # read by the access-matrix test
    return wrapped  # type: ignore[return-value]


def _zone() -> str:
    return str(get_setting(db(), "institution.timezone"))


def unread_reminders() -> list[ShownReminder]:
    """The signed-in person's unread reminders in the page's language (none for anyone else)."""
    actor = current_actor()
    if actor is None or actor.user_id is None:
        return []
    return shown_reminders(unread(db(), actor.user_id), zone=_zone())


@bp.app_context_processor
def _reminder_helpers() -> dict[str, object]:
    return {"unread_reminders": unread_reminders}


def _back(default: str) -> str:
    """Where to return after marking: a path on this site only (no open redirect)."""
    back = request.form.get("next") or default
    parts = urlsplit(back)
    if parts.scheme or parts.netloc or not back.startswith("/") or back.startswith("//"):
        return default
    return back


@bp.get("/reminders")
@require_person
def page() -> str:
    session, user_id = db(), g.actor.user_id
    return render_template("appeals/reminders.html", unread=shown_reminders(unread(session, user_id), zone=_zone()),
                           read=shown_reminders(recent_read(session, user_id), zone=_zone()))


@bp.post("/reminders/<int:reminder_id>/read")
@require_person
def read(reminder_id: int) -> Response:
    mark_read(db(), g.actor.user_id, reminder_id, now=now_utc())
    flash(_("The reminder is marked as read."), FLASH)
    return redirect(_back(url_for("reminders.page")), code=303)


@bp.post("/reminders/read-all")
@require_person
def read_all() -> Response:
    mark_all_read(db(), g.actor.user_id, now=now_utc())
    flash(_("All your reminders are marked as read."), FLASH)
    return redirect(_back(url_for("reminders.page")), code=303)
