"""Pages every installation has: the start page, the language switch and the health check."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, Response, jsonify, redirect, render_template, request, session
from sqlalchemy import text

from plugin.kernel.db import READ_ONLY
from plugin.kernel.i18n import LANGUAGES, SESSION_CHOICE
from plugin.kernel.web import current_actor, db

bp = Blueprint("core", __name__)


@bp.before_app_request
def _language_from_query() -> None:
    """``?lang=ru`` on any page is an explicit choice, remembered for the session."""
    chosen = request.args.get("lang")
    if chosen in LANGUAGES:
        session[SESSION_CHOICE] = chosen


@bp.get("/")
def index() -> str:
    return render_template("index.html", actor=current_actor())


@bp.post("/lang")
def choose_language() -> Response:
    chosen = request.form.get("lang", "")
    if chosen in LANGUAGES:
        session[SESSION_CHOICE] = chosen
    back = request.form.get("next") or "/"
    parts = urlsplit(back)
    # Only a path on this site: an open redirect would let a link in an e-mail send students away.
    if parts.scheme or parts.netloc or not back.startswith("/") or back.startswith("//"):
        back = "/"
    return redirect(back, code=303)


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    try:
        db().connection(execution_options=READ_ONLY).execute(text("SELECT 1"))
    except Exception:
        return jsonify(status="unavailable", database="unreachable"), 503
    return jsonify(status="ok", database="ok"), 200
