"""Commissions and their cases (S 7.6б, 7.7; U 6.6, 7).

The case's ``state`` changes only through ``appeals.workflow``; the constraints below tie the
state to the columns it needs, so that no code path can, say, issue a decision without a
finding and a sanction, or decide without having notified the student.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel

from appeals.workflow import State
from plugin.kernel import db as _db  # noqa: F401  (sets the constraint naming convention before these tables)
from plugin.kernel.clock import UTCDateTime

MEMBER_ROLES = ("chair", "secretary", "member")
FINDINGS = ("responsible", "not_responsible")
VOTES = ("responsible", "not_responsible", "abstain")
INCIDENT_LEVELS = (1, 2, 3)


def _in(column: str, values: tuple[object, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Commission(SQLModel, table=True):
    __tablename__ = "commission"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    name: str = Field(sa_column=Column(String(200), nullable=False, unique=True))
    scope: str = Field(sa_column=Column(String(200), nullable=False))  # the institution or a faculty
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class CommissionMember(SQLModel, table=True):
    __tablename__ = "commission_member"
    __table_args__ = (
        UniqueConstraint("commission_id", "user_id"),
        CheckConstraint(_in("role", MEMBER_ROLES), name="role_known"),
        # one active chair per commission, whatever code writes the rows
        Index("uq_commission_member_one_chair", "commission_id", unique=True,
              sqlite_where=text("role = 'chair' AND active"), postgresql_where=text("role = 'chair' AND active")),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    commission_id: int = Field(
        sa_column=Column(Integer, ForeignKey("commission.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    user_id: int = Field(
        sa_column=Column(Integer, ForeignKey("user_account.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    role: str = Field(sa_column=Column(String(10), nullable=False))
    active: bool = Field(default=True, sa_column=Column(Boolean, nullable=False))
    added_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


_AFTER_ISSUE = (State.ISSUED.value, State.APPEALED.value, State.APPEAL_REVIEW.value, State.CLOSED.value,
                State.APPEAL_DECIDED.value)
_AFTER_NOTICE = tuple(s.value for s in State if s not in (State.REFERRED, State.WITHDRAWN))
_DECIDED = (State.SANCTIONING.value, State.DECIDED.value, State.NOT_RESPONSIBLE.value, *_AFTER_ISSUE)
_SANCTIONED = (State.DECIDED.value, *_AFTER_ISSUE)
_FINAL_DECISION = (State.CLOSED.value, State.APPEAL_DECIDED.value, State.NOT_RESPONSIBLE.value)
APPEAL_GROUNDS = ("procedure", "new_evidence", "bias", "disproportionate")
APPEAL_OUTCOMES = ("upheld", "modified", "overturned")
EFFECT_KINDS = ("warning", "reopen", "deduction", "zero_grade", "referral")
DOCUMENT_KINDS = ("decision", "appeal")


class Case(SQLModel, table=True):
    __tablename__ = "integrity_case"
    __table_args__ = (
        CheckConstraint(_in("state", tuple(s.value for s in State)), name="state_known"),
        CheckConstraint("incident_level IS NULL OR " + _in("incident_level", INCIDENT_LEVELS), name="incident_known"),
        CheckConstraint("finding IS NULL OR " + _in("finding", FINDINGS), name="finding_known"),
        CheckConstraint("sanction_level IS NULL OR sanction_level BETWEEN 0 AND 3", name="sanction_level_range"),
        # state ↔ columns: notified cases have a deadline; decided ones a finding and reasons;
        # sanctioned ones a sanction; issued ones an issue time; not-responsible has no sanction.
        CheckConstraint(f"NOT ({_in('state', _AFTER_NOTICE)}) OR (notified_at IS NOT NULL AND "
                        "response_due_at IS NOT NULL)", name="notified_has_deadline"),
        CheckConstraint(f"NOT ({_in('state', _DECIDED)}) OR (finding IS NOT NULL AND reasons IS NOT NULL AND "
                        "decided_at IS NOT NULL)", name="decided_has_finding"),
        CheckConstraint(f"NOT ({_in('state', _SANCTIONED)}) OR (finding = 'responsible' AND "
                        "sanction_level IS NOT NULL)", name="sanctioned_has_level"),
        CheckConstraint(f"({_in('state', _AFTER_ISSUE)}) = (issued_at IS NOT NULL)", name="issued_has_time"),
        CheckConstraint("issued_at IS NULL OR appeal_due_at IS NOT NULL", name="issued_has_appeal_window"),
        # final ⇔ final_at; the final sanction never exceeds the first one (no increase on appeal)
        CheckConstraint(f"({_in('state', _FINAL_DECISION)}) = (final_at IS NOT NULL)", name="final_has_time"),
        CheckConstraint("final_sanction_level IS NULL OR (final_at IS NOT NULL AND sanction_level IS NOT NULL AND "
                        "final_sanction_level <= sanction_level)", name="final_sanction_not_higher"),
        CheckConstraint("state != 'closed' OR final_sanction_level = sanction_level", name="closed_keeps_sanction"),
        CheckConstraint("state != 'not_responsible' OR (finding = 'not_responsible' AND sanction_level IS NULL)",
                        name="not_responsible_has_no_sanction"),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    number: str = Field(sa_column=Column(String(40), nullable=False, unique=True))  # e.g. 2026-0001
    commission_id: int = Field(
        sa_column=Column(Integer, ForeignKey("commission.id", ondelete="RESTRICT"), nullable=False, index=True)
    )
    flag_id: int = Field(
        sa_column=Column(Integer, ForeignKey("flag.id", ondelete="RESTRICT"), nullable=False, unique=True)
    )
    submission_id: int = Field(
        sa_column=Column(Integer, ForeignKey("submission.id", ondelete="RESTRICT"), nullable=False, index=True)
    )
    student_id: int = Field(
        sa_column=Column(Integer, ForeignKey("user_account.id", ondelete="RESTRICT"), nullable=False, index=True)
    )
    course_id: int = Field(
        sa_column=Column(Integer, ForeignKey("course.id", ondelete="RESTRICT"), nullable=False, index=True)
    )
    state: str = Field(default=State.REFERRED.value, sa_column=Column(String(20), nullable=False, index=True))
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False))  # optimistic locking
    incident_level: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    allegation: str = Field(sa_column=Column(Text, nullable=False))
    rule: str = Field(sa_column=Column(Text, nullable=False))
    opened_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    notified_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    response_due_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True, index=True))
    objection_due_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    student_response: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    responded_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    hearing_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    hearing_place: str | None = Field(default=None, sa_column=Column(String(300), nullable=True))
    support_person: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    finding: str | None = Field(default=None, sa_column=Column(String(20), nullable=True))
    reasons: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    decided_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    sanction_level: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    sanction_code: str | None = Field(default=None, sa_column=Column(String(40), nullable=True))
    sanction_reasons: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    issued_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    appeal_due_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True, index=True))
    # Once final (window passed, appeal decided, or found not responsible): the sanction in force,
    # NULL when there is none; only now may the decision take effect in the LMS.
    final_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    final_sanction_level: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    closed_note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class CaseRecusal(SQLModel, table=True):
    """A member who may not take part in a case: automatic (taught the course, flagged it),
    declared (a conflict of interest) or upheld on the student's objection."""

    __tablename__ = "case_recusal"
    __table_args__ = (
        UniqueConstraint("case_id", "user_id"),
        CheckConstraint(_in("reason", ("flagged", "teaches_course", "declared", "objection")), name="reason_known"),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    case_id: int = Field(sa_column=Column(Integer, ForeignKey("integrity_case.id", ondelete="CASCADE"),
                                          nullable=False, index=True))
    user_id: int = Field(sa_column=Column(Integer, ForeignKey("user_account.id", ondelete="CASCADE"),
                                          nullable=False))
    reason: str = Field(sa_column=Column(String(20), nullable=False))
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class CaseObjection(SQLModel, table=True):
    """The student objects to a member; the chair rules on it."""

    __tablename__ = "case_objection"
    __table_args__ = (CheckConstraint("ruling IS NULL OR ruling IN ('upheld', 'rejected')", name="ruling_known"),)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    case_id: int = Field(sa_column=Column(Integer, ForeignKey("integrity_case.id", ondelete="CASCADE"),
                                          nullable=False, index=True))
    member_user_id: int = Field(sa_column=Column(Integer, ForeignKey("user_account.id", ondelete="CASCADE"),
                                                 nullable=False))
    grounds: str = Field(sa_column=Column(Text, nullable=False))
    filed_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    ruling: str | None = Field(default=None, sa_column=Column(String(10), nullable=True))
    ruling_reasons: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    ruled_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))


