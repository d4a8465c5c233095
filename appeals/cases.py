"""The commission case: opened from a referred flag, notified to the student, accepted or
contested, heard, decided by a quorate vote with reasons, sanctioned and issued (S 7.6б, 7.7).

Every state change goes through ``appeals.workflow.transition`` and through ``_move``, which
bumps the case's version with a compare-and-set (two members acting at once: one wins, the other
gets ``CaseConflict``) and writes the audit entry. Humans decide: findings and sanctions come
only from the recorded votes of authenticated, non-recused members (S 2.4, 3.3a).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlmodel import Session

from appeals.calendar import Calendar
from appeals.models import (
    Case,
    CaseObjection,
    CaseRecusal,
    CaseStatement,
    CaseVote,
    Commission,
    CommissionMember,
)
from appeals.workflow import FINAL, OPEN, Event, Party, State, TransitionRefused, transition
from attribution.models import Assignment, Submission
from evidence.flags import flag_items
from evidence.models import EvidenceItem, Flag
from plugin.kernel import audit
from plugin.kernel.errors import AdalError, InvalidInput, NotFound, NotPermitted
from plugin.kernel.settings import get_setting
from plugin.kernel.users import Actor, Membership, Role

MAX_TEXT = 20_000
RESPONSE_WORKING_DAYS = 5
HEARING_NOTICE_WORKING_DAYS = 2


class CaseConflict(AdalError):
    """Someone else changed the case first; reload and try again."""

    status = 409


def calendar_of(session: Session) -> Calendar:
    return Calendar.from_settings(get_setting(session, "institution.timezone"),
                                  get_setting(session, "calendar.working_days"),
                                  get_setting(session, "calendar.fixed_holidays"),
                                  get_setting(session, "calendar.holidays"))


# -- membership and recusal --------------------------------------------------------------------------
def membership(session: Session, actor: Actor, commission_id: int) -> CommissionMember | None:
    if actor.user_id is None:
        return None
    return session.execute(select(CommissionMember).where(
        CommissionMember.commission_id == commission_id, CommissionMember.user_id == actor.user_id,
        CommissionMember.active.is_(True))).scalar_one_or_none()


def recused_users(session: Session, case_id: int) -> set[int]:
    rows = session.execute(select(CaseRecusal.user_id).where(CaseRecusal.case_id == case_id)).scalars()
    return set(rows)


def eligible_members(session: Session, case: Case) -> list[CommissionMember]:
    """Active members of the case's commission who are not recused from it."""
    recused = recused_users(session, case.id or 0)
    members = session.execute(select(CommissionMember).where(
        CommissionMember.commission_id == case.commission_id, CommissionMember.active.is_(True))).scalars()
    return [m for m in members if m.user_id not in recused]


def _party(session: Session, actor: Actor, case: Case, *, need: Party) -> CommissionMember | None:
    """Check the actor may act as ``need`` in the case; returns their membership (staff)."""
    if need is Party.STUDENT:
        if actor.user_id != case.student_id:
            raise NotFound(_("There is no such case."))
        return None
    member = membership(session, actor, case.commission_id)
    if member is None:
        raise NotFound(_("There is no such case."))
    if member.user_id in recused_users(session, case.id or 0):
        raise NotPermitted(_("You are recused from this case and cannot act in it."))
    if need is Party.SECRETARY and member.role not in ("secretary", "chair"):
        raise NotPermitted(_("Only the commission's secretary (or its chair) can do this."))
    if need is Party.CHAIR and member.role != "chair":
        raise NotPermitted(_("Only the commission's chair can do this."))
    return member


