"""The student's timeline of a case (S 4.5ә, 7.12): every step as they live it, what is done,
what is happening now, who acts next and by when.

``build_timeline`` is pure: the case, its appeal (or ``None``), ``now`` and the deadlines already
on the case in, the steps out; no database, no clock (the case pages pass the appeal they
loaded). The partial ``appeals/_timeline.html`` draws the result.

Who acts next comes from the transition table (``appeals.queue.next_parties``), said the way a
student reads it: you, the commission's secretary, the commission, the appeal panel, or nobody.
Between the finding and the issued decision the student is not told the finding (the student's
pages keep it until it is issued), so the timeline says only that the commission is deciding.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from flask_babel import lazy_gettext as _l

from appeals.models import Appeal, Case
from appeals.queue import next_parties
from appeals.workflow import FINAL, Party, State


class Step(StrEnum):
    REFERRED = "referred"
    TOLD = "told"
    RESPONSE = "response"
    HEARING = "hearing"
    DELIBERATION = "deliberation"
    DECISION = "decision"
    APPEAL_WINDOW = "appeal_window"
    APPEAL_FILED = "appeal_filed"
    PANEL = "panel"
    APPEAL_OUTCOME = "appeal_outcome"
    FINAL = "final"


class Status(StrEnum):
    DONE = "done"
    CURRENT = "current"
    UPCOMING = "upcoming"
    SKIPPED = "skipped"


class Who(StrEnum):
    YOU = "you"
    SECRETARY = "secretary"
    COMMISSION = "commission"
    PANEL = "appeal_panel"
    NOBODY = "nobody"


ORDER = tuple(Step)

STEP_TITLES = {
    Step.REFERRED: _l("Your work is referred to the commission"),
    Step.TOLD: _l("You are told the allegation and the evidence"),
    Step.RESPONSE: _l("Your response"),
    Step.HEARING: _l("Hearing"),
    Step.DELIBERATION: _l("The commission deliberates"),
    Step.DECISION: _l("The decision is issued to you"),
    Step.APPEAL_WINDOW: _l("Time to appeal"),
    Step.APPEAL_FILED: _l("Your appeal"),
    Step.PANEL: _l("The appeal panel is convened"),
    Step.APPEAL_OUTCOME: _l("The appeal's outcome"),
    Step.FINAL: _l("The decision is final"),
}
STATUS_TITLES = {
    Status.DONE: _l("Done"),
    Status.CURRENT: _l("Now"),
    Status.UPCOMING: _l("Later"),
    Status.SKIPPED: _l("Not needed"),
}
#: The same steps as the commission reads them (the partial is on its case page too).
STAFF_STEP_TITLES = {
    **STEP_TITLES,
    Step.REFERRED: _l("The work is referred to the commission"),
    Step.TOLD: _l("The student is told the allegation and the evidence"),
    Step.RESPONSE: _l("The student's response"),
    Step.DECISION: _l("The decision is issued to the student"),
    Step.APPEAL_FILED: _l("The student's appeal"),
}
WHO_TITLES = {
    Who.YOU: _l("You"),
    Who.SECRETARY: _l("The commission's secretary"),
    Who.COMMISSION: _l("The commission"),
    Who.PANEL: _l("The appeal panel"),
    Who.NOBODY: _l("Nobody: nothing more is needed"),
}
#: Who usually acts at each step (the current step's actor comes from the transition table).
STAFF_WHO_TITLES = {**WHO_TITLES, Who.YOU: _l("The student")}
#: Notes addressed to the student are left out of the commission's view; these say the same to both.
SHARED_NOTES = frozenset({"hearing_set", "not_responsible", "withdrawn"})
STEP_ACTORS = {
    Step.REFERRED: Who.NOBODY, Step.TOLD: Who.SECRETARY, Step.RESPONSE: Who.YOU, Step.HEARING: Who.SECRETARY,
    Step.DELIBERATION: Who.COMMISSION, Step.DECISION: Who.SECRETARY, Step.APPEAL_WINDOW: Who.YOU,
    Step.APPEAL_FILED: Who.YOU, Step.PANEL: Who.SECRETARY, Step.APPEAL_OUTCOME: Who.PANEL, Step.FINAL: Who.NOBODY,
}
#: The step a case in an open state is at.
CURRENT_STEP = {
    State.REFERRED: Step.TOLD,
    State.NOTIFIED: Step.RESPONSE,
    State.ACCEPTED: Step.DELIBERATION,
    State.CONTESTED: Step.HEARING,
    State.HEARING: Step.HEARING,
    State.DELIBERATION: Step.DELIBERATION,
    State.SANCTIONING: Step.DELIBERATION,
    State.DECIDED: Step.DECISION,
    State.ISSUED: Step.APPEAL_WINDOW,
    State.APPEALED: Step.PANEL,
    State.APPEAL_REVIEW: Step.APPEAL_OUTCOME,
}
NOTES = {
    "response_open": _l("Accept or contest the allegation, with a statement and evidence if you wish."),
    "response_missed": _l("The time to respond has ended: the commission considers the case without your answer."),
    "accepted": _l("You accepted the allegation."),
    "contested": _l("You contested the allegation."),
    "no_response": _l("No answer came by the deadline."),
    "hearing_if_contested": _l("Only if you contest the allegation."),
    "hearing_to_set": _l("The secretary sets the date and place and tells you."),
    "hearing_set": _l("Place: %(place)s"),
    "hearing_held": _l("The hearing was held; the secretary opens the deliberation."),
    "hearing_not_needed": _l("No hearing: you did not contest the allegation."),
    "deliberating": _l("The members vote and write their reasons."),
    "to_open": _l("The secretary opens the deliberation."),
    "to_issue": _l("The decision is written; the secretary issues it to you."),
    "appeal_open": _l("If you disagree with the decision, you may appeal on stated grounds."),
    "appeal_closed": _l("The time to appeal has ended; the decision becomes final."),
    "if_appealed": _l("Only if you appeal."),
    "not_appealed": _l("You did not appeal."),
    "appeal_withdrawn": _l("You withdrew your appeal: the first decision stands."),
    "panel_to_convene": _l("The secretary draws a panel without the members who decided your case."),
    "panel_votes": _l("The panel re-examines the case and votes. The sanction can never increase on appeal."),
    "not_responsible": _l("The commission found you not responsible. The case is closed."),
    "withdrawn": _l("The case was withdrawn."),
    "nothing_to_appeal": _l("Nothing to appeal: no sanction was decided."),
}


@dataclass(frozen=True)
class TimelineStep:
    key: Step
    status: Status
    at: datetime | None  # when it happened (done steps)
    due: datetime | None  # when it is due or set for (current and upcoming steps)
    who: Who  # who acts at this step
    note: str | None = None  # a key of NOTES
    note_params: tuple[tuple[str, str], ...] = ()
    audience: str = "student"  # or "staff": the commission's view

    @property
    def title(self) -> Any:
        return (STAFF_STEP_TITLES if self.audience == "staff" else STEP_TITLES)[self.key]

    @property
    def status_title(self) -> Any:
        return STATUS_TITLES[self.status]

    @property
    def who_title(self) -> Any:
        return (STAFF_WHO_TITLES if self.audience == "staff" else WHO_TITLES)[self.who]

    @property
    def note_text(self) -> str | None:
        if self.note is None or (self.audience == "staff" and self.note not in SHARED_NOTES):
            return None
        return str(NOTES[self.note]) % dict(self.note_params)

    @property
    def current(self) -> bool:
        return self.status is Status.CURRENT


@dataclass(frozen=True)
class Timeline:
    steps: tuple[TimelineStep, ...]
    who_next: Who  # NOBODY once the case is final
    by: datetime | None  # by when the next actor must act (None: no fixed date)
    final: bool
    audience: str = "student"

    @property
    def current(self) -> TimelineStep | None:
        return next((step for step in self.steps if step.current), None)

    @property
    def who_next_title(self) -> Any:
        return (STAFF_WHO_TITLES if self.audience == "staff" else WHO_TITLES)[self.who_next]


def _who(state: State, now: datetime, case: Case) -> Who:
    """Who acts next, from the transition table, in the student's words."""
    if state is State.NOTIFIED and case.response_due_at is not None and now > case.response_due_at:
        return Who.COMMISSION  # the deadline passed: the case goes on without the student
    if state is State.ISSUED and case.appeal_due_at is not None and now > case.appeal_due_at:
        return Who.NOBODY  # the window passed: the decision becomes final by itself
    if state is State.HEARING and case.hearing_at is not None and now < case.hearing_at:
        return Who.COMMISSION  # the commission holds the hearing; the secretary opens deliberation after it
    parties = next_parties(state)
    if not parties:
        return Who.NOBODY
    first = parties[0]
    if first is Party.STUDENT:
        return Who.YOU
    if first in (Party.SECRETARY, Party.CHAIR):
        return Who.SECRETARY
    return Who.PANEL if state is State.APPEAL_REVIEW else Who.COMMISSION


