"""Request plumbing shared by every blueprint: one DB session per request, the actor, access
checks, correlation ids, security headers and error pages."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from flask import Flask, Response, abort, current_app, g, render_template, request, session
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlmodel import Session
from werkzeug.exceptions import HTTPException

from plugin.kernel.errors import AdalError
from plugin.kernel.ratelimit import RateLimited
from plugin.kernel.runtime import Runtime
from plugin.kernel.users import Actor, Role

log = logging.getLogger("adal")
F = TypeVar("F", bound=Callable[..., Any])
_ACTOR_KEY = "actor"


def runtime() -> Runtime:
    return current_app.extensions["adal.runtime"]  # type: ignore[no-any-return]


def db() -> Session:
    """The request's session, opened on first use; the request boundary commits it once."""
    if "db_session" not in g:
        g.db_session = runtime().session()
    return g.db_session  # type: ignore[no-any-return]


def current_actor() -> Actor | None:
    data = session.get(_ACTOR_KEY)
    if not data:
        return None
    return Actor(label=data["label"], user_id=data.get("user_id"), roles=frozenset(Role(r) for r in data["roles"]),
                 course_id=data.get("course_id"), is_ta=bool(data.get("is_ta")), locale=data.get("locale"))


def remember_actor(actor: Actor) -> None:
    session[_ACTOR_KEY] = {"label": actor.label, "user_id": actor.user_id, "roles": sorted(actor.roles),
                           "course_id": actor.course_id, "is_ta": actor.is_ta, "locale": actor.locale}


