"""OIDC login and id_token launch validation, stricter than pylti1p3's defaults.

pylti1p3's MessageLaunch accepts a replayed token (its nonce is never used up), accepts an ``aud``
list without checking ``azp``, fetches keys without a timeout and never refetches on an unknown
``kid``. Adal validates here instead, in this order: size and header (RS256 only, ``jku``/``x5u``
ignored), registration, signature and registered claims (``now`` passed in, small leeway), claim
types, message type (pylti1p3's own message validators), state bound to the browser, the
single-use nonce, and the deployment.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

import jwt
from flask_babel import gettext as _
from pylti1p3.exception import LtiException
from pylti1p3.message_validators import get_validators
from sqlalchemy import bindparam, delete, update
from sqlmodel import Session

from lti import claims as c
from lti.errors import LaunchRefused
from lti.jwks import PlatformKeyCache
from lti.models import LoginState, Platform
from lti.registry import check_deployment, find_platform
from lti.urls import same_origin
from plugin.kernel.runtime import runtime_of

LEEWAY = timedelta(seconds=60)
STATE_LIFETIME = timedelta(minutes=10)
MAX_TOKEN_CHARS = 64 * 1024


# -- login --------------------------------------------------------------------------------------
STORAGE_TARGET = re.compile(r"_parent|[A-Za-z0-9_.-]{1,64}")


@dataclass(frozen=True)
class LoginRedirect:
    url: str
    state: str
    storage_target: str | None = None  # LTI Platform Storage offered: put the secret there first
    storage_secret: str | None = None

    @property
    def storage_key(self) -> str:
        return storage_key(self.state)

    @property
    def platform_origin(self) -> str:
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}"


def storage_key(state: str) -> str:
    """The key under which the platform keeps the browser secret of one login."""
    return f"adal_state_{state}"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def begin_login(session: Session, params: dict[str, str], *, launch_url: str, now: datetime) -> LoginRedirect:
    """Record a login state and nonce and build the redirect to the platform's auth endpoint.

    The ``redirect_uri`` is always Adal's own launch URL; ``target_link_uri`` must point at Adal.
    Raises ``LaunchRefused`` for missing parameters, an unknown issuer or client, or an off-site target.
    """
    issuer, login_hint = params.get("iss", ""), params.get("login_hint", "")
    target = params.get("target_link_uri", "")
    if not issuer or not login_hint or not target:
        raise LaunchRefused("login_incomplete", _(
            "The LMS started the login without the required parameters (iss, login_hint, target_link_uri)."))
    platform = find_platform(session, issuer, params.get("client_id") or None)
    if platform is None:
        raise LaunchRefused("unknown_platform", _(
            "This LMS is not registered with Adal. Ask your administrator to register it."))
    if not same_origin(target, launch_url):
        raise LaunchRefused("offsite_target", _("The launch asked to go to an address outside Adal."))
    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    storage_target = params.get("lti_storage_target") or None
    if storage_target is not None and not STORAGE_TARGET.fullmatch(storage_target):
        storage_target = None  # not a frame name: use cookies only
    storage_secret = secrets.token_urlsafe(32) if storage_target else None
    session.add(LoginState(
        state=state, nonce=nonce, platform_id=platform.id, target_link_uri=target, created_at=now,
        expires_at=now + STATE_LIFETIME, login_hint=login_hint[:1000],
        message_hint=params.get("lti_message_hint") or None,
        deployment_hint=(params.get("lti_deployment_id") or None) and params["lti_deployment_id"][:255],
        storage_target=storage_target, storage_secret_hash=_digest(storage_secret) if storage_secret else None))
    session.flush()
    query = {
        "scope": "openid", "response_type": "id_token", "response_mode": "form_post", "prompt": "none",
        "client_id": platform.client_id, "redirect_uri": launch_url, "login_hint": login_hint,
        "state": state, "nonce": nonce,
    }
    if params.get("lti_message_hint"):
        query["lti_message_hint"] = params["lti_message_hint"]
    separator = "&" if "?" in platform.auth_login_url else "?"
    return LoginRedirect(url=platform.auth_login_url + separator + urlencode(query), state=state,
                         storage_target=storage_target, storage_secret=storage_secret)


# -- launch -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Launch:
    platform: Platform
    claims: dict[str, Any]
    target_link_uri: str

    @property
    def message_type(self) -> str:
        return str(self.claims[c.MESSAGE_TYPE])


def _refuse(code: str) -> LaunchRefused:
    messages = {
        "malformed": _("The launch token is not a valid signed token."),
        "bad_alg": _("The launch token is signed with an algorithm Adal does not accept."),
        "bad_audience": _("The launch token was not addressed to Adal."),
        "unknown_platform": _("This LMS is not registered with Adal. Ask your administrator to register it."),
        "bad_signature": _("The launch token's signature is not valid."),
        "expired": _("The launch token has expired. Open Adal again from your course."),
        "not_yet_valid": _("The launch token is not valid yet. Check the LMS server's clock."),
        "bad_claims": _("The launch token lacks required information or has it in the wrong form."),
        "unsupported_message": _("Adal does not handle this kind of LTI message."),
        "state_missing": _("The login state is missing. Open Adal again from your course."),
        "state_unknown": _("This login is unknown or has expired. Open Adal again from your course."),
        "state_mismatch": _("This launch did not start in this browser. Open Adal again from your course."),
        "replay": _("This launch was already used. Open Adal again from your course."),
        "nonce_mismatch": _("This launch does not match the login it came from."),
    }
    return LaunchRefused(code, messages[code])


def _is_str(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _check_claim_types(body: dict[str, Any]) -> None:
    for name in ("iss", "sub", "nonce", c.DEPLOYMENT_ID, c.MESSAGE_TYPE, c.VERSION):
        if not _is_str(body.get(name)):
            raise _refuse("bad_claims")
    for name in ("exp", "iat"):
        if isinstance(body.get(name), bool) or not isinstance(body.get(name), int | float):
            raise _refuse("bad_claims")
    roles = body.get(c.ROLES, [])
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise _refuse("bad_claims")
    for name in (c.CONTEXT, c.RESOURCE_LINK, c.CUSTOM, c.LAUNCH_PRESENTATION):
        if name in body and not isinstance(body[name], dict):
            raise _refuse("bad_claims")
    for name in ("name", "given_name", "family_name", "email", "locale"):
        if name in body and not isinstance(body[name], str):
            raise _refuse("bad_claims")
    if c.CONTEXT in body and not _is_str(body[c.CONTEXT].get("id")):
        raise _refuse("bad_claims")
    if body[c.VERSION] != "1.3.0":
        raise _refuse("unsupported_message")
    if body[c.MESSAGE_TYPE] not in c.MESSAGE_TYPES:
        raise _refuse("unsupported_message")
    if body[c.MESSAGE_TYPE] == c.RESOURCE_LINK_REQUEST and not _is_str(body.get(c.RESOURCE_LINK, {}).get("id")):
        raise _refuse("bad_claims")


def _check_with_pylti1p3(body: dict[str, Any]) -> None:
    """pylti1p3's message validators (resource link, deep linking) as a second opinion."""
    try:
        matched = [v for v in get_validators() if v.can_validate(body)]
        if len(matched) != 1 or not matched[0].validate(body):
            raise _refuse("unsupported_message")
    except LtiException:
        raise _refuse("bad_claims") from None


