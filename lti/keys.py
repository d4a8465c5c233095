"""Adal's own RSA keys: generated on first use, sealed in the database, rotated by the CLI."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from sqlmodel import Session, or_, select

from lti.models import ToolKey
from plugin.kernel import audit
from plugin.kernel.runtime import runtime_of
from plugin.kernel.users import Actor

PURPOSE = "lti.tool_private_key"
DEFAULT_GRACE = timedelta(days=7)


def _new_key(session: Session, now: datetime) -> ToolKey:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    kid = uuid.uuid4().hex
    jwk = json.loads(RSAAlgorithm.to_jwk(private.public_key()))
    jwk.update({"kid": kid, "alg": "RS256", "use": "sig"})
    key = ToolKey(kid=kid, private_key_sealed=runtime_of(session).box.seal(pem, PURPOSE),
                  public_jwk=json.dumps(jwk, sort_keys=True), created_at=now)
    session.add(key)
    session.flush()
    return key


def signing_key(session: Session, *, now: datetime) -> tuple[str, bytes]:
    """(kid, private PEM) of the active key, creating the first key when there is none."""
    key = session.exec(select(ToolKey).where(ToolKey.retired_at.is_(None))  # type: ignore[union-attr]
                       .order_by(ToolKey.created_at.desc())).first()  # type: ignore[attr-defined]
    if key is None:
        key = _new_key(session, now)
    return key.kid, runtime_of(session).box.open(key.private_key_sealed, PURPOSE)


def rotate_keys(session: Session, actor: Actor, *, now: datetime, grace: timedelta = DEFAULT_GRACE) -> ToolKey:
    """Make a new signing key; older ones stay published for ``grace``. Audits ``lti.keys_rotated``."""
    for old in session.exec(select(ToolKey).where(ToolKey.retired_at.is_(None))):  # type: ignore[union-attr]
        old.retired_at, old.published_until = now, now + grace
    key = _new_key(session, now)
    audit.record(session, actor, "lti.keys_rotated", now=now, subject=f"tool_key:{key.kid}",
                 payload={"kid": key.kid, "grace_days": grace.days})
    return key


def published_jwks(session: Session, *, now: datetime) -> dict[str, Any]:
    keys = session.exec(select(ToolKey).where(or_(ToolKey.published_until.is_(None),  # type: ignore[union-attr]
                                                  ToolKey.published_until > now))
                        .order_by(ToolKey.created_at)).all()
    return {"keys": [json.loads(k.public_jwk) for k in keys]}
