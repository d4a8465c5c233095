"""Tables retention needs below every domain: legal holds, and what is left of a case once it is
anonymised (S 5.3в).

A hold names its subject by kind and id rather than by a foreign key: a case lives in ``appeals``,
which the kernel may not know, and a released hold must not stop the subject's later deletion.
The anonymised tables keep only what statistics count (levels, outcome, dates, course, term,
language): no person, no free text.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, Column, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from plugin.kernel import db as _db  # noqa: F401  (sets the constraint naming convention before these tables)
from plugin.kernel.clock import UTCDateTime

HOLD_KINDS = ("case", "user", "course")


class LegalHold(SQLModel, table=True):
    """Keep everything about a case, a person or a course, whatever the retention periods say."""

    __tablename__ = "legal_hold"
    __table_args__ = (
        CheckConstraint("subject_kind IN ('case', 'user', 'course')", name="kind_known"),
        CheckConstraint("(released_at IS NULL) = (released_by IS NULL)", name="released_has_actor"),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    subject_kind: str = Field(sa_column=Column(String(10), nullable=False))
    subject_id: int = Field(sa_column=Column(Integer, nullable=False))
    reason: str = Field(sa_column=Column(Text, nullable=False))
    created_by: str = Field(sa_column=Column(String(200), nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    released_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    released_by: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))


class AnonymisedCase(SQLModel, table=True):
    """A closed case after its retention period: the figures statistics and the monitoring
    report count, without the student, the texts or the files."""

    __tablename__ = "anonymised_case"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    course_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("course.id", ondelete="SET NULL"), nullable=True, index=True)
    )
    commission_id: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    term: str | None = Field(default=None, sa_column=Column(String(20), nullable=True))
    submission_language: str | None = Field(default=None, sa_column=Column(String(8), nullable=True))
    state: str = Field(sa_column=Column(String(20), nullable=False))
    incident_level: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    finding: str | None = Field(default=None, sa_column=Column(String(20), nullable=True))
    sanction_level: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    final_sanction_level: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))  # after appeal
    sanction_code: str | None = Field(default=None, sa_column=Column(String(40), nullable=True))
    appealed: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    appeal_outcome: str | None = Field(default=None, sa_column=Column(String(20), nullable=True))
    flagged_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    opened_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    decided_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    issued_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    closed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    anonymised_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class AnonymisedSubmissionCount(SQLModel, table=True):
    """How many submissions retention deleted, per course, term and language: the denominator
    of "cases per submission" for terms whose submissions are gone."""

    __tablename__ = "anonymised_submission_count"
    __table_args__ = (UniqueConstraint("course_id", "term", "language"),
                      CheckConstraint("count >= 0", name="count_not_negative"))

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    course_id: int = Field(
        sa_column=Column(Integer, ForeignKey("course.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    term: str = Field(sa_column=Column(String(20), nullable=False))
    language: str = Field(sa_column=Column(String(8), nullable=False))
    count: int = Field(sa_column=Column(Integer, nullable=False))
