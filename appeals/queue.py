"""What the commission's pages read: the case queue (one query for a page, one for the counts),
the referred flags still waiting for a case, the case file of one case as a member may see it,
and the translated titles of states, parties, votes, sanctions and incident levels.

Nothing here changes a row: the verbs are in ``appeals.cases``. Who may see what is decided
there too (``case_for``, ``membership``); this module only shapes what they allow.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, false, func, or_, select
from sqlalchemy import case as when
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from appeals.appeal import appeal_of, appeal_tally, panel_candidates, panel_of
from appeals.cases import Tally, case_for, membership, prior_cases, tally
from appeals.models import (
    Appeal,
    Case,
    CaseEffect,
    CaseObjection,
    CaseRecusal,
    CaseStatement,
    CaseVote,
    Commission,
    CommissionMember,
    DecisionDocument,
)
from appeals.workflow import FINAL, TRANSITIONS, Event, Party, State, allowed_events
from evidence.flags import draft_requests_of, flag_grounds, recorded_defences
from evidence.models import DraftRequest, EvidenceItem, Flag, FlagGround, OralDefence, Signal
from evidence.signals import SignalView, signal_views
from plugin.kernel.audit import AuditEntry
from plugin.kernel.errors import NotFound
from plugin.kernel.settings import get_setting
from plugin.kernel.users import Actor, Course, User

PAGE_SIZE = 50

# -- titles ----------------------------------------------------------------------------------------
STATE_TITLES = {
    State.REFERRED: _l("Referred: the student is not yet notified"),
    State.NOTIFIED: _l("Student notified: waiting for the response"),
    State.ACCEPTED: _l("The student accepts the allegation"),
    State.CONTESTED: _l("The student contests the allegation"),
    State.HEARING: _l("Hearing scheduled"),
    State.DELIBERATION: _l("Deliberation: the members vote"),
    State.SANCTIONING: _l("Found responsible: deciding the sanction"),
    State.DECIDED: _l("Decided: not yet issued"),
    State.ISSUED: _l("Decision issued: the appeal window is open"),
    State.APPEALED: _l("Appealed: the appeal panel is to be convened"),
    State.APPEAL_REVIEW: _l("Appeal: the panel re-examines the case"),
    State.CLOSED: _l("Final: no appeal was made"),
    State.APPEAL_DECIDED: _l("Final: the appeal is decided"),
    State.NOT_RESPONSIBLE: _l("Found not responsible: closed"),
    State.WITHDRAWN: _l("Withdrawn"),
}
PARTY_TITLES = {
    Party.SECRETARY: _l("the secretary"),
    Party.CHAIR: _l("the chair"),
    Party.PANEL: _l("the members (they vote; the chair closes the vote)"),
    Party.STUDENT: _l("the student"),
}
MEMBER_ROLE_TITLES = {"chair": _l("chair"), "secretary": _l("secretary"), "member": _l("member")}
RECUSAL_TITLES = {
    "flagged": _l("flagged this work (recused automatically)"),
    "teaches_course": _l("teaches the course (recused automatically)"),
    "declared": _l("declared a conflict of interest"),
    "objection": _l("the student's objection was upheld"),
}
VOTE_TITLES = {"responsible": _l("Responsible"), "not_responsible": _l("Not responsible"), "abstain": _l("Abstain"),
               "upheld": _l("Uphold the decision"), "modified": _l("Lower the sanction"),
               "overturned": _l("Overturn the decision")}
APPEAL_GROUND_TITLES = {
    "procedure": _l("A procedural irregularity"),
    "new_evidence": _l("New evidence"),
    "bias": _l("Bias of a member"),
    "disproportionate": _l("The sanction is disproportionate"),
}
APPEAL_OUTCOME_TITLES = {"upheld": _l("Upheld: the first decision stands"),
                         "modified": _l("Modified: the sanction is lowered"),
                         "overturned": _l("Overturned: the first decision is set aside")}
EFFECT_TITLES = {
    "warning": _l("A warning is on record"),
    "reopen": _l("The assignment is reopened for the student with a new due date"),
    "deduction": _l("Points are deducted from the grade posted to the LMS"),
    "zero_grade": _l("A zero is posted to the LMS gradebook"),
    "referral": _l("Referred to the institution's disciplinary procedure"),
}
DOCUMENT_TITLES = {"decision": _l("The commission's decision"), "appeal": _l("The decision on the appeal")}
LMS_STATUS_TITLES = {"pending": _l("waiting to be sent"), "posted": _l("sent to the LMS"),
                     "failed": _l("the LMS did not accept it: send again"),
                     "off": _l("this link has no gradebook column")}
FINDING_TITLES = {"responsible": _l("Responsible"), "not_responsible": _l("Not responsible")}
#: The S 7.7 catalogue's codes; an institution that renames a level keeps its own code (shown as is).
SANCTION_TITLES = {
    "warning": _l("Warning; the attribution is corrected"),
    "resubmission": _l("The task is resubmitted; points are deducted"),
    "zero_grade_retake": _l("Grade 0; the course is retaken by the commission's decision"),
    "disciplinary": _l("Disciplinary measures under the charter"),
}
SANCTION_HINTS = {
    0: _l("No intent: an allowed use of AI was not disclosed."),
    1: _l("Part of the content was substituted."),
    2: _l("A substantial part of the content was substituted."),
    3: _l("A systematic or group violation."),
}
INCIDENT_TITLES = {1: _l("Level 1: low"), 2: _l("Level 2: medium"), 3: _l("Level 3: high")}
INCIDENT_HINTS = {
    1: _l("A one-off breach of a rule, for example an AI use cited in the wrong form; usually a teacher's "
          "explanatory talk is enough."),
    2: _l("It affects the rights, grades or data of several people, for example serious plagiarism: the ethics "
          "council, a formal decision and the right to appeal."),
    3: _l("A mass leak of personal data or a failure of the system: stop using the system and notify the "
          "authority."),
}


EVENT_TITLES = {
    "case.opened": _l("Case opened"),
    "case.notify": _l("Student notified"),
    "case.accept": _l("The student accepted the allegation"),
    "case.contest": _l("The student contested the allegation"),
    "case.no_response": _l("No response by the deadline: on to deliberation"),
    "case.schedule_hearing": _l("Hearing scheduled"),
    "case.deliberate": _l("Deliberation opened"),
    "case.find_responsible": _l("Finding recorded: responsible"),
    "case.find_not_responsible": _l("Finding recorded: not responsible"),
    "case.set_sanction": _l("Sanction recorded"),
    "case.issue": _l("Decision issued"),
    "case.withdraw": _l("Case withdrawn"),
    "case.recusal": _l("A member declared a conflict of interest"),
    "case.objection": _l("The student objected to a member"),
    "case.objection_ruled": _l("The chair ruled on an objection"),
    "case.appeal": _l("The student appealed"),
    "case.withdraw_appeal": _l("The student withdrew the appeal"),
    "case.window_closed": _l("The appeal window closed: the decision is final"),
    "case.convene_panel": _l("Appeal panel convened"),
    "case.decide_appeal": _l("Appeal decided"),
    "case.effects": _l("The final decision took effect"),
    "case.decision_written": _l("Written decision kept on file"),
}


def sanction_title(code: str | None, level: int | None) -> str:
    """The translated title of a catalogue code; an institution's own code is shown as it is."""
    if code in SANCTION_TITLES:
        return str(SANCTION_TITLES[code])
    return code or ("" if level is None else str(level))


