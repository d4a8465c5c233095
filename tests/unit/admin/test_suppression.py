"""Small-cell suppression: the rule on chosen tables, then properties on random ones. The attacks
are written independently of the module: subtraction line by line until nothing more comes out,
and exact linear algebra (a hidden entry is recoverable when its unit vector lies in the row
space of the published equations)."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plugin.admin.suppression import (
    MIN_COUNT,
    is_small,
    summarise_durations,
    suppress_line,
    suppress_table,
)


# -- attacks ----------------------------------------------------------------------------------
def _equations(grid: list[list[int | None]]) -> list[list[tuple[int, int]]]:
    rows, cols = len(grid), len(grid[0])
    lines = [[(i, j) for j in range(cols - 1)] + [(i, cols - 1)] for i in range(rows)]
    lines += [[(i, j) for i in range(rows - 1)] + [(rows - 1, j)] for j in range(cols)]
    return lines


def subtract_until_stable(grid: list[list[int | None]]) -> dict[tuple[int, int], int]:
    """What an outsider recovers by subtraction: every line with one unknown gives it away; repeat."""
    known = {(i, j): v for i, row in enumerate(grid) for j, v in enumerate(row) if v is not None}
    recovered: dict[tuple[int, int], int] = {}
    last_row, last_col = len(grid) - 1, len(grid[0]) - 1
    changed = True
    while changed:
        changed = False
        for line in _equations(grid):
            unknown = [p for p in line if p not in known]
            if len(unknown) != 1:
                continue
            total_pos = line[-1]
            parts = line[:-1]
            (u,) = unknown
            if u == total_pos:
                value = sum(known[p] for p in parts)
            else:
                value = known[total_pos] - sum(known[p] for p in parts if p != u)
            assert total_pos in ((total_pos[0], last_col), (last_row, total_pos[1]))
            known[u] = recovered[u] = value
            changed = True
    return recovered


def linearly_determined(grid: list[list[int | None]]) -> set[tuple[int, int]]:
    """Hidden entries fixed by the published equations, by exact Gaussian elimination."""
    unknowns = sorted((i, j) for i, row in enumerate(grid) for j, v in enumerate(row) if v is None)
    index = {p: k for k, p in enumerate(unknowns)}
    matrix: list[list[Fraction]] = []
    for line in _equations(grid):
        total_pos = line[-1]
        coefficients = [Fraction(0)] * len(unknowns)
        for p in line:
            if p in index:
                coefficients[index[p]] += -1 if p == total_pos else 1
        if any(coefficients):
            matrix.append(coefficients)
    # reduced row echelon form
    pivot_row = 0
    pivots: list[int] = []
    for col in range(len(unknowns)):
        found = next((r for r in range(pivot_row, len(matrix)) if matrix[r][col] != 0), None)
        if found is None:
            continue
        matrix[pivot_row], matrix[found] = matrix[found], matrix[pivot_row]
        lead = matrix[pivot_row][col]
        matrix[pivot_row] = [x / lead for x in matrix[pivot_row]]
        for r in range(len(matrix)):
            if r != pivot_row and matrix[r][col] != 0:
                factor = matrix[r][col]
                matrix[r] = [a - factor * b for a, b in zip(matrix[r], matrix[pivot_row], strict=True)]
        pivots.append(col)
        pivot_row += 1
    determined = set()
    for r, col in enumerate(pivots):
        if sum(1 for x in matrix[r] if x != 0) == 1:
            determined.add(unknowns[col])
    return determined


def _full_grid(cells: list[list[int]]) -> list[list[int]]:
    grid = [[*row, sum(row)] for row in cells]
    return [*grid, [sum(row[j] for row in grid) for j in range(len(grid[0]))]]


# -- the rule on chosen tables ----------------------------------------------------------------
def test_a_lone_small_cell_takes_the_next_smallest_with_it():
    published = suppress_line([12, 3, 7, 0, 20])
    assert published.cells == (12, None, None, 0, 20) and published.total == 42


def test_zero_is_published_and_a_line_of_big_counts_is_untouched():
    assert suppress_line([0, 5, 9]) == suppress_line([0, 5, 9])
    published = suppress_line([0, 5, 9])
    assert published.cells == (0, 5, 9) and published.total == 14 and published.hidden == 0


def test_a_small_total_hides_the_whole_line():
    published = suppress_line([1, 2, 0])
    assert published.cells == (None, None, 0) and published.total is None


def test_two_small_cells_protect_each_other_in_a_line():
    published = suppress_line([2, 3, 40])
    assert published.cells == (None, None, 40) and published.total == 45


def test_secondary_suppression_in_a_two_way_table():
    cells = [[20, 3, 15], [10, 12, 9], [30, 25, 11]]
    published = suppress_table(cells)
    grid = published.grid()
    assert grid[0][1] is None
    hidden = {(i, j) for i, row in enumerate(grid) for j, v in enumerate(row) if v is None}
    assert len(hidden) == 4  # a rectangle: the small cell, two complements and the opposite corner
    assert {i for i, _ in hidden} != {0} and {j for _, j in hidden} != {1}
    assert published.total == 135
    assert not subtract_until_stable(grid) and not linearly_determined(grid)


def test_a_small_margin_is_hidden_with_its_cells():
    published = suppress_table([[1, 2, 0], [30, 40, 50]])
    assert published.row_totals[0] is None and published.cells[0][:2] == (None, None)
    assert all(v is None or v == 0 or v >= MIN_COUNT for row in published.grid() for v in row)
    assert not subtract_until_stable(published.grid()) and not linearly_determined(published.grid())


def test_bad_tables_are_refused():
    with pytest.raises(ValueError, match="same number"):
        suppress_table([[1, 2], [3]])
    with pytest.raises(ValueError, match="at least 0"):
        suppress_line([5, -1])
    with pytest.raises(ValueError, match="at least one row"):
        suppress_table([])


# -- properties on random tables ----------------------------------------------------------------
counts = st.one_of(st.integers(0, 4), st.integers(0, 30), st.integers(0, 400))
tables = st.integers(1, 6).flatmap(
    lambda width: st.lists(st.lists(counts, min_size=width, max_size=width), min_size=1, max_size=6))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables)
def test_no_small_count_published_and_no_hidden_entry_recoverable(cells):
    published = suppress_table(cells)
    grid = published.grid()
    truth = _full_grid(cells)
    for i, row in enumerate(grid):
        for j, value in enumerate(row):
            assert value is None or value == truth[i][j]  # what is published is true
            assert value is None or value == 0 or value >= MIN_COUNT
    assert not subtract_until_stable(grid)
    assert not linearly_determined(grid)


@settings(max_examples=400, deadline=None)
@given(tables)
def test_the_grand_total_is_hidden_only_when_it_is_itself_small(cells):
    total = sum(map(sum, cells))
    assert (suppress_table(cells).total is None) == (0 < total < MIN_COUNT)


@settings(max_examples=400, deadline=None)
@given(st.lists(counts, min_size=1, max_size=12))
def test_lines_publish_no_small_count_and_no_lone_hidden_cell(values):
    published = suppress_line(values)
    assert all(v is None or v == 0 or v >= MIN_COUNT for v in (*published.cells, published.total))
    assert published.hidden != 1
    assert (published.total is None) == (0 < sum(values) < MIN_COUNT)
    if published.total is not None:
        assert all(p == v for p, v in zip(published.cells, values, strict=True) if p is not None)


@settings(max_examples=200, deadline=None)
@given(tables)
def test_suppression_is_stable(cells):
    assert suppress_table(cells) == suppress_table(cells)


# -- durations ------------------------------------------------------------------------------------
def test_durations_need_a_minimum_group():
    assert summarise_durations([3.0] * 9) is None
    summary = summarise_durations([float(d) for d in range(1, 12)])
    assert summary is not None and (summary.lower_quartile, summary.median, summary.upper_quartile) == (3.5, 6.0, 8.5)


def test_a_count_printed_elsewhere_is_not_a_complement():
    # 21 referred flags are the 21 cases printed in every table: hiding them would protect nothing
    published = suppress_line([3, 21, 0, 0], published_elsewhere=frozenset({1}))
    assert published.cells == (None, 21, 0, 0) and published.total is None
    assert suppress_line([3, 21, 6, 0], published_elsewhere=frozenset({1})).cells == (None, 21, None, 0)


@settings(max_examples=300, deadline=None)
@given(st.lists(counts, min_size=2, max_size=8), st.data())
def test_a_line_with_a_count_printed_elsewhere_still_hides_no_lone_entry(values, data):
    kept = data.draw(st.integers(0, len(values) - 1))
    published = suppress_line(values, published_elsewhere=frozenset({kept}))
    assert published.hidden != 1
    assert published.cells[kept] is not None or is_small(values[kept])
    assert all(v is None or v == 0 or v >= MIN_COUNT for v in (*published.cells, published.total))
