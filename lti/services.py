"""LTI Advantage services behind the kernel's ports: grades (AGS 2.0) and roster (NRPS 2.0).

A launch tells Adal which services the platform offers for its course (``record_context_services``).
Calls to them carry an OAuth2 access token from the platform's token endpoint, got with the
client-credentials grant and a JWT client assertion signed by Adal's tool key (RFC 7523, LTI
Security Framework 1.0 §4.1) and cached per process until shortly before it expires
(``PlatformTokens``). ``LtiServices`` implements ``GradePort`` and ``RosterPort``.

Every outbound request goes only to an https address (http only on this machine) of the
registered platform: one the administrator registered or one the platform itself named in a signed
launch. Every request has a connect and a read timeout, follows no redirect and reads a bounded
answer; whatever goes wrong becomes a ``ServiceRefused`` with a translated message, and nothing is
recorded. Each call that succeeds writes its audit entry in a session of its own, committed at once.

The services open their own sessions and never hold one across an HTTP call. On SQLite every
writing transaction takes the database's write lock, so call the ports after the request's own
session committed (or from a job), not in the middle of a request that has written.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import jwt
import requests
from flask_babel import gettext as _
from requests.utils import parse_header_links
from sqlmodel import Session, select

from lti.claims import (
    AGS_ENDPOINT,
    NRPS_SERVICE,
    SCOPE_LINEITEM,
    SCOPE_MEMBERSHIPS,
    SCOPE_SCORE,
)
from lti.keys import signing_key
from lti.models import ContextServices, Platform
from lti.urls import acceptable_platform_url
from plugin.kernel import audit
from plugin.kernel.clock import ensure_utc, now_utc
from plugin.kernel.db import READ_ONLY, upsert
from plugin.kernel.errors import AdalError
from plugin.kernel.ports import RosterMember, ScoreUpdate
from plugin.kernel.runtime import Runtime

log = logging.getLogger("adal.lti.services")

AGS_CLAIM = AGS_ENDPOINT
NRPS_CLAIM = NRPS_SERVICE

MEDIA_SCORE = "application/vnd.ims.lis.v1.score+json"
MEDIA_LINEITEM = "application/vnd.ims.lis.v2.lineitem+json"
MEDIA_LINEITEMS = "application/vnd.ims.lis.v2.lineitemcontainer+json"
MEDIA_MEMBERSHIPS = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

ACTIVITY_PROGRESS = frozenset({"Initialized", "Started", "InProgress", "Submitted", "Completed"})
GRADING_PROGRESS = frozenset({"FullyGraded", "Pending", "PendingManual", "Failed", "NotReady"})

DEFAULT_TIMEOUT = (3.0, 10.0)  # (connect, read) seconds
ASSERTION_LIFETIME_SECONDS = 300
TOKEN_MARGIN_SECONDS = 30.0  # a cached token is dropped this long before the platform says it expires
DEFAULT_TOKEN_LIFETIME_SECONDS = 300.0  # when the token answer has no expires_in
MAX_TOKEN_ANSWER_BYTES = 64 * 1024
MAX_ANSWER_BYTES = 8 * 1024 * 1024  # one page of line items or members
MAX_PAGES = 100
MAX_MEMBERS = 50_000
MAX_SCOPES = 20
SERVICES_ACTOR = "system:lti-services"

_OAUTH_ERROR = re.compile(r"[a-z_]{1,40}")
_TOKEN_CHARS = re.compile(r"[\x21-\x7e]{1,4096}")  # printable ASCII without spaces: safe in a header


class ServiceRefused(AdalError):
    """An LMS service call did not succeed. ``code`` is for logs and counting, ``message`` for people."""

    status = 502

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


_MESSAGES: dict[str, Callable[[Mapping[str, object]], str]] = {
    "service_not_offered": lambda p: _(
        "The LMS has not offered this service for this course. Open Adal once from the course in the LMS, "
        "then try again."),
    "scope_missing": lambda p: _(
        "The LMS has not allowed Adal to use this service in this course. Ask your administrator to allow "
        "grades and roster for Adal in the LMS."),
    "url_refused": lambda p: _(
        "The LMS named an address outside the registered LMS, or one without https. Adal sent nothing there."),
    "token_refused": lambda p: _(
        "The LMS refused Adal access to its grade and roster services (%(reason)s). Ask your administrator "
        "to check Adal's registration in the LMS.", reason=p["reason"]),
    "service_unavailable": lambda p: _(
        "Adal could not reach the LMS's grade and roster services in time. Try again in a minute; if it "
        "keeps happening, tell your administrator."),
    "service_refused": lambda p: _(
        "The LMS refused the request (HTTP status %(status)s). Ask your administrator to check Adal's "
        "settings in the LMS.", status=p["status"]),
    "bad_response": lambda p: _(
        "The LMS answered in a form Adal does not understand. Ask your administrator to check Adal's "
        "settings in the LMS."),
    "roster_too_large": lambda p: _(
        "The course roster is larger than Adal reads at once (at most %(members)s people in %(pages)s pages).",
        members=p["members"], pages=p["pages"]),
}


def _refusal(code: str, **params: object) -> ServiceRefused:
    return ServiceRefused(code, _MESSAGES[code](params))


# -- what a launch offers -------------------------------------------------------------------------
def _claim_url(value: Any) -> str | None:
    if isinstance(value, str) and len(value) <= 1000 and acceptable_platform_url(value):
        return value
    return None


def _claim_scopes(value: Any) -> str:
    if not isinstance(value, list):
        return ""
    scopes = {s for s in value if isinstance(s, str) and 0 < len(s) <= 200 and s.isprintable() and " " not in s}
    return " ".join(sorted(scopes)[:MAX_SCOPES])


def record_context_services(session: Session, *, platform_id: int, course_id: int, claims: Mapping[str, Any],
                            now: datetime) -> int | None:
    """Store the AGS and NRPS endpoints a validated launch offers for its course; returns the row's id.

    The latest launch that carries either claim decides what is kept: the AGS ``lineitems`` URL and
    ``scope`` list, and the NRPS ``context_memberships_url``; a service the launch does not offer
    is cleared. A URL that is not https (http only on loopback) is not stored. A launch carrying
    neither claim changes nothing and returns None. One statement (an upsert), as it runs on every
    launch; raises nothing for malformed claims (they are ignored) and writes no audit entry (the
    launch audits itself).
    """
    ags, nrps = claims.get(AGS_CLAIM), claims.get(NRPS_CLAIM)
    ags = ags if isinstance(ags, dict) else None
    nrps = nrps if isinstance(nrps, dict) else None
    if ags is None and nrps is None:
        return None
    values = {
        "course_id": course_id, "platform_id": platform_id,
        "lineitems_url": _claim_url(ags.get("lineitems")) if ags else None,
        "ags_scopes": _claim_scopes(ags.get("scope")) if ags else "",
        "memberships_url": _claim_url(nrps.get("context_memberships_url")) if nrps else None,
        "updated_at": now,
    }
    return upsert(session, ContextServices.__table__, values, keys=("course_id",),
                  update=("platform_id", "lineitems_url", "ags_scopes", "memberships_url", "updated_at"))


# -- HTTP -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Reply:
    url: str
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        """The answer as JSON. Raises ``ServiceRefused`` (``bad_response``) when it is not."""
        try:
            return json.loads(self.body)
        except ValueError:
            raise _refusal("bad_response") from None

    def next_page(self) -> str | None:
        """The ``Link: <...>; rel="next"`` address, resolved against this page's, or None."""
        for link in parse_header_links(self.headers.get("Link", "")):
            if "next" in link.get("rel", "").split():
                return urljoin(self.url, link["url"])
        return None


