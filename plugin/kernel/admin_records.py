"""The admin console's tables: accounts with a second factor, their recovery codes and sessions,
and the usage journal of AI systems (S 8.4). The services that use them are in ``plugin.admin``;
the tables live in the kernel so that ``plugin.migrations`` can load them without importing the
console (the two are independent layers).

An admin account is not an LMS identity: it has no row in ``user_account`` and no LTI launch can
become one. The password is kept as an argon2id hash; the TOTP seed must be read back to check
codes, so it is sealed with the instance's data key (``plugin.kernel.crypto``), never stored in
clear. Recovery codes are random (80 bits), so a SHA-256 of each is enough to keep them safe.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Column, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from plugin.kernel import db as _db  # noqa: F401  (sets the constraint naming convention before these tables)
from plugin.kernel.clock import UTCDateTime


class AdminAccount(SQLModel, table=True):
    __tablename__ = "admin_account"
    __table_args__ = (
        UniqueConstraint("username"),
        CheckConstraint("failed_attempts >= 0", name="failed_attempts_not_negative"),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    username: str = Field(sa_column=Column(String(64), nullable=False))
    password_hash: str = Field(sa_column=Column(String(255), nullable=False))
    totp_seed_sealed: str = Field(sa_column=Column(Text, nullable=False))
    # The TOTP time-step (unix time // 30) of the last code accepted: a code of that step or an
    # earlier one is refused, so a code seen over someone's shoulder cannot be used again.
    last_totp_step: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    failed_attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False, default=0))
    locked_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    created_by: str = Field(sa_column=Column(String(200), nullable=False))


class AdminRecoveryCode(SQLModel, table=True):
    __tablename__ = "admin_recovery_code"
    __table_args__ = (UniqueConstraint("code_hash"),)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    account_id: int = Field(sa_column=Column(Integer, ForeignKey("admin_account.id", ondelete="CASCADE"),
                                             nullable=False, index=True))
    code_hash: str = Field(sa_column=Column(String(64), nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))


class AdminSession(SQLModel, table=True):
    """A signed-in admin. The browser holds a random token; only its SHA-256 is here, so that
    logging out, a timeout or a reset ends the session on the server, whatever the cookie says."""

    __tablename__ = "admin_session"
    __table_args__ = (UniqueConstraint("token_hash"),)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    account_id: int = Field(sa_column=Column(Integer, ForeignKey("admin_account.id", ondelete="CASCADE"),
                                             nullable=False, index=True))
    token_hash: str = Field(sa_column=Column(String(64), nullable=False))
    started_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    last_seen_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    ended_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    end_reason: str | None = Field(default=None, sa_column=Column(String(20), nullable=True))


class UsageJournalEntry(SQLModel, table=True):
    """One AI system the institution uses (S 8.4): what it is, the scenario approved for it, who
    answers for it, and the council's decision that approved it."""

    __tablename__ = "usage_journal_entry"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    system_name: str = Field(sa_column=Column(String(200), nullable=False))
    scenario: str = Field(sa_column=Column(Text, nullable=False))
    responsible_unit: str = Field(sa_column=Column(String(200), nullable=False))
    decision_number: str = Field(sa_column=Column(String(100), nullable=False))
    decision_date: date = Field(sa_column=Column(Date, nullable=False))
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    created_by: str = Field(sa_column=Column(String(200), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    updated_by: str = Field(sa_column=Column(String(200), nullable=False))
