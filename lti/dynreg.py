"""LTI Dynamic Registration 1.0: one-time links, and registering Adal with a platform.

An administrator makes a one-time link (``adal platform registration-link``); only its SHA-256 is
stored. The LMS administrator pastes it into the LMS, which opens it with ``openid_configuration``
and ``registration_token``. Adal then uses the link up (one ``UPDATE ... WHERE used_at IS NULL``,
before any outbound call, so a second use at the same time fails), reads the platform's OpenID
configuration, posts its own client registration and stores the platform and its deployment.
Every failure raises ``RegistrationRefused``; the caller rolls the transaction back, so a refused
registration leaves nothing behind and the link can be used again.

Canvas admins who prefer pasting a URL get :func:`canvas_configuration` (``/lti/canvas.json``).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
from flask_babel import gettext as _
from sqlalchemy import bindparam, select, update
from sqlmodel import Session

from lti.claims import AGS_SCOPES, DEEP_LINKING_REQUEST, RESOURCE_LINK_REQUEST, SCOPE_MEMBERSHIPS
from lti.errors import RegistrationRefused
from lti.models import Platform, RegistrationLink
from lti.registry import add_platform
from lti.urls import acceptable_platform_url, same_origin
from plugin.kernel import audit
from plugin.kernel.clock import iso
from plugin.kernel.errors import InvalidInput
from plugin.kernel.users import Actor

TOOL_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-tool-configuration"
PLATFORM_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-platform-configuration"
SCOPES = (*AGS_SCOPES, SCOPE_MEMBERSHIPS)
#: What Adal asks the LMS to share about a person: no e-mail (privacy by default).
CLAIMS = ("iss", "sub", "name", "given_name", "family_name", "locale")
#: Where the activity picker (deep linking) appears: the spec's ContentArea (Moodle and others)
#: and Canvas's assignment and module-link pickers.
CANVAS_PLACEMENT = "https://canvas.instructure.com/lti/"
DEEP_LINKING_PLACEMENTS = ("ContentArea", CANVAS_PLACEMENT + "assignment_selection",
                           CANVAS_PLACEMENT + "link_selection")
CANVAS_PRIVACY_LEVEL = "name_only"
TOOL_NAME = "Adal"
TOOL_DESCRIPTION = ("Academic integrity and honest use of AI: disclosure of AI use, provenance labels, "
                    "commission cases and appeals.")

TIMEOUT = (3.0, 10.0)  # connect, read (seconds)
MAX_DOCUMENT_BYTES = 256 * 1024
MAX_EXCHANGE_SECONDS = 20.0  # a platform dripping its answer byte by byte is cut off
MAX_LINK_TOKEN_CHARS = 128
MAX_REGISTRATION_TOKEN_CHARS = 8192
MAX_ID_CHARS = 255


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


# -- one-time links -------------------------------------------------------------------------------
def create_registration_link(session: Session, actor: Actor, *, now: datetime, valid_for: timedelta) -> str:
    """Record a one-time registration link; returns the secret token that goes into its URL.

    Only the token's SHA-256 is stored. Audits ``lti.registration_link_created``.
    Raises ``InvalidInput`` for a non-positive ``valid_for``.
    """
    if valid_for <= timedelta(0):
        raise InvalidInput(_("A registration link must be valid for some time."))
    token = secrets.token_urlsafe(32)
    link = RegistrationLink(token_hash=token_hash(token), created_by=actor.label, created_at=now,
                            expires_at=now + valid_for)
    session.add(link)
    session.flush()
    audit.record(session, actor, "lti.registration_link_created", now=now, subject=f"registration_link:{link.id}",
                 payload={"expires_at": iso(link.expires_at)})
    return token


_L = RegistrationLink.__table__
# One statement uses the link up and checks everything it promises (known, unused, not expired):
# of two registrations with one link at the same time, only one gets a row back.
_CLAIM_LINK = (update(_L).where(_L.c.token_hash == bindparam("p_hash"), _L.c.used_at.is_(None),
                               _L.c.expires_at > bindparam("p_now", type_=_L.c.expires_at.type))
               .values(used_at=bindparam("p_used_at", type_=_L.c.used_at.type))
               .returning(_L.c.id, _L.c.created_by))
_LINK_BY_HASH = select(_L.c.used_at, _L.c.expires_at).where(_L.c.token_hash == bindparam("p_hash"))
_SET_LINK_PLATFORM = update(_L).where(_L.c.id == bindparam("p_id")).values(platform_id=bindparam("p_platform"))


def _refuse_link(code: str) -> RegistrationRefused:
    messages = {
        "unknown_link": _("This registration link is not valid. Ask Adal's administrator for a new one "
                          "(adal platform registration-link)."),
        "used_link": _("This registration link was already used; each link works once. Ask Adal's "
                       "administrator for a new one."),
        "expired_link": _("This registration link has expired. Ask Adal's administrator for a new one."),
    }
    return RegistrationRefused(code, messages[code])


def _claim_link(session: Session, token: str, now: datetime) -> tuple[int, str]:
    """Use the link up; returns its id and creator. Raises ``RegistrationRefused``."""
    if not token or len(token) > MAX_LINK_TOKEN_CHARS:
        raise _refuse_link("unknown_link")
    digest = token_hash(token)
    claimed = session.execute(_CLAIM_LINK, {"p_hash": digest, "p_now": now, "p_used_at": now}).first()
    if claimed is not None:
        return int(claimed[0]), str(claimed[1])
    found = session.execute(_LINK_BY_HASH, {"p_hash": digest}).first()  # say why, now that it is refused
    if found is None:
        raise _refuse_link("unknown_link")
    if found[0] is not None:
        raise _refuse_link("used_link")
    raise _refuse_link("expired_link")


# -- talking to the platform ---------------------------------------------------------------------
def acceptable_url(url: object) -> bool:
    """``lti.urls.acceptable_platform_url``, and false (not ``ValueError``) for a URL that urllib
    cannot take apart: a broken IPv6 literal, a port that is not a number or out of range."""
    if not isinstance(url, str):
        return False
    try:
        urlsplit(url).port  # noqa: B018 -- parsing the port is the check
        return acceptable_platform_url(url)
    except ValueError:
        return False


def _unreachable() -> RegistrationRefused:
    return RegistrationRefused("lms_unreachable", _(
        "Adal could not get an answer from the LMS in time. Nothing was registered; the link can be used "
        "again. Try again in a minute."), status=502)


def _exchange(http: requests.Session, method: str, url: str, *, headers: dict[str, str],
              body: dict[str, Any] | None = None) -> tuple[int, bytes]:
    """One request with timeouts, no redirects and a size cap; returns (status, body)."""
    started = time.monotonic()
    try:
        with http.request(method, url, headers=headers, json=body, timeout=TIMEOUT, stream=True,
                          allow_redirects=False) as response:
            status = response.status_code
            chunks: list[bytes] = []
            size = 0
            # iter_content (not raw.read) so that urllib3's read errors arrive as RequestException
            for chunk in response.iter_content(chunk_size=64 * 1024):
                size += len(chunk)
                if size > MAX_DOCUMENT_BYTES or time.monotonic() - started > MAX_EXCHANGE_SECONDS:
                    raise _unreachable()
                chunks.append(chunk)
    except requests.RequestException:
        raise _unreachable() from None
    return status, b"".join(chunks)


def _json_object(data: bytes) -> dict[str, Any] | None:
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None
    return document if isinstance(document, dict) else None


def _headers(registration_token: str | None) -> dict[str, str]:
    headers = {"Accept": "application/json"}
    if registration_token:
        headers["Authorization"] = f"Bearer {registration_token}"
    return headers


def _bad_configuration(detail: str) -> RegistrationRefused:
    return RegistrationRefused("bad_configuration", _(
        "The LMS's registration details cannot be trusted: %(detail)s. Nothing was registered.", detail=detail))


def _read_configuration(http: requests.Session, url: str, registration_token: str | None) -> dict[str, Any]:
    status, data = _exchange(http, "GET", url, headers=_headers(registration_token))
    if status != 200:
        raise RegistrationRefused("configuration_unavailable", _(
            "The LMS did not give its registration details (HTTP %(status)d). Nothing was registered.",
            status=status), status=502)
    config = _json_object(data)
    if config is None:
        raise RegistrationRefused("configuration_unavailable", _(
            "The LMS's registration details are not valid JSON. Nothing was registered."), status=502)
    issuer = config.get("issuer")
    if not acceptable_url(issuer) or not same_origin(issuer, url):
        raise _bad_configuration(_("its issuer is not the address the details came from"))
    for name in ("authorization_endpoint", "token_endpoint", "jwks_uri", "registration_endpoint"):
        if not acceptable_url(config.get(name)):
            raise _bad_configuration(_("%(name)s is missing or not an https address", name=name))
    return config


def _messages_supported(config: dict[str, Any]) -> set[str] | None:
    """The message types the platform announces (objects per the spec, strings in Moodle), or None."""
    announced = (config.get(PLATFORM_CONFIGURATION) or {})
    listed = announced.get("messages_supported") if isinstance(announced, dict) else None
    if not isinstance(listed, list):
        return None
    return {str(m.get("type")) if isinstance(m, dict) else str(m) for m in listed}


def _product(config: dict[str, Any]) -> str | None:
    announced = config.get(PLATFORM_CONFIGURATION)
    code = announced.get("product_family_code") if isinstance(announced, dict) else None
    return code[:100] if isinstance(code, str) and code.isprintable() else None


def tool_urls(base_url: str) -> dict[str, str]:
    base = base_url.rstrip("/")
    return {"login": base + "/lti/login", "launch": base + "/lti/launch", "jwks": base + "/lti/jwks",
            "icon": base + "/static/favicon.svg", "domain": urlsplit(base).netloc}


def registration_request(base_url: str, *, deep_linking: bool = True) -> dict[str, Any]:
    """Adal's client registration (LTI Dynamic Registration 1.0, section 3.5)."""
    urls = tool_urls(base_url)
    messages: list[dict[str, Any]] = [
        {"type": RESOURCE_LINK_REQUEST, "target_link_uri": urls["launch"], "label": TOOL_NAME},
    ]
    if deep_linking:
        messages.append({"type": DEEP_LINKING_REQUEST, "target_link_uri": urls["launch"], "label": TOOL_NAME,
                         "placements": list(DEEP_LINKING_PLACEMENTS), "supported_types": ["ltiResourceLink"]})
    return {
        "application_type": "web",
        "response_types": ["id_token"],
        "grant_types": ["implicit", "client_credentials"],
        "initiate_login_uri": urls["login"],
        "redirect_uris": [urls["launch"]],
        "client_name": TOOL_NAME,
        "jwks_uri": urls["jwks"],
        "logo_uri": urls["icon"],
        "token_endpoint_auth_method": "private_key_jwt",
        "scope": " ".join(SCOPES),
        TOOL_CONFIGURATION: {
            "domain": urls["domain"],
            "target_link_uri": urls["launch"],
            "description": TOOL_DESCRIPTION,
            "claims": list(CLAIMS),
            "messages": messages,
            "https://canvas.instructure.com/lti/privacy_level": CANVAS_PRIVACY_LEVEL,
        },
    }


