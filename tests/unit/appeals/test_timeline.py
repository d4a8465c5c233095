"""The student's timeline, pure: every state of the workflow, who acts next and by when, exactly
one current step while the case is open and none once it is final."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from appeals.models import Appeal, Case
from appeals.timeline import ORDER, Status, Step, Who, build_timeline
from appeals.workflow import FINAL, OPEN, State

T0 = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def _case(state: State, **extra: object) -> Case:
    values: dict[str, object] = {"id": 12, "number": "2026-0012", "commission_id": 1, "flag_id": 1,
                                 "submission_id": 1, "student_id": 7, "course_id": 1, "state": state.value,
                                 "allegation": "x", "rule": "y", "opened_at": T0}
    if state is not State.REFERRED:
        values |= {"notified_at": T0 + DAY, "response_due_at": T0 + 8 * DAY, "objection_due_at": T0 + 6 * DAY}
    values.update(extra)
    return Case(**values)


RESPONDED = {"responded_at": T0 + 2 * DAY}
HEARD = {**RESPONDED, "hearing_at": T0 + 5 * DAY, "hearing_place": "Room 12"}
DECIDED = {**RESPONDED, "finding": "responsible", "reasons": "r", "decided_at": T0 + 6 * DAY}
SANCTIONED = {**DECIDED, "sanction_level": 1, "sanction_code": "resubmission", "sanction_reasons": "s"}
ISSUED = {**SANCTIONED, "issued_at": T0 + 7 * DAY, "appeal_due_at": T0 + 21 * DAY}
FILED = Appeal(id=3, case_id=12, grounds='["bias"]', statement="s", filed_at=T0 + 9 * DAY, original_sanction_level=1)
CONVENED = Appeal(id=3, case_id=12, grounds='["bias"]', statement="s", filed_at=T0 + 9 * DAY,
                  original_sanction_level=1, presiding_user_id=2, convened_at=T0 + 10 * DAY)
DECIDED_APPEAL = Appeal(id=3, case_id=12, grounds='["bias"]', statement="s", filed_at=T0 + 9 * DAY,
                        original_sanction_level=1, presiding_user_id=2, convened_at=T0 + 10 * DAY, outcome="modified",
                        outcome_reasons="r", new_sanction_level=0, decided_at=T0 + 12 * DAY)
WITHDRAWN_APPEAL = Appeal(id=3, case_id=12, grounds='["bias"]', statement="s", filed_at=T0 + 9 * DAY,
                          original_sanction_level=1, withdrawn_at=T0 + 10 * DAY)

# state, case columns, appeal, now, current step, who acts next, by when
CASES = [
    (State.REFERRED, {}, None, T0 + DAY / 2, Step.TOLD, Who.SECRETARY, None),
    (State.NOTIFIED, {}, None, T0 + 2 * DAY, Step.RESPONSE, Who.YOU, T0 + 8 * DAY),
    (State.ACCEPTED, RESPONDED, None, T0 + 3 * DAY, Step.DELIBERATION, Who.SECRETARY, None),
    (State.CONTESTED, RESPONDED, None, T0 + 3 * DAY, Step.HEARING, Who.SECRETARY, None),
    (State.HEARING, HEARD, None, T0 + 4 * DAY, Step.HEARING, Who.COMMISSION, T0 + 5 * DAY),
    (State.DELIBERATION, HEARD, None, T0 + 6 * DAY, Step.DELIBERATION, Who.COMMISSION, None),
    (State.SANCTIONING, DECIDED, None, T0 + 6 * DAY, Step.DELIBERATION, Who.COMMISSION, None),
    (State.DECIDED, SANCTIONED, None, T0 + 6 * DAY, Step.DECISION, Who.SECRETARY, None),
    (State.ISSUED, ISSUED, None, T0 + 8 * DAY, Step.APPEAL_WINDOW, Who.YOU, T0 + 21 * DAY),
    (State.APPEALED, ISSUED, FILED, T0 + 9 * DAY, Step.PANEL, Who.SECRETARY, None),
    (State.APPEAL_REVIEW, ISSUED, CONVENED, T0 + 11 * DAY, Step.APPEAL_OUTCOME, Who.PANEL, None),
    (State.CLOSED, {**ISSUED, "final_at": T0 + 22 * DAY, "final_sanction_level": 1}, None, T0 + 23 * DAY, None,
     Who.NOBODY, None),
    (State.APPEAL_DECIDED, {**ISSUED, "final_at": T0 + 12 * DAY, "final_sanction_level": 0}, DECIDED_APPEAL,
     T0 + 13 * DAY, None, Who.NOBODY, None),
    (State.NOT_RESPONSIBLE, {**RESPONDED, "finding": "not_responsible", "reasons": "r", "decided_at": T0 + 6 * DAY,
                             "final_at": T0 + 6 * DAY}, None, T0 + 7 * DAY, None, Who.NOBODY, None),
    (State.WITHDRAWN, {"closed_note": "n"}, None, T0 + 3 * DAY, None, Who.NOBODY, None),
]


def test_every_state_of_the_workflow_is_covered():
    assert {row[0] for row in CASES} == set(State)


@pytest.mark.parametrize(("state", "columns", "appeal", "now", "current", "who", "by"), CASES,
                         ids=[row[0].value for row in CASES])
def test_the_timeline_of_each_state(state, columns, appeal, now, current, who, by):
    timeline = build_timeline(_case(state, **columns), appeal, now=now)
    assert [step.key for step in timeline.steps] == list(ORDER)
    currents = [step for step in timeline.steps if step.status is Status.CURRENT]
    if state in OPEN:
        assert len(currents) == 1 and currents[0].key is current
        assert currents[0].who is who and timeline.current is currents[0]
        assert timeline.steps[-1].status is Status.UPCOMING and not timeline.final
    else:
        assert state in FINAL and currents == [] and timeline.final
        assert timeline.steps[-1].status is Status.DONE
    assert (timeline.who_next, timeline.by) == (who, by)
    # Done before the current step, never upcoming; upcoming only after it
    statuses = [step.status for step in timeline.steps]
    cut = statuses.index(Status.CURRENT) if Status.CURRENT in statuses else len(statuses)
    assert all(s in (Status.DONE, Status.SKIPPED) for s in statuses[:cut])
    assert all(s in (Status.UPCOMING, Status.SKIPPED) for s in statuses[cut + 1:])
    assert timeline.steps[0].status is Status.DONE and timeline.steps[0].at == T0
    # A done step says when it happened (the final step of a withdrawn case keeps no time)
    assert all(step.at is not None for step in timeline.steps
               if step.status is Status.DONE and not (state is State.WITHDRAWN and step.key is Step.FINAL))


def _status(timeline, key: Step) -> Status:
    return next(step.status for step in timeline.steps if step.key is key)


def test_accepting_skips_the_hearing_and_contesting_keeps_it():
    accepted = build_timeline(_case(State.DELIBERATION, **RESPONDED), None, now=T0 + 4 * DAY)
    assert _status(accepted, Step.HEARING) is Status.SKIPPED and _status(accepted, Step.RESPONSE) is Status.DONE
    heard = build_timeline(_case(State.DELIBERATION, **HEARD), None, now=T0 + 6 * DAY)
    assert _status(heard, Step.HEARING) is Status.DONE
    hearing = next(step for step in heard.steps if step.key is Step.HEARING)
    assert hearing.at == T0 + 5 * DAY and hearing.note_text == "Place: Room 12"


def test_a_missed_response_passes_the_turn_to_the_commission():
    notified = _case(State.NOTIFIED)
    before = build_timeline(notified, None, now=T0 + 8 * DAY)  # the last instant of the deadline is still open
    after = build_timeline(notified, None, now=T0 + 8 * DAY + timedelta(seconds=1))
    assert (before.who_next, before.by) == (Who.YOU, T0 + 8 * DAY)
    assert (after.who_next, after.by) == (Who.COMMISSION, None)
    moved_on = build_timeline(_case(State.DELIBERATION), None, now=T0 + 9 * DAY)
    assert _status(moved_on, Step.RESPONSE) is Status.SKIPPED


def test_the_hearing_is_the_commissions_until_it_is_held_then_the_secretarys():
    case = _case(State.HEARING, **HEARD)
    assert build_timeline(case, None, now=T0 + 4 * DAY).who_next is Who.COMMISSION
    after = build_timeline(case, None, now=T0 + 5 * DAY + timedelta(hours=2))
    assert (after.who_next, after.by) == (Who.SECRETARY, None)


def test_an_expired_window_leaves_nobody_to_act_and_the_appeal_steps_are_conditional():
    case = _case(State.ISSUED, **ISSUED)
    open_window = build_timeline(case, None, now=T0 + 20 * DAY)
    appeal_step = next(step for step in open_window.steps if step.key is Step.APPEAL_FILED)
    assert appeal_step.status is Status.UPCOMING and appeal_step.note == "if_appealed"
    window = next(step for step in open_window.steps if step.key is Step.APPEAL_WINDOW)
    assert window.due == T0 + 21 * DAY and window.who is Who.YOU
    expired = build_timeline(case, None, now=T0 + 22 * DAY)
    assert (expired.who_next, expired.by) == (Who.NOBODY, None)


def test_closed_without_appeal_skips_the_appeal_and_a_withdrawn_appeal_is_shown():
    closed = build_timeline(_case(State.CLOSED, **ISSUED, final_at=T0 + 22 * DAY, final_sanction_level=1), None,
                            now=T0 + 23 * DAY)
    assert [_status(closed, k) for k in (Step.APPEAL_WINDOW, Step.APPEAL_FILED, Step.PANEL, Step.APPEAL_OUTCOME)] == [
        Status.DONE, Status.SKIPPED, Status.SKIPPED, Status.SKIPPED]
    withdrawn = build_timeline(_case(State.CLOSED, **ISSUED, final_at=T0 + 10 * DAY, final_sanction_level=1),
                               WITHDRAWN_APPEAL, now=T0 + 11 * DAY)
    assert _status(withdrawn, Step.APPEAL_FILED) is Status.DONE and _status(withdrawn, Step.PANEL) is Status.SKIPPED
    outcome = next(step for step in withdrawn.steps if step.key is Step.APPEAL_OUTCOME)
    assert outcome.status is Status.SKIPPED and outcome.note == "appeal_withdrawn"


def test_not_responsible_has_nothing_to_appeal():
    case = _case(State.NOT_RESPONSIBLE, **RESPONDED, finding="not_responsible", reasons="r",
                 decided_at=T0 + 6 * DAY, final_at=T0 + 6 * DAY)
    timeline = build_timeline(case, None, now=T0 + 7 * DAY)
    assert _status(timeline, Step.DECISION) is Status.DONE
    assert all(_status(timeline, k) is Status.SKIPPED
               for k in (Step.APPEAL_WINDOW, Step.APPEAL_FILED, Step.PANEL, Step.APPEAL_OUTCOME))


def test_the_commissions_view_names_the_student_and_keeps_notes_to_the_student_out():
    case = _case(State.NOTIFIED)
    student = build_timeline(case, None, now=T0 + 2 * DAY)
    staff = build_timeline(case, None, now=T0 + 2 * DAY, audience="staff")
    assert str(student.who_next_title) == "You" and str(staff.who_next_title) == "The student"
    assert student.current is not None and student.current.note_text is not None
    assert staff.current is not None and staff.current.note_text is None
    with pytest.raises(ValueError, match="audience"):
        build_timeline(case, None, now=T0, audience="teacher")