def next_parties(state: State | str) -> tuple[Party, ...]:
    """Who acts next in ``state``, read from the transition table: the parties of its moves
    other than the chair's withdrawal (possible all along) and the deadline job."""
    state = State(state)
    found: list[Party] = []
    for move in TRANSITIONS:
        if move.source != state or move.event in (Event.WITHDRAW, Event.WITHDRAW_APPEAL):
            continue
        for party in (Party.STUDENT, Party.SECRETARY, Party.PANEL, Party.CHAIR):
            if party in move.by and party not in found:
                found.append(party)
    return tuple(found)


# -- membership --------------------------------------------------------------------------------------
def commission_memberships(session: Session, user_id: int) -> list[tuple[CommissionMember, Commission]]:
    """The person's active memberships, with their commissions, by commission name."""
    return [(member, commission) for member, commission in session.execute(
        select(CommissionMember, Commission).join(Commission, Commission.id == CommissionMember.commission_id)
        .where(CommissionMember.user_id == user_id, CommissionMember.active.is_(True))
        .order_by(Commission.name)).all()]


# -- the queue ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class QueueFilters:
    state: str | None = None
    course_id: int | None = None
    due_by: datetime | None = None  # the next deadline on or before this instant
    overdue: bool = False
    commission_id: int | None = None

    @property
    def active(self) -> bool:
        return bool(self.state or self.course_id or self.due_by or self.overdue or self.commission_id)