def build_timeline(case: Case, appeal: Appeal | None, *, now: datetime, audience: str = "student") -> Timeline:
    """The steps of ``case`` at ``now``, in order. Exactly one step is current while the case is
    open, none once it is final. ``audience`` "staff" words it for the commission ("the student"
    for "you"). Pure: reads only its arguments."""
    if audience not in ("student", "staff"):
        raise ValueError("audience must be 'student' or 'staff'")
    state = State(case.state)
    final = state in FINAL
    current = None if final else CURRENT_STEP[state]
    current_index = ORDER.index(current) if current is not None else len(ORDER)
    withdrawn_appeal = appeal is not None and appeal.withdrawn_at is not None
    no_sanction = state in (State.NOT_RESPONSIBLE, State.WITHDRAWN)

    happened: dict[Step, datetime | None] = {
        Step.REFERRED: case.opened_at,
        Step.TOLD: case.notified_at,
        Step.RESPONSE: case.responded_at,
        Step.HEARING: case.hearing_at if case.hearing_at is not None and case.hearing_at <= now else None,
        Step.DELIBERATION: case.decided_at if state not in (State.DELIBERATION, State.SANCTIONING) else None,
        Step.DECISION: case.issued_at or (case.decided_at if state is State.NOT_RESPONSIBLE else None),
        Step.APPEAL_WINDOW: (appeal.filed_at if appeal is not None else
                             case.appeal_due_at if state is State.CLOSED else None),
        Step.APPEAL_FILED: appeal.filed_at if appeal is not None else None,
        Step.PANEL: appeal.convened_at if appeal is not None else None,
        Step.APPEAL_OUTCOME: appeal.decided_at if appeal is not None else None,
        Step.FINAL: case.final_at,
    }
    due: dict[Step, datetime | None] = {
        Step.RESPONSE: case.response_due_at,
        Step.HEARING: case.hearing_at,
        Step.APPEAL_WINDOW: case.appeal_due_at,
    }
    notes: dict[Step, tuple[str, tuple[tuple[str, str], ...]]] = {}

    def note(step: Step, key: str, **params: str) -> None:
        notes[step] = (key, tuple(params.items()))

    # The notes: what a step means for this case.
    if state is State.NOTIFIED:
        overdue = case.response_due_at is not None and now > case.response_due_at
        note(Step.RESPONSE, "response_missed" if overdue else "response_open")
    elif case.responded_at is not None and not (state is State.WITHDRAWN and case.hearing_at is None):
        note(Step.RESPONSE, "contested" if case.hearing_at is not None or state is State.CONTESTED else "accepted")
    elif case.notified_at is not None and state is not State.WITHDRAWN:
        note(Step.RESPONSE, "no_response")
    if case.hearing_at is not None:
        if state is State.HEARING and now >= case.hearing_at:
            note(Step.HEARING, "hearing_held")
        else:
            note(Step.HEARING, "hearing_set", place=case.hearing_place or "")
    elif state is State.CONTESTED:
        note(Step.HEARING, "hearing_to_set")
    elif state in (State.REFERRED, State.NOTIFIED):
        note(Step.HEARING, "hearing_if_contested")
    elif case.notified_at is not None and state is not State.WITHDRAWN:
        note(Step.HEARING, "hearing_not_needed")
    if state is State.ACCEPTED:
        note(Step.DELIBERATION, "to_open")
    elif state in (State.DELIBERATION, State.SANCTIONING):
        note(Step.DELIBERATION, "deliberating")
    elif state is State.DECIDED:
        note(Step.DECISION, "to_issue")
    if state is State.ISSUED:
        closed = case.appeal_due_at is not None and now > case.appeal_due_at
        note(Step.APPEAL_WINDOW, "appeal_closed" if closed else "appeal_open")
    elif state is State.CLOSED and appeal is None:
        note(Step.APPEAL_WINDOW, "not_appealed")
    if appeal is None and ORDER.index(Step.APPEAL_FILED) > current_index:
        for step in (Step.APPEAL_FILED, Step.PANEL, Step.APPEAL_OUTCOME):
            note(step, "if_appealed")
    if withdrawn_appeal:
        note(Step.APPEAL_OUTCOME, "appeal_withdrawn")
    if state is State.APPEALED:
        note(Step.PANEL, "panel_to_convene")
    elif state is State.APPEAL_REVIEW:
        note(Step.APPEAL_OUTCOME, "panel_votes")
    if state is State.NOT_RESPONSIBLE:
        note(Step.FINAL, "not_responsible")
        note(Step.APPEAL_WINDOW, "nothing_to_appeal")
    elif state is State.WITHDRAWN:
        note(Step.FINAL, "withdrawn")

    who_next = Who.NOBODY if final else _who(state, now, case)
    steps = []
    for index, step in enumerate(ORDER):
        if step is Step.FINAL and final:
            status = Status.DONE
        elif index < current_index:
            status = Status.DONE if happened[step] is not None else Status.SKIPPED
        elif index == current_index:
            status = Status.CURRENT
        else:
            status = Status.UPCOMING
        if no_sanction and step in (Step.APPEAL_WINDOW, Step.APPEAL_FILED, Step.PANEL, Step.APPEAL_OUTCOME):
            status = Status.SKIPPED
        when = happened[step] if status is Status.DONE else None  # a withdrawn case keeps no final time
        deadline = due.get(step) if status in (Status.CURRENT, Status.UPCOMING) else None
        who = who_next if status is Status.CURRENT else STEP_ACTORS[step]
        key, params = notes.get(step, (None, ()))
        steps.append(TimelineStep(key=step, status=status, at=when, due=deadline, who=who, note=key,
                                  note_params=params, audience=audience))
    by = _by(state, now, case) if not final else None
    return Timeline(steps=tuple(steps), who_next=who_next, by=by, final=final, audience=audience)


def _by(state: State, now: datetime, case: Case) -> datetime | None:
    """By when the next actor must act: the response deadline, the hearing, the appeal window's
    end, while they are ahead; otherwise no fixed date."""
    moment = {State.NOTIFIED: case.response_due_at, State.HEARING: case.hearing_at,
              State.ISSUED: case.appeal_due_at}.get(state)
    return moment if moment is not None and now <= moment else None