def _exchange(http: requests.Session, method: str, url: str, *, timeout: tuple[float, float], limit: int,
              headers: Mapping[str, str], data: bytes | Mapping[str, str] | None = None) -> _Reply:
    """One request without redirects, its answer read within the timeouts and ``limit`` bytes.

    Raises ``ServiceRefused``: ``service_unavailable`` when the platform cannot be reached or is too
    slow, ``bad_response`` for an answer longer than ``limit``.
    """
    deadline = time.monotonic() + timeout[0] + timeout[1]  # a trickling answer cannot hold Adal longer
    try:
        with http.request(method, url, headers=dict(headers), data=data, timeout=timeout, allow_redirects=False,
                          stream=True) as response:
            chunks, size = [], 0
            for chunk in response.iter_content(64 * 1024):
                size += len(chunk)
                if size > limit:
                    log.warning("%s %s: answer longer than %d bytes", method, url, limit)
                    raise _refusal("bad_response")
                if time.monotonic() > deadline:
                    log.warning("%s %s: answer not complete within %s s", method, url, sum(timeout))
                    raise _refusal("service_unavailable")
                chunks.append(chunk)
            return _Reply(url=url, status=response.status_code, headers=response.headers, body=b"".join(chunks))
    except requests.RequestException as exc:
        log.warning("%s %s failed: %s", method, url, type(exc).__name__)
        raise _refusal("service_unavailable") from None