@dataclass(frozen=True)
class QueueRow:
    id: int
    number: str
    commission_id: int
    course_title: str
    state: State
    next_deadline: datetime | None
    overdue: bool


@dataclass(frozen=True)
class CourseCount:
    course_id: int
    title: str
    cases: int


@dataclass(frozen=True)
class QueuePage:
    rows: list[QueueRow]
    total: int  # cases matching the filters
    overdue: int  # of which overdue
    courses: list[CourseCount]  # courses with matching cases (for the course filter), by title
    older: int | None  # keyset cursors for the next and previous pages
    newer: int | None


def next_deadline() -> ColumnElement[datetime]:
    """The deadline a waiting case runs against: the response deadline while the student is
    notified, the hearing while it is scheduled; none in other states."""
    return when((Case.state == State.NOTIFIED.value, Case.response_due_at),
                (Case.state == State.HEARING.value, Case.hearing_at), else_=None)


def _deadline_before(moment: datetime, *, strict: bool) -> ColumnElement[bool]:
    def cmp(column: ColumnElement[datetime]) -> ColumnElement[bool]:
        return column < moment if strict else column <= moment

    return or_(and_(Case.state == State.NOTIFIED.value, cmp(Case.response_due_at)),  # type: ignore[arg-type]
               and_(Case.state == State.HEARING.value, cmp(Case.hearing_at)))  # type: ignore[arg-type]


def overdue_clause(now: datetime) -> ColumnElement[bool]:
    """The case waits and its deadline passed: the response was due, or the hearing was held
    (or should have been) and deliberation has not been opened."""
    return _deadline_before(now, strict=True)


def _conditions(commission_ids: Sequence[int], filters: QueueFilters, now: datetime, *,
                with_course: bool) -> list[ColumnElement[bool]]:
    wanted = [cid for cid in commission_ids if filters.commission_id in (None, cid)]
    conditions: list[ColumnElement[bool]] = [Case.commission_id.in_(wanted) if wanted else false()]  # type: ignore[attr-defined]
    if filters.state:
        conditions.append(Case.state == filters.state)  # type: ignore[arg-type]
    if with_course and filters.course_id:
        conditions.append(Case.course_id == filters.course_id)  # type: ignore[arg-type]
    if filters.due_by is not None:
        conditions.append(_deadline_before(filters.due_by, strict=False))
    if filters.overdue:
        conditions.append(overdue_clause(now))
    return conditions


def case_queue(session: Session, commission_ids: Sequence[int], filters: QueueFilters, *, now: datetime,
               older_than: int | None = None, newer_than: int | None = None, size: int = PAGE_SIZE) -> QueuePage:
    """One page of the commissions' cases, newest first, with keyset cursors (a stable order that
    costs the same on the last page as on the first), and the counts for the filters."""
    overdue = overdue_clause(now)
    query = (select(Case.id, Case.number, Case.commission_id, Course.title, Case.state, next_deadline(), overdue)
             .join(Course, Course.id == Case.course_id)
             .where(*_conditions(commission_ids, filters, now, with_course=True)))
    if newer_than is not None:
        query = query.where(Case.id > newer_than).order_by(Case.id.asc())  # type: ignore[union-attr,operator]
    else:
        if older_than is not None:
            query = query.where(Case.id < older_than)  # type: ignore[operator]
        query = query.order_by(Case.id.desc())  # type: ignore[union-attr]
    found = session.execute(query.limit(size + 1)).all()
    more = len(found) > size
    found = found[:size]
    if newer_than is not None:
        found.reverse()
    rows = [QueueRow(id=r[0], number=r[1], commission_id=r[2], course_title=r[3], state=State(r[4]),
                     next_deadline=r[5], overdue=bool(r[6])) for r in found]
    if newer_than is not None:
        older, newer = (rows[-1].id if rows else None), (rows[0].id if rows and more else None)
    else:
        older = rows[-1].id if rows and more else None
        newer = rows[0].id if rows and older_than is not None else None
    # The counts: per course (the filter's options), without the course filter itself. Grouped by
    # the course id alone, then joined to the few course rows: grouping by title would sort every
    # case (four times slower at 100,000 cases on PostgreSQL).
    grouped = (select(Case.course_id.label("course_id"), func.count().label("cases"),  # type: ignore[attr-defined]
                      func.sum(when((overdue, 1), else_=0)).label("overdue"))
               .where(*_conditions(commission_ids, filters, now, with_course=False))
               .group_by(Case.course_id).subquery())
    counted = session.execute(
        select(grouped.c.course_id, Course.title, grouped.c.cases, grouped.c.overdue)
        .join(Course, Course.id == grouped.c.course_id).order_by(Course.title, Course.id)).all()
    courses = [CourseCount(course_id=r[0], title=r[1], cases=r[2]) for r in counted]
    chosen = [r for r in counted if filters.course_id in (None, r[0])]
    return QueuePage(rows=rows, total=sum(r[2] for r in chosen), overdue=sum(int(r[3] or 0) for r in chosen),
                     courses=courses, older=older, newer=newer)


