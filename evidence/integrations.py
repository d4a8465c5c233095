"""Integrations: detector or originality services allowed to post signals to ``/api/v1/signals``.

``adal integration add NAME`` issues a bearer token and an HMAC secret, each printed once. The
token is kept only as its SHA-256 (a stolen database does not give a working token); the secret
must be read back to check signatures, so it is sealed with the instance's data key, bound to its
purpose (``plugin.kernel.crypto``). A request is signed over ``f"{timestamp}.{body}"``, so an old
body cannot be replayed with a fresh timestamp.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlmodel import Session

from evidence.models import Integration, Signal
from plugin.kernel import audit
from plugin.kernel.errors import InvalidInput, NotFound
from plugin.kernel.runtime import runtime_of
from plugin.kernel.users import Actor

PURPOSE = "integration_secret"
TOKEN_PREFIX = "adal_it_"  # noqa: S105  (a marker that makes leaked tokens easy to spot, not a secret)
SIGNATURE_PREFIX = "sha256="
#: The API refuses larger bodies (413) and requests signed further from now (401).
MAX_BODY_BYTES = 1024 * 1024
MAX_SKEW_SECONDS = 300
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._-]{0,99}")


@dataclass(frozen=True)
class IssuedIntegration:
    """A new integration with its token and secret in clear: shown once, never stored so."""

    integration: Integration
    token: str
    secret: str


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def signature(secret: bytes, timestamp: str, body: bytes) -> str:
    """``sha256=`` and the hex HMAC-SHA256 of ``f"{timestamp}.{body}"`` under ``secret``."""
    mac = hmac.new(secret, timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return SIGNATURE_PREFIX + mac.hexdigest()


def signature_matches(secret: bytes, timestamp: str, body: bytes, given: str) -> bool:
    """Constant-time comparison of the ``X-Adal-Signature`` header with the expected value."""
    try:
        expected = signature(secret, timestamp, body)
    except UnicodeEncodeError:
        return False
    return hmac.compare_digest(expected.encode("ascii"), given.strip().lower().encode("utf-8", "replace"))


def add_integration(session: Session, actor: Actor, name: str, *, now: datetime) -> IssuedIntegration:
    """Create an integration; audits ``integration.added`` (the name, never the token or secret).

    Raises ``InvalidInput`` for a name that is not 1–100 letters, digits, spaces, ``.``, ``_`` or
    ``-`` (starting with a letter or digit), or one already taken (revoked ones included).
    """
    clean = name.strip()
    if not _NAME.fullmatch(clean):
        raise InvalidInput(_("An integration's name is 1 to 100 Latin letters, digits, spaces, dots, hyphens or "
                             "underscores, starting with a letter or digit."))
    if session.execute(select(Integration.id).where(Integration.name == clean)).first() is not None:
        raise InvalidInput(_("An integration named %(name)s exists already (perhaps revoked): choose another name.",
                             name=clean))
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    secret = secrets.token_urlsafe(32)
    integration = Integration(name=clean, token_hash=token_digest(token),
                              secret_sealed=runtime_of(session).box.seal(secret, PURPOSE), active=True,
                              created_at=now, created_by=actor.label)
    session.add(integration)
    session.flush()
    audit.record(session, actor, "integration.added", now=now, subject=f"integration:{integration.id}",
                 payload={"name": clean})
    return IssuedIntegration(integration, token, secret)


def revoke_integration(session: Session, actor: Actor, name: str, *, now: datetime) -> Integration:
    """Stop accepting the integration's token; its signals stay. Audits ``integration.revoked``.
    Raises ``NotFound`` for an unknown name, ``InvalidInput`` when it is already revoked."""
    integration = session.execute(select(Integration).where(Integration.name == name.strip())).scalar_one_or_none()
    if integration is None:
        raise NotFound(_("There is no integration named %(name)s.", name=name.strip()))
    if not integration.active:
        raise InvalidInput(_("The integration %(name)s is already revoked.", name=integration.name))
    integration.active = False
    session.flush()
    audit.record(session, actor, "integration.revoked", now=now, subject=f"integration:{integration.id}",
                 payload={"name": integration.name})
    return integration


def list_integrations(session: Session) -> list[tuple[Integration, int]]:
    """Every integration, by name, with the number of signals it has sent."""
    counts = {integration_id: count for integration_id, count in session.execute(
        select(Signal.integration_id, func.count()).where(Signal.integration_id.is_not(None))
        .group_by(Signal.integration_id))}
    rows = session.execute(select(Integration).order_by(Integration.name)).scalars()
    return [(row, int(counts.get(row.id, 0))) for row in rows]


def integration_for_token(session: Session, token: str) -> Integration | None:
    """The integration whose token this is (active or not), or ``None``."""
    return session.execute(select(Integration).where(Integration.token_hash == token_digest(token))
                           ).scalar_one_or_none()


def integration_secret(session: Session, integration: Integration) -> bytes:
    return runtime_of(session).box.open(integration.secret_sealed, PURPOSE)