def _short_reason(data: bytes) -> str:
    """The platform's own reason for a refusal, shortened to one printable line."""
    document = _json_object(data)
    if document is not None:
        text = " ".join(str(document.get(k)) for k in ("error", "error_description") if document.get(k))
    else:
        text = data[:500].decode("utf-8", errors="replace")
    text = "".join(ch if ch.isprintable() else " " for ch in text).strip()
    return " ".join(text.split())[:200] or "-"


def _identifier(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value).strip()
    return text if text and len(text) <= MAX_ID_CHARS and text.isprintable() else None


def _register(http: requests.Session, endpoint: str, registration_token: str | None,
              body: dict[str, Any]) -> tuple[str, str]:
    """Post the registration; returns (client_id, deployment_id)."""
    status, data = _exchange(http, "POST", endpoint, headers=_headers(registration_token), body=body)
    if 400 <= status < 500:
        raise RegistrationRefused("registration_rejected", _(
            "The LMS refused the registration (HTTP %(status)d: %(reason)s). Nothing was registered; the link "
            "can be used again.", status=status, reason=_short_reason(data)))
    if status not in (200, 201):
        raise RegistrationRefused("registration_failed", _(
            "The LMS could not complete the registration (HTTP %(status)d). Nothing was registered; the link "
            "can be used again.", status=status), status=502)
    answer = _json_object(data) or {}
    tool = answer.get(TOOL_CONFIGURATION)
    client_id = _identifier(answer.get("client_id"))
    deployment_id = _identifier(tool.get("deployment_id")) if isinstance(tool, dict) else None
    if client_id is None or deployment_id is None:
        raise RegistrationRefused("bad_registration_response", _(
            "The LMS accepted the registration but did not return a client id and a deployment id. Nothing was "
            "registered in Adal; remove the half-made tool in the LMS and register Adal by hand "
            "(adal platform add)."), status=502)
    return client_id, deployment_id


