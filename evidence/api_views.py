"""The integration API (blueprint ``api``, under ``/api/v1/``): detector and originality services
post signals here, authenticated by a bearer token and an HMAC signature over the timestamp and
the raw body (see ``evidence.integrations``). Described by ``/api/v1/openapi.json``.

Token-authenticated, so exempt from CSRF (the app factory exempts this blueprint only). Every
refusal is a 4xx JSON answer ``{"error": code, "message": ...}``; the request boundary rolls the
transaction back on any status >= 400, so a refused request stores nothing.
"""

from __future__ import annotations

import logging
import math
import re
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, jsonify, request
from flask_babel import gettext as _
from werkzeug.exceptions import RequestEntityTooLarge

from attribution.submissions import FieldErrors
from evidence.integrations import (
    MAX_BODY_BYTES,
    MAX_SKEW_SECONDS,
    integration_for_token,
    integration_secret,
    signature_matches,
    token_digest,
)
from evidence.models import Integration
from evidence.openapi import openapi_document
from evidence.signals import (
    MatchedSource,
    ScanIdConflict,
    SignalInput,
    parse_report_value,
    record_signal,
    record_vendor_report,
)
from evidence.vendors import VENDORS, VendorFormatError, load_json
from plugin.kernel import ratelimit
from plugin.kernel.clock import now_utc
from plugin.kernel.crypto import SecretError
from plugin.kernel.errors import InvalidInput, NotFound
from plugin.kernel.users import Actor
from plugin.kernel.web import db

log = logging.getLogger("adal.api")
bp = Blueprint("api", __name__, url_prefix="/api/v1")

FIELD_KEYS = frozenset({"submission_id", "kind", "vendor", "product", "model_version", "score", "scanned_at",
                        "vendor_scan_id", "report_url", "matched_sources"})
REQUIRED_FIELD_KEYS = ("submission_id", "kind", "vendor", "product", "model_version", "score", "scanned_at",
                       "vendor_scan_id")
REPORT_KEYS = frozenset({"submission_id", "vendor_report", "vendor", "vendor_scan_id", "scanned_at"})
SOURCE_KEYS = frozenset({"title", "url", "percent"})
_TIMESTAMP = re.compile(r"[0-9]{1,12}")