@dataclass(frozen=True)
class WaitingFlag:
    flag_id: int
    course_title: str
    referred_at: datetime


def flags_without_case(session: Session, *, limit: int = PAGE_SIZE) -> tuple[list[WaitingFlag], int]:
    """Referred flags no case was opened for yet (oldest first), and how many there are."""
    where = (Flag.state == "referred", ~select(Case.id).where(Case.flag_id == Flag.id).exists())
    rows = session.execute(select(Flag.id, Course.title, Flag.referred_at).join(Course, Course.id == Flag.course_id)
                           .where(*where).order_by(Flag.referred_at, Flag.id).limit(limit)).all()
    count = session.execute(select(func.count()).select_from(Flag).where(*where)).scalar_one()
    return [WaitingFlag(flag_id=r[0], course_title=r[1], referred_at=r[2]) for r in rows], count


# -- one case -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EvidenceFile:
    """The evidence of a flag as the commission reads it, numbered in the order it was added."""

    grounds: list[tuple[FlagGround, list[EvidenceItem]]]
    numbers: dict[int, int]  # evidence item id → its number on the page
    signals: dict[int, tuple[Signal, SignalView]]
    defences: dict[int, OralDefence]
    requests: dict[int, DraftRequest]

    @property
    def items(self) -> list[EvidenceItem]:
        return sorted((item for _ground, items in self.grounds for item in items), key=lambda i: self.numbers[i.id])


def evidence_file(session: Session, flag: Flag) -> EvidenceFile:
    grounds = flag_grounds(session, flag.id or 0)
    items = sorted((item for _ground, found in grounds for item in found), key=lambda i: i.id or 0)
    used = [session.get(Signal, item.signal_id) for item in items if item.kind == "signal" and item.signal_id]
    return EvidenceFile(
        grounds=grounds, numbers={item.id: n for n, item in enumerate(items, 1) if item.id},
        signals={signal.id: (signal, view) for signal, view in signal_views(session, [s for s in used if s])
                 if signal.id},
        defences={d.id: d for d in recorded_defences(session, flag.submission_id) if d.id},
        requests={r.id: r for r in draft_requests_of(session, flag.submission_id) if r.id})


@dataclass(frozen=True)
class VoteLine:
    vote: CaseVote
    name: str
    cited: list[int]  # evidence item ids


@dataclass(frozen=True)
class MemberLine:
    member: CommissionMember
    name: str
    recusal: CaseRecusal | None


@dataclass(frozen=True)
class HistoryLine:
    action: str
    at: datetime
    name: str  # who did it ("" for a scheduled job)


def case_history(session: Session, case: Case) -> list[HistoryLine]:
    """The case's steps from the audit log, oldest first: what happened, when, by whom. Votes are
    left out (before the finding a member sees only their own)."""
    entries = session.execute(select(AuditEntry.action, AuditEntry.at, AuditEntry.actor)
                              .where(AuditEntry.subject == f"case:{case.id}", AuditEntry.action.in_(EVENT_TITLES))
                              .order_by(AuditEntry.seq)).all()
    users = {int(actor.split(":", 1)[1]) for _a, _t, actor in entries
             if actor.startswith("user:") and actor.split(":", 1)[1].isdecimal()}
    names = _names(session, users)

    def who(actor: str) -> str:
        kind, _sep, rest = actor.partition(":")
        return names.get(int(rest), "") if kind == "user" and rest.isdecimal() else ""

    return [HistoryLine(action=action, at=at, name=who(actor)) for action, at, actor in entries]


