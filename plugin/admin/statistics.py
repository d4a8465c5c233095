"""Statistics without personal data (S 6.12ә, 9.3): counts of cases, appeals, flags and
submissions, the time from a flag to the decision, and the disparity check, every figure
suppressed by ``plugin.admin.suppression`` before anyone sees it.

Read-only: nothing here writes, so no audit entry. ``gather`` reads the database once per
figure family and returns ``Statistics``, in which every count is already the published one
(``None`` = hidden). Nothing about a person is read beyond what a count needs: no names, no ids
leave this module, only counts and category labels (levels, outcomes, languages, terms, course
titles and commission names).

Which cases a figure covers (the ``Scope``): with a term, the cases about work handed in that
term (the submission's term); with a period, the cases opened in it, the submissions handed in
during it and the flags raised during it. The appeals are those of the cases in scope.

Retention (``plugin.admin.retention``) deletes expired cases and submissions but first keeps
their figures, with no person, in ``anonymised_case`` and ``anonymised_submission_count``
(``plugin.kernel.retention_records``): every figure here adds those rows to the live ones, so a
retention run changes no published number (S 9.3 monitoring covers the whole period). Where an
anonymised row lacks what a figure needs, it is left out of that figure only (see
``_anonymised_cases`` and ``_anonymised_submissions``).

Courses carry no faculty in Adal (the LMS sends none), so the faculty breakdown is by
commission: a commission's scope is the institution or one faculty.

The tables are chosen so that they share no margin except the grand total of cases (which the
suppression never hides unless it is itself small): the outcomes already split the
responsible cases by sanction level, so there is no separate sanction table whose total would
repeat one of them.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from statistics import NormalDist
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlmodel import Session

from appeals.models import Appeal, Case, Commission
from appeals.workflow import State
from attribution.models import Assignment, Submission
from evidence.models import FLAG_STATES, Flag
from plugin.admin.suppression import (
    Durations,
    PublishedLine,
    PublishedTable,
    summarise_durations,
    suppress_line,
    suppress_table,
)
from plugin.kernel.errors import InvalidInput
from plugin.kernel.retention_records import AnonymisedCase, AnonymisedSubmissionCount
from plugin.kernel.settings import get_setting
from plugin.kernel.users import Course

# -- categories and their titles ----------------------------------------------------------------
INCIDENT_ROWS: tuple[int | None, ...] = (1, 2, 3, None)
OUTCOMES = ("pending", "not_responsible", "withdrawn", "sanction_0", "sanction_1", "sanction_2", "sanction_3")
LANGUAGES = ("kk", "ru", "en", "other")
APPEAL_OUTCOMES = ("open", "upheld", "modified", "overturned", "withdrawn")

INCIDENT_LABELS = {1: _l("Incident level 1"), 2: _l("Incident level 2"), 3: _l("Incident level 3"),
                   None: _l("Incident level not set")}
OUTCOME_LABELS = {
    "pending": _l("No decision yet"),
    "not_responsible": _l("Not responsible"),
    "withdrawn": _l("Withdrawn"),
    "sanction_0": _l("Responsible: sanction level 0"),
    "sanction_1": _l("Responsible: sanction level 1"),
    "sanction_2": _l("Responsible: sanction level 2"),
    "sanction_3": _l("Responsible: sanction level 3"),
}
LANGUAGE_LABELS = {"kk": _l("Kazakh"), "ru": _l("Russian"), "en": _l("English"), "other": _l("Other language")}
APPEAL_LABELS = {"open": _l("Not decided yet"), "upheld": _l("Decision upheld"),
                 "modified": _l("Sanction lowered"), "overturned": _l("Decision overturned"),
                 "withdrawn": _l("Appeal withdrawn")}
FLAG_LABELS = {"open": _l("Still open"), "referred": _l("Referred to the commission"),
               "closed_informal": _l("Closed after an informal talk"), "withdrawn": _l("Withdrawn")}

# -- the disparity rule ----------------------------------------------------------------------------
MIN_SUBMISSIONS = 30  # each group compared needs at least this many submissions
MARKED_RATIO = 2.0  # the higher rate at least twice the lower one ...
ALPHA = 0.05  # ... and a two-sided two-proportion z-test below this p-value


@dataclass(frozen=True)
class Scope:
    """Which cases the figures cover: one term, a period [start, end) in UTC, or everything."""

    term: str | None = None
    start: datetime | None = None
    end: datetime | None = None

    def __post_init__(self) -> None:
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError("the period must end after it starts")


def period_scope(first: date, last: date, zone: ZoneInfo) -> Scope:
    """From the first day to the last day inclusive, in the institution's time zone. Raises
    ``InvalidInput`` when the period ends before it starts."""
    if last < first:
        raise InvalidInput(_("The period must end on or after the day it starts."))
    return Scope(start=datetime.combine(first, time(0), zone),
                 end=datetime.combine(last + timedelta(days=1), time(0), zone))


@dataclass(frozen=True)
class Line:
    """A one-way table as published."""

    key: str
    labels: tuple[Any, ...]
    published: PublishedLine

    def items(self) -> list[tuple[Any, int | None]]:
        return list(zip(self.labels, self.published.cells, strict=True))


@dataclass(frozen=True)
class Table:
    """A two-way table with margins as published."""

    key: str
    row_labels: tuple[Any, ...]
    column_labels: tuple[Any, ...]
    published: PublishedTable

    def rows(self) -> list[tuple[Any, tuple[int | None, ...], int | None]]:
        return list(zip(self.row_labels, self.published.cells, self.published.row_totals, strict=True))

    def row_line(self) -> list[tuple[Any, int | None]]:
        return list(zip(self.row_labels, self.published.row_totals, strict=True))

    def column_line(self) -> list[tuple[Any, int | None]]:
        return list(zip(self.column_labels, self.published.column_totals, strict=True))


@dataclass(frozen=True)
class TimeFigure:
    label: Any
    durations: Durations | None  # None: fewer decisions than the minimum group


@dataclass(frozen=True)
class RateComparison:
    """The disparity check between two groups. ``verdict``: ``too_few`` (a group under
    ``MIN_SUBMISSIONS``), ``marked`` or ``not_marked``. The rates, ratio and p-value are set only
    when publishing them cannot reveal a hidden count (``shown``)."""

    label_a: Any
    label_b: Any
    verdict: str
    higher: str | None = None  # "a" or "b" when marked
    shown: bool = False
    rate_a: float | None = None
    rate_b: float | None = None
    ratio: float | None = None
    p_value: float | None = None
    submissions_a: int | None = None
    submissions_b: int | None = None


@dataclass(frozen=True)
class Statistics:
    scope: Scope
    outcomes: Table  # outcome (sanction levels included) × incident level
    term_language: Table  # term × submission language
    courses: Line
    commissions: Line
    appeals: Line
    flags: Line
    usage: Table  # submissions: term × language
    times: tuple[TimeFigure, ...]
    languages_compared: RateComparison
    courses_compared: tuple[RateComparison, ...]
    terms: tuple[str, ...] = field(default=())  # every term with submissions, for the filter


# -- the disparity check (pure) ---------------------------------------------------------------------
@dataclass(frozen=True)
class Rates:
    verdict: str
    rate_a: float
    rate_b: float
    ratio: float
    p_value: float


def compare_rates(cases_a: int, submissions_a: int, cases_b: int, submissions_b: int) -> Rates:
    """Cases per submission in two groups. Marked when both groups have at least
    ``MIN_SUBMISSIONS`` submissions, the higher rate is at least ``MARKED_RATIO`` times the lower
    one (infinitely so when the lower is zero), and the pooled two-proportion z-test gives a
    two-sided p-value under ``ALPHA``: a big ratio on a handful of cases is chance, and a
    significant but small difference is not what the check is for."""
    for value in (cases_a, submissions_a, cases_b, submissions_b):
        if value < 0:
            raise ValueError("counts cannot be negative")
    if min(submissions_a, submissions_b) < MIN_SUBMISSIONS:
        return Rates("too_few", math.nan, math.nan, math.nan, math.nan)
    rate_a, rate_b = cases_a / submissions_a, cases_b / submissions_b
    low, high = sorted((rate_a, rate_b))
    ratio = 1.0 if high == 0 else (math.inf if low == 0 else high / low)
    # Cases opened in a period may concern work handed in before it, so a rate can pass 1: the
    # test's proportion is capped, the ratio is not.
    p_a, p_b = min(rate_a, 1.0), min(rate_b, 1.0)
    pooled = (p_a * submissions_a + p_b * submissions_b) / (submissions_a + submissions_b)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / submissions_a + 1 / submissions_b))
    p_value = 1.0 if spread == 0 else 2 * (1 - NormalDist().cdf(abs(p_a - p_b) / spread))
    verdict = "marked" if ratio >= MARKED_RATIO and p_value < ALPHA else "not_marked"
    return Rates(verdict, rate_a, rate_b, ratio, p_value)


def _comparison(label_a: Any, label_b: Any, cases_a: int, subs_a: int, cases_b: int, subs_b: int, *,
                shown: bool) -> RateComparison:
    rates = compare_rates(cases_a, subs_a, cases_b, subs_b)
    if rates.verdict == "too_few":
        return RateComparison(label_a, label_b, "too_few")
    higher = ("a" if rates.rate_a > rates.rate_b else "b") if rates.verdict == "marked" else None
    if not shown:
        return RateComparison(label_a, label_b, rates.verdict, higher)
    return RateComparison(label_a, label_b, rates.verdict, higher, True, rates.rate_a, rates.rate_b, rates.ratio,
                          rates.p_value, subs_a, subs_b)


# -- reading the database -----------------------------------------------------------------------------
@dataclass(frozen=True)
class _CaseFacts:
    state: str
    incident_level: int | None
    sanction_level: int | None
    finding: str | None
    course_id: int | None  # None: an anonymised case whose course was deleted since
    commission_id: int | None
    language: str | None
    term: str | None  # None only for an anonymised case that had lost its submission
    flagged_at: datetime | None  # None only for an anonymised case that had lost its flag
    decided_at: datetime | None


def _language(code: str) -> str:
    return code if code in LANGUAGES[:-1] else "other"


def outcome_of(state: str, finding: str | None, sanction_level: int | None) -> str:
    """The outcome column of a case: the finding, with the sanction level when responsible."""
    if state == State.WITHDRAWN.value:
        return "withdrawn"
    if finding == "not_responsible":
        return "not_responsible"
    if finding == "responsible" and sanction_level is not None:
        return f"sanction_{sanction_level}"
    return "pending"


def _in_scope(query: Any, scope: Scope, term: Any, moment: Any) -> Any:
    """``query`` narrowed to the scope: the term's column equals its term, the time column lies in
    its period (start included, end excluded)."""
    if scope.term is not None:
        query = query.where(term == scope.term)
    if scope.start is not None:
        query = query.where(moment >= scope.start)
    if scope.end is not None:
        query = query.where(moment < scope.end)
    return query


def _case_facts(session: Session, scope: Scope) -> list[_CaseFacts]:
    query = (select(Case.state, Case.incident_level, Case.sanction_level, Case.finding, Case.course_id,
                    Case.commission_id, Submission.language, Submission.term, Flag.created_at, Case.decided_at)
             .join(Submission, Submission.id == Case.submission_id).join(Flag, Flag.id == Case.flag_id))
    query = _in_scope(query, scope, Submission.term, Case.opened_at)
    return [_CaseFacts(*row) for row in session.execute(query).all()]


def _anonymised_cases(session: Session, scope: Scope) -> list[AnonymisedCase]:
    """The anonymised cases in scope, chosen as the live ones are: by the work's term, or by
    the day the case was opened (``opened_at``, which every anonymised row keeps)."""
    query = select(AnonymisedCase)
    query = _in_scope(query, scope, AnonymisedCase.term, AnonymisedCase.opened_at)
    return list(session.execute(query.order_by(AnonymisedCase.id)).scalars())


def _anonymised_facts(rows: Iterable[AnonymisedCase]) -> list[_CaseFacts]:
    # ``sanction_level`` (the decision's, before any appeal), as for a live case: the outcome
    # table counts decisions; what appeals changed is in the appeals table.
    return [_CaseFacts(r.state, r.incident_level, r.sanction_level, r.finding, r.course_id, r.commission_id,
                       r.submission_language, r.term, r.flagged_at, r.decided_at) for r in rows]


def _anonymised_appeal_outcome(row: AnonymisedCase) -> str:
    """Retention keeps ``appeal.outcome``, which is empty for a withdrawn appeal, and not
    ``withdrawn_at``. A case is anonymised only once final, and an appeal is then either decided
    (its outcome kept) or withdrawn: no outcome means withdrawn, never "open"."""
    return row.appeal_outcome or "withdrawn"


def _appeal_outcomes(session: Session, scope: Scope) -> list[str]:
    query = select(Appeal.outcome, Appeal.withdrawn_at).join(Case, Case.id == Appeal.case_id).join(
        Submission, Submission.id == Case.submission_id)
    query = _in_scope(query, scope, Submission.term, Case.opened_at)
    return [outcome or ("withdrawn" if withdrawn_at is not None else "open")
            for outcome, withdrawn_at in session.execute(query).all()]


def _flag_states(session: Session, scope: Scope) -> list[str]:
    query = select(Flag.state).join(Submission, Submission.id == Flag.submission_id)
    query = _in_scope(query, scope, Submission.term, Flag.created_at)
    return list(session.execute(query).scalars())


def _anonymised_flag_count(session: Session, scope: Scope) -> int:
    """The flags of anonymised cases, deleted with them: each case came from one flag, and a
    flag that opened a case stays "referred" (``evidence.flags`` changes only open flags). A
    period counts flags raised in it (``flagged_at``): a row that kept no flag date is left out
    of a period's count, and counted otherwise.

    Flags closed informally or withdrawn have no case: retention deletes them with their
    submission and keeps no count of them, so they are not here (nothing to add them from)."""
    query = select(AnonymisedCase.id)
    query = _in_scope(query, scope, AnonymisedCase.term, AnonymisedCase.flagged_at)
    return session.execute(select(func.count()).select_from(query.subquery())).scalar_one()


def _submissions(session: Session, scope: Scope) -> list[tuple[str, str, int]]:
    """(term, language, course id) of every submission in scope; each version handed in counts."""
    query = select(Submission.term, Submission.language, Assignment.course_id).join(
        Assignment, Assignment.id == Submission.assignment_id)
    query = _in_scope(query, scope, Submission.term, Submission.submitted_at)
    return [(term, _language(language), course_id) for term, language, course_id in session.execute(query).all()]


def term_period(term: str, zone: ZoneInfo) -> tuple[datetime, datetime] | None:
    """When an academic term named by ``attribution.submissions.term_of`` ("2026-2027/1": 1
    September to 31 January; "/2": 1 February to 31 August) starts and ends, [start, end) in
    ``zone``; ``None`` for a name of another form."""
    try:
        years, half = term.split("/")
        first, second = (int(year) for year in years.split("-"))
    except (ValueError, TypeError):
        return None
    if half == "1":
        return datetime(first, 9, 1, tzinfo=zone), datetime(second, 2, 1, tzinfo=zone)
    if half == "2":
        return datetime(second, 2, 1, tzinfo=zone), datetime(second, 9, 1, tzinfo=zone)
    return None


def _anonymised_submissions(session: Session, scope: Scope) -> Counter[tuple[str, str, int]]:
    """The submissions retention deleted, counted by (term, language, course id).

    The counts keep no hand-in date, only the term, and a submission's term is the one its
    hand-in time fell in (``term_of``). So a period counts a term's deleted submissions when the
    whole term lies inside it (then all of them were handed in during the period), none when the
    term lies outside it, and leaves them out when the period cuts the term: which of them fell
    inside cannot be known. Periods that start and end with terms (as the twice-yearly report
    does) are therefore exact."""
    query = select(AnonymisedSubmissionCount.term, AnonymisedSubmissionCount.language,
                   AnonymisedSubmissionCount.course_id, AnonymisedSubmissionCount.count)
    if scope.term is not None:
        query = query.where(AnonymisedSubmissionCount.term == scope.term)
    rows = session.execute(query).all()
    dated = scope.start is not None or scope.end is not None
    zone = ZoneInfo(str(get_setting(session, "institution.timezone"))) if dated and rows else None
    counts: Counter[tuple[str, str, int]] = Counter()
    for term, language, course_id, count in rows:
        if zone is not None:
            bounds = term_period(term, zone)
            if bounds is None:
                continue  # a term of another form: its dates are unknown
            starts_before = scope.start is not None and bounds[0] < scope.start
            if starts_before or (scope.end is not None and bounds[1] > scope.end):
                continue  # not wholly inside the period (outside it, or cut by it)
        counts[(term, _language(language), course_id)] += count
    return counts


def available_terms(session: Session) -> tuple[str, ...]:
    """Every term with submissions or cases, live or anonymised."""
    terms = set(session.execute(select(Submission.term).distinct()).scalars())
    terms |= set(session.execute(select(AnonymisedSubmissionCount.term).distinct()).scalars())
    terms |= set(session.execute(select(AnonymisedCase.term).where(
        AnonymisedCase.term.is_not(None)).distinct()).scalars())  # type: ignore[union-attr]
    return tuple(sorted(terms))


def _titles(session: Session, model: Any, ids: Iterable[int], column: Any) -> dict[int, str]:
    wanted = set(ids)
    if not wanted:
        return {}
    return dict(session.execute(select(model.id, column).where(model.id.in_(wanted))).all())


def _two_way(key: str, rows: Sequence[Any], columns: Sequence[Any], counts: Counter[tuple[Any, Any]],
             row_labels: Sequence[Any], column_labels: Sequence[Any]) -> Table:
    cells = [[counts[(r, c)] for c in columns] for r in rows] or [[0] * len(columns)]
    labels = tuple(row_labels) or (_l("No data"),)
    return Table(key, labels, tuple(column_labels), suppress_table(cells))


def _one_way(key: str, keys: Sequence[Any], counts: Counter[Any], labels: Sequence[Any]) -> Line:
    return Line(key, tuple(labels), suppress_line([counts[k] for k in keys]))


def gather(session: Session, scope: Scope) -> Statistics:
    """Every published figure for ``scope`` (see the module's docstring)."""
    anonymised = _anonymised_cases(session, scope)
    cases = _case_facts(session, scope) + _anonymised_facts(anonymised)
    submissions: Counter[tuple[str, str, int]] = Counter(_submissions(session, scope))
    submissions.update(_anonymised_submissions(session, scope))
    # an anonymised case without a term (it had lost its submission) is left out of the term table only
    case_terms = sorted({c.term for c in cases if c.term is not None})
    terms = sorted(set(case_terms) | {term for term, _lang, _course in submissions})

    # outcomes down, incident levels across: five columns fit a phone and an A4 page
    outcomes = _two_way("outcomes", OUTCOMES, INCIDENT_ROWS,
                        Counter((outcome_of(c.state, c.finding, c.sanction_level), c.incident_level) for c in cases),
                        [OUTCOME_LABELS[o] for o in OUTCOMES], [INCIDENT_LABELS[level] for level in INCIDENT_ROWS])
    term_language = _two_way("term_language", case_terms, LANGUAGES,
                             Counter((c.term, _language(c.language)) for c in cases), case_terms,
                             [LANGUAGE_LABELS[code] for code in LANGUAGES])
    usage_counts: Counter[tuple[str, str]] = Counter()
    for (term, lang, _course), count in submissions.items():
        usage_counts[(term, lang)] += count
    usage = _two_way("usage", terms, LANGUAGES, usage_counts, terms, [LANGUAGE_LABELS[code] for code in LANGUAGES])

    # an anonymised case whose course was deleted since (``course_id`` set to NULL) has no title to
    # count under: it is left out of the course line only (and of the course comparisons' "a" side)
    course_titles = _titles(session, Course, {c.course_id for c in cases if c.course_id is not None}, Course.title)
    course_ids = sorted(course_titles, key=lambda cid: (course_titles[cid].casefold(), cid))
    courses = _one_way("courses", course_ids, Counter(c.course_id for c in cases),
                       [course_titles[cid] for cid in course_ids])
    commission_names = _titles(session, Commission, {c.commission_id for c in cases if c.commission_id is not None},
                               Commission.name)
    commission_ids = sorted(commission_names, key=lambda cid: (commission_names[cid].casefold(), cid))
    commissions = _one_way("commissions", commission_ids, Counter(c.commission_id for c in cases),
                           [commission_names[cid] for cid in commission_ids])
    appeal_counts = Counter(_appeal_outcomes(session, scope))
    appeal_counts.update(_anonymised_appeal_outcome(row) for row in anonymised if row.appealed)
    appeals = _one_way("appeals", APPEAL_OUTCOMES, appeal_counts, [APPEAL_LABELS[o] for o in APPEAL_OUTCOMES])
    # Referred flags are (nearly) the cases, whose count is printed everywhere: never a complement.
    flag_counts = Counter(_flag_states(session, scope))
    flag_counts["referred"] += _anonymised_flag_count(session, scope)
    flags = Line("flags", tuple(FLAG_LABELS[s] for s in FLAG_STATES), suppress_line(
        [flag_counts[s] for s in FLAG_STATES], published_elsewhere=frozenset({FLAG_STATES.index("referred")})))

    times = [TimeFigure(_l("All decided cases"), _durations(cases))]
    times += [TimeFigure(INCIDENT_LABELS[level], _durations(c for c in cases if c.incident_level == level))
              for level in INCIDENT_ROWS[:-1]]

    # kk against ru: cases in scope per submission in scope, by the work's language.
    case_lang = Counter(_language(c.language) for c in cases)
    sub_lang: Counter[str] = Counter()
    sub_course: Counter[int] = Counter()
    for (_term, lang, course), count in submissions.items():
        sub_lang[lang] += count
        sub_course[course] += count
    lang_index = {code: k for k, code in enumerate(LANGUAGES)}
    shown = all(term_language.published.column_totals[lang_index[code]] is not None
                and usage.published.column_totals[lang_index[code]] is not None for code in ("kk", "ru"))
    languages_compared = _comparison(LANGUAGE_LABELS["kk"], LANGUAGE_LABELS["ru"], case_lang["kk"], sub_lang["kk"],
                                     case_lang["ru"], sub_lang["ru"], shown=shown)

    # each course against all the others together
    case_course = Counter(c.course_id for c in cases)
    all_cases, all_subs = len(cases), submissions.total()
    published_course = dict(zip(course_ids, courses.published.cells, strict=True))
    compared = []
    for cid in course_ids:
        course_shown = published_course[cid] is not None and courses.published.total is not None
        compared.append(_comparison(course_titles[cid], _l("All other courses"), case_course[cid], sub_course[cid],
                                    all_cases - case_course[cid], all_subs - sub_course[cid], shown=course_shown))
    return Statistics(scope=scope, outcomes=outcomes, term_language=term_language, courses=courses,
                      commissions=commissions, appeals=appeals, flags=flags, usage=usage, times=tuple(times),
                      languages_compared=languages_compared, courses_compared=tuple(compared),
                      terms=available_terms(session))


def _durations(cases: Iterable[_CaseFacts]) -> Durations | None:
    # an anonymised case that kept no flag date (its flag was gone) has no time to count: left out here only
    days = [(c.decided_at - c.flagged_at).total_seconds() / 86400 for c in cases
            if c.decided_at is not None and c.flagged_at is not None]
    return summarise_durations(days)


# -- charts: geometry shared by the page's SVG and the PDF ----------------------------------------
CHART_WIDTH = 320  # the SVG's viewBox: it scales down to a 360 px phone with its text
BAR_SPACE = 250  # the longest bar; the count is written after it
ROW_HEIGHT = 40


@dataclass(frozen=True)
class Bar:
    label: Any
    value: int | None  # None: hidden
    top: int  # the row's top edge
    length: float  # 0 for a zero or a hidden count


@dataclass(frozen=True)
class Chart:
    bars: tuple[Bar, ...]
    height: int
    width: int = CHART_WIDTH


def bar_rows(items: Sequence[tuple[Any, int | None]]) -> Chart:
    """Horizontal bars, one row each (its label above, the bar and its count below), scaled to
    the largest published count. A hidden count gets no bar, so no length can give it away."""
    largest = max((value for _label, value in items if value), default=0)
    bars = []
    for index, (label, value) in enumerate(items):
        length = 0.0 if not value or not largest else max(2.0, BAR_SPACE * value / largest)
        bars.append(Bar(label, value, index * ROW_HEIGHT, round(length, 1)))
    return Chart(tuple(bars), max(ROW_HEIGHT, len(bars) * ROW_HEIGHT))
