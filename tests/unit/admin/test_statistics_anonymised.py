"""The statistics add what retention kept of deleted cases and submissions (``anonymised_case``,
``anonymised_submission_count``) to the live rows, here written by hand: every table, the times,
the disparity check and the term list count both, and a row is left out only of the figure it
lacks a field for."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from plugin.admin.statistics import Scope, available_terms, gather, period_scope, term_period
from plugin.admin.suppression import suppress_line, suppress_table
from plugin.kernel.retention_records import AnonymisedCase, AnonymisedSubmissionCount
from tests.factories import T0
from tests.factories_stats import CHEMISTRY, HISTORY, TERM_1, StatsWorld

ALMATY = ZoneInfo("Asia/Almaty")
OLD_TERM = "2025-2026/2"  # only anonymised rows know it
FLAGGED = T0 + timedelta(days=11)


def _anonymised(world: StatsWorld, course: str, *, language: str, state: str, finding: str | None,
                incident: int | None, sanction: int | None = None, days: float | None = 5.0,
                flagged: bool = True, appeal: str | None = None, appealed: bool = False) -> AnonymisedCase:
    row = AnonymisedCase(course_id=world.courses[course].id, commission_id=world.commission.id, term=TERM_1,
                         submission_language=language, state=state, incident_level=incident, finding=finding,
                         sanction_level=sanction, final_sanction_level=sanction, appealed=appealed or bool(appeal),
                         appeal_outcome=appeal, flagged_at=FLAGGED if flagged else None,
                         opened_at=FLAGGED + timedelta(hours=2),
                         decided_at=None if days is None else FLAGGED + timedelta(days=days),
                         closed_at=FLAGGED + timedelta(days=40), anonymised_at=datetime(2030, 1, 1, tzinfo=UTC))
    world.session.add(row)
    return row


@pytest.fixture
def world(db_session) -> StatsWorld:
    """Live: 5 chemistry cases (kk, sanction 1, level 1, decided in 2..6 days) and 40 more kk
    submissions. Anonymised: 6 history cases (ru, not responsible, level 2, decided in 10..15
    days, the last without a flag date), 5 history cases (ru, sanction 2, level 3, appealed:
    3 upheld, 2 withdrawn, decided in 20 days), 60 ru history submissions of TERM_1 and 30 kk
    chemistry ones of OLD_TERM."""
    w = StatsWorld(db_session)
    w.course("chem", CHEMISTRY)
    w.course("hist", HISTORY)
    for day in range(5):
        w.case("chem", outcome="sanction_1", incident=1, decision_days=2 + day)
    w.submissions_bulk("chem", 40, language="kk")
    for index in range(6):
        _anonymised(w, "hist", language="ru", state="not_responsible", finding="not_responsible", incident=2,
                    days=10 + index, flagged=index < 5)
    for index in range(5):
        # retention keeps ``appeal.outcome``, empty for a withdrawn appeal
        _anonymised(w, "hist", language="ru", state="closed" if index >= 3 else "appeal_decided",
                    finding="responsible", incident=3, sanction=2, days=20,
                    appeal="upheld" if index < 3 else None, appealed=True)
    db_session.add(AnonymisedSubmissionCount(course_id=w.courses["hist"].id, term=TERM_1, language="ru", count=60))
    db_session.add(AnonymisedSubmissionCount(course_id=w.courses["chem"].id, term=OLD_TERM, language="kk",
                                             count=30))
    db_session.flush()
    return w


def test_every_table_adds_the_anonymised_rows(world, db_session):
    figures = gather(db_session, Scope())
    # outcomes down (pending, not responsible, withdrawn, sanctions 0-3), incident levels 1, 2, 3, unset across
    assert figures.outcomes.published == suppress_table([[0, 0, 0, 0], [0, 6, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0],
                                                         [5, 0, 0, 0], [0, 0, 5, 0], [0, 0, 0, 0]])
    assert figures.outcomes.published.total == 16
    assert figures.term_language.row_labels == (TERM_1,)
    assert figures.term_language.published == suppress_table([[5, 11, 0, 0]])
    assert figures.usage.row_labels == (OLD_TERM, TERM_1)
    assert figures.usage.published == suppress_table([[30, 0, 0, 0], [45, 60, 0, 0]])
    assert [str(label) for label in figures.courses.labels] == [CHEMISTRY, HISTORY]
    assert figures.courses.published.cells == (5, 11) and figures.commissions.published.cells == (16,)
    assert figures.appeals.published == suppress_line([0, 3, 0, 0, 2])  # upheld 3, withdrawn 2
    assert figures.appeals.published.total == 5
    assert figures.flags.published.cells == (0, 16, 0, 0)  # each case, live or anonymised, had a referred flag
    assert OLD_TERM in figures.terms and OLD_TERM in available_terms(db_session)


def test_a_row_without_a_flag_date_is_left_out_of_the_times_only(world, db_session):
    times = gather(db_session, Scope()).times
    # 5 live (2..6 days), 5 anonymised not-responsible with a flag date (10..14), 5 appealed (20):
    # the sixth not-responsible one (15 days) has no flag date
    every = sorted([2, 3, 4, 5, 6, 10, 11, 12, 13, 14, 20, 20, 20, 20, 20])
    assert times[0].durations is not None and times[0].durations.median == every[7] == 12
    assert times[2].durations is None  # level 2: five decisions with a flag date, under the minimum of ten


def test_the_disparity_check_counts_both(world, db_session):
    figures = gather(db_session, Scope())
    chemistry, history = figures.courses_compared
    # chemistry: 5 cases in 45 + 30 submissions; the others (history): 11 cases in 60
    assert chemistry.shown and chemistry.rate_a == pytest.approx(5 / 75) and chemistry.rate_b == pytest.approx(11 / 60)
    assert history.rate_a == pytest.approx(11 / 60) and history.rate_b == pytest.approx(5 / 75)
    languages = figures.languages_compared  # kk: 5 cases in 45 + 30; ru: 11 anonymised cases in 60
    assert languages.shown and (languages.submissions_a, languages.submissions_b) == (75, 60)
    assert languages.rate_a == pytest.approx(5 / 75) and languages.rate_b == pytest.approx(11 / 60)


def test_a_term_and_a_period_choose_anonymised_rows_as_live_ones(world, db_session):
    only_old = gather(db_session, Scope(term=OLD_TERM))
    assert only_old.usage.published.total == 30 and only_old.outcomes.published.total == 0
    autumn = gather(db_session, period_scope(date(2026, 9, 1), date(2027, 1, 31), ALMATY))
    # the anonymised case that kept no flag date counts among the cases opened, but not the flags raised
    assert autumn.outcomes.published.total == 16 and autumn.flags.published.cells[1] == 15
    assert gather(db_session, Scope(term=TERM_1)).flags.published.cells[1] == 16
    assert autumn.usage.published.total == 45 + 60  # TERM_1 lies inside the period; OLD_TERM outside it
    # A period that cuts TERM_1: its 60 deleted submissions have no date, so it counts none of them
    # (the live ones, handed in on 11 and 12 September, are in it).
    cut = gather(db_session, Scope(start=T0, end=T0 + timedelta(days=30)))
    assert cut.usage.published.total == 45 and cut.outcomes.published.total == 16
    # flags by the day they were raised: a row without a flag date is in no period
    later = gather(db_session, Scope(start=T0 + timedelta(days=12), end=T0 + timedelta(days=60)))
    assert later.flags.published.cells[1] == 0 and later.outcomes.published.total == 0


def test_term_period_follows_term_of():
    start, end = term_period("2026-2027/1", ALMATY)
    assert (start.isoformat(), end.isoformat()) == ("2026-09-01T00:00:00+05:00", "2027-02-01T00:00:00+05:00")
    start, end = term_period("2026-2027/2", ALMATY)
    assert (start.isoformat(), end.isoformat()) == ("2027-02-01T00:00:00+05:00", "2027-09-01T00:00:00+05:00")
    assert term_period("spring", ALMATY) is None and term_period("2026-2027/3", ALMATY) is None
