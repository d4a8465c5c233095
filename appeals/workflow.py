"""The commission case's states and the only transitions between them: one pure table.

Nothing else may change a case's state (DESIGN: "Case state changes only through
appeals/workflow.py"). Services ask ``transition(state, event, role)`` for the next state; the
table also says who may fire each event. No event is fired by the system alone where a
decision is taken: findings and sanctions are always commission members' acts (S 2.4, 3.3a).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class State(StrEnum):
    REFERRED = "referred"  # a referred flag opened the case
    NOTIFIED = "notified"  # the student has the allegation, the rule, the evidence and the deadline
    ACCEPTED = "accepted"  # the student accepts the allegation
    CONTESTED = "contested"  # the student contests it (statement, evidence)
    HEARING = "hearing_scheduled"  # a hearing is set (evidence available at least 2 working days before)
    DELIBERATION = "deliberation"  # the members deliberate on responsibility
    SANCTIONING = "sanctioning"  # found responsible: the sanction is being decided
    DECIDED = "decided"  # finding and sanction recorded, not yet issued
    ISSUED = "issued"  # the decision was issued to the student (the appeal window opens)
    APPEALED = "appealed"  # the student appealed within the window: the sanction is paused
    APPEAL_REVIEW = "appeal_review"  # a panel without the original deciders re-examines the case
    CLOSED = "closed"  # the appeal window passed (or the appeal was withdrawn): the decision is final
    APPEAL_DECIDED = "appeal_decided"  # the appeal's outcome is recorded and issued: final
    NOT_RESPONSIBLE = "not_responsible"  # found not responsible: closed
    WITHDRAWN = "withdrawn"  # the case was withdrawn before a decision


class Event(StrEnum):
    NOTIFY = "notify"
    ACCEPT = "accept"
    CONTEST = "contest"
    NO_RESPONSE = "no_response"  # the response deadline passed without an answer
    SCHEDULE_HEARING = "schedule_hearing"
    DELIBERATE = "deliberate"
    FIND_RESPONSIBLE = "find_responsible"
    FIND_NOT_RESPONSIBLE = "find_not_responsible"
    SET_SANCTION = "set_sanction"
    ISSUE = "issue"
    WITHDRAW = "withdraw"
    APPEAL = "appeal"  # the student appeals, within the window, on stated grounds
    WINDOW_CLOSED = "window_closed"  # the appeal window passed without an appeal
    WITHDRAW_APPEAL = "withdraw_appeal"  # the student withdraws their appeal: the first decision stands
    CONVENE_PANEL = "convene_panel"  # the secretary convenes the appeal panel
    DECIDE_APPEAL = "decide_appeal"  # the panel's quorate vote: upheld, modified or overturned


class Party(StrEnum):
    """Who fires an event (the service checks the person holds this part in the case)."""

    SECRETARY = "secretary"
    CHAIR = "chair"
    PANEL = "panel"  # the deciding members, by a quorate vote with reasons
    STUDENT = "student"
    DEADLINE = "deadline"  # a deadline passed: fired by a scheduled job, never a decision


# Final: nothing can change the decision any more, and only now may it take effect in the LMS.
FINAL = frozenset({State.CLOSED, State.APPEAL_DECIDED, State.NOT_RESPONSIBLE, State.WITHDRAWN})
OPEN = frozenset(State) - FINAL
# A decision was issued and may still be appealed or is under appeal: its sanction is paused.
AWAITING_FINALITY = frozenset({State.ISSUED, State.APPEALED, State.APPEAL_REVIEW})


@dataclass(frozen=True)
class Transition:
    source: State
    event: Event
    target: State
    by: frozenset[Party]


def _t(source: State, event: Event, target: State, *by: Party) -> Transition:
    return Transition(source, event, target, frozenset(by))


_BEFORE_DECISION = (State.REFERRED, State.NOTIFIED, State.ACCEPTED, State.CONTESTED, State.HEARING,
                    State.DELIBERATION)

TRANSITIONS: tuple[Transition, ...] = (
    _t(State.REFERRED, Event.NOTIFY, State.NOTIFIED, Party.SECRETARY),
    _t(State.NOTIFIED, Event.ACCEPT, State.ACCEPTED, Party.STUDENT),
    _t(State.NOTIFIED, Event.CONTEST, State.CONTESTED, Party.STUDENT),
    _t(State.NOTIFIED, Event.NO_RESPONSE, State.DELIBERATION, Party.DEADLINE),
    _t(State.CONTESTED, Event.SCHEDULE_HEARING, State.HEARING, Party.SECRETARY),
    _t(State.ACCEPTED, Event.DELIBERATE, State.DELIBERATION, Party.SECRETARY),
    _t(State.HEARING, Event.DELIBERATE, State.DELIBERATION, Party.SECRETARY),
    _t(State.DELIBERATION, Event.FIND_RESPONSIBLE, State.SANCTIONING, Party.PANEL),
    _t(State.DELIBERATION, Event.FIND_NOT_RESPONSIBLE, State.NOT_RESPONSIBLE, Party.PANEL),
    _t(State.SANCTIONING, Event.SET_SANCTION, State.DECIDED, Party.PANEL),
    _t(State.DECIDED, Event.ISSUE, State.ISSUED, Party.SECRETARY),
    *(_t(source, Event.WITHDRAW, State.WITHDRAWN, Party.CHAIR) for source in _BEFORE_DECISION),
    _t(State.ISSUED, Event.APPEAL, State.APPEALED, Party.STUDENT),
    _t(State.ISSUED, Event.WINDOW_CLOSED, State.CLOSED, Party.DEADLINE),
    _t(State.APPEALED, Event.WITHDRAW_APPEAL, State.CLOSED, Party.STUDENT),
    _t(State.APPEALED, Event.CONVENE_PANEL, State.APPEAL_REVIEW, Party.SECRETARY),
    _t(State.APPEAL_REVIEW, Event.WITHDRAW_APPEAL, State.CLOSED, Party.STUDENT),
    _t(State.APPEAL_REVIEW, Event.DECIDE_APPEAL, State.APPEAL_DECIDED, Party.PANEL),
)

_TABLE: dict[tuple[State, Event], Transition] = {(t.source, t.event): t for t in TRANSITIONS}


class TransitionRefused(Exception):
    """The event is not allowed from this state, or not by this actor."""

    def __init__(self, state: State, event: Event, by: Party, reason: str) -> None:
        super().__init__(f"{event} from {state} by {by}: {reason}")
        self.state, self.event, self.by, self.reason = state, event, by, reason


def allowed_events(state: State, by: Party | None = None) -> list[Event]:
    """Events possible from ``state`` (for ``by`` only, when given), in table order."""
    return [t.event for t in TRANSITIONS if t.source == state and (by is None or by in t.by)]


def transition(state: State | str, event: Event | str, by: Party | str) -> State:
    """The next state. Raises ``TransitionRefused`` when the table has no such move or the
    actor may not make it. Pure: no I/O, no clock."""
    state, event, by = State(state), Event(event), Party(by)
    move = _TABLE.get((state, event))
    if move is None:
        raise TransitionRefused(state, event, by, "not allowed from this state")
    if by not in move.by:
        raise TransitionRefused(state, event, by, "not allowed for this actor")
    return move.target