def _move(session: Session, actor: Actor, case: Case, event: Event, by: Party, *, expected_version: int,
          now: datetime, changes: dict[str, object] | None = None, payload: dict[str, object] | None = None) -> Case:
    """Apply one transition with a compare-and-set on the version; audit ``case.<event>``."""
    if case.version != expected_version:  # the page the person acted on is out of date
        raise CaseConflict(_("Someone else changed this case a moment ago. Reload the page to see the change, "
                             "then try again."))
    try:
        target = transition(case.state, event, by)
    except TransitionRefused:
        raise InvalidInput(_("This step is not possible in the case's present state (%(state)s).",
                             state=case.state)) from None
    source = case.state
    values = {"state": target.value, "version": expected_version + 1, **(changes or {})}
    result = session.execute(update(Case).where(Case.id == case.id, Case.version == expected_version)
                             .values(**values).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise CaseConflict(_("Someone else changed this case a moment ago. Reload the page to see the change, "
                             "then try again."))
    session.refresh(case)
    audit.record(session, actor, f"case.{event.value}", now=now, subject=f"case:{case.id}",
                 payload={"from": source, "to": target.value, **(payload or {})})
    return case


def _hold_state(session: Session, case: Case, states: Sequence[str]) -> None:
    """Lock the case row while it is in one of ``states`` (an UPDATE that changes nothing takes the
    row lock on PostgreSQL; SQLite's write lock is already held). A step that changed the state
    meanwhile, say the chair closing the vote, makes this refuse instead of recording a vote
    after the fact."""
    held = session.execute(update(Case).where(Case.id == case.id, Case.state.in_(tuple(states)))
                           .values(version=Case.version).execution_options(synchronize_session=False))
    if held.rowcount != 1:
        raise CaseConflict(_("Someone else changed this case a moment ago. Reload the page to see the change, "
                             "then try again."))


# -- opening --------------------------------------------------------------------------------------------
def _next_number(session: Session, now: datetime) -> str:
    # The highest number of the year + 1, not the count: retention deletes old cases, and a count
    # would then hand out a number already taken.
    # Numbers are zero-padded to 4 digits and grow longer past 9999: the longest, then the greatest.
    year = now.year
    of_year = Case.number.like(f"{year}-%")
    longest = session.execute(select(func.max(func.length(Case.number))).where(of_year)).scalar_one()
    if longest is None:
        return f"{year}-0001"
    last = session.execute(select(func.max(Case.number)).where(of_year, func.length(Case.number) == longest)
                           ).scalar_one()
    return f"{year}-{int(last.split('-', 1)[1]) + 1:04d}"


def open_case(session: Session, actor: Actor, flag_id: int, *, commission_id: int, allegation: str, rule: str,
              incident_level: int, now: datetime) -> Case:
    """Open a case from a referred flag (the commission's secretary or chair); recuse the member
    who flagged and anyone teaching the course automatically. Audits ``case.opened``."""
    flag = session.get(Flag, flag_id)
    if flag is None or flag.state != "referred":
        raise NotFound(_("There is no referred flag with this number."))
    if session.execute(select(Case.id).where(Case.flag_id == flag_id)).first() is not None:
        raise InvalidInput(_("A case is already open for this flag."))
    commission = session.get(Commission, commission_id)
    if commission is None:
        raise NotFound(_("There is no such commission."))
    member = membership(session, actor, commission_id)
    if member is None or member.role not in ("secretary", "chair"):
        raise NotPermitted(_("Only the commission's secretary (or its chair) can open a case."))
    if incident_level not in (1, 2, 3):
        raise InvalidInput(_("Choose the incident level (1, 2 or 3)."))
    if not allegation.strip() or len(allegation) > MAX_TEXT:
        raise InvalidInput(_("Write the allegation (at most %(n)d characters).", n=MAX_TEXT))
    if not rule.strip() or len(rule) > MAX_TEXT:
        raise InvalidInput(_("Name the rule that was broken (at most %(n)d characters).", n=MAX_TEXT))
    submission = session.get(Submission, flag.submission_id)
    assignment = session.get(Assignment, submission.assignment_id) if submission else None
    if submission is None or assignment is None:
        raise NotFound(_("There is no referred flag with this number."))
    teachers = set(session.execute(select(Membership.user_id).where(
        Membership.course_id == assignment.course_id, Membership.role == Role.TEACHER.value)).scalars())
    automatic = {uid: "teaches_course" for uid in teachers}
    if flag.created_by_user is not None:
        automatic[flag.created_by_user] = "flagged"
    if actor.user_id in automatic:
        raise NotPermitted(_("You taught this course or flagged this work: another secretary must open the case."))
    case = Case(number=_next_number(session, now), commission_id=commission_id, flag_id=flag.id,
                submission_id=submission.id, student_id=submission.student_id, course_id=assignment.course_id,
                incident_level=incident_level, allegation=allegation.strip(), rule=rule.strip(), opened_at=now)
    session.add(case)
    session.flush()
    members = {m.user_id for m in session.execute(select(CommissionMember).where(
        CommissionMember.commission_id == commission_id)).scalars()}
    for user_id, reason in sorted(automatic.items()):
        if user_id in members:
            session.add(CaseRecusal(case_id=case.id, user_id=user_id, reason=reason, at=now))
    session.flush()
    audit.record(session, actor, "case.opened", now=now, subject=f"case:{case.id}",
                 payload={"flag": flag.id, "number": case.number, "incident_level": incident_level,
                          "recused": sorted(automatic)})
    return case


def notify_student(session: Session, actor: Actor, case_id: int, *, expected_version: int, now: datetime) -> Case:
    """The student gets the allegation, the rule, every piece of evidence and the deadline to
    respond (5 working days) and to object to a member."""
    case = _case(session, case_id)
    _party(session, actor, case, need=Party.SECRETARY)
    cal = calendar_of(session)
    due = cal.deadline(now, RESPONSE_WORKING_DAYS)
    objection_due = cal.deadline(now, get_setting(session, "case.objection_working_days"))
    return _move(session, actor, case, Event.NOTIFY, Party.SECRETARY, expected_version=expected_version, now=now,
                 changes={"notified_at": now, "response_due_at": due, "objection_due_at": objection_due},
                 payload={"response_due_at": due.isoformat()})


def respond(session: Session, actor: Actor, case_id: int, *, accept: bool, statement: str, expected_version: int,
            now: datetime, evidence: Sequence[tuple[str, str]] = ()) -> Case:
    """The student accepts or contests, by the deadline, with a statement and evidence files
    (sha256, name) already in the store."""
    case = _case(session, case_id)
    _party(session, actor, case, need=Party.STUDENT)
    if case.response_due_at is not None and now > case.response_due_at:
        raise InvalidInput(_("The time to respond ended on %(when)s.", when=_local(session, case.response_due_at)))
    if len(statement) > MAX_TEXT or (not accept and not statement.strip()):
        raise InvalidInput(_("Say why you contest the allegation (at most %(n)d characters).", n=MAX_TEXT))
    moved = _move(session, actor, case, Event.ACCEPT if accept else Event.CONTEST, Party.STUDENT,
                  expected_version=expected_version, now=now,
                  changes={"student_response": statement.strip() or None, "responded_at": now},
                  payload={"accepted": accept, "evidence": [s for s, _n in evidence]})
    for sha256, name in evidence:  # only once the step itself was accepted
        session.add(CaseStatement(case_id=case.id, text=statement.strip() or "-", sha256=sha256, name=name, at=now))
    if statement.strip() and not evidence:
        session.add(CaseStatement(case_id=case.id, text=statement.strip(), at=now))
    session.flush()
    return moved


def no_response(session: Session, case_id: int, *, now: datetime) -> Case | None:
    """After the response deadline: on to deliberation (a scheduled job; never a decision)."""
    case = _case(session, case_id)
    if case.state != State.NOTIFIED.value or case.response_due_at is None or now <= case.response_due_at:
        return None
    return _move(session, "system:deadlines", case, Event.NO_RESPONSE, Party.DEADLINE,  # type: ignore[arg-type]
                 expected_version=case.version, now=now)


def schedule_hearing(session: Session, actor: Actor, case_id: int, *, when: datetime, place: str,
                     support_person: str | None, expected_version: int, now: datetime) -> Case:
    """A hearing at least 2 working days after the evidence was given to the student."""
    case = _case(session, case_id)
    _party(session, actor, case, need=Party.SECRETARY)
    cal = calendar_of(session)
    earliest = cal.deadline(case.notified_at or now, HEARING_NOTICE_WORKING_DAYS - 1)
    if when <= earliest or when <= now:
        raise InvalidInput(_("The hearing must be at least %(n)d working days after the student received the "
                             "evidence: on %(when)s or later.", n=HEARING_NOTICE_WORKING_DAYS,
                             when=_local(session, earliest)))
    if not place.strip() or len(place) > 300:
        raise InvalidInput(_("Say where the hearing takes place, or give the online link."))
    return _move(session, actor, case, Event.SCHEDULE_HEARING, Party.SECRETARY, expected_version=expected_version,
                 now=now, changes={"hearing_at": when, "hearing_place": place.strip(),
                                   "support_person": (support_person or "").strip() or None})


def open_deliberation(session: Session, actor: Actor, case_id: int, *, expected_version: int, now: datetime) -> Case:
    case = _case(session, case_id)
    _party(session, actor, case, need=Party.SECRETARY)
    if case.state == State.HEARING.value and case.hearing_at is not None and now < case.hearing_at:
        raise InvalidInput(_("Deliberation starts after the hearing."))
    return _move(session, actor, case, Event.DELIBERATE, Party.SECRETARY, expected_version=expected_version, now=now)


# -- votes and decisions ------------------------------------------------------------------------------
def _non_detector_items(session: Session, case: Case) -> dict[int, EvidenceItem]:
    return {item.id: item for item in flag_items(session, case.flag_id) if not item.is_detector and item.id}


def cast_vote(session: Session, actor: Actor, case_id: int, *, question: str, vote: str, reasons: str,
              sanction_level: int | None = None, cited: Sequence[int] = (), now: datetime) -> CaseVote:
    """One eligible member's vote with reasons. A vote that the student is responsible must cite
    at least one evidence item that is not a detector signal. Re-voting replaces one's vote."""
    case = _case(session, case_id)
    member = _party(session, actor, case, need=Party.PANEL)
    assert member is not None
    expected_state = State.DELIBERATION.value if question == "finding" else State.SANCTIONING.value
    if case.state != expected_state:
        raise InvalidInput(_("Votes on this question are not open in the case's present state."))
    _hold_state(session, case, (expected_state,))
    if not reasons.strip() or len(reasons) > MAX_TEXT:
        raise InvalidInput(_("Give the reasons for your vote."))
    if question == "finding":
        if vote not in ("responsible", "not_responsible", "abstain"):
            raise InvalidInput(_("Choose your vote."))
        allowed = _non_detector_items(session, case)
        if any(item_id not in {i.id for i in flag_items(session, case.flag_id)} for item_id in cited):
            raise InvalidInput(_("Cite evidence of this case only."))
        if vote == "responsible" and not any(item_id in allowed for item_id in cited):
            raise InvalidInput(_("A finding of responsibility must cite at least one piece of evidence that is not "
                                 "a detector score."))
        sanction_level = None
    elif question == "sanction":
        if sanction_level not in (0, 1, 2, 3):
            raise InvalidInput(_("Choose a sanction level from 0 to 3."))
        vote = "level"
    else:
        raise InvalidInput(_("Unknown question."))
    existing = session.execute(select(CaseVote).where(CaseVote.case_id == case.id, CaseVote.question == question,
                                                      CaseVote.user_id == member.user_id)).scalar_one_or_none()
    if existing is not None:
        session.delete(existing)
        session.flush()
    row = CaseVote(case_id=case.id, question=question, user_id=member.user_id, vote=vote,
                   sanction_level=sanction_level, reasons=reasons.strip(), cited_evidence=json.dumps(sorted(cited)),
                   at=now)
    session.add(row)
    session.flush()
    audit.record(session, actor, "case.vote", now=now, subject=f"case:{case.id}",
                 payload={"question": question, "vote": vote, "sanction_level": sanction_level,
                          "cited": sorted(cited)})
    return row


@dataclass(frozen=True)
class Tally:
    eligible: int
    voting: int  # eligible members who voted (abstentions count towards the quorum)
    quorum: int
    counts: dict[str, int]

    @property
    def quorate(self) -> bool:
        return self.voting >= self.quorum


def tally(session: Session, case: Case, question: str) -> Tally:
    eligible = {m.user_id for m in eligible_members(session, case)}
    votes = [v for v in session.execute(select(CaseVote).where(CaseVote.case_id == case.id,
                                                               CaseVote.question == question)).scalars()
             if v.user_id in eligible]
    counts: dict[str, int] = {}
    for v in votes:
        key = str(v.sanction_level) if question == "sanction" else v.vote
        counts[key] = counts.get(key, 0) + 1
    return Tally(eligible=len(eligible), voting=len(votes), quorum=get_setting(session, "commission.quorum"),
                 counts=counts)


def record_finding(session: Session, actor: Actor, case_id: int, *, reasons: str, expected_version: int,
                   now: datetime) -> Case:
    """Close the vote on responsibility (the chair): needs a quorum, a majority of the votes cast
    for one finding, and written reasons; a finding of responsibility cites non-detector
    evidence through its votes."""
    case = _case(session, case_id)
    _party(session, actor, case, need=Party.CHAIR)
    if not reasons.strip() or len(reasons) > MAX_TEXT:
        raise InvalidInput(_("Write the commission's reasons for the finding."))
    result = tally(session, case, "finding")
    if not result.quorate:
        raise InvalidInput(_("No quorum: %(voting)d of the required %(quorum)d members have voted.",
                             voting=result.voting, quorum=result.quorum))
    responsible, not_responsible = result.counts.get("responsible", 0), result.counts.get("not_responsible", 0)
    if responsible > not_responsible and responsible * 2 > result.voting:
        finding, event = "responsible", Event.FIND_RESPONSIBLE
    elif not_responsible >= responsible:
        # on the balance of probabilities: without a majority for responsibility, the student is not responsible
        finding, event = "not_responsible", Event.FIND_NOT_RESPONSIBLE
    else:
        raise InvalidInput(_("There is no majority: vote again after discussion."))
    changes: dict[str, object] = {"finding": finding, "reasons": reasons.strip(), "decided_at": now}
    if event is Event.FIND_NOT_RESPONSIBLE:
        changes["final_at"] = now  # nothing to appeal against: final at once, with no sanction
    moved = _move(session, actor, case, event, Party.PANEL, expected_version=expected_version, now=now,
                  changes=changes, payload={"finding": finding, "votes": result.counts})
    if event is Event.FIND_NOT_RESPONSIBLE:
        from appeals.documents import write_decision

        write_decision(session, moved, "decision", now=now)
    return moved


def prior_cases(session: Session, actor: Actor, case_id: int) -> list[Case]:
    """The student's earlier decided cases, for the deciding members at the sanction stage only
    (S 7.7: repeat offences weigh more; they must not colour the finding itself)."""
    case = _case(session, case_id)
    _party(session, actor, case, need=Party.PANEL)
    if case.state != State.SANCTIONING.value:
        raise NotPermitted(_("Earlier cases are shown only when the sanction is being decided."))
    sanctioned = (State.DECIDED, State.ISSUED, State.APPEALED, State.APPEAL_REVIEW, State.CLOSED,
                  State.APPEAL_DECIDED)
    rows = session.execute(select(Case).where(Case.student_id == case.student_id, Case.id != case.id,
                                              Case.finding == "responsible",
                                              Case.state.in_(tuple(s.value for s in sanctioned)))
                           .order_by(Case.decided_at)).scalars()
    # a decision overturned on appeal is no earlier offence
    return [row for row in rows if not (row.state == State.APPEAL_DECIDED.value and row.final_sanction_level is None)]


def record_sanction(session: Session, actor: Actor, case_id: int, *, reasons: str, expected_version: int,
                    now: datetime) -> Case:
    """The sanction level chosen by a quorate majority of the members' votes (the chair closes
    the vote), from the institution's catalogue (S 7.7 by default)."""
    case = _case(session, case_id)
    _party(session, actor, case, need=Party.CHAIR)
    if not reasons.strip() or len(reasons) > MAX_TEXT:
        raise InvalidInput(_("Write the reasons for the sanction."))
    result = tally(session, case, "sanction")
    if not result.quorate:
        raise InvalidInput(_("No quorum: %(voting)d of the required %(quorum)d members have voted.",
                             voting=result.voting, quorum=result.quorum))
    level, votes = max(result.counts.items(), key=lambda kv: (kv[1], -int(kv[0])))
    if votes * 2 <= result.voting:
        raise InvalidInput(_("There is no majority for one sanction level: vote again after discussion."))
    catalogue = {row["level"]: row["code"] for row in get_setting(session, "sanctions.catalogue")}
    return _move(session, actor, case, Event.SET_SANCTION, Party.PANEL, expected_version=expected_version, now=now,
                 changes={"sanction_level": int(level), "sanction_code": catalogue[int(level)],
                          "sanction_reasons": reasons.strip()},
                 payload={"sanction_level": int(level), "votes": result.counts})


def issue_decision(session: Session, actor: Actor, case_id: int, *, expected_version: int, now: datetime) -> Case:
    """Issue the decision to the student: the appeal window opens (``appeal.window_working_days``,
    10 by default) and the written decision is made and kept. The sanction takes no effect yet:
    only once the window has passed without an appeal, or the appeal is decided."""
    case = _case(session, case_id)
    _party(session, actor, case, need=Party.SECRETARY)
    due = calendar_of(session).deadline(now, get_setting(session, "appeal.window_working_days"))
    moved = _move(session, actor, case, Event.ISSUE, Party.SECRETARY, expected_version=expected_version, now=now,
                  changes={"issued_at": now, "appeal_due_at": due}, payload={"appeal_due_at": due.isoformat()})
    from appeals.documents import write_decision

    write_decision(session, moved, "decision", now=now)
    return moved


def withdraw_case(session: Session, actor: Actor, case_id: int, *, note: str, expected_version: int,
                  now: datetime) -> Case:
    case = _case(session, case_id)
    _party(session, actor, case, need=Party.CHAIR)
    if not note.strip():
        raise InvalidInput(_("Say why the case is withdrawn."))
    return _move(session, actor, case, Event.WITHDRAW, Party.CHAIR, expected_version=expected_version, now=now,
                 changes={"closed_note": note.strip()})


# -- conflicts of interest ------------------------------------------------------------------------------
def declare_conflict(session: Session, actor: Actor, case_id: int, *, note: str, now: datetime) -> CaseRecusal:
    case = _case(session, case_id)
    member = membership(session, actor, case.commission_id)
    if member is None:
        raise NotFound(_("There is no such case."))
    if member.user_id in recused_users(session, case.id or 0):
        raise InvalidInput(_("You are already recused from this case."))
    _hold_state(session, case, tuple(state.value for state in OPEN))
    row = CaseRecusal(case_id=case.id, user_id=member.user_id, reason="declared", note=note.strip() or None, at=now)
    session.add(row)
    session.flush()
    audit.record(session, actor, "case.recusal", now=now, subject=f"case:{case.id}", payload={"reason": "declared"})
    return row


def object_to_member(session: Session, actor: Actor, case_id: int, *, member_user_id: int, grounds: str,
                     now: datetime) -> CaseObjection:
    case = _case(session, case_id)
    _party(session, actor, case, need=Party.STUDENT)
    if case.state in {s.value for s in FINAL}:
        raise InvalidInput(_("This case is closed: objections to members are no longer possible."))
    if case.objection_due_at is None or now > case.objection_due_at:
        raise InvalidInput(_("Objections to members can be made only until %(when)s.",
                             when=_local(session, case.objection_due_at) if case.objection_due_at else "—"))
    members = {m.user_id for m in eligible_members(session, case)}
    if member_user_id not in members:
        raise NotFound(_("There is no such member in this case."))
    if not grounds.strip() or len(grounds) > MAX_TEXT:
        raise InvalidInput(_("Say why you object to this member."))
    pending = session.execute(select(CaseObjection.id).where(
        CaseObjection.case_id == case.id, CaseObjection.member_user_id == member_user_id,
        CaseObjection.ruling.is_(None))).first()
    if pending is not None:
        raise InvalidInput(_("You have already objected to this member; the chair has not ruled yet."))
    row = CaseObjection(case_id=case.id, member_user_id=member_user_id, grounds=grounds.strip(), filed_at=now)
    session.add(row)
    session.flush()
    audit.record(session, actor, "case.objection", now=now, subject=f"case:{case.id}",
                 payload={"member": member_user_id})
    return row


def rule_on_objection(session: Session, actor: Actor, objection_id: int, *, uphold: bool, reasons: str,
                      now: datetime) -> CaseObjection:
    objection = session.get(CaseObjection, objection_id)
    if objection is None:
        raise NotFound(_("There is no such objection."))
    case = _case(session, objection.case_id)
    _party(session, actor, case, need=Party.CHAIR)
    _hold_state(session, case, tuple(state.value for state in OPEN))
    held = session.execute(update(CaseObjection).where(CaseObjection.id == objection.id,
                                                       CaseObjection.ruling.is_(None))
                           .values(ruling=CaseObjection.ruling).execution_options(synchronize_session=False))
    if held.rowcount != 1 or session.get(CaseObjection, objection.id, populate_existing=True).ruling is not None:
        raise InvalidInput(_("This objection has already been ruled on."))
    if not reasons.strip():
        raise InvalidInput(_("Give the reasons for the ruling."))
    objection.ruling, objection.ruling_reasons, objection.ruled_at = ("upheld" if uphold else "rejected",
                                                                      reasons.strip(), now)
    if uphold and objection.member_user_id not in recused_users(session, case.id or 0):
        session.add(CaseRecusal(case_id=case.id, user_id=objection.member_user_id, reason="objection", at=now))
    session.flush()
    audit.record(session, actor, "case.objection_ruled", now=now, subject=f"case:{case.id}",
                 payload={"objection": objection.id, "upheld": uphold})
    return objection


# -- reading ---------------------------------------------------------------------------------------------
def _case(session: Session, case_id: int) -> Case:
    case = session.get(Case, case_id, populate_existing=True)
    if case is None:
        raise NotFound(_("There is no such case."))
    return case


def _local(session: Session, moment: datetime) -> str:
    cal = calendar_of(session)
    from zoneinfo import ZoneInfo

    return moment.astimezone(ZoneInfo(cal.zone)).strftime("%d.%m.%Y %H:%M")


def case_for(session: Session, actor: Actor, case_id: int) -> Case:
    """A case the actor may see: the student's own; a commission member's (recused members see
    that they are recused, not the votes); a teacher's from their course. ``NotFound`` otherwise."""
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound(_("There is no such case."))
    if actor.user_id is not None and actor.user_id == case.student_id:
        return case
    if membership(session, actor, case.commission_id) is not None:
        return case
    if actor.has(Role.TEACHER) and actor.course_id == case.course_id:
        return case
    raise NotFound(_("There is no such case."))
