"""LTI endpoints: OIDC login, launch, and the tool's public keys. Thin: parse, call, render."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

import jwt
from flask import Blueprint, Response, current_app, g, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import refresh

from attribution.assignments import create_assignment
from lti.actors import enter_launch
from lti.claims import DEEP_LINKING_REQUEST
from lti.deep_linking import DeepLinkRequest, deep_link_request, deep_link_response
from lti.errors import LaunchRefused, record_refusal
from lti.jwks import PlatformKeyCache
from lti.keys import published_jwks
from lti.launch import STATE_LIFETIME, BrowserProofMissing, begin_login, storage_key, validate_launch
from plugin.kernel import ratelimit
from plugin.kernel.clock import now_utc
from plugin.kernel.db import READ_ONLY
from plugin.kernel.errors import InvalidInput
from plugin.kernel.i18n import SESSION_CHOICE, SESSION_LTI_LOCALE
from plugin.kernel.users import Role
from plugin.kernel.web import db, error_response, remember_actor, require_roles

log = logging.getLogger("adal.lti")
bp = Blueprint("lti", __name__, template_folder="templates")
STATE_COOKIE = "adal_lti_state"
DEEP_LINK_KEY = "lti_deep_link"


def _base_url() -> str:
    return current_app.config.get("ADAL_BASE_URL") or request.host_url.rstrip("/")


def _key_cache() -> PlatformKeyCache:
    return current_app.extensions["adal.lti_keys"]  # type: ignore[no-any-return]


def _refused(exc: LaunchRefused, where: str) -> Response:
    """A translated 4xx page, an audit entry in its own transaction, and no session."""
    record_refusal(f"lti.{where}_refused", exc)
    return error_response(exc.status, exc.message, bare=True)


def _limit(where: str, *, issuer: str, client_id: str, user: str) -> None:
    """Per platform and user, never per address: a class behind one school NAT shares an address.
    The user's bucket is counted first, so a user refused there spends nothing of the platform's."""
    platform = f"{where}|{issuer}|{client_id}"
    if user:
        ratelimit.hit(ratelimit.LTI_USER, f"{platform}|{user}")
    ratelimit.hit(ratelimit.LTI_PLATFORM, platform)


def _too_many(exc: ratelimit.RateLimited, where: str) -> Response:
    # No audit entry: under a flood, writing one per refusal is the load the limit is there to stop.
    log.info("lti %s rate-limited; retry after %d s", where, exc.retry_after)
    response = error_response(429, str(exc), bare=True)
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


def _unverified_claims(id_token: str) -> dict[str, Any]:
    """The id_token's claims WITHOUT checking anything, only to choose the rate-limit bucket
    before the costly validation; ``validate_launch`` checks the token as always."""
    try:
        claims = jwt.decode(id_token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return {}
    return claims if isinstance(claims, dict) else {}


def _text(value: object) -> str:
    if isinstance(value, list):  # ``aud`` may be a list; the tool's client id is then ``azp``
        value = value[0] if len(value) == 1 else ""
    return value if isinstance(value, str) else ""


@bp.route("/lti/login", methods=["GET", "POST"])
def login() -> Response:
    params = {k: v for k, v in (request.form if request.method == "POST" else request.args).items()}
    try:
        _limit("login", issuer=params.get("iss", ""), client_id=params.get("client_id", ""),
               user=params.get("login_hint", ""))
    except ratelimit.RateLimited as exc:
        return _too_many(exc, "login")
    try:
        target = begin_login(db(), params, launch_url=_base_url() + "/lti/launch", now=now_utc())
    except LaunchRefused as exc:
        return _refused(exc, "login")
    if target.storage_target:
        # The platform keeps data for its frames: put the browser secret there, then go on.
        response = Response(render_template("lti/login_storage.html", target=target), status=200)
    else:
        response = redirect(target.url, code=302)
    secure = request.scheme == "https"
    response.set_cookie(STATE_COOKIE, target.state, max_age=int(STATE_LIFETIME.total_seconds()), httponly=True,
                        secure=secure, samesite="None" if secure else "Lax", path="/lti/")
    return response


@bp.post("/lti/launch")
def launch() -> Response | str:
    return _launch(storage_secret=None)


@bp.post("/lti/launch/storage")
def launch_with_platform_storage() -> Response | str:
    """Second step of a launch in a frame without cookies: the secret read back from the platform."""
    return _launch(storage_secret=request.form.get("storage_secret") or "")


def _launch(*, storage_secret: str | None) -> Response | str:
    now = now_utc()
    id_token, state = request.form.get("id_token", ""), request.form.get("state")
    unverified = _unverified_claims(id_token)
    try:
        _limit("launch", issuer=_text(unverified.get("iss")), user=_text(unverified.get("sub")),
               client_id=_text(unverified.get("azp")) or _text(unverified.get("aud")))
    except ratelimit.RateLimited as exc:
        return _too_many(exc, "launch")
    try:
        launched = validate_launch(db(), _key_cache(), id_token=id_token, state=state,
                                   state_cookie=request.cookies.get(STATE_COOKIE), now=now,
                                   storage_secret=storage_secret)
        deep_link = deep_link_request(launched) if launched.message_type == DEEP_LINKING_REQUEST else None
        arrival = enter_launch(db(), launched, now=now)
    except BrowserProofMissing as pending:
        db().rollback()  # nothing was used up; the same token completes the launch in step two
        return _finish_without_cookie(pending, id_token=id_token, state=state or "")
    except LaunchRefused as exc:
        return _refused(exc, "launch")
    chosen_language = session.get(SESSION_CHOICE)
    session.clear()  # a new launch is a new identity: nothing of an earlier one carries over
    if chosen_language:
        session[SESSION_CHOICE] = chosen_language
    remember_actor(arrival.actor)
    if arrival.locale:
        session[SESSION_LTI_LOCALE] = arrival.locale
    refresh()  # the language may have been chosen before the launch told us the LMS's locale
    if deep_link is not None:
        session[DEEP_LINK_KEY] = deep_link.to_session()
        html = render_template("lti/deep_link.html", arrival=arrival, can_add=arrival.actor.has(Role.TEACHER))
    elif arrival.assignment_id is not None and storage_secret is None:
        # With Platform Storage the browser blocked our cookies in this frame, so a redirect would
        # arrive without a session: the arrival page below says so and links the assignment.
        response = redirect(url_for("work.assignment", assignment_id=arrival.assignment_id), code=303)
        response.delete_cookie(STATE_COOKIE, path="/lti/")
        return response
    else:
        html = render_template("lti/arrived.html", arrival=arrival)
    response = Response(html, status=200, mimetype="text/html")
    response.delete_cookie(STATE_COOKIE, path="/lti/")
    return response


def _finish_without_cookie(pending: BrowserProofMissing, *, id_token: str, state: str) -> Response:
    """The browser blocked the frame's cookies. With Platform Storage, read the secret back from
    the platform and post it; otherwise (or if that fails) offer to open the launch in a new
    window, where the browser keeps cookies."""
    relaunch = pending.relaunch_url(_base_url() + "/lti/login")
    parts = urlsplit(pending.platform.auth_login_url)
    html = render_template("lti/launch_storage.html", id_token=id_token, state=state, relaunch=relaunch,
                           storage_target=pending.login.storage_target, storage_key=storage_key(state),
                           platform_origin=f"{parts.scheme}://{parts.netloc}")
    return Response(html, status=200, mimetype="text/html")


@bp.post("/lti/deep-link")
@require_roles(Role.TEACHER)
def deep_link_choose() -> Response | str:
    """The teacher's choice in the picker: create the assignment and return it to the LMS."""
    request_data = DeepLinkRequest.from_session(session.get(DEEP_LINK_KEY))
    if request_data is None:
        return error_response(400, _("This picker has expired. Open the activity picker in your LMS again."))
    now = now_utc()
    try:
        score = float(request.form.get("score_maximum", "100").replace(",", "."))
    except ValueError:
        score = -1.0
    try:
        assignment = create_assignment(db(), g.actor, title=request.form.get("title", ""), score_maximum=score,
                                       now=now)
    except InvalidInput as exc:
        return Response(render_template("lti/deep_link.html", arrival=None, can_add=True, problem=str(exc),
                                        title=request.form.get("title", ""),
                                        score_maximum=request.form.get("score_maximum", "100")), status=400)
    token = deep_link_response(db(), request_data, assignment, launch_url=_base_url() + "/lti/launch", now=now)
    session.pop(DEEP_LINK_KEY, None)  # one answer per picker
    return render_template("lti/deep_link_return.html", return_url=request_data.return_url, token=token,
                           assignment=assignment)


@bp.get("/lti/jwks")
@bp.get("/.well-known/jwks.json")
def jwks() -> Response:
    session = db()
    session.connection(execution_options=READ_ONLY)  # never waits behind a writer (SQLite)
    response = jsonify(published_jwks(session, now=now_utc()))
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
