"""Small-cell suppression for published statistics (S 6.12ә): pure functions, no database.

The rule, the same for every table, page, CSV and report:

* **Primary suppression.** A count from 1 to 4 is never published, whether it is a cell or a total.
  Zero is published: a true zero is nobody, and hiding zeros would hide most of a small
  institution's tables for no protection.
* **Secondary suppression.** Published totals must not let anyone work a hidden cell out by
  subtraction. In the table with its margins (cells, row totals, column totals, the grand total)
  every row and every column is one equation. A hidden cell can be computed exactly when it is
  the only hidden entry of a line, or, more generally, when it is a *bridge* of the graph whose
  nodes are the lines and whose edges are the hidden entries (an edge on no cycle). So we hide
  more cells until no line has exactly one hidden entry and every hidden entry lies on a cycle;
  then each hidden value can move along its cycle and stay consistent with everything published.
  The complement chosen is the smallest non-zero published entry that closes the gap (a zero only
  when nothing else can), and never the grand total unless there is no other way: the grand total
  is the same number in every table of a report, so hiding it in one table and printing it in
  another would undo the protection.
* **Minimum group for time figures.** Medians and quartiles of durations are published only for
  a group of at least ``MIN_GROUP_FOR_TIMES`` decisions; the group's size itself is not printed.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

MIN_COUNT = 5  # the smallest count published (zero aside)
MIN_GROUP_FOR_TIMES = 10  # the fewest decisions whose durations are summarised

Position = tuple[int, int]


def is_small(value: int) -> bool:
    """A count that may not be published: 1 to 4."""
    return 0 < value < MIN_COUNT


@dataclass(frozen=True)
class PublishedLine:
    """A one-way table as published: ``None`` where a count is hidden."""

    cells: tuple[int | None, ...]
    total: int | None

    @property
    def hidden(self) -> int:
        return sum(cell is None for cell in self.cells) + (self.total is None)


@dataclass(frozen=True)
class PublishedTable:
    """A two-way table with its margins as published: ``None`` where a count is hidden."""

    cells: tuple[tuple[int | None, ...], ...]
    row_totals: tuple[int | None, ...]
    column_totals: tuple[int | None, ...]
    total: int | None

    def grid(self) -> list[list[int | None]]:
        """The table with its margins: the row totals as the last column, the column totals and
        the grand total as the last row."""
        rows = [[*row, total] for row, total in zip(self.cells, self.row_totals, strict=True)]
        return [*rows, [*self.column_totals, self.total]]

    @property
    def hidden(self) -> int:
        return sum(value is None for row in self.grid() for value in row)


def suppress_line(values: Sequence[int], *, published_elsewhere: frozenset[int] = frozenset()) -> PublishedLine:
    """Suppress a one-way table of counts published with its total.

    One equation (the cells add up to the total): a hidden cell is recoverable exactly when it is
    the only hidden entry, so a lone hidden cell takes the smallest other non-zero cell with it.
    A cell in ``published_elsewhere`` (its count is printed in another table) is never that
    complement, since hiding it here would hide nothing: the total is hidden instead when no
    other cell will do.
    """
    counts = [_count(value) for value in values]
    total = sum(counts)
    hidden = {index for index, value in enumerate(counts) if is_small(value)}
    total_hidden = is_small(total)
    if len(hidden) + total_hidden == 1:
        others = [(value, index) for index, value in enumerate(counts)
                  if index not in hidden and value > 0 and index not in published_elsewhere]
        if others:
            hidden.add(min(others)[1])
        else:
            total_hidden = True
    return PublishedLine(cells=tuple(None if index in hidden else value for index, value in enumerate(counts)),
                         total=None if total_hidden else total)


def suppress_table(cells: Sequence[Sequence[int]]) -> PublishedTable:
    """Suppress a two-way table of counts published with its row, column and grand totals
    (primary, then secondary suppression until stable; see the module's docstring)."""
    rows = [[_count(value) for value in row] for row in cells]
    if not rows or not rows[0]:
        raise ValueError("a table needs at least one row and one column")
    width = len(rows[0])
    if any(len(row) != width for row in rows):
        raise ValueError("every row of a table needs the same number of cells")
    grid = [[*row, sum(row)] for row in rows]
    grid.append([sum(row[j] for row in grid) for j in range(width + 1)])
    hidden = _protect(grid)
    published = [[None if (i, j) in hidden else value for j, value in enumerate(row)] for i, row in enumerate(grid)]
    return PublishedTable(cells=tuple(tuple(row[:-1]) for row in published[:-1]),
                          row_totals=tuple(row[-1] for row in published[:-1]),
                          column_totals=tuple(published[-1][:-1]), total=published[-1][-1])


def _count(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"a count must be a whole number of at least 0, not {value!r}")
    return value


def _protect(grid: list[list[int]]) -> set[Position]:
    """The positions to hide in ``grid`` (the table with its margins)."""
    last_row, last_col = len(grid) - 1, len(grid[0]) - 1
    grand = (last_row, last_col)
    hidden = {(i, j) for i, row in enumerate(grid) for j, value in enumerate(row) if is_small(value)}
    lines = [[(i, j) for j in range(last_col + 1)] for i in range(last_row + 1)]
    lines += [[(i, j) for i in range(last_row + 1)] for j in range(last_col + 1)]

    def pick(candidates: list[Position]) -> Position:
        # Prefer a non-zero entry, then not the grand total, then the smallest value, then one
        # whose other line already has hidden entries (it closes a cycle sooner).
        def key(position: Position) -> tuple[int, int, int, int, Position]:
            i, j = position
            crossing = sum((i, k) in hidden for k in range(last_col + 1)) + sum(
                (k, j) in hidden for k in range(last_row + 1))
            value = grid[i][j]
            return (value == 0, position == grand, value, -crossing, position)

        return min(candidates, key=key)

    while True:
        lone = next((line for line in lines if sum(p in hidden for p in line) == 1), None)
        if lone is not None:
            hidden.add(pick([p for p in lone if p not in hidden]))
            continue
        bridge = _find_bridge(hidden)
        if bridge is None:
            return hidden
        side_a = _reachable(hidden - {bridge}, ("r", bridge[0]))
        side_b = _reachable(hidden - {bridge}, ("c", bridge[1]))
        # A hidden entry joining the two sides puts the bridge on a cycle. One exists that is
        # not hidden yet: both ends of the bridge have another hidden entry (no lone lines), and
        # the entry crossing those two would already have made a cycle if it were hidden.
        crossing = [(i, j) for i in range(last_row + 1) for j in range(last_col + 1)
                    if (i, j) not in hidden and ((("r", i) in side_a and ("c", j) in side_b)
                                                 or (("r", i) in side_b and ("c", j) in side_a))]
        hidden.add(pick(crossing))


def _neighbours(hidden: set[Position]) -> dict[tuple[str, int], list[tuple[str, int]]]:
    graph: dict[tuple[str, int], list[tuple[str, int]]] = {}
    for i, j in hidden:
        graph.setdefault(("r", i), []).append(("c", j))
        graph.setdefault(("c", j), []).append(("r", i))
    return graph


def _reachable(hidden: set[Position], start: tuple[str, int]) -> set[tuple[str, int]]:
    graph = _neighbours(hidden)
    seen, todo = {start}, [start]
    while todo:
        for nxt in graph.get(todo.pop(), []):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def _find_bridge(hidden: set[Position]) -> Position | None:
    """A hidden entry on no cycle of the line graph, or None (tables are small: a plain search)."""
    for position in sorted(hidden):
        if ("c", position[1]) not in _reachable(hidden - {position}, ("r", position[0])):
            return position
    return None


@dataclass(frozen=True)
class Durations:
    """Quartiles of a group's durations, in days, rounded to one decimal."""

    lower_quartile: float
    median: float
    upper_quartile: float


def summarise_durations(days: Sequence[float], minimum: int = MIN_GROUP_FOR_TIMES) -> Durations | None:
    """Median and quartiles of ``days``, or None for a group under ``minimum`` (not published)."""
    if len(days) < minimum:
        return None
    lower, median, upper = statistics.quantiles(days, n=4, method="inclusive")
    return Durations(round(lower, 1), round(median, 1), round(upper, 1))