class CaseVote(SQLModel, table=True):
    """One member's vote on one question of a case (responsibility or sanction), with reasons."""

    __tablename__ = "case_vote"
    __table_args__ = (
        UniqueConstraint("case_id", "question", "user_id"),
        CheckConstraint("question IN ('finding', 'sanction', 'appeal')", name="question_known"),
        CheckConstraint("(question = 'finding' AND " + _in("vote", VOTES) + " AND sanction_level IS NULL) OR "
                        "(question = 'sanction' AND vote = 'level' AND sanction_level BETWEEN 0 AND 3) OR "
                        "(question = 'appeal' AND ((vote IN ('upheld', 'overturned', 'abstain') AND "
                        "sanction_level IS NULL) OR (vote = 'modified' AND sanction_level BETWEEN 0 AND 3)))",
                        name="vote_matches_question"),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    case_id: int = Field(sa_column=Column(Integer, ForeignKey("integrity_case.id", ondelete="CASCADE"),
                                          nullable=False, index=True))
    question: str = Field(sa_column=Column(String(10), nullable=False))
    user_id: int = Field(sa_column=Column(Integer, ForeignKey("user_account.id", ondelete="RESTRICT"),
                                          nullable=False))
    vote: str = Field(sa_column=Column(String(20), nullable=False))
    sanction_level: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    reasons: str = Field(sa_column=Column(Text, nullable=False))
    cited_evidence: str = Field(default="[]", sa_column=Column(Text, nullable=False))  # JSON evidence item ids
    at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class CaseStatement(SQLModel, table=True):
    """What the student adds: a statement and evidence files, with the response."""

    __tablename__ = "case_statement"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    case_id: int = Field(sa_column=Column(Integer, ForeignKey("integrity_case.id", ondelete="CASCADE"),
                                          nullable=False, index=True))
    text: str = Field(sa_column=Column(Text, nullable=False))
    sha256: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    name: str | None = Field(default=None, sa_column=Column(String(255), nullable=True))
    at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    # "response" (to the allegation) or "appeal" (with the appeal)
    stage: str = Field(default="response", sa_column=Column(String(10), nullable=False, server_default="response"))


class Appeal(SQLModel, table=True):
    """The student's appeal against an issued decision (S 7.12), and its outcome. The sanction can
    never increase: a modified sanction is lower than the first one, in the service and here."""

    __tablename__ = "case_appeal"
    __table_args__ = (
        CheckConstraint("outcome IS NULL OR " + _in("outcome", APPEAL_OUTCOMES), name="outcome_known"),
        CheckConstraint("(outcome IS NULL) = (decided_at IS NULL)", name="outcome_has_time"),
        CheckConstraint("outcome IS NULL OR outcome_reasons IS NOT NULL", name="outcome_has_reasons"),
        CheckConstraint("(outcome = 'modified') = (new_sanction_level IS NOT NULL)", name="modified_has_level"),
        CheckConstraint("new_sanction_level IS NULL OR (new_sanction_level >= 0 AND "
                        "new_sanction_level < original_sanction_level)", name="sanction_never_increases"),
        CheckConstraint("(presiding_user_id IS NULL) = (convened_at IS NULL)", name="convened_has_presiding"),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    case_id: int = Field(sa_column=Column(Integer, ForeignKey("integrity_case.id", ondelete="CASCADE"),
                                          nullable=False, unique=True))
    grounds: str = Field(sa_column=Column(Text, nullable=False))  # JSON list of APPEAL_GROUNDS
    statement: str = Field(sa_column=Column(Text, nullable=False))
    filed_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    original_sanction_level: int = Field(sa_column=Column(Integer, nullable=False))
    presiding_user_id: int | None = Field(default=None, sa_column=Column(
        Integer, ForeignKey("user_account.id", ondelete="RESTRICT"), nullable=True))
    convened_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    outcome: str | None = Field(default=None, sa_column=Column(String(12), nullable=True))
    outcome_reasons: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    new_sanction_level: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    decided_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    withdrawn_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))