class Refused(Exception):
    """A request refused with an HTTP status, a stable code and a translated message."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra
        self.headers: dict[str, str] = {}

    def response(self) -> Response:
        answer = jsonify({"error": self.code, "message": self.message, **self.extra})
        answer.status_code = self.status
        answer.headers.update(self.headers)
        return answer


def _invalid(field: str, message: str) -> Refused:
    return Refused(400, "invalid_field", f"{field}: {message}", field=field)


@bp.get("/openapi.json")
def openapi() -> Response:
    return jsonify(openapi_document())


@bp.post("/signals")
def post_signal() -> Response:
    now = now_utc()
    try:
        _limit_token()
        body = _body()
        integration = _authenticated(body, now)
        payload = _json(body)
        actor = Actor(label=f"integration:{integration.name}")
        signal, created = _store(actor, integration, payload, now)
    except Refused as refusal:
        log.info("integration API refused a request: %s", refusal.code)
        return refusal.response()
    answer = jsonify({"id": signal.id, "submission_id": signal.submission_id, "created": created,
                      "kind": signal.kind, "score": signal.score})
    answer.status_code = 201 if created else 200
    return answer


def _limit_token() -> None:
    """Per token, before reading the body or the database. The key is the token's digest (an
    unknown token gets a bucket too); a request without one is refused next anyway."""
    scheme, _sep, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return
    try:
        ratelimit.hit(ratelimit.API_TOKEN, token_digest(token.strip()))
    except ratelimit.RateLimited as exc:
        refusal = Refused(429, "rate_limited", _("Too many requests with this token.") + " " + str(exc),
                          retry_after=exc.retry_after)
        refusal.headers["Retry-After"] = str(exc.retry_after)
        raise refusal from None


def _body() -> bytes:
    too_large = Refused(413, "body_too_large", _("The body is larger than %(kb)d KB.", kb=MAX_BODY_BYTES // 1024))
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise too_large  # refused before reading a byte
    # A body without a length (chunked) is cut by Werkzeug at the request's maximum, silently:
    # reading one byte past the limit tells a body at the limit from a longer one.
    request.max_content_length = MAX_BODY_BYTES + 1
    try:
        body = request.get_data(cache=True)
    except RequestEntityTooLarge:
        raise too_large from None
    if len(body) > MAX_BODY_BYTES:
        raise too_large
    return body


def _authenticated(body: bytes, now: datetime) -> Integration:
    scheme, _sep, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Refused(401, "missing_token", _("Send the integration's token: Authorization: Bearer <token>."))
    session = db()
    integration = integration_for_token(session, token)
    if integration is None:
        raise Refused(401, "unknown_token", _("This token is not known to Adal."))
    if not integration.active:
        raise Refused(401, "revoked_token", _("This integration's token was revoked."))
    stamp = request.headers.get("X-Adal-Timestamp", "").strip()
    if not stamp:
        raise Refused(401, "missing_timestamp", _("Send X-Adal-Timestamp: the Unix time in seconds."))
    if not _TIMESTAMP.fullmatch(stamp):
        raise Refused(401, "bad_timestamp", _("X-Adal-Timestamp must be the Unix time in whole seconds."))
    if abs(now.timestamp() - int(stamp)) > MAX_SKEW_SECONDS:
        raise Refused(401, "stale_timestamp", _("X-Adal-Timestamp is more than %(minutes)d minutes from Adal's "
                                                "clock: sign the request again now.",
                                                minutes=MAX_SKEW_SECONDS // 60))
    given = request.headers.get("X-Adal-Signature", "")
    if not given.strip():
        raise Refused(401, "missing_signature", _("Send X-Adal-Signature: sha256= and the HMAC of the timestamp, "
                                                  "a dot and the body."))
    try:
        secret = integration_secret(session, integration)
    except SecretError:
        log.error("the secret of integration %s does not open with this data key", integration.id)
        raise Refused(401, "bad_signature", _("The signature does not match the body.")) from None
    if not signature_matches(secret, stamp, body, given):
        raise Refused(401, "bad_signature", _("The signature does not match the body."))
    return integration


def _json(body: bytes) -> dict[str, Any]:
    try:
        payload = load_json(body, limit=MAX_BODY_BYTES, what="body")
    except VendorFormatError as exc:
        raise Refused(400, "malformed_json", str(exc)) from None
    if not isinstance(payload, dict):
        raise Refused(400, "malformed_json", _("body: expected a JSON object"))
    return payload


# -- the body's fields -----------------------------------------------------------------------------
def _submission_id(payload: dict[str, Any]) -> int:
    value = payload.get("submission_id")
    if value is None:
        raise _invalid("submission_id", _("missing"))
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 2**31 - 1:
        raise _invalid("submission_id", _("expected Adal's submission number"))
    return value


def _string(payload: dict[str, Any], key: str, *, required: bool = True) -> str | None:
    value = payload.get(key)
    if value is None:
        if required:
            raise _invalid(key, _("missing"))
        return None
    if not isinstance(value, str):
        raise _invalid(key, _("expected text"))
    return value


def _moment(payload: dict[str, Any], key: str, *, required: bool = True) -> datetime | None:
    text = _string(payload, key, required=required)
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text) if len(text) <= 64 else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise _invalid(key, _("expected a date and time with a time zone (ISO 8601)"))
    return moment.astimezone(UTC)


def _score(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _invalid(key, _("expected a number"))
    if not 0 <= value <= 100:
        raise _invalid(key, _("expected a percentage from 0 to 100"))
    return float(value)


def _sources(value: Any) -> tuple[MatchedSource, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _invalid("matched_sources", _("expected a list"))
    sources = []
    for index, item in enumerate(value):
        where = f"matched_sources[{index}]"
        if not isinstance(item, dict):
            raise _invalid(where, _("expected an object"))
        for key in sorted(set(item) - SOURCE_KEYS):
            raise _invalid(f"{where}.{key}", _("unknown field"))
        title = _string(item, "title")
        url = _string(item, "url", required=False)
        if "percent" not in item:
            raise _invalid(f"{where}.percent", _("missing"))
        sources.append(MatchedSource(title or "", url, _score(item["percent"], f"{where}.percent")))
    return tuple(sources)


def _unknown(payload: dict[str, Any], allowed: frozenset[str]) -> None:
    for key in sorted(set(payload) - allowed):
        raise _invalid(key, _("unknown field"))


def _store(actor: Actor, integration: Integration, payload: dict[str, Any], now: datetime) -> tuple[Any, bool]:
    session = db()
    try:
        if "vendor_report" in payload:
            return _store_report(actor, integration, payload, now)
        _unknown(payload, FIELD_KEYS)
        for key in REQUIRED_FIELD_KEYS:
            if payload.get(key) is None:
                raise _invalid(key, _("missing"))
        submission_id = _submission_id(payload)
        data = SignalInput(kind=_string(payload, "kind") or "", vendor=_string(payload, "vendor") or "",
                           product=_string(payload, "product") or "",
                           model_version=_string(payload, "model_version") or "",
                           score=_score(payload["score"], "score"),
                           scanned_at=_moment(payload, "scanned_at"),  # type: ignore[arg-type]  # required above
                           report_url=_string(payload, "report_url", required=False),
                           matched_sources=_sources(payload.get("matched_sources")))
        return record_signal(session, actor, submission_id, data, now=now, source="api", integration=integration,
                             vendor_scan_id=_string(payload, "vendor_scan_id"))
    except NotFound:
        raise Refused(404, "unknown_submission", _("There is no such submission.")) from None
    except ScanIdConflict as exc:
        raise Refused(409, "scan_id_conflict", str(exc), field="vendor_scan_id") from None
    except FieldErrors as exc:
        first = next(iter(exc.errors))
        raise Refused(400, "invalid_field", f"{first}: {exc.errors[first]}", field=first,
                      errors=exc.errors) from None
    except VendorFormatError as exc:
        path = "vendor_report" if exc.path == "$" else f"vendor_report.{exc.path}"
        if exc.path == "vendor":
            path = "vendor"
        raise Refused(400, "invalid_report", f"{path}: {exc.problem}", field=path) from None
    except InvalidInput as exc:
        raise Refused(400, "invalid_field", str(exc)) from None


def _store_report(actor: Actor, integration: Integration, payload: dict[str, Any],
                  now: datetime) -> tuple[Any, bool]:
    _unknown(payload, REPORT_KEYS)
    submission_id = _submission_id(payload)
    vendor = _string(payload, "vendor", required=False)
    if vendor is not None and vendor not in VENDORS:
        raise _invalid("vendor", _("expected one of: %(names)s", names=", ".join(VENDORS)))
    scan_id = _string(payload, "vendor_scan_id", required=False)
    scanned_at = _moment(payload, "scanned_at", required=False)
    if not isinstance(payload["vendor_report"], dict):
        raise _invalid("vendor_report", _("expected an object"))
    parsed, raw = parse_report_value(payload["vendor_report"], vendor)
    if parsed.vendor_scan_id is None and scan_id is None:
        raise _invalid("vendor_scan_id", _("missing: the report carries no scan id, so send it here"))
    # GPTZero's response has no date: without scanned_at the scan is taken to have run now.
    return record_vendor_report(db(), actor, submission_id, raw, now=now, name=f"{parsed.vendor}-report.json",
                                vendor=vendor, scanned_at=scanned_at or now, source="api",
                                integration=integration, vendor_scan_id=scan_id, parsed=parsed)