def _origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = -1
    return parts.scheme, (parts.hostname or "").lower(), port or (443 if parts.scheme == "https" else 80)


# -- access tokens --------------------------------------------------------------------------------
@dataclass(frozen=True)
class PlatformEndpoint:
    """What a token request needs of a registration, read once and detached from every session."""

    id: int
    client_id: str
    token_url: str
    audience: str

    @classmethod
    def of(cls, platform: Platform) -> PlatformEndpoint:
        if platform.id is None:
            raise ValueError("the platform must be saved first")
        return cls(id=platform.id, client_id=platform.client_id, token_url=platform.auth_token_url,
                   audience=platform.auth_audience or platform.auth_token_url)


@dataclass(frozen=True)
class _Token:
    value: str
    valid_until: float  # on the monotonic clock
    endpoint: PlatformEndpoint  # a changed registration gets a new token


class PlatformTokens:
    """OAuth2 access tokens from the platforms' token endpoints; one instance per process.

    A token is asked for with the client-credentials grant and a JWT client assertion (``iss`` =
    ``sub`` = client id, ``aud`` = the platform's audience or token URL, five minutes, a random
    ``jti``; RS256 with Adal's tool key and its ``kid``) and cached per (platform, scopes) until
    ``expires_in`` less a margin. Thread-safe: threads share the cache, and only one of them asks
    the platform for a given (platform, scopes) at a time.
    """

    def __init__(self, *, timeout: tuple[float, float] = DEFAULT_TIMEOUT, margin_seconds: float = TOKEN_MARGIN_SECONDS,
                 monotonic: Callable[[], float] = time.monotonic, clock: Callable[[], datetime] = now_utc,
                 http: requests.Session | None = None) -> None:
        self.timeout = timeout
        self.margin_seconds = margin_seconds
        self._monotonic = monotonic
        self._clock = clock
        self._own_http = http is None
        self._http = http or requests.Session()
        self._tokens: dict[tuple[int, frozenset[str]], _Token] = {}
        self._fetching: dict[tuple[int, frozenset[str]], threading.Lock] = {}
        self._lock = threading.Lock()

    def access_token(self, runtime: Runtime, platform: PlatformEndpoint, scopes: Iterable[str]) -> str:
        """A bearer token for ``scopes`` at ``platform``: the cached one while valid, else a new one.

        Signing a new assertion may create Adal's first tool key (committed at once, so that the
        platform finds it in the JWKS). Raises ``ServiceRefused``: ``url_refused`` (the token URL is
        not https), ``service_unavailable`` (unreachable, too slow, a 5xx answer), ``token_refused``
        (a 4xx answer, not JSON, no usable ``access_token``), ``scope_missing`` (fewer scopes granted
        than asked for).
        """
        key = (platform.id, frozenset(scopes))
        cached = self._valid(key, platform)
        if cached is not None:
            return cached
        with self._lock:
            fetching = self._fetching.setdefault(key, threading.Lock())
        with fetching:  # the other threads wanting this token wait for it instead of asking too
            cached = self._valid(key, platform)
            if cached is not None:
                return cached
            token = self._request(runtime, platform, key[1])
            with self._lock:
                self._tokens[key] = token
            return token.value

    def forget(self, platform_id: int, scopes: Iterable[str]) -> None:
        """Drop a cached token (the platform said it is no longer valid)."""
        with self._lock:
            self._tokens.pop((platform_id, frozenset(scopes)), None)

    def clear(self) -> None:
        with self._lock:
            self._tokens.clear()

    def close(self) -> None:
        """Close the HTTP connections (when this object opened them)."""
        if self._own_http:
            self._http.close()

    def _valid(self, key: tuple[int, frozenset[str]], platform: PlatformEndpoint) -> str | None:
        with self._lock:
            token = self._tokens.get(key)
        if token is not None and token.endpoint == platform and self._monotonic() < token.valid_until:
            return token.value
        return None

    def _assertion(self, runtime: Runtime, platform: PlatformEndpoint) -> str:
        now = self._clock()
        with runtime.session() as session:
            kid, private_pem = signing_key(session, now=now)
            session.commit()  # a key made just now must be published before the platform looks for it
        issued = int(now.timestamp())
        claims = {"iss": platform.client_id, "sub": platform.client_id, "aud": platform.audience, "iat": issued,
                  "exp": issued + ASSERTION_LIFETIME_SECONDS, "jti": secrets.token_urlsafe(24)}
        return jwt.encode(claims, private_pem, algorithm="RS256", headers={"kid": kid})

    def _request(self, runtime: Runtime, platform: PlatformEndpoint, scopes: frozenset[str]) -> _Token:
        if not acceptable_platform_url(platform.token_url):
            log.warning("platform %s: token URL %s is not https", platform.id, platform.token_url)
            raise _refusal("url_refused")
        form = {"grant_type": "client_credentials", "client_assertion_type": CLIENT_ASSERTION_TYPE,
                "client_assertion": self._assertion(runtime, platform), "scope": " ".join(sorted(scopes))}
        started = self._monotonic()
        reply = _exchange(self._http, "POST", platform.token_url, timeout=self.timeout, limit=MAX_TOKEN_ANSWER_BYTES,
                          headers={"Accept": "application/json"}, data=form)
        try:
            answer = json.loads(reply.body)
        except ValueError:
            answer = None
        if reply.status >= 500:
            log.warning("platform %s: token endpoint answered %s", platform.id, reply.status)
            raise _refusal("service_unavailable")
        if reply.status != 200:
            error = answer.get("error") if isinstance(answer, dict) else None
            reason = error if isinstance(error, str) and _OAUTH_ERROR.fullmatch(error) else f"HTTP {reply.status}"
            log.warning("platform %s: token refused: %s", platform.id, reason)
            raise _refusal("token_refused", reason=reason)
        if not isinstance(answer, dict):
            raise _refusal("token_refused", reason="invalid_response")
        value, token_type = answer.get("access_token"), answer.get("token_type", "Bearer")
        if not isinstance(value, str) or not _TOKEN_CHARS.fullmatch(value):
            raise _refusal("token_refused", reason="no_access_token")
        if not isinstance(token_type, str) or token_type.lower() != "bearer":
            raise _refusal("token_refused", reason="unsupported_token_type")
        expires_in = answer.get("expires_in", DEFAULT_TOKEN_LIFETIME_SECONDS)
        if isinstance(expires_in, str) and expires_in.isdecimal():
            expires_in = int(expires_in)
        if isinstance(expires_in, bool) or not isinstance(expires_in, int | float) or expires_in <= 0:
            raise _refusal("token_refused", reason="invalid_response")
        granted = answer.get("scope")
        if isinstance(granted, str) and not scopes <= set(granted.split()):
            log.warning("platform %s granted %r of %r", platform.id, granted, sorted(scopes))
            raise _refusal("scope_missing")
        lifetime = float(expires_in) - min(self.margin_seconds, float(expires_in) / 2)
        return _Token(value=value, valid_until=started + lifetime, endpoint=platform)


