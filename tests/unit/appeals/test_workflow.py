"""The case's transition table, pair by pair (allowed and forbidden), and deadline arithmetic
across weekends, holidays and time zones."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime

import pytest

from appeals.calendar import Calendar
from appeals.workflow import FINAL, TRANSITIONS, Event, Party, State, TransitionRefused, allowed_events, transition

EXPECTED = {
    (State.REFERRED, Event.NOTIFY): (State.NOTIFIED, {Party.SECRETARY}),
    (State.NOTIFIED, Event.ACCEPT): (State.ACCEPTED, {Party.STUDENT}),
    (State.NOTIFIED, Event.CONTEST): (State.CONTESTED, {Party.STUDENT}),
    (State.NOTIFIED, Event.NO_RESPONSE): (State.DELIBERATION, {Party.DEADLINE}),
    (State.CONTESTED, Event.SCHEDULE_HEARING): (State.HEARING, {Party.SECRETARY}),
    (State.ACCEPTED, Event.DELIBERATE): (State.DELIBERATION, {Party.SECRETARY}),
    (State.HEARING, Event.DELIBERATE): (State.DELIBERATION, {Party.SECRETARY}),
    (State.DELIBERATION, Event.FIND_RESPONSIBLE): (State.SANCTIONING, {Party.PANEL}),
    (State.DELIBERATION, Event.FIND_NOT_RESPONSIBLE): (State.NOT_RESPONSIBLE, {Party.PANEL}),
    (State.SANCTIONING, Event.SET_SANCTION): (State.DECIDED, {Party.PANEL}),
    (State.DECIDED, Event.ISSUE): (State.ISSUED, {Party.SECRETARY}),
    **{(s, Event.WITHDRAW): (State.WITHDRAWN, {Party.CHAIR})
       for s in (State.REFERRED, State.NOTIFIED, State.ACCEPTED, State.CONTESTED, State.HEARING,
                 State.DELIBERATION)},
    (State.ISSUED, Event.APPEAL): (State.APPEALED, {Party.STUDENT}),
    (State.ISSUED, Event.WINDOW_CLOSED): (State.CLOSED, {Party.DEADLINE}),
    (State.APPEALED, Event.WITHDRAW_APPEAL): (State.CLOSED, {Party.STUDENT}),
    (State.APPEALED, Event.CONVENE_PANEL): (State.APPEAL_REVIEW, {Party.SECRETARY}),
    (State.APPEAL_REVIEW, Event.WITHDRAW_APPEAL): (State.CLOSED, {Party.STUDENT}),
    (State.APPEAL_REVIEW, Event.DECIDE_APPEAL): (State.APPEAL_DECIDED, {Party.PANEL}),
}


@pytest.mark.parametrize(("state", "event", "by"), list(itertools.product(State, Event, Party)))
def test_every_state_event_and_actor(state, event, by):
    expected = EXPECTED.get((state, event))
    if expected is not None and by in expected[1]:
        assert transition(state, event, by) == expected[0]
    else:
        with pytest.raises(TransitionRefused):
            transition(state, event, by)


def test_the_table_is_exactly_the_expected_one():
    assert {(t.source, t.event): (t.target, set(t.by)) for t in TRANSITIONS} == EXPECTED
    assert len({(t.source, t.event) for t in TRANSITIONS}) == len(TRANSITIONS)


def test_no_decision_is_made_by_a_deadline_or_a_single_officer():
    for move in TRANSITIONS:
        if move.event in (Event.FIND_RESPONSIBLE, Event.FIND_NOT_RESPONSIBLE, Event.SET_SANCTION,
                          Event.DECIDE_APPEAL):
            assert move.by == {Party.PANEL}
        if Party.DEADLINE in move.by:
            # a deadline only moves on (to deliberation) or makes an issued decision final unchanged
            assert (move.event, move.target) in {(Event.NO_RESPONSE, State.DELIBERATION),
                                                 (Event.WINDOW_CLOSED, State.CLOSED)}


def test_an_appealed_decision_is_never_final_and_only_the_panel_changes_it():
    assert {State.ISSUED, State.APPEALED, State.APPEAL_REVIEW}.isdisjoint(FINAL)
    into_final = {(t.source, t.event) for t in TRANSITIONS if t.target in FINAL and t.source in
                  (State.APPEALED, State.APPEAL_REVIEW)}
    assert into_final == {(State.APPEALED, Event.WITHDRAW_APPEAL), (State.APPEAL_REVIEW, Event.WITHDRAW_APPEAL),
                          (State.APPEAL_REVIEW, Event.DECIDE_APPEAL)}


def test_final_states_have_no_way_out_here():
    for state in FINAL:
        assert allowed_events(state) == []


def test_unknown_values_are_refused():
    with pytest.raises(ValueError, match="sanction_everyone"):
        transition("decided", "sanction_everyone", "panel")


# -- the calendar ----------------------------------------------------------------------------------
KZ = Calendar(zone="Asia/Almaty", working_weekdays=frozenset({1, 2, 3, 4, 5}),
              fixed_holidays=frozenset({"01-01", "01-02", "03-08", "03-21", "03-22", "03-23", "12-16"}),
              holidays=frozenset({date(2027, 3, 24)}))


def test_five_working_days_skip_the_weekend():
    # Wednesday 2 Dec 2026, 10:00 Almaty (05:00 UTC) -> Wed 9 Dec, end of day local
    deadline = KZ.deadline(datetime(2026, 12, 2, 5, 0, tzinfo=UTC), 5)
    assert deadline.astimezone(UTC) == datetime(2026, 12, 9, 18, 59, 59, 999999, tzinfo=UTC)


def test_holidays_and_one_off_days_off_are_skipped():
    # Friday 19 Mar 2027 + 2 working days: 22, 23 (Nauryz) and 24 (declared off) are skipped -> Fri 26 Mar
    assert KZ.add_working_days(date(2027, 3, 19), 2) == date(2027, 3, 26)
    # Independence Day 16 Dec 2026 (Wednesday) is skipped
    assert KZ.add_working_days(date(2026, 12, 15), 1) == date(2026, 12, 17)


def test_the_local_date_decides_not_the_utc_date():
    # 20:00 UTC on Friday is already Saturday in Almaty: counting starts from Saturday
    friday_evening_utc = datetime(2026, 12, 4, 20, 0, tzinfo=UTC)
    assert KZ.local_date(friday_evening_utc) == date(2026, 12, 5)
    assert KZ.add_working_days(KZ.local_date(friday_evening_utc), 1) == date(2026, 12, 7)
    utc_calendar = Calendar(zone="UTC")
    assert utc_calendar.local_date(friday_evening_utc) == date(2026, 12, 4)
    assert utc_calendar.add_working_days(utc_calendar.local_date(friday_evening_utc), 1) == date(2026, 12, 7)


def test_working_days_between_and_bad_input():
    start = datetime(2026, 12, 4, 5, tzinfo=UTC)  # Friday
    assert KZ.working_days_between(start, datetime(2026, 12, 8, 5, tzinfo=UTC)) == 2  # Mon, Tue
    assert KZ.working_days_between(start, start) == 0
    with pytest.raises(ValueError, match="negative"):
        KZ.add_working_days(date(2026, 12, 4), -1)
    with pytest.raises(ValueError, match="naive"):
        KZ.deadline(datetime(2026, 12, 4, 5), 1)  # noqa: DTZ001  (the point: a naive time is refused)
    with pytest.raises(ValueError, match="working weekday"):
        Calendar(working_weekdays=frozenset()).add_working_days(date(2026, 12, 4), 1)
