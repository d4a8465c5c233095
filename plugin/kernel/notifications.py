"""Reminders to a person, shown in the tool and, when mail is configured, sent by e-mail.

A row holds a message *code* and its parameters, not text: it is rendered in the reader's
language when shown (the domain that writes reminders owns the codes and their texts). ``key``
names what the reminder is about (``case:12:appeal_window_closing``); one person gets one
reminder per key, whatever runs twice, which is what makes ``adal reminders run`` idempotent.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Column, ForeignKey, Index, Integer, String, Text, UniqueConstraint, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel

from plugin.kernel import db as _db  # noqa: F401  (sets the constraint naming convention before this table)
from plugin.kernel.clock import UTCDateTime
from plugin.kernel.errors import NotFound

MAX_UNREAD_SHOWN = 50


class Notification(SQLModel, table=True):
    __tablename__ = "notification"
    __table_args__ = (
        UniqueConstraint("user_id", "key"),
        Index("ix_notification_unread", "user_id", "read_at"),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    user_id: int = Field(sa_column=Column(Integer, ForeignKey("user_account.id", ondelete="CASCADE"), nullable=False))
    key: str = Field(sa_column=Column(String(120), nullable=False))
    message: str = Field(sa_column=Column(String(60), nullable=False))  # a code the writing domain renders
    params: str = Field(default="{}", sa_column=Column(Text, nullable=False))  # JSON
    link: str = Field(sa_column=Column(String(300), nullable=False))  # a path on this site
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False, index=True))
    read_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    emailed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))

    @property
    def parameters(self) -> dict[str, Any]:
        return json.loads(self.params)  # type: ignore[no-any-return]


def remind(session: Session, *, user_id: int, key: str, message: str, params: dict[str, Any], link: str,
           now: datetime) -> Notification | None:
    """Create the person's reminder for ``key`` unless they already have one (then ``None``).
    Two runs at once: the second meets the unique constraint and creates nothing."""
    if not link.startswith("/") or link.startswith("//"):
        raise ValueError("a reminder links to a path on this site")
    exists = session.execute(select(Notification.id).where(Notification.user_id == user_id,
                                                           Notification.key == key)).first()
    if exists is not None:
        return None
    row = Notification(user_id=user_id, key=key, message=message, link=link, created_at=now,
                       params=json.dumps(params, ensure_ascii=False, sort_keys=True))
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return None
    return row


def unread(session: Session, user_id: int, *, limit: int = MAX_UNREAD_SHOWN) -> list[Notification]:
    """The person's unread reminders, newest first."""
    return list(session.execute(select(Notification).where(Notification.user_id == user_id,
                                                           Notification.read_at.is_(None))  # type: ignore[union-attr]
                                .order_by(Notification.created_at.desc(), Notification.id.desc())  # type: ignore[union-attr]
                                .limit(limit)).scalars())


def recent_read(session: Session, user_id: int, *, limit: int = 20) -> list[Notification]:
    return list(session.execute(select(Notification).where(Notification.user_id == user_id,
                                                           Notification.read_at.is_not(None))  # type: ignore[union-attr]
                                .order_by(Notification.read_at.desc(), Notification.id.desc())  # type: ignore[union-attr]
                                .limit(limit)).scalars())


def mark_read(session: Session, user_id: int, notification_id: int, *, now: datetime) -> Notification:
    """Mark one of the person's own reminders read (again: nothing changes). ``NotFound`` for a
    reminder of someone else, as for one that does not exist."""
    row = session.get(Notification, notification_id)
    if row is None or row.user_id != user_id:
        raise NotFound(_("There is no such reminder."))
    if row.read_at is None:
        row.read_at = now
        session.flush()
    return row


def mark_all_read(session: Session, user_id: int, *, now: datetime) -> int:
    result = session.execute(update(Notification).where(Notification.user_id == user_id,
                                                        Notification.read_at.is_(None))  # type: ignore[union-attr]
                             .values(read_at=now).execution_options(synchronize_session=False))
    return int(result.rowcount or 0)