@dataclass(frozen=True)
class CaseFile:
    """One case as a member of its commission may see it. A recused member gets only ``case``,
    ``me``, ``my_recusal`` and the names: not the evidence, the statements or the votes."""

    case: Case
    commission: Commission
    course_title: str
    student_name: str
    me: CommissionMember
    my_recusal: CaseRecusal | None
    names: dict[int, str]
    members: list[MemberLine] = field(default_factory=list)
    evidence: EvidenceFile | None = None
    statements: list[CaseStatement] = field(default_factory=list)
    objections: list[CaseObjection] = field(default_factory=list)
    finding_votes: list[VoteLine] = field(default_factory=list)  # all once the finding is recorded, else mine
    sanction_votes: list[VoteLine] = field(default_factory=list)  # all once the sanction is recorded, else mine
    finding_tally: Tally | None = None
    sanction_tally: Tally | None = None
    prior: list[Case] | None = None  # only at the sanction stage
    appeal: Appeal | None = None
    appeal_grounds: list[str] = field(default_factory=list)
    panel: list[int] = field(default_factory=list)  # the appeal panel, once convened
    panel_candidates: list[int] = field(default_factory=list)  # who may be drawn (before convening)
    appeal_votes: list[VoteLine] = field(default_factory=list)  # all once decided, else mine
    appeal_tally: Tally | None = None
    effects: list[CaseEffect] = field(default_factory=list)
    documents: list[DecisionDocument] = field(default_factory=list)
    response: str | None = None  # "accept", "contest" or "no_response", once there is one
    history: list[HistoryLine] = field(default_factory=list)
    catalogue: list[dict[str, object]] = field(default_factory=list)
    forms: frozenset[str] = frozenset()

    @property
    def finding_votes_open(self) -> bool:
        """Everyone's finding votes are shown: the finding is recorded."""
        return self.case.finding is not None

    @property
    def sanction_votes_open(self) -> bool:
        return self.case.sanction_level is not None


def forms_for(state: State | str, role: str, *, recused: bool, pending_objections: bool, on_panel: bool = False,
              presiding: bool = False) -> frozenset[str]:
    """The forms a member in ``role`` gets in ``state``: what the transition table allows their part
    (a chair may also act as the secretary, as the services allow), plus declaring a conflict and,
    for the chair, ruling on objections while the case is open."""
    state = State(state)
    if recused or state in FINAL:
        return frozenset()
    forms = {"conflict"}
    parts = {Party.PANEL} | ({Party.SECRETARY} if role in ("secretary", "chair") else set()) | (
        {Party.CHAIR} if role == "chair" else set())
    events = {event for part in parts for event in allowed_events(state, part)}
    by_event = {Event.NOTIFY: "notify", Event.SCHEDULE_HEARING: "hearing", Event.DELIBERATE: "deliberate",
                Event.ISSUE: "issue", Event.WITHDRAW: "withdraw", Event.CONVENE_PANEL: "convene"}
    forms |= {name for event, name in by_event.items() if event in events}
    if Event.DECIDE_APPEAL in events and on_panel:  # the appeal's votes are the panel's alone
        forms |= {"vote_appeal"} | ({"decide_appeal"} if presiding else set())
    if Event.FIND_RESPONSIBLE in events:
        forms |= {"vote_finding"} | ({"finding"} if role == "chair" else set())
    if Event.SET_SANCTION in events:
        forms |= {"vote_sanction"} | ({"sanction"} if role == "chair" else set())
    if role == "chair" and pending_objections:
        forms.add("rule")
    return frozenset(forms)


def _names(session: Session, user_ids: Iterable[int]) -> dict[int, str]:
    wanted = set(user_ids)
    if not wanted:
        return {}
    return dict(session.execute(select(User.id, User.display_name).where(User.id.in_(wanted))).all())  # type: ignore[union-attr,arg-type]


def _votes(session: Session, case: Case, question: str, *, everyone: bool, me: int) -> list[CaseVote]:
    query = select(CaseVote).where(CaseVote.case_id == case.id, CaseVote.question == question)
    if not everyone:
        query = query.where(CaseVote.user_id == me)
    return list(session.execute(query.order_by(CaseVote.at, CaseVote.id)).scalars())