# -- the services ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class LineItem:
    """A gradebook column (AGS line item); ``url`` is its id, the address of its scores."""

    url: str
    label: str
    score_maximum: float
    resource_link_id: str | None = None
    tag: str | None = None


@dataclass(frozen=True)
class _Course:
    course_id: int
    platform: PlatformEndpoint
    lineitems_url: str | None
    scopes: frozenset[str]
    memberships_url: str | None
    origins: frozenset[tuple[str, str, int]]

    def require_scope(self, scope: str) -> None:
        if scope not in self.scopes:
            raise _refusal("scope_missing")

    def checked(self, url: Any) -> str:
        """``url`` when Adal may send there: https (http on loopback) at the registered platform.

        Raises ``ServiceRefused`` (``url_refused``) otherwise.
        """
        if not isinstance(url, str) or not acceptable_platform_url(url) or _origin(url) not in self.origins:
            log.warning("course %s: refused to call %r (not an address of platform %s)", self.course_id, url,
                        self.platform.id)
            raise _refusal("url_refused")
        return url


def scores_url(line_item_url: str) -> str:
    """The line item's scores endpoint: ``/scores`` appended to the path, the query kept."""
    parts = urlsplit(line_item_url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/") + "/scores", parts.query, ""))


def _with_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query, keep_blank_values=True), *params.items()]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def _timestamp(value: datetime) -> str:
    return ensure_utc(value).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _score_body(update: ScoreUpdate) -> dict[str, Any]:
    if update.activity_progress not in ACTIVITY_PROGRESS:
        raise ValueError(f"activityProgress must be one of {sorted(ACTIVITY_PROGRESS)}")
    if update.grading_progress not in GRADING_PROGRESS:
        raise ValueError(f"gradingProgress must be one of {sorted(GRADING_PROGRESS)}")
    if not update.user_subject:
        raise ValueError("the learner's user id (LTI subject) is empty")
    if not update.score_maximum > 0 or (update.score_given is not None and not update.score_given >= 0):
        raise ValueError("scores must be non-negative and the maximum positive")
    body: dict[str, Any] = {"userId": update.user_subject, "scoreMaximum": update.score_maximum,
                            "activityProgress": update.activity_progress,
                            "gradingProgress": update.grading_progress, "timestamp": _timestamp(update.timestamp)}
    if update.score_given is not None:
        body["scoreGiven"] = update.score_given
    if update.comment is not None:
        body["comment"] = update.comment
    return body


