"""Signing in to the admin console: ``/admin/login`` (password), ``/admin/second-factor`` (TOTP or
a recovery code), ``/admin/logout``; and what every console page uses: ``admin_required`` and
``admin_actor()``.

The console is reached in a browser at its own address, never through the LMS: an LTI launch,
whatever roles the LMS sends, gives no admin session (a launch even clears the session cookie),
and signing in as an admin clears any LTI identity the browser had. The cookie holds only a
random token; the session itself is a row (``AdminSession``), so idle and absolute timeouts and
logout are decided on the server.

Without a complete admin session every console page answers ``302`` to ``/admin/login`` (for
any method; a POST without its CSRF token is refused with ``400`` before that).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any, TypeVar

from flask import Blueprint, Response, current_app, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from plugin.admin.accounts import (
    ABSOLUTE_HOURS,
    IDLE_MINUTES,
    PENDING_SECONDS,
    LoginRefused,
    actor_for,
    check_password,
    check_second_factor,
    end_session,
    session_account,
)
from plugin.admin.models import AdminAccount
from plugin.kernel import ratelimit
from plugin.kernel.clock import now_utc
from plugin.kernel.i18n import SESSION_CHOICE
from plugin.kernel.users import Actor, Role
from plugin.kernel.web import db

F = TypeVar("F", bound=Callable[..., Any])
bp = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates")
SESSION_TOKEN = "adal_admin"  # noqa: S105  (the session key holding the token, not a secret)
SESSION_PENDING = "adal_admin_pending"
FLASH = "admin"


def _limits() -> tuple[timedelta, timedelta]:
    config = current_app.config
    return (timedelta(minutes=int(config.get("ADAL_ADMIN_IDLE_MINUTES") or IDLE_MINUTES)),
            timedelta(hours=int(config.get("ADAL_ADMIN_SESSION_HOURS") or ABSOLUTE_HOURS)))


def current_admin() -> AdminAccount | None:
    """The admin signed in on this request (checked against the server once per request)."""
    if "admin_account" not in g:
        token = session.get(SESSION_TOKEN)
        account = None
        if isinstance(token, str):
            idle, absolute = _limits()
            account = session_account(db(), token, now=now_utc(), idle=idle, absolute=absolute)
            if account is None:
                session.pop(SESSION_TOKEN, None)
                g.admin_expired = True
        g.admin_account = account
    return g.admin_account  # type: ignore[no-any-return]


def admin_required(view: F) -> F:
    """Admit only a complete admin session (password and second factor, not timed out);
    everyone else is sent to ``/admin/login``."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if current_admin() is None:
            return redirect(url_for("admin.login", next=request.path, expired=1 if g.get("admin_expired") else None))
        return view(*args, **kwargs)

    wrapped.adal_roles = (Role.ADMIN,)  # type: ignore[attr-defined]  # read by the access-matrix test
    return wrapped  # type: ignore[return-value]


def admin_actor() -> Actor:
    """The signed-in admin as the audit log names them: ``system:admin:<username>``. Only inside
    a view guarded by ``admin_required``."""
    account = current_admin()
    if account is None:
        raise RuntimeError("admin_actor() outside an admin_required view")
    return actor_for(account)


def _safe_next(value: str | None) -> str | None:
    if value and value.startswith("/admin/") and "//" not in value and "\\" not in value:
        return value
    return None


def _fresh_session() -> None:
    """A new sign-in starts from an empty session (no LTI identity, no fixation), keeping only
    the language the person chose."""
    language = session.get(SESSION_CHOICE)
    session.clear()
    if language:
        session[SESSION_CHOICE] = language


def _rate_limit(username: str) -> None:
    """Sign-in attempts per account name tried and per client address (``plugin.kernel.ratelimit``,
    shared through Redis when configured), before any password is checked."""
    ratelimit.hit(ratelimit.ADMIN_LOGIN_ACCOUNT, username.strip().lower()[:64] or "-")
    ratelimit.hit(ratelimit.ADMIN_LOGIN_ADDRESS, request.remote_addr or "-")


def _refused(template: str, exc: LoginRefused, **context: Any) -> tuple[str, int]:
    # The failed attempt and its audit entry must stay although the answer is an error: the
    # request boundary rolls back every error response, so this one commits first.
    db().commit()
    return render_template(template, error=str(exc), **context), 401


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if current_admin() is not None:
        return redirect(url_for("admin.overview"))
    wanted = _safe_next(request.values.get("next"))
    expired = request.args.get("expired") == "1"
    if request.method == "GET":
        return render_template("admin/login.html", next=wanted, expired=expired, error=None, username="")
    username = request.form.get("username", "")
    _rate_limit(username)
    try:
        account = check_password(db(), username, request.form.get("password", ""), now=now_utc(),
                                 address=request.remote_addr)
    except LoginRefused as exc:
        return _refused("admin/login.html", exc, next=wanted, expired=False, username=username[:64])
    _fresh_session()
    session[SESSION_PENDING] = {"id": account.id, "at": now_utc().timestamp(), "next": wanted}
    return redirect(url_for("admin.second_factor"), code=303)


def _pending() -> dict[str, Any] | None:
    pending = session.get(SESSION_PENDING)
    if not isinstance(pending, dict) or now_utc().timestamp() - float(pending.get("at", 0)) > PENDING_SECONDS:
        return None
    return pending


@bp.route("/second-factor", methods=["GET", "POST"])
def second_factor() -> Any:
    pending = _pending()
    if pending is None:
        session.pop(SESSION_PENDING, None)
        return redirect(url_for("admin.login"))
    if request.method == "GET":
        return render_template("admin/second_factor.html", error=None)
    ratelimit.hit(ratelimit.ADMIN_LOGIN_ADDRESS, request.remote_addr or "-")
    try:
        account, token = check_second_factor(db(), int(pending["id"]), request.form.get("code", ""), now=now_utc(),
                                             address=request.remote_addr)
    except LoginRefused as exc:
        return _refused("admin/second_factor.html", exc)
    wanted = _safe_next(pending.get("next"))
    _fresh_session()
    session[SESSION_TOKEN] = token
    g.admin_account = account
    return redirect(wanted or url_for("admin.overview"), code=303)


@bp.post("/logout")
def logout() -> Response:
    token = session.get(SESSION_TOKEN)
    if isinstance(token, str):
        end_session(db(), token, now=now_utc())
    _fresh_session()
    from flask import flash

    flash(_("You have signed out of the admin console."), FLASH)
    return redirect(url_for("admin.login"), code=303)