def _check_times(body: dict[str, Any], now: datetime) -> None:
    t = now.timestamp()
    leeway = LEEWAY.total_seconds()
    if body["exp"] <= t - leeway:
        raise _refuse("expired")
    if body["iat"] > t + leeway:
        raise _refuse("not_yet_valid")
    nbf = body.get("nbf")
    if nbf is not None and (isinstance(nbf, bool) or not isinstance(nbf, int | float) or nbf > t + leeway):
        raise _refuse("not_yet_valid")


# Built once: they run on every launch. Using the login state is one statement that also checks
# everything the state promises (platform, nonce, expiry, unused), so two concurrent launches of
# one token cannot both succeed.
_T = LoginState.__table__
_CONSUME_STATE = (update(_T).where(_T.c.state == bindparam("p_state"), _T.c.used_at.is_(None),
                                  _T.c.platform_id == bindparam("p_platform"), _T.c.nonce == bindparam("p_nonce"),
                                  _T.c.expires_at > bindparam("p_now", type_=_T.c.expires_at.type))
                  .values(used_at=bindparam("p_used_at", type_=_T.c.used_at.type))
                  .returning(_T.c.target_link_uri))


def _use_login_state(session: Session, *, state: str, platform_id: int, nonce: str, now: datetime) -> str:
    """Use the login state and its nonce up; returns the target link. Raises ``LaunchRefused``."""
    target = session.execute(_CONSUME_STATE, {"p_state": state, "p_platform": platform_id, "p_nonce": nonce,
                                              "p_now": now, "p_used_at": now}).scalar()
    if target is None:  # say why, now that it is refused anyway
        login = session.get(LoginState, state)
        if login is None or login.platform_id != platform_id or login.expires_at <= now:
            raise _refuse("state_unknown")
        if login.used_at is not None:
            raise _refuse("replay")
        raise _refuse("nonce_mismatch")
    redis_url = runtime_of(session).redis_url
    if redis_url:
        # Several machines: Redis is the one place all of them see at once.
        from lti.nonces import NonceStoreUnavailable, claim_in_redis

        try:
            first = claim_in_redis(redis_url, nonce, ttl=STATE_LIFETIME + LEEWAY)
        except NonceStoreUnavailable:
            raise LaunchRefused("nonce_store_unavailable", _(
                "Adal cannot check this launch right now. Try again in a minute; if it keeps happening, "
                "tell your administrator."), status=503) from None
        if not first:
            raise _refuse("replay")
    return str(target)


