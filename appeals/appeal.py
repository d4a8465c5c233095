"""The appeal against an issued decision (S 7.12; U 7): filed by the student within the window on
stated grounds, examined by a panel drawn from the commission without the members who decided the
case or are recused from it, decided by a quorate vote with reasons. The sanction can only stay
or go down; while the appeal is open it takes no effect. The outcome is written and kept.

Services follow ``appeals.cases``: they take the session, the actor and ``now``, check the
actor's part, move the case through ``appeals.workflow`` (compare-and-set on its version), write
the audit entry, and never commit.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select
from sqlmodel import Session

from appeals.cases import (
    MAX_TEXT,
    Tally,
    _case,
    _hold_state,
    _local,
    _move,
    _party,
    eligible_members,
    membership,
    recused_users,
)
from appeals.effects import apply_effects
from appeals.models import APPEAL_GROUNDS, Appeal, AppealPanelMember, Case, CaseStatement, CaseVote, CommissionMember
from appeals.workflow import Event, Party, State
from plugin.kernel import audit
from plugin.kernel.audit import AuditEntry
from plugin.kernel.errors import InvalidInput, NotFound, NotPermitted
from plugin.kernel.settings import get_setting
from plugin.kernel.users import Actor

APPEAL_VOTES = ("upheld", "modified", "overturned", "abstain")
_DECIDING_ACTIONS = ("case.find_responsible", "case.find_not_responsible", "case.set_sanction")


def appeal_of(session: Session, case: Case) -> Appeal | None:
    return session.execute(select(Appeal).where(Appeal.case_id == case.id)).scalar_one_or_none()


def _appeal(session: Session, case: Case) -> Appeal:
    found = appeal_of(session, case)
    if found is None:
        raise InvalidInput(_("There is no appeal in this case."))
    return found


# -- filing ------------------------------------------------------------------------------------------
def file_appeal(session: Session, actor: Actor, case_id: int, *, grounds: Sequence[str], statement: str,
                expected_version: int, now: datetime, evidence: Sequence[tuple[str, str]] = ()) -> Appeal:
    """The student appeals an issued decision, by ``case.appeal_due_at``, on one or more of the
    grounds (procedural irregularity, new evidence, bias, a disproportionate sanction), with a
    statement and evidence files (sha256, name) already in the store. Audits ``case.appeal``.

    Raises ``NotFound`` for anyone but the case's student, ``InvalidInput`` after the window
    (naming its closing date), for no or unknown grounds, an empty statement, or a case whose
    decision is not issued."""
    case = _case(session, case_id)
    _party(session, actor, case, need=Party.STUDENT)
    if case.state != State.ISSUED.value or case.appeal_due_at is None:
        raise InvalidInput(_("An appeal is possible only while an issued decision's appeal window is open."))
    if now > case.appeal_due_at:
        raise InvalidInput(_("The time to appeal ended on %(when)s. The decision is final.",
                             when=_local(session, case.appeal_due_at)))
    chosen = sorted(set(grounds))
    if not chosen or any(ground not in APPEAL_GROUNDS for ground in chosen):
        raise InvalidInput(_("Choose at least one ground for the appeal."))
    if not statement.strip() or len(statement) > MAX_TEXT:
        raise InvalidInput(_("Explain your appeal (at most %(n)d characters).", n=MAX_TEXT))
    assert case.sanction_level is not None  # an issued decision has one (DB constraint)
    _move(session, actor, case, Event.APPEAL, Party.STUDENT, expected_version=expected_version, now=now,
          payload={"grounds": chosen, "evidence": [sha for sha, _name in evidence]})
    appeal = Appeal(case_id=case.id, grounds=json.dumps(chosen), statement=statement.strip(), filed_at=now,
                    original_sanction_level=case.sanction_level)
    session.add(appeal)
    for sha256, name in evidence:
        session.add(CaseStatement(case_id=case.id, text=statement.strip(), sha256=sha256, name=name, at=now,
                                  stage="appeal"))
    session.flush()
    return appeal


def withdraw_appeal(session: Session, actor: Actor, case_id: int, *, expected_version: int, now: datetime) -> Case:
    """The student withdraws their appeal before its outcome: the first decision becomes final and
    takes effect. Audits ``case.withdraw_appeal``."""
    case = _case(session, case_id)
    _party(session, actor, case, need=Party.STUDENT)
    appeal = _appeal(session, case)
    moved = _move(session, actor, case, Event.WITHDRAW_APPEAL, Party.STUDENT, expected_version=expected_version,
                  now=now, changes={"final_at": now, "final_sanction_level": case.sanction_level})
    appeal.withdrawn_at = now
    session.flush()
    apply_effects(session, moved, now=now)
    return moved


def close_appeal_window(session: Session, case_id: int, *, now: datetime) -> Case | None:
    """After the appeal window passed with no appeal, the decision is final as issued and takes
    effect (a scheduled job, ``adal deadlines run``; never a decision). None when not due."""
    case = _case(session, case_id)
    if case.state != State.ISSUED.value or case.appeal_due_at is None or now <= case.appeal_due_at:
        return None
    moved = _move(session, "system:deadlines", case, Event.WINDOW_CLOSED, Party.DEADLINE,  # type: ignore[arg-type]
                  expected_version=case.version, now=now,
                  changes={"final_at": now, "final_sanction_level": case.sanction_level})
    apply_effects(session, moved, now=now)
    return moved


# -- the panel -----------------------------------------------------------------------------------------
def deciders(session: Session, case: Case) -> set[int]:
    """Members who took the first decision: everyone who voted on the finding or the sanction,
    and whoever closed those votes."""
    voters = set(session.execute(select(CaseVote.user_id).where(
        CaseVote.case_id == case.id, CaseVote.question.in_(("finding", "sanction")))).scalars())
    labels = session.execute(select(AuditEntry.actor).where(
        AuditEntry.subject == f"case:{case.id}", AuditEntry.action.in_(_DECIDING_ACTIONS))).scalars()
    recorders = {int(label.split(":", 1)[1]) for label in labels if label.startswith("user:")}
    return voters | recorders


def panel_candidates(session: Session, case: Case) -> list[CommissionMember]:
    """Active members of the commission who may sit on the appeal panel: not recused from the
    case, and not among those who decided it."""
    excluded = deciders(session, case)
    return [m for m in eligible_members(session, case) if m.user_id not in excluded]


def panel_of(session: Session, appeal: Appeal, case: Case) -> set[int]:
    """The panel as convened, less anyone recused since (a declared conflict, an upheld objection)."""
    drawn = set(session.execute(select(AppealPanelMember.user_id).where(
        AppealPanelMember.appeal_id == appeal.id)).scalars())
    return drawn - recused_users(session, case.id or 0)


def convene_panel(session: Session, actor: Actor, case_id: int, *, members: Sequence[int], presiding: int,
                  expected_version: int, now: datetime) -> Appeal:
    """The secretary (or chair) draws the appeal panel and names who presides. Every member must be
    an active member of the commission who neither decided the case nor is recused, and the panel
    must be at least a quorum. Audits ``case.convene_panel``.

    Raises ``InvalidInput`` naming the rule a choice breaks; nothing is recorded then."""
    case = _case(session, case_id)
    _party(session, actor, case, need=Party.SECRETARY)
    appeal = _appeal(session, case)
    chosen = set(members)
    allowed = {m.user_id for m in panel_candidates(session, case)}
    if chosen - allowed:
        raise InvalidInput(_("A member who decided this case, or who is recused from it, cannot sit on the appeal "
                             "panel."))
    quorum = get_setting(session, "commission.quorum")
    if len(chosen) < quorum:
        raise InvalidInput(_("The appeal panel needs at least %(quorum)d members who did not decide the case; "
                             "%(count)d chosen.", quorum=quorum, count=len(chosen)))
    if presiding not in chosen:
        raise InvalidInput(_("The member who presides must be on the panel."))
    _move(session, actor, case, Event.CONVENE_PANEL, Party.SECRETARY, expected_version=expected_version, now=now,
          payload={"panel": sorted(chosen), "presiding": presiding})
    appeal.presiding_user_id, appeal.convened_at = presiding, now
    for user_id in sorted(chosen):
        session.add(AppealPanelMember(appeal_id=appeal.id, user_id=user_id))
    session.flush()
    return appeal


def _panel_member(session: Session, actor: Actor, case: Case, appeal: Appeal) -> int:
    if membership(session, actor, case.commission_id) is None:
        raise NotFound(_("There is no such case."))
    if actor.user_id not in panel_of(session, appeal, case):
        raise NotPermitted(_("Only the members of the appeal panel can do this."))
    assert actor.user_id is not None
    return actor.user_id


def cast_appeal_vote(session: Session, actor: Actor, case_id: int, *, vote: str, reasons: str,
                     sanction_level: int | None = None, now: datetime) -> CaseVote:
    """One panel member's vote on the appeal, with reasons: uphold the decision, modify the sanction
    to a LOWER level, overturn it, or abstain. Re-voting replaces one's vote. Audits ``case.vote``.

    Raises ``NotPermitted`` for anyone not on the panel, ``InvalidInput`` outside the panel's review,
    without reasons, or for a modified sanction that is not lower than the first."""
    case = _case(session, case_id)
    appeal = _appeal(session, case)
    user_id = _panel_member(session, actor, case, appeal)
    if case.state != State.APPEAL_REVIEW.value:
        raise InvalidInput(_("Votes on this question are not open in the case's present state."))
    _hold_state(session, case, (State.APPEAL_REVIEW.value,))
    if vote not in APPEAL_VOTES:
        raise InvalidInput(_("Choose your vote."))
    if not reasons.strip() or len(reasons) > MAX_TEXT:
        raise InvalidInput(_("Give the reasons for your vote."))
    if vote == "modified":
        if sanction_level is None or not 0 <= sanction_level < appeal.original_sanction_level:
            raise InvalidInput(_("On appeal the sanction can only be lowered: choose a level below %(level)d.",
                                 level=appeal.original_sanction_level))
    else:
        sanction_level = None
    existing = session.execute(select(CaseVote).where(CaseVote.case_id == case.id, CaseVote.question == "appeal",
                                                      CaseVote.user_id == user_id)).scalar_one_or_none()
    if existing is not None:
        session.delete(existing)
        session.flush()
    row = CaseVote(case_id=case.id, question="appeal", user_id=user_id, vote=vote, sanction_level=sanction_level,
                   reasons=reasons.strip(), at=now)
    session.add(row)
    session.flush()
    audit.record(session, actor, "case.vote", now=now, subject=f"case:{case.id}",
                 payload={"question": "appeal", "vote": vote, "sanction_level": sanction_level})
    return row


def appeal_tally(session: Session, case: Case, appeal: Appeal) -> Tally:
    """Counts per choice (``modified:<level>`` for each lower level), over the panel's members."""
    panel = panel_of(session, appeal, case)
    votes = [v for v in session.execute(select(CaseVote).where(CaseVote.case_id == case.id,
                                                               CaseVote.question == "appeal")).scalars()
             if v.user_id in panel]
    counts: dict[str, int] = {}
    for v in votes:
        key = f"modified:{v.sanction_level}" if v.vote == "modified" else v.vote
        counts[key] = counts.get(key, 0) + 1
    return Tally(eligible=len(panel), voting=len(votes), quorum=get_setting(session, "commission.quorum"),
                 counts=counts)