class AppealPanelMember(SQLModel, table=True):
    """A member drawn for the appeal panel: never one who decided the case or is recused from it."""

    __tablename__ = "appeal_panel_member"
    __table_args__ = (UniqueConstraint("appeal_id", "user_id"),)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    appeal_id: int = Field(sa_column=Column(Integer, ForeignKey("case_appeal.id", ondelete="CASCADE"),
                                            nullable=False, index=True))
    user_id: int = Field(sa_column=Column(Integer, ForeignKey("user_account.id", ondelete="RESTRICT"),
                                          nullable=False))


class DecisionDocument(SQLModel, table=True):
    """A written decision (the first one, or the appeal's outcome) as issued: DOCX and PDF in the
    student's language, stored by SHA-256, never replaced. ``digest`` is the SHA-256 of the
    recorded decision's facts the documents were made from, so any later difference shows."""

    __tablename__ = "decision_document"
    __table_args__ = (
        UniqueConstraint("case_id", "kind"),
        CheckConstraint(_in("kind", DOCUMENT_KINDS), name="kind_known"),
        CheckConstraint("language IN ('kk', 'ru', 'en')", name="language_known"),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    case_id: int = Field(sa_column=Column(Integer, ForeignKey("integrity_case.id", ondelete="CASCADE"),
                                          nullable=False, index=True))
    kind: str = Field(sa_column=Column(String(10), nullable=False))
    language: str = Field(sa_column=Column(String(2), nullable=False))
    docx_sha256: str = Field(sa_column=Column(String(64), nullable=False))
    pdf_sha256: str = Field(sa_column=Column(String(64), nullable=False))
    digest: str = Field(sa_column=Column(String(64), nullable=False))
    made_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class CaseEffect(SQLModel, table=True):
    """What a final decision did outside the case (S 7.7): a warning, the work reopened, points
    deducted, a zero posted, a referral to the disciplinary procedure. One row per kind: applying
    effects twice does nothing twice."""

    __tablename__ = "case_effect"
    __table_args__ = (
        UniqueConstraint("case_id", "kind"),
        CheckConstraint(_in("kind", EFFECT_KINDS), name="kind_known"),
        CheckConstraint("lms_status IS NULL OR lms_status IN ('pending', 'posted', 'failed', 'off')",
                        name="lms_status_known"),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    case_id: int = Field(sa_column=Column(Integer, ForeignKey("integrity_case.id", ondelete="CASCADE"),
                                          nullable=False, index=True))
    kind: str = Field(sa_column=Column(String(12), nullable=False))
    detail: str = Field(default="{}", sa_column=Column(Text, nullable=False))  # JSON
    applied_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    lms_status: str | None = Field(default=None, sa_column=Column(String(10), nullable=True))
