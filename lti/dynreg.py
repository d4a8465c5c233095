"""LTI Dynamic Registration 1.0: one-time links, and registering Adal with a platform.

(Being built: see the Dynamic Registration work in progress.)
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

from plugin.kernel.users import Actor


def create_registration_link(session: Session, actor: Actor, *, now: datetime, valid_for: timedelta) -> str:
    """Record a one-time registration link; returns the secret token that goes into its URL."""
    raise NotImplementedError("Dynamic Registration is being built")