def case_file(session: Session, actor: Actor, case: Case, me: CommissionMember) -> CaseFile:
    """The case file for ``me``, a member of the case's commission (the caller checked it)."""
    commission = session.get(Commission, case.commission_id)
    course = session.get(Course, case.course_id)
    assert commission is not None and course is not None
    recusals = list(session.execute(select(CaseRecusal).where(CaseRecusal.case_id == case.id)
                                    .order_by(CaseRecusal.at, CaseRecusal.id)).scalars())
    mine = next((r for r in recusals if r.user_id == me.user_id), None)
    members = list(session.execute(select(CommissionMember).where(
        CommissionMember.commission_id == case.commission_id, CommissionMember.active.is_(True))
        .order_by(CommissionMember.id)).scalars())
    if mine is not None:
        names = _names(session, [case.student_id, me.user_id])
        return CaseFile(case=case, commission=commission, course_title=course.title,
                        student_name=names.get(case.student_id, ""), me=me, my_recusal=mine, names=names)
    flag = session.get(Flag, case.flag_id)
    assert flag is not None
    objections = list(session.execute(select(CaseObjection).where(CaseObjection.case_id == case.id)
                                      .order_by(CaseObjection.filed_at, CaseObjection.id)).scalars())
    finding_votes = _votes(session, case, "finding", everyone=case.finding is not None, me=me.user_id)
    sanction_votes = _votes(session, case, "sanction", everyone=case.sanction_level is not None, me=me.user_id)
    appeal = appeal_of(session, case)
    panel = sorted(panel_of(session, appeal, case)) if appeal is not None else []
    candidates = ([m.user_id for m in panel_candidates(session, case)]
                  if appeal is not None and appeal.convened_at is None else [])
    appeal_votes = _votes(session, case, "appeal", everyone=appeal is not None and appeal.outcome is not None,
                          me=me.user_id)
    names = _names(session, [case.student_id, *(m.user_id for m in members), *(r.user_id for r in recusals),
                             *(o.member_user_id for o in objections), *panel, *candidates,
                             *(v.user_id for v in (*finding_votes, *sanction_votes, *appeal_votes))])
    by_user = {r.user_id: r for r in recusals}
    statements = list(session.execute(select(CaseStatement).where(CaseStatement.case_id == case.id)
                                      .order_by(CaseStatement.at, CaseStatement.id)).scalars())

    def lines(votes: list[CaseVote]) -> list[VoteLine]:
        return [VoteLine(vote=v, name=names.get(v.user_id, ""), cited=[int(i) for i in json.loads(v.cited_evidence)])
                for v in votes]

    state = State(case.state)
    history = case_history(session, case)
    response = next((line.action.removeprefix("case.") for line in history
                     if line.action in ("case.accept", "case.contest", "case.no_response")), None)
    return CaseFile(
        case=case, commission=commission, course_title=course.title, student_name=names.get(case.student_id, ""),
        me=me, my_recusal=None, names=names,
        members=[MemberLine(member=m, name=names.get(m.user_id, ""), recusal=by_user.get(m.user_id)) for m in members],
        evidence=evidence_file(session, flag), statements=statements, objections=objections,
        finding_votes=lines(finding_votes), sanction_votes=lines(sanction_votes),
        finding_tally=tally(session, case, "finding"),
        sanction_tally=tally(session, case, "sanction") if case.finding == "responsible" else None,
        prior=prior_cases(session, actor, case.id or 0) if state is State.SANCTIONING else None,
        catalogue=get_setting(session, "sanctions.catalogue"), response=response, history=history,
        appeal=appeal, appeal_grounds=json.loads(appeal.grounds) if appeal is not None else [], panel=panel,
        panel_candidates=candidates, appeal_votes=lines(appeal_votes),
        appeal_tally=appeal_tally(session, case, appeal) if appeal is not None and appeal.convened_at else None,
        effects=list(session.execute(select(CaseEffect).where(CaseEffect.case_id == case.id)
                                     .order_by(CaseEffect.id)).scalars()),
        documents=list(session.execute(select(DecisionDocument).where(DecisionDocument.case_id == case.id)
                                       .order_by(DecisionDocument.id)).scalars()),
        forms=forms_for(state, me.role, recused=False,
                        pending_objections=any(o.ruling is None for o in objections),
                        on_panel=me.user_id in panel,
                        presiding=appeal is not None and appeal.presiding_user_id == me.user_id))


def member_case(session: Session, actor: Actor, case_id: int) -> tuple[Case, CommissionMember]:
    """The case and the person's membership of its commission, through the services' own checks:
    ``NotFound`` for a case of another commission, as for one that does not exist (probing ids
    reveals nothing), and for the case's student or teacher, who have pages of their own."""
    found = case_for(session, actor, case_id)
    member = membership(session, actor, found.commission_id)
    if member is None:
        raise NotFound(_("There is no such case."))
    session.refresh(found)  # the page shows the case as it is now, after any refused step was rolled back
    return found, member