def _line_item(entry: Any) -> LineItem | None:
    if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
        return None
    maximum = entry.get("scoreMaximum")
    return LineItem(url=entry["id"], label=str(entry.get("label") or ""),
                    score_maximum=float(maximum) if isinstance(maximum, int | float) else 0.0,
                    resource_link_id=entry.get("resourceLinkId") if isinstance(entry.get("resourceLinkId"), str)
                    else None, tag=entry.get("tag") if isinstance(entry.get("tag"), str) else None)


def _member(entry: Any) -> RosterMember | None:
    if not isinstance(entry, dict):
        return None
    user_id = entry.get("user_id")
    if not isinstance(user_id, str) or not user_id or len(user_id) > 255:
        return None
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        parts = [entry.get(k) for k in ("given_name", "family_name")]
        name = " ".join(p for p in parts if isinstance(p, str) and p.strip()) or None
    roles = entry.get("roles")
    status = entry.get("status")
    return RosterMember(user_subject=user_id, name=name[:200] if name else None,
                        roles=tuple(r for r in roles if isinstance(r, str)) if isinstance(roles, list) else (),
                        status=status if isinstance(status, str) and status else "Active")


class LtiServices:
    """``GradePort`` and ``RosterPort`` over LTI Advantage, for the courses whose launches offered them.

    Each call reads the course's services and platform in a short read-only session, gets a token
    from ``tokens``, calls the platform with no session open and audits success in a session of
    its own. A 401 answer (the platform forgot the token) is retried once with a new token.
    """

    def __init__(self, runtime: Runtime, tokens: PlatformTokens, *, timeout: tuple[float, float] = DEFAULT_TIMEOUT,
                 http: requests.Session | None = None, clock: Callable[[], datetime] = now_utc,
                 max_pages: int = MAX_PAGES, max_members: int = MAX_MEMBERS) -> None:
        self.runtime = runtime
        self.tokens = tokens
        self.timeout = timeout
        self.max_pages = max_pages
        self.max_members = max_members
        self._clock = clock
        self._own_http = http is None
        self._http = http or requests.Session()

    def close(self) -> None:
        """Close the HTTP connections (when this object opened them)."""
        if self._own_http:
            self._http.close()

    # -- GradePort --------------------------------------------------------------------------------
    def publish_score(self, course_id: int, update: ScoreUpdate) -> None:
        """Send one learner's score to the platform (AGS: ``POST {line item}/scores``).

        Raises ``ValueError`` for progress values outside the AGS vocabulary, a negative score, a
        maximum that is not positive or a naive timestamp; ``ServiceRefused``:
        ``service_not_offered`` (no launch offered AGS for the course), ``scope_missing`` (the
        platform did not offer the score scope; no HTTP call is made), ``url_refused`` (the line item
        is not an https address of the platform), and those of ``PlatformTokens.access_token``,
        ``service_refused`` and ``service_unavailable`` from the scores endpoint. Audits
        ``lti.score_published`` on success.
        """
        body = _score_body(update)
        course = self._course(course_id)
        course.require_scope(SCOPE_SCORE)
        target = scores_url(course.checked(update.line_item_url))
        self._call(course, "POST", target, scope=SCOPE_SCORE, content_type=MEDIA_SCORE,
                   body=json.dumps(body, ensure_ascii=False).encode("utf-8"))
        self._audit("lti.score_published", course_id, {
            "line_item": update.line_item_url, "user": update.user_subject, "score_given": update.score_given,
            "score_maximum": update.score_maximum, "activity_progress": update.activity_progress,
            "grading_progress": update.grading_progress})

    def find_or_create_line_item(self, course_id: int, *, resource_link_id: str, label: str, score_maximum: float,
                                 tag: str | None = None) -> LineItem:
        """The course's line item for a resource link (and tag), created when there is none.

        ``GET lineitems?resource_link_id=…`` (every page), else ``POST lineitems``. Raises
        ``ValueError`` for an empty label or a maximum that is not positive; ``ServiceRefused`` as
        ``publish_score`` does (the scope is ``lineitem``), and ``bad_response`` for an answer that is
        not a line item (container). Audits ``lti.line_item_created`` when it creates one.
        """
        if not label.strip() or not score_maximum > 0:
            raise ValueError("a line item needs a label and a positive maximum score")
        course = self._course(course_id)
        course.require_scope(SCOPE_LINEITEM)
        if course.lineitems_url is None:
            raise _refusal("service_not_offered")
        lineitems = course.checked(course.lineitems_url)
        query = {"resource_link_id": resource_link_id, **({"tag": tag} if tag is not None else {})}
        pages = self._pages(course, _with_query(lineitems, **query), scope=SCOPE_LINEITEM, accept=MEDIA_LINEITEMS,
                            too_many="bad_response")
        for page in pages:
            entries = page.json()
            if not isinstance(entries, list):
                raise _refusal("bad_response")
            for entry in entries:
                item = _line_item(entry)
                if item is not None and item.resource_link_id == resource_link_id and (tag is None or item.tag == tag):
                    course.checked(item.url)
                    return item
        wanted: dict[str, Any] = {"scoreMaximum": score_maximum, "label": label, "resourceLinkId": resource_link_id}
        if tag is not None:
            wanted["tag"] = tag
        reply = self._call(course, "POST", lineitems, scope=SCOPE_LINEITEM, content_type=MEDIA_LINEITEM,
                           accept=MEDIA_LINEITEM, body=json.dumps(wanted, ensure_ascii=False).encode("utf-8"))
        created = _line_item(reply.json())
        if created is None:
            raise _refusal("bad_response")
        course.checked(created.url)
        self._audit("lti.line_item_created", course_id, {"line_item": created.url, "resource_link_id": resource_link_id,
                                                        "label": label, "score_maximum": score_maximum, "tag": tag})
        return created

    # -- RosterPort -------------------------------------------------------------------------------
    def list_members(self, course_id: int) -> list[RosterMember]:
        """The course's members from the platform (NRPS), every page of them.

        Follows ``Link: <…>; rel="next"`` pages at the platform, at most ``max_pages`` pages and
        ``max_members`` people; a person on two pages is listed once. Raises ``ServiceRefused``:
        ``service_not_offered`` (no launch offered NRPS for the course), ``url_refused`` (a page
        elsewhere than the platform), ``roster_too_large``, ``bad_response`` (not a membership
        container, or pages that link in a circle), and those of ``PlatformTokens.access_token``,
        ``service_refused`` and ``service_unavailable``. Audits ``lti.roster_read`` on success.
        """
        course = self._course(course_id)
        if course.memberships_url is None:
            raise _refusal("service_not_offered")
        members: dict[str, RosterMember] = {}
        pages = 0
        for page in self._pages(course, course.memberships_url, scope=SCOPE_MEMBERSHIPS, accept=MEDIA_MEMBERSHIPS,
                                too_many="roster_too_large"):
            pages += 1
            document = page.json()
            entries = document.get("members") if isinstance(document, dict) else None
            if not isinstance(entries, list):
                raise _refusal("bad_response")
            for entry in entries:
                member = _member(entry)
                if member is None:
                    continue
                members.setdefault(member.user_subject, member)
                if len(members) > self.max_members:
                    raise _refusal("roster_too_large", members=self.max_members, pages=self.max_pages)
        self._audit("lti.roster_read", course_id, {"members": len(members), "pages": pages})
        return list(members.values())

    # -- plumbing ---------------------------------------------------------------------------------
    def _course(self, course_id: int) -> _Course:
        with self.runtime.session() as session:
            session.connection(execution_options=READ_ONLY)  # a read: it must not wait for writers
            row = session.exec(select(ContextServices).where(ContextServices.course_id == course_id)).first()
            platform = session.get(Platform, row.platform_id) if row is not None else None
        if row is None or platform is None:
            raise _refusal("service_not_offered")
        named = (platform.issuer, platform.auth_token_url, platform.auth_login_url, platform.keyset_url,
                 row.lineitems_url, row.memberships_url)
        origins = frozenset(_origin(url) for url in named if url and acceptable_platform_url(url))
        return _Course(course_id=course_id, platform=PlatformEndpoint.of(platform), lineitems_url=row.lineitems_url,
                       scopes=frozenset(row.ags_scopes.split()), memberships_url=row.memberships_url, origins=origins)

    def _pages(self, course: _Course, first: str, *, scope: str, accept: str, too_many: str) -> Iterator[_Reply]:
        """Each page from ``first`` on, following ``rel="next"`` links at the platform; ``too_many``
        is the refusal after ``max_pages`` pages."""
        url: str | None = course.checked(first)
        seen: set[str] = set()
        while url is not None:
            if url in seen:
                raise _refusal("bad_response")
            if len(seen) >= self.max_pages:
                raise _refusal(too_many, members=self.max_members, pages=self.max_pages)
            seen.add(url)
            page = self._call(course, "GET", url, scope=scope, accept=accept)
            yield page
            following = page.next_page()
            url = course.checked(following) if following is not None else None

    def _call(self, course: _Course, method: str, url: str, *, scope: str, accept: str = "application/json",
              content_type: str | None = None, body: bytes | None = None) -> _Reply:
        headers = {"Accept": accept}
        if content_type is not None:
            headers["Content-Type"] = content_type
        for attempt in (1, 2):
            token = self.tokens.access_token(self.runtime, course.platform, {scope})
            reply = _exchange(self._http, method, url, timeout=self.timeout, limit=MAX_ANSWER_BYTES,
                              headers={**headers, "Authorization": f"Bearer {token}"}, data=body)
            if reply.status == 401 and attempt == 1:
                self.tokens.forget(course.platform.id, {scope})  # revoked or expired early: one more try
                continue
            if 200 <= reply.status < 300:
                return reply
            log.warning("course %s: %s %s answered %s", course.course_id, method, url, reply.status)
            if reply.status >= 500:
                raise _refusal("service_unavailable")
            raise _refusal("service_refused", status=reply.status)
        raise AssertionError("unreachable")  # pragma: no cover

    def _audit(self, action: str, course_id: int, payload: dict[str, Any]) -> None:
        with self.runtime.session() as session:
            audit.record(session, SERVICES_ACTOR, action, now=self._clock(), subject=f"course:{course_id}",
                         payload=payload)
            session.commit()
