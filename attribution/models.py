"""Assignments placed in the LMS, the teacher's AI-use policy for each, and the submissions
students hand in with their disclosure (S C.5)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from plugin.kernel import db as _db  # noqa: F401  (sets the constraint naming convention before these tables)
from plugin.kernel.clock import UTCDateTime

LATE_POLICIES = ("mark", "refuse")
FILE_ROLES = ("original", "copy", "draft")


class Assignment(SQLModel, table=True):
    __tablename__ = "assignment"
    __table_args__ = (
        UniqueConstraint("course_id", "resource_link_id"),
        CheckConstraint("late_policy IN ('mark', 'refuse')", name="late_policy_known"),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    course_id: int = Field(
        sa_column=Column(Integer, ForeignKey("course.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    title: str = Field(sa_column=Column(String(300), nullable=False))
    score_maximum: float = Field(sa_column=Column(Numeric(8, 2, asdecimal=False), nullable=False))
    # Filled at the first launch of the placed link: the LMS's resource link and gradebook column.
    resource_link_id: str | None = Field(default=None, sa_column=Column(String(255), nullable=True))
    line_item_url: str | None = Field(default=None, sa_column=Column(String(1000), nullable=True))
    created_by: str = Field(sa_column=Column(String(200), nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    # The teacher's settings, made on the first launch; students cannot submit before.
    configured_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    instructions: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    due_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    late_policy: str = Field(default="mark", sa_column=Column(String(10), nullable=False, server_default="mark"))
    # bachelor / master / doctoral (U 5.6) or school / college; NULL: from the institution type.
    degree_level: str | None = Field(default=None, sa_column=Column(String(20), nullable=True))
    # JSON: [{"code": "ideas", "allowed": true}, {"code": "c1", "title": "...", "allowed": false}, ...]
    task_policy: str = Field(default="[]", sa_column=Column(Text, nullable=False, server_default="[]"))
    drafts_required: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default="0"))
    oral_defence_possible: bool = Field(default=False,
                                        sa_column=Column(Boolean, nullable=False, server_default="0"))
    no_ai_alternative: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class Submission(SQLModel, table=True):
    """One version of one student's work on one assignment, with the disclosure as submitted.
    Never updated after it is made, except for the teacher's grade and the LMS status."""

    __tablename__ = "submission"
    __table_args__ = (
        UniqueConstraint("assignment_id", "student_id", "version"),
        UniqueConstraint("student_id", "idempotency_key"),
        # U 6.5: a disclosure of AI use carries the author's confirmation; no AI, no AI fields.
        CheckConstraint("(ai_used AND checked) OR (NOT ai_used AND service IS NULL AND tasks = '[]')",
                        name="disclosure_consistent"),
        CheckConstraint("version >= 1", name="version_positive"),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    assignment_id: int = Field(
        sa_column=Column(Integer, ForeignKey("assignment.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    student_id: int = Field(
        sa_column=Column(Integer, ForeignKey("user_account.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    version: int = Field(sa_column=Column(Integer, nullable=False))
    idempotency_key: str = Field(sa_column=Column(String(64), nullable=False))
    submitted_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    late: bool = Field(sa_column=Column(Boolean, nullable=False))
    language: str = Field(sa_column=Column(String(8), nullable=False))  # of the work: kk, ru, en, other
    term: str = Field(sa_column=Column(String(20), nullable=False))  # e.g. 2026-2027/1
    notice_version: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    ai_used: bool = Field(sa_column=Column(Boolean, nullable=False))
    tasks: str = Field(default="[]", sa_column=Column(Text, nullable=False))  # JSON list of codes
    other_text: str | None = Field(default=None, sa_column=Column(String(300), nullable=True))
    service: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    model: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    model_version: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    use_dates: str = Field(default="[]", sa_column=Column(Text, nullable=False))  # JSON list of ISO dates
    drafts_url: str | None = Field(default=None, sa_column=Column(String(2000), nullable=True))
    use_rows: str = Field(default="[]", sa_column=Column(Text, nullable=False))  # JSON C.2 rows
    checked: bool = Field(sa_column=Column(Boolean, nullable=False))
    not_allowed: str = Field(default="[]", sa_column=Column(Text, nullable=False))  # declared, not allowed
    statement: str = Field(sa_column=Column(Text, nullable=False))
    statement_lang: str = Field(sa_column=Column(String(8), nullable=False))
    grade: float | None = Field(default=None, sa_column=Column(Numeric(8, 2, asdecimal=False), nullable=True))
    feedback: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    graded_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    graded_by: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    # The stamped copies are still to be made (background mode); `adal jobs run` makes them.
    copies_pending: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default="0"))
    # What the LMS gradebook last heard: posted, failed, off (no AGS for this link).
    lms_status: str | None = Field(default=None, sa_column=Column(String(10), nullable=True))


class SubmissionFile(SQLModel, table=True):
    __tablename__ = "submission_file"
    __table_args__ = (CheckConstraint("role IN ('original', 'copy', 'draft')", name="file_role_known"),)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    submission_id: int = Field(
        sa_column=Column(Integer, ForeignKey("submission.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    role: str = Field(sa_column=Column(String(10), nullable=False))
    position: int = Field(sa_column=Column(Integer, nullable=False))
    name: str = Field(sa_column=Column(String(255), nullable=False))
    kind: str = Field(sa_column=Column(String(16), nullable=False))
    size: int = Field(sa_column=Column(Integer, nullable=False))
    sha256: str = Field(sa_column=Column(String(64), nullable=False, index=True))
    copy_of: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("submission_file.id", ondelete="CASCADE"), nullable=True)
    )


class Reopening(SQLModel, table=True):
    """A teacher (or a case decision) gave one student a new due date on one assignment."""

    __tablename__ = "assignment_reopening"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    assignment_id: int = Field(
        sa_column=Column(Integer, ForeignKey("assignment.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    student_id: int = Field(
        sa_column=Column(Integer, ForeignKey("user_account.id", ondelete="CASCADE"), nullable=False)
    )
    due_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    reason: str = Field(sa_column=Column(Text, nullable=False))
    created_by: str = Field(sa_column=Column(String(200), nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class GradeAdjustment(SQLModel, table=True):
    """A change a final commission decision makes to what Adal posts to the LMS gradebook for one
    student on one assignment (S 7.7): points deducted (level 1) or a zero (level 2). Applied by
    ``attribution.gradebook`` to every grade it posts afterwards; ``source`` names the decision."""

    __tablename__ = "grade_adjustment"
    __table_args__ = (
        UniqueConstraint("assignment_id", "student_id", "source"),
        CheckConstraint("kind IN ('deduction', 'zero')", name="kind_known"),
        CheckConstraint("(kind = 'deduction') = (points IS NOT NULL AND points > 0)", name="deduction_has_points"),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    assignment_id: int = Field(
        sa_column=Column(Integer, ForeignKey("assignment.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    student_id: int = Field(
        sa_column=Column(Integer, ForeignKey("user_account.id", ondelete="CASCADE"), nullable=False)
    )
    kind: str = Field(sa_column=Column(String(10), nullable=False))
    points: float | None = Field(default=None, sa_column=Column(Numeric(8, 2, asdecimal=False), nullable=True))
    reason: str = Field(sa_column=Column(Text, nullable=False))
    source: str = Field(sa_column=Column(String(60), nullable=False))  # e.g. "case:12"
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
