"""Evidence about a submission: detector and originality signals (S 6.11: signals, never proof),
process evidence (drafts asked for, oral defences), and the teacher's suspicion flag (S 7.6ә).

Constraints in the database keep the rules that must hold whatever code writes the rows: a
score is a percentage, an evidence item points at exactly the one thing its kind names.
"""

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

SIGNAL_KINDS = ("detector", "originality")
SIGNAL_SOURCES = ("manual", "upload", "api")
GROUNDS = ("level_mismatch", "missing_drafts", "failed_defence", "matching_sources", "detector_signal", "other")
EVIDENCE_KINDS = ("file", "signal", "defence", "draft_request", "note")
FLAG_STATES = ("open", "referred", "closed_informal", "withdrawn")
DEFENCE_CONCLUSIONS = ("confirmed", "not_confirmed", "inconclusive")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Integration(SQLModel, table=True):
    """A detector or originality service allowed to post signals (``adal integration add``)."""

    __tablename__ = "integration"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    name: str = Field(sa_column=Column(String(100), nullable=False, unique=True))
    token_hash: str = Field(sa_column=Column(String(64), nullable=False, unique=True))  # SHA-256 of the token
    secret_sealed: str = Field(sa_column=Column(Text, nullable=False))  # HMAC secret, AES-GCM sealed
    active: bool = Field(default=True, sa_column=Column(Boolean, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    created_by: str = Field(sa_column=Column(String(200), nullable=False))


class Signal(SQLModel, table=True):
    __tablename__ = "signal"
    __table_args__ = (
        CheckConstraint(_in("kind", SIGNAL_KINDS), name="kind_known"),
        CheckConstraint(_in("source", SIGNAL_SOURCES), name="source_known"),
        CheckConstraint("score >= 0 AND score <= 100", name="score_is_percent"),
        UniqueConstraint("integration_id", "vendor_scan_id"),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    submission_id: int = Field(
        sa_column=Column(Integer, ForeignKey("submission.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    kind: str = Field(sa_column=Column(String(12), nullable=False))
    source: str = Field(sa_column=Column(String(10), nullable=False))
    vendor: str = Field(sa_column=Column(String(100), nullable=False))
    product: str = Field(sa_column=Column(String(100), nullable=False))
    model_version: str = Field(sa_column=Column(String(100), nullable=False))
    # detector: the probability the vendor gives that the text was machine-generated, in per cent;
    # originality: the share of non-original text (copied + AI content, U 5.6), in per cent.
    score: float = Field(sa_column=Column(Numeric(5, 2, asdecimal=False), nullable=False))
    scanned_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    report_sha256: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    report_name: str | None = Field(default=None, sa_column=Column(String(255), nullable=True))
    report_url: str | None = Field(default=None, sa_column=Column(String(2000), nullable=True))
    # JSON: [{"title": ..., "url": ..., "percent": ...}]
    matched_sources: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    integration_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("integration.id", ondelete="SET NULL"), nullable=True)
    )
    vendor_scan_id: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    created_by: str = Field(sa_column=Column(String(200), nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class DraftRequest(SQLModel, table=True):
    """The teacher asked for drafts (S 7.5); the student answers with files by the deadline."""

    __tablename__ = "draft_request"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    submission_id: int = Field(
        sa_column=Column(Integer, ForeignKey("submission.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    message: str = Field(sa_column=Column(Text, nullable=False))
    due_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    requested_by: str = Field(sa_column=Column(String(200), nullable=False))
    requested_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    answered_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    answer_note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class DraftUpload(SQLModel, table=True):
    __tablename__ = "draft_upload"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    request_id: int = Field(
        sa_column=Column(Integer, ForeignKey("draft_request.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    name: str = Field(sa_column=Column(String(255), nullable=False))
    kind: str = Field(sa_column=Column(String(16), nullable=False))
    size: int = Field(sa_column=Column(Integer, nullable=False))
    sha256: str = Field(sa_column=Column(String(64), nullable=False))


class OralDefence(SQLModel, table=True):
    """An oral defence (S 7.5): scheduled openly, its record visible to the student."""

    __tablename__ = "oral_defence"
    __table_args__ = (
        CheckConstraint("conclusion IS NULL OR " + _in("conclusion", DEFENCE_CONCLUSIONS), name="conclusion_known"),
        # a record needs all three parts, and a conclusion only comes with a record
        CheckConstraint("(recorded_at IS NULL AND conclusion IS NULL) OR (recorded_at IS NOT NULL AND "
                        "conclusion IS NOT NULL AND questions IS NOT NULL AND answers_summary IS NOT NULL)",
                        name="record_complete"),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    submission_id: int = Field(
        sa_column=Column(Integer, ForeignKey("submission.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    scheduled_for: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    place: str | None = Field(default=None, sa_column=Column(String(300), nullable=True))
    online_url: str | None = Field(default=None, sa_column=Column(String(2000), nullable=True))
    scheduled_by: str = Field(sa_column=Column(String(200), nullable=False))
    scheduled_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    questions: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    answers_summary: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    conclusion: str | None = Field(default=None, sa_column=Column(String(20), nullable=True))
    conclusion_text: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    recorded_by: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    recorded_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))


class Flag(SQLModel, table=True):
    """A teacher's suspicion about one submission. ``referred_at`` is set only when a
    non-detector evidence item exists (checked by the service and by ``flag_referable``)."""

    __tablename__ = "flag"
    __table_args__ = (
        CheckConstraint(_in("state", FLAG_STATES), name="state_known"),
        CheckConstraint("(state = 'referred') = (referred_at IS NOT NULL)", name="referred_has_time"),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    submission_id: int = Field(
        sa_column=Column(Integer, ForeignKey("submission.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    course_id: int = Field(
        sa_column=Column(Integer, ForeignKey("course.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    state: str = Field(default="open", sa_column=Column(String(20), nullable=False))
    created_by: str = Field(sa_column=Column(String(200), nullable=False))
    created_by_user: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True)
    )
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    referred_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    closed_note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class FlagGround(SQLModel, table=True):
    __tablename__ = "flag_ground"
    __table_args__ = (CheckConstraint(_in("ground", GROUNDS), name="ground_known"),)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    flag_id: int = Field(sa_column=Column(Integer, ForeignKey("flag.id", ondelete="CASCADE"), nullable=False,
                                          index=True))
    ground: str = Field(sa_column=Column(String(20), nullable=False))
    description: str = Field(sa_column=Column(Text, nullable=False))


class EvidenceItem(SQLModel, table=True):
    """One piece of evidence for a ground. ``is_detector`` is true exactly for detector signals:
    evidence of that kind alone never lets a flag be referred (S 3.3ә)."""

    __tablename__ = "evidence_item"
    __table_args__ = (
        CheckConstraint(_in("kind", EVIDENCE_KINDS), name="kind_known"),
        CheckConstraint(
            "(kind = 'file' AND sha256 IS NOT NULL AND signal_id IS NULL AND defence_id IS NULL AND "
            "draft_request_id IS NULL) OR "
            "(kind = 'signal' AND signal_id IS NOT NULL AND sha256 IS NULL AND defence_id IS NULL AND "
            "draft_request_id IS NULL) OR "
            "(kind = 'defence' AND defence_id IS NOT NULL AND sha256 IS NULL AND signal_id IS NULL AND "
            "draft_request_id IS NULL) OR "
            "(kind = 'draft_request' AND draft_request_id IS NOT NULL AND sha256 IS NULL AND signal_id IS NULL AND "
            "defence_id IS NULL) OR "
            "(kind = 'note' AND sha256 IS NULL AND signal_id IS NULL AND defence_id IS NULL AND "
            "draft_request_id IS NULL)",
            name="points_at_one_thing"),
        CheckConstraint("NOT is_detector OR kind = 'signal'", name="detector_is_a_signal"),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    ground_id: int = Field(sa_column=Column(Integer, ForeignKey("flag_ground.id", ondelete="CASCADE"),
                                            nullable=False, index=True))
    kind: str = Field(sa_column=Column(String(20), nullable=False))
    is_detector: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    description: str = Field(sa_column=Column(Text, nullable=False))
    sha256: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    name: str | None = Field(default=None, sa_column=Column(String(255), nullable=True))
    signal_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("signal.id", ondelete="RESTRICT"), nullable=True)
    )
    defence_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("oral_defence.id", ondelete="RESTRICT"), nullable=True)
    )
    draft_request_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("draft_request.id", ondelete="RESTRICT"), nullable=True)
    )
    added_by: str = Field(sa_column=Column(String(200), nullable=False))
    added_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class AttributionFixRequest(SQLModel, table=True):
    """An informal talk and a request to correct an incomplete attribution (S 9.4 level 1):
    recorded, not a sanction."""

    __tablename__ = "attribution_fix_request"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    submission_id: int = Field(
        sa_column=Column(Integer, ForeignKey("submission.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    note: str = Field(sa_column=Column(Text, nullable=False))
    due_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    requested_by: str = Field(sa_column=Column(String(200), nullable=False))
    requested_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    resolved_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))


class CoursePolicy(SQLModel, table=True):
    """Course-level choices: whether teaching assistants may flag (the default: they may)."""

    __tablename__ = "course_policy"

    course_id: int = Field(sa_column=Column(Integer, ForeignKey("course.id", ondelete="CASCADE"), primary_key=True))
    ta_may_flag: bool = Field(default=True, sa_column=Column(Boolean, nullable=False))
    updated_by: str = Field(sa_column=Column(String(200), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