class BrowserProofMissing(Exception):
    """A valid launch came back without the state cookie (a frame whose cookies the browser
    blocks). Nothing was used up; ``login`` says how to finish: Platform Storage or a new window."""

    def __init__(self, login: LoginState, platform: Platform) -> None:
        super().__init__("the browser returned no proof of the login")
        self.login, self.platform = login, platform

    def relaunch_url(self, login_url: str) -> str:
        """Our own login URL with what the platform sent, to start again in a top-level window."""
        query = {"iss": self.platform.issuer, "login_hint": self.login.login_hint or "",
                 "target_link_uri": self.login.target_link_uri, "client_id": self.platform.client_id}
        if self.login.message_hint:
            query["lti_message_hint"] = self.login.message_hint
        if self.login.deployment_hint:
            query["lti_deployment_id"] = self.login.deployment_hint
        return login_url + "?" + urlencode(query)


def validate_launch(session: Session, keys: PlatformKeyCache, *, id_token: str, state: str | None,
                    state_cookie: str | None, now: datetime, storage_secret: str | None = None) -> Launch:
    """Validate a launch POST. Raises ``LaunchRefused`` naming the first failed check.

    The browser proves it started the login with the state cookie or, where the platform keeps
    data for frames (LTI Platform Storage), with the secret Adal put there. Without either, a
    launch that is otherwise valid raises ``BrowserProofMissing`` and uses nothing up.
    """
    if not id_token or len(id_token) > MAX_TOKEN_CHARS:
        raise _refuse("malformed")
    try:
        parsed = jwt.api_jwt.decode_complete(id_token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise _refuse("malformed") from None
    header, unverified = parsed["header"], parsed["payload"]
    if not isinstance(unverified, dict):
        raise _refuse("malformed")
    if header.get("alg") != "RS256":
        raise _refuse("bad_alg")
    kid = header.get("kid")
    issuer, aud = unverified.get("iss"), unverified.get("aud")
    if not isinstance(kid, str) or not _is_str(issuer):
        raise _refuse("malformed")
    if isinstance(aud, str):
        client_id = aud
        if "azp" in unverified and unverified["azp"] != aud:
            raise _refuse("bad_audience")
    elif isinstance(aud, list) and aud and all(isinstance(a, str) for a in aud):
        client_id = unverified.get("azp")
        if not _is_str(client_id) or client_id not in aud:
            raise _refuse("bad_audience")
    else:
        raise _refuse("bad_audience")
    platform = find_platform(session, issuer, client_id)
    if platform is None:
        raise _refuse("unknown_platform")
    key = keys.key_for(platform.keyset_url, kid)
    try:
        body = jwt.decode(id_token, key, algorithms=["RS256"], audience=client_id, issuer=issuer,
                          options={"verify_exp": False, "verify_iat": False, "verify_nbf": False,
                                   "require": ["exp", "iat", "sub", "nonce", "aud", "iss"]})
    except jwt.MissingRequiredClaimError:
        raise _refuse("bad_claims") from None
    except jwt.InvalidAudienceError:
        raise _refuse("bad_audience") from None
    except jwt.PyJWTError:
        raise _refuse("bad_signature") from None
    _check_claim_types(body)
    _check_times(body, now)
    _check_with_pylti1p3(body)
    if not state:
        raise _refuse("state_missing")
    if state_cookie is not None:
        if not secrets.compare_digest(state_cookie, state):
            raise _refuse("state_mismatch")
    else:
        login = session.get(LoginState, state)
        if login is None or login.platform_id != platform.id or login.expires_at <= now:
            raise _refuse("state_unknown")
        if login.used_at is not None:
            raise _refuse("replay")
        if not secrets.compare_digest(str(body["nonce"]), login.nonce):
            raise _refuse("nonce_mismatch")
        if storage_secret is None:
            raise BrowserProofMissing(login, platform)
        if login.storage_secret_hash is None or not secrets.compare_digest(_digest(storage_secret),
                                                                           login.storage_secret_hash):
            raise _refuse("state_mismatch")
    target = _use_login_state(session, state=state, platform_id=platform.id, nonce=str(body["nonce"]), now=now)
    check_deployment(session, platform, body[c.DEPLOYMENT_ID], now=now)
    return Launch(platform=platform, claims=body, target_link_uri=target)


def purge_login_states(session: Session, *, now: datetime) -> int:
    """Delete login states that expired over an hour ago; returns how many. For cron."""
    result = session.execute(delete(LoginState).where(LoginState.expires_at < now - timedelta(hours=1)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
