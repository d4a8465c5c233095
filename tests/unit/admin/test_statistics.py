"""The statistics read from a database built with the factories: each published table equals the
suppression of the counts the factory made (written out by hand below), the scopes cut the data
as documented, and the disparity check answers both ways on synthetic data."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest

from plugin.admin.statistics import (
    MIN_SUBMISSIONS,
    Scope,
    bar_rows,
    compare_rates,
    gather,
    outcome_of,
)
from plugin.admin.suppression import MIN_COUNT, suppress_line, suppress_table
from tests.factories import T0
from tests.factories_stats import CHEMISTRY, HISTORY, TERM_1, TERM_2, StatsWorld, standard_world

# outcomes down (no decision, not responsible, withdrawn, sanction levels 0-3), incident levels
# 1, 2, 3 and "not set" across
OUTCOME_CELLS = [[0, 0, 2, 0],  # no decision yet: two cases at level 3
                 [0, 5, 0, 0],  # not responsible: five at level 2
                 [1, 0, 0, 0],  # withdrawn: one at level 1
                 [0, 0, 0, 0],
                 [6, 0, 0, 0],  # sanction level 1: six at level 1
                 [0, 7, 0, 0],  # sanction level 2: seven at level 2
                 [0, 0, 0, 0]]


def _no_small_number(figures) -> None:
    for table in (figures.outcomes, figures.term_language, figures.usage):
        assert all(v is None or v == 0 or v >= MIN_COUNT for row in table.published.grid() for v in row)
    for line in (figures.courses, figures.commissions, figures.appeals, figures.flags):
        assert all(v is None or v == 0 or v >= MIN_COUNT for v in (*line.published.cells, line.published.total))


def test_every_table_is_the_suppressed_count_of_what_was_made(db_session):
    standard_world(db_session)
    figures = gather(db_session, Scope())
    assert figures.outcomes.published == suppress_table(OUTCOME_CELLS)
    assert figures.term_language.row_labels == (TERM_1, TERM_2)
    assert figures.term_language.published == suppress_table([[11, 7, 1, 0], [0, 2, 0, 0]])
    assert figures.usage.published == suppress_table([[100, 90, 5, 0], [0, 10, 0, 0]])
    assert figures.usage.published.total == 205 and figures.outcomes.published.total == 21
    assert [str(label) for label in figures.courses.labels] == [CHEMISTRY, HISTORY]
    assert figures.courses.published.cells == (12, 9) and figures.courses.published.total == 21
    assert figures.commissions.published.cells == (21,)
    # appeals: 5 upheld and 2 modified: the 2 is hidden, and the 5 with it (else 7 − 5 gives it away)
    assert figures.appeals.published == suppress_line([0, 5, 2, 0, 0])
    assert figures.appeals.published.cells == (0, None, None, 0, 0) and figures.appeals.published.total == 7
    assert figures.flags.published.cells == (0, 21, 0, 0)
    _no_small_number(figures)


def test_the_hidden_cells_of_the_outcome_table(db_session):
    standard_world(db_session)
    published = gather(db_session, Scope()).outcomes.published
    assert published.cells[2][0] is None  # one withdrawn case
    assert published.cells[0][2] is None and published.column_totals[2] is None  # two undecided, level 3
    assert published.cells[1][1] == 5 and published.row_totals[5] == 7 and published.total == 21


def test_time_from_flag_to_decision_needs_ten_decisions(db_session):
    standard_world(db_session)
    times = gather(db_session, Scope()).times
    every = sorted([2, 3, 4, 5, 6, 7, 10, 11, 12, 13, 14, 20, 21, 22, 23, 24, 25, 26])
    assert times[0].durations is not None
    # inclusive quartiles of 18 values: positions 4.25, 8.5, 12.75 (0-based)
    assert times[0].durations.median == (every[8] + every[9]) / 2 == 12.5
    assert times[0].durations.lower_quartile == round(every[4] + 0.25 * (every[5] - every[4]), 1)
    assert times[1].durations is None  # incident level 1: six decisions
    assert times[2].durations is not None and times[2].durations.median == 20.5  # 10..14 and 20..26
    assert times[3].durations is None  # level 3: none decided


def test_a_term_keeps_only_its_cases_and_submissions(db_session):
    standard_world(db_session)
    figures = gather(db_session, Scope(term=TERM_2))
    assert figures.outcomes.published.total is None  # two cases: hidden, and everything with them
    assert figures.usage.published.cells == ((0, 10, 0, 0),) and figures.usage.published.total == 10
    assert TERM_1 in figures.terms and TERM_2 in figures.terms
    _no_small_number(figures)


def test_a_period_counts_cases_opened_in_it(db_session):
    standard_world(db_session)
    figures = gather(db_session, Scope(start=T0, end=T0 + timedelta(days=100)))
    assert figures.outcomes.published.total == 19  # the two term-2 cases were opened in February
    assert figures.usage.published.total == 195
    assert figures.appeals.published.total == 7
    with pytest.raises(ValueError, match="end after"):
        Scope(start=T0, end=T0)


def test_the_disparity_check_hides_rates_that_would_reveal_a_hidden_count(db_session):
    standard_world(db_session)
    figures = gather(db_session, Scope())
    languages = figures.languages_compared
    # 11/100 against 9/100: no marked difference; the Russian total (9) is hidden in the term table
    assert figures.term_language.published.column_totals[1] is None
    assert languages.verdict == "not_marked" and not languages.shown and languages.rate_b is None
    chemistry, history = figures.courses_compared
    assert chemistry.shown and chemistry.verdict == "not_marked" and history.shown
    assert chemistry.rate_a == pytest.approx(12 / 105) and chemistry.rate_b == pytest.approx(9 / 100)


def test_the_disparity_check_flags_a_marked_difference_between_languages(db_session):
    w = StatsWorld(db_session)
    w.course("c", CHEMISTRY)
    for _ in range(30):
        w.case("c", language="kk", outcome="pending")
    for _ in range(6):
        w.case("c", language="ru", outcome="pending")
    w.submissions_bulk("c", 170, language="kk")
    w.submissions_bulk("c", 194, language="ru")
    compared = gather(db_session, Scope()).languages_compared
    assert compared.verdict == "marked" and compared.higher == "a" and compared.shown
    assert compared.rate_a == pytest.approx(30 / 200) and compared.rate_b == pytest.approx(6 / 200)
    assert compared.ratio == pytest.approx(5.0) and compared.p_value is not None and compared.p_value < 0.001


# -- the rule itself, on synthetic numbers --------------------------------------------------------
def test_marked_when_twice_the_rate_and_significant():
    rates = compare_rates(40, 400, 10, 400)
    assert rates.verdict == "marked" and rates.ratio == pytest.approx(4.0) and rates.p_value < 0.001


def test_not_marked_when_the_rates_are_close():
    rates = compare_rates(12, 400, 10, 400)
    assert rates.verdict == "not_marked" and rates.ratio == pytest.approx(1.2)


def test_not_marked_when_a_big_ratio_may_be_chance():
    rates = compare_rates(4, 30, 2, 30)
    assert rates.ratio == pytest.approx(2.0) and rates.p_value > 0.05 and rates.verdict == "not_marked"


def test_not_marked_when_significant_but_under_twice():
    rates = compare_rates(150, 1000, 100, 1000)
    assert rates.p_value < 0.05 and rates.ratio == pytest.approx(1.5) and rates.verdict == "not_marked"


def test_a_group_with_no_cases_against_one_with_many_is_marked():
    rates = compare_rates(0, 300, 30, 300)
    assert math.isinf(rates.ratio) and rates.verdict == "marked"


def test_too_few_submissions_are_not_compared():
    assert compare_rates(20, MIN_SUBMISSIONS - 1, 1, 500).verdict == "too_few"
    assert compare_rates(0, 0, 0, 0).verdict == "too_few"
    assert compare_rates(0, 100, 0, 100).verdict == "not_marked"
    with pytest.raises(ValueError, match="negative"):
        compare_rates(-1, 100, 0, 100)


def test_outcome_of_a_case():
    assert outcome_of("withdrawn", None, None) == "withdrawn"
    assert outcome_of("not_responsible", "not_responsible", None) == "not_responsible"
    assert outcome_of("sanctioning", "responsible", None) == "pending"
    assert outcome_of("appeal_decided", "responsible", 2) == "sanction_2"


def test_charts_scale_to_the_largest_published_count_and_draw_no_hidden_bar():
    chart = bar_rows([("a", 10), ("b", None), ("c", 0), ("d", 5)])
    lengths = [bar.length for bar in chart.bars]
    assert lengths[0] == 250 and lengths[1] == 0 and lengths[2] == 0 and lengths[3] == 125
    assert chart.height == 4 * 40 and [bar.top for bar in chart.bars] == [0, 40, 80, 120]