def decide_appeal(session: Session, actor: Actor, case_id: int, *, reasons: str, expected_version: int,
                  now: datetime) -> Case:
    """The presiding member closes the panel's vote: a quorum, and a majority of the votes cast for
    one outcome (upheld, modified to one lower level, or overturned), with written reasons. The
    decision is then final: the outcome is written and kept, and the sanction in force (never
    higher than the first) takes effect. Audits ``case.decide_appeal``."""
    case = _case(session, case_id)
    appeal = _appeal(session, case)
    user_id = _panel_member(session, actor, case, appeal)
    if user_id != appeal.presiding_user_id:
        raise NotPermitted(_("Only the member who presides over the appeal panel can close its vote."))
    if not reasons.strip() or len(reasons) > MAX_TEXT:
        raise InvalidInput(_("Write the panel's reasons for the outcome of the appeal."))
    result = appeal_tally(session, case, appeal)
    if not result.quorate:
        raise InvalidInput(_("No quorum: %(voting)d of the required %(quorum)d members have voted.",
                             voting=result.voting, quorum=result.quorum))
    decided = [(key, n) for key, n in result.counts.items() if key != "abstain" and n * 2 > result.voting]
    if not decided:
        raise InvalidInput(_("There is no majority for one outcome: vote again after discussion."))
    key = decided[0][0]
    outcome, new_level = (("modified", int(key.split(":", 1)[1])) if key.startswith("modified:") else (key, None))
    final_level = {"upheld": case.sanction_level, "modified": new_level, "overturned": None}[outcome]
    moved = _move(session, actor, case, Event.DECIDE_APPEAL, Party.PANEL, expected_version=expected_version, now=now,
                  changes={"final_at": now, "final_sanction_level": final_level},
                  payload={"outcome": outcome, "sanction_level": final_level, "votes": result.counts})
    appeal.outcome, appeal.outcome_reasons, appeal.new_sanction_level, appeal.decided_at = (
        outcome, reasons.strip(), new_level, now)
    session.flush()
    from appeals.documents import write_decision

    write_decision(session, moved, "appeal", now=now)
    apply_effects(session, moved, now=now)
    return moved


# -- deadlines -----------------------------------------------------------------------------------------
def run_deadlines(session: Session, *, now: datetime) -> list[tuple[int, str]]:
    """Fire the deadlines due at ``now``: a response deadline passed (on to deliberation) and an
    appeal window closed (the decision is final). Idempotent: a case already moved is not due."""
    from appeals.cases import no_response

    fired: list[tuple[int, str]] = []
    overdue = session.execute(select(Case.id).where(Case.state == State.NOTIFIED.value,
                                                    Case.response_due_at < now)).scalars().all()
    for case_id in overdue:
        if no_response(session, case_id, now=now) is not None:
            fired.append((case_id, Event.NO_RESPONSE.value))
    closing = session.execute(select(Case.id).where(Case.state == State.ISSUED.value,
                                                    Case.appeal_due_at < now)).scalars().all()
    for case_id in closing:
        if close_appeal_window(session, case_id, now=now) is not None:
            fired.append((case_id, Event.WINDOW_CLOSED.value))
    return fired
