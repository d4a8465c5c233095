"""Dynamic Registration and Canvas configuration endpoints. Thin: parse, call, render."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, g, jsonify, render_template, request

from lti.dynreg import acceptable_url, canvas_configuration, register_with_link
from lti.errors import RegistrationRefused, record_refusal
from plugin.kernel.clock import now_utc
from plugin.kernel.web import ERROR_TEXTS, correlation_id, db, error_response

bp = Blueprint("lti_registration", __name__, template_folder="templates")
#: An origin that may go into a CSP header: scheme, host name or IP literal, port; nothing else.
_ORIGIN = re.compile(r"https?://(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")


def _base_url() -> str:
    return current_app.config.get("ADAL_BASE_URL") or request.host_url.rstrip("/")


def _origin(url: str | None) -> str | None:
    if not url or not acceptable_url(url):
        return None
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}"
    return origin if _ORIGIN.fullmatch(origin) else None


def _let_the_lms_frame_this_page() -> None:
    """The LMS shows the registration page in its own frame, usually before ADAL_FRAME_ANCESTORS
    names it: allow the origins of its configuration URL and of the page that framed us, for this
    response only (``plugin.kernel.web`` adds ``g.frame_ancestors_extra`` to frame-ancestors). The
    page has no action but Close, so a frame elsewhere gains an attacker nothing."""
    origins = {_origin(request.args.get("openid_configuration")), _origin(request.referrer)}
    g.frame_ancestors_extra = tuple(sorted(o for o in origins if o))


def _refused(exc: RegistrationRefused) -> Response:
    """A translated 4xx/502 page, an audit entry in its own transaction, and no session.

    The page is the standard error page (``errors/error.html``, as ``error_response`` renders it)
    with a Close button, so that the LMS's registration dialog can be closed.
    """
    record_refusal("lti.registration_refused", exc)  # the link is usable again: nothing of the request stays
    title, text = ERROR_TEXTS.get(exc.status, ERROR_TEXTS[500])
    html = render_template("lti/registration_failed.html", status=exc.status, title=title(), text=text(),
                           detail=exc.message, correlation_id=correlation_id(), bare=True)
    return Response(html, status=exc.status, mimetype="text/html")


# GET only: the LMS opens the link in an iframe or a popup. (Flask answers HEAD for a GET route,
# so HEAD is turned away here rather than registering anything.)
@bp.get("/lti/register", defaults={"token": ""})
@bp.get("/lti/register/", defaults={"token": ""})
@bp.get("/lti/register/<token>")
def register(token: str) -> Response:
    if request.method != "GET":
        return error_response(405, bare=True)
    _let_the_lms_frame_this_page()
    try:
        platform = register_with_link(db(), token=token,
                                      openid_configuration_url=request.args.get("openid_configuration", ""),
                                      registration_token=request.args.get("registration_token") or None,
                                      base_url=_base_url(), now=now_utc())
    except RegistrationRefused as exc:
        return _refused(exc)
    html = render_template("lti/registered.html", platform=platform, bare=True)
    return Response(html, status=200, mimetype="text/html")


@bp.get("/lti/canvas.json")
def canvas_json() -> Response:
    return jsonify(canvas_configuration(_base_url()))
