"""Time is timezone-aware UTC everywhere; ``now`` is read once at the boundary and passed in."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator


def now_utc() -> datetime:
    """The current instant, aware, in UTC. Only views and CLI commands call this."""
    return datetime.now(UTC)


def ensure_utc(value: datetime) -> datetime:
    """Refuse naive datetimes: a time without a zone is a bug waiting for a time zone change."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("naive datetime: pass an aware UTC datetime")
    return value.astimezone(UTC)


def iso(value: datetime) -> str:
    """Canonical text of an instant: UTC, microseconds, so that it survives every database."""
    return ensure_utc(value).isoformat(timespec="microseconds")


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp column that accepts only aware datetimes and always returns aware UTC ones.

    SQLite keeps no zone, PostgreSQL's ``timestamptz`` returns the session zone; both come back
    here as UTC so that comparisons and MACs give the same answer on either database.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        value = ensure_utc(value)
        if getattr(dialect, "name", "") == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