def require_roles(*roles: Role) -> Callable[[F], F]:
    """Admit only an actor holding one of ``roles``: 401-like 403 for anonymous and others."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            actor = current_actor()
            if actor is None or not actor.has(*roles):
                abort(403)
            g.actor = actor
            return view(*args, **kwargs)

        wrapped.adal_roles = roles  # type: ignore[attr-defined]  # read by the access-matrix test
        return wrapped  # type: ignore[return-value]

    return decorator


def correlation_id() -> str:
    if "correlation_id" not in g:
        g.correlation_id = uuid.uuid4().hex[:12]
    return g.correlation_id  # type: ignore[no-any-return]


def _finish_transaction(response: Response) -> Response:
    """Commit once when the request succeeded, roll back otherwise (bad input changes nothing)."""
    db_session: Session | None = g.pop("db_session", None)
    if db_session is None:
        return response
    try:
        if response.status_code < 400:
            db_session.commit()
        else:
            db_session.rollback()
    except Exception:
        db_session.rollback()
        log.exception("commit failed [%s]", correlation_id())
        response = error_response(500)
    finally:
        db_session.close()
    return response


def _close_on_teardown(_exc: BaseException | None) -> None:
    db_session: Session | None = g.pop("db_session", None)
    if db_session is not None:
        db_session.rollback()
        db_session.close()


#: Powerful features no Adal page uses, off for Adal's documents and anything they embed: Adal
#: does no covert capture (no camera, microphone, screen, location or sensors). Clipboard writing
#: stays (the "copy" buttons), and the LMS's own iframe ``allow`` still governs the frame.
PERMISSIONS_POLICY = ", ".join(f"{feature}=()" for feature in (
    "camera", "microphone", "geolocation", "display-capture", "accelerometer", "gyroscope", "magnetometer",
    "usb", "serial", "hid", "bluetooth", "midi", "payment", "browsing-topics"))
HSTS = "max-age=31536000"  # a year; no includeSubDomains: other services may share the parent domain
#: Blueprints whose pages the LMS opens as a popup and which talk back to ``window.opener``
#: (Platform Storage, the registration's "close" message): COOP would sever that link.
OPENER_BLUEPRINTS = frozenset({"lti", "lti_registration"})


def _security_headers(response: Response) -> Response:
    # A view may widen it for one response (the registration page, which the registering LMS frames).
    ancestors = " ".join(("'self'", *current_app.config["ADAL_FRAME_ANCESTORS"], *g.get("frame_ancestors_extra", ())))
    # Adal is meant to be framed by the LMS, so no X-Frame-Options: frame-ancestors names the
    # LMS origins instead. No inline script or style: the CSP forbids them.
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        f"object-src 'none'; base-uri 'self'; frame-ancestors {ancestors}"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Permissions-Policy"] = PERMISSIONS_POLICY
    if request.blueprint not in OPENER_BLUEPRINTS:
        response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    # Only where the browser reached us over https (directly, or through ProxyFix behind a proxy):
    # HSTS over plain http is ignored by browsers and would lock out a loopback demo.
    base_url = current_app.config.get("ADAL_BASE_URL") or ""
    if request.is_secure or base_url.startswith("https://"):
        response.headers["Strict-Transport-Security"] = HSTS
    response.headers["X-Correlation-Id"] = correlation_id()
    # Pages carry a person's work and cases: no shared or browser cache keeps them. A view that
    # serves public data (the JWKS, static files) sets its own Cache-Control.
    response.headers.setdefault("Cache-Control", "no-store")
    return response


ERROR_TEXTS: dict[int, tuple[Callable[[], str], Callable[[], str]]] = {
    400: (lambda: _("The request could not be understood"),
          lambda: _("Something in the request was missing or not valid. Nothing was changed. "
                    "Go back and try again.")),
    403: (lambda: _("You do not have access to this page"),
          lambda: _("Your role does not allow this action. If you think this is a mistake, open Adal again "
                    "from your course in the LMS.")),
    404: (lambda: _("Page not found"),
          lambda: _("There is no such page, or it is not available to you.")),
    405: (lambda: _("This action is not allowed here"),
          lambda: _("This address does not accept this kind of request.")),
    429: (lambda: _("Too many requests"),
          lambda: _("Adal received too many requests of this kind in a short time. Nothing was changed.")),
    413: (lambda: _("The file is too large"),
          lambda: _("The file you sent is larger than this installation accepts. Nothing was saved.")),
    502: (lambda: _("The LMS did not answer"),
          lambda: _("Adal could not reach your LMS in time. Nothing was changed. Try again in a minute.")),
    503: (lambda: _("Adal is busy or under maintenance"),
          lambda: _("A service Adal depends on did not answer. Nothing was changed. Try again in a minute.")),
    500: (lambda: _("Something went wrong on our side"),
          lambda: _("The error was recorded. Nothing was changed. Please try again later, and give the "
                    "reference below to your administrator if it happens again.")),
}


def error_response(status: int, detail: str | None = None, *, bare: bool = False) -> Response:
    """The translated error page. ``bare`` leaves out every form, so the page creates no session
    (refused LTI launches must not)."""
    title, text = ERROR_TEXTS.get(status, ERROR_TEXTS[500])
    html = render_template("errors/error.html", status=status, title=title(), text=text(), detail=detail,
                           correlation_id=correlation_id(), bare=bare)
    return Response(html, status=status, mimetype="text/html")


def _handle_http(exc: HTTPException) -> Response:
    status = exc.code or 500
    if status not in ERROR_TEXTS:
        status = 400 if 400 <= status < 500 else 500
    if status == 413 and current_app.config.get("MAX_CONTENT_LENGTH"):
        limit = current_app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024)
        return error_response(413, _("This installation accepts at most %(mb)d MB in one upload.", mb=limit))
    return error_response(status)


def _handle_csrf(_exc: CSRFError) -> Response:
    return error_response(400, _("The form expired or did not come from this page. Reload the page and try again."))


def _handle_refusal(exc: AdalError) -> Response:
    """A service refused (bad input, no permission, nothing there): its page, nothing changed.
    A 404 says no more than "not found", so that probing ids reveals nothing."""
    status = exc.status if exc.status in ERROR_TEXTS else 400
    response = error_response(status, None if status == 404 else str(exc) or None)
    if isinstance(exc, RateLimited):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


def _handle_unexpected(exc: Exception) -> Response:
    if isinstance(exc, HTTPException):
        return _handle_http(exc)
    log.exception("unhandled error [%s] on %s %s", correlation_id(), request.method, request.path)
    return error_response(500)


def send_stored_file(sha256: str | None, name: str | None) -> Response:
    """A file from the store as a download: opaque bytes with the name it was handed in under,
    never rendered (a student's HTML or SVG must not run in Adal's origin), never cached. A file
    the store no longer has (retention) or that fails its hash check is a translated 404."""
    from io import BytesIO

    from flask import send_file

    from plugin.kernel.filestore import BlobNotFound, CorruptBlob

    try:
        data = runtime().files.read(sha256 or "")
    except (BlobNotFound, CorruptBlob):
        log.error("stored file %s could not be read [%s]", sha256, correlation_id())
        return error_response(404, _("This file is no longer kept (its retention period may have ended)."))
    response = send_file(BytesIO(data), mimetype="application/octet-stream", as_attachment=True,
                         download_name=name or "file", etag=False, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response


def institution_zone() -> ZoneInfo:
    """The institution's time zone (a setting), read once per request."""
    if "institution_zone" not in g:
        from plugin.kernel.settings import get_setting

        g.institution_zone = ZoneInfo(get_setting(db(), "institution.timezone"))
    return g.institution_zone  # type: ignore[no-any-return]


def local_time(value: datetime | None, with_time: bool = True) -> str:
    """An instant as people here read it: dd.mm.yyyy HH:MM in the institution's time zone."""
    if value is None:
        return ""
    local = value.astimezone(institution_zone())
    return local.strftime("%d.%m.%Y %H:%M" if with_time else "%d.%m.%Y")


def install(app: Flask) -> None:
    """Wire the request boundary, headers and error pages into ``app``."""
    app.add_template_filter(local_time, "local_time")
    # Flask runs after-request hooks last-registered first: commit first, then add headers, so
    # a response replaced by a failed commit still carries them.
    app.after_request(_security_headers)
    app.after_request(_finish_transaction)
    app.teardown_request(_close_on_teardown)
    app.register_error_handler(CSRFError, _handle_csrf)
    app.register_error_handler(AdalError, _handle_refusal)
    app.register_error_handler(HTTPException, _handle_http)
    app.register_error_handler(Exception, _handle_unexpected)