def register_with_link(session: Session, *, token: str, openid_configuration_url: str,
                       registration_token: str | None, base_url: str, now: datetime,
                       http: requests.Session | None = None) -> Platform:
    """Register Adal with the platform that opened the one-time link ``token``.

    Uses the link up first, then reads the platform's OpenID configuration, posts Adal's client
    registration and stores the platform and its deployment (``lti.registry.add_platform``, no
    automatic deployments). Audits ``lti.platform_registered``. Raises ``RegistrationRefused``
    (unknown, used or expired link; untrusted or unreachable platform; refused registration): the
    caller must roll back, which also makes the link usable again.
    """
    link_id, created_by = _claim_link(session, token, now)
    if not openid_configuration_url:
        raise RegistrationRefused("incomplete", _(
            "The LMS opened this link without its registration details (openid_configuration). Paste the link "
            "into the LMS's tool registration page."))
    if len(openid_configuration_url) > 2000 or not acceptable_url(openid_configuration_url):
        raise RegistrationRefused("untrusted_configuration_url", _(
            "The LMS's registration details must come from an https address."))
    if registration_token is not None and (len(registration_token) > MAX_REGISTRATION_TOKEN_CHARS
                                           or not registration_token.isprintable() or " " in registration_token):
        raise RegistrationRefused("incomplete", _("The LMS sent a registration token Adal cannot use."))
    own_http = http is None
    client = requests.Session() if http is None else http
    try:
        config = _read_configuration(client, openid_configuration_url, registration_token)
        supported = _messages_supported(config)
        body = registration_request(base_url, deep_linking=supported is None or DEEP_LINKING_REQUEST in supported)
        client_id, deployment_id = _register(client, config["registration_endpoint"], registration_token, body)
    finally:
        if own_http:
            client.close()
    audience = config.get("authorization_server")
    actor = Actor.system(f"registration_link:{link_id}")
    try:
        platform = add_platform(session, actor, issuer=config["issuer"], client_id=client_id,
                                deployment_id=deployment_id, keyset_url=config["jwks_uri"],
                                auth_login_url=config["authorization_endpoint"],
                                auth_token_url=config["token_endpoint"],
                                auth_audience=audience if isinstance(audience, str) and audience else None,
                                auto_register_deployments=False, now=now)
    except InvalidInput as exc:
        raise RegistrationRefused("conflict", str(exc)) from None
    session.execute(_SET_LINK_PLATFORM, {"p_id": link_id, "p_platform": platform.id})
    audit.record(session, actor, "lti.platform_registered", now=now, subject=f"platform:{platform.id}",
                 payload={"issuer": platform.issuer, "client_id": client_id, "deployment_id": deployment_id,
                          "product": _product(config), "link": link_id, "link_created_by": created_by,
                          "registration_endpoint": config["registration_endpoint"]})
    session.flush()
    return platform


# -- Canvas JSON configuration -------------------------------------------------------------------
def canvas_configuration(base_url: str) -> dict[str, Any]:
    """Canvas's LTI 1.3 JSON configuration (Developer Keys → LTI Key → Enter URL)."""
    urls = tool_urls(base_url)
    placements = [{"placement": name, "message_type": DEEP_LINKING_REQUEST, "target_link_uri": urls["launch"],
                   "text": TOOL_NAME, "icon_url": urls["icon"]}
                  for name in ("assignment_selection", "link_selection")]
    return {
        "title": TOOL_NAME,
        "description": TOOL_DESCRIPTION,
        "oidc_initiation_url": urls["login"],
        "target_link_uri": urls["launch"],
        "public_jwk_url": urls["jwks"],
        "scopes": list(SCOPES),
        "extensions": [{
            "platform": "canvas.instructure.com",
            "domain": urls["domain"],
            "privacy_level": CANVAS_PRIVACY_LEVEL,
            "settings": {"text": TOOL_NAME, "icon_url": urls["icon"], "placements": placements},
        }],
        "custom_fields": {},
    }
