"""Synthetic cases, submissions and appeals in bulk, for the statistics and the monitoring report.

Rows are written directly (not through the case services, which other tests cover step by step):
each case gets a flag, a submission in the given language and term, and the columns its state
needs under the ``integrity_case`` constraints, so the database accepts exactly what the
services would have left behind. Names are invented; the tests check none of them is published.
"""

from __future__ import annotations

import json
import secrets
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session

from appeals.models import Appeal, Case, Commission
from attribution.models import Assignment, Submission
from evidence.models import Flag
from plugin.kernel.users import Course, User
from tests.factories import T0, make_course, make_user
from tests.factories_work import make_assignment

STUDENT_NAME = "Zhansaya Nurlanqyzy-Statova"
COMMISSION_NAME = "Commission of the Faculty of Synthetic Sciences"


@dataclass
class StatsWorld:
    """Builds rows and remembers what it built (the tests' independent expectations)."""

    session: Session
    student: User = field(init=False)
    commission: Commission = field(init=False)
    courses: dict[str, Course] = field(default_factory=dict)
    assignments: dict[str, Assignment] = field(default_factory=dict)
    submissions: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # (course, language, term)
    versions: int = 0

    def __post_init__(self) -> None:
        self.student = make_user(self.session, "stats-student", STUDENT_NAME)
        self.commission = Commission(name=COMMISSION_NAME, scope="faculty", created_at=T0)
        self.session.add(self.commission)
        self.session.flush()

    def course(self, key: str, title: str) -> Course:
        if key not in self.courses:
            self.courses[key] = make_course(self.session, f"stats-{key}", title)
            self.assignments[key] = make_assignment(self.session, self.courses[key])
        return self.courses[key]

    def submission(self, course: str, *, language: str = "kk", term: str = "2026-2027/1",
                   at: datetime = T0 + timedelta(days=10)) -> Submission:
        self.versions += 1
        row = Submission(assignment_id=self.assignments[course].id, student_id=self.student.id, version=self.versions,
                         idempotency_key=secrets.token_hex(16), submitted_at=at, late=False, language=language,
                         term=term, ai_used=False, checked=False, statement="synthetic", statement_lang="kk")
        self.session.add(row)
        self.session.flush()
        self.submissions[(course, language, term)] += 1
        return row

    def submissions_bulk(self, course: str, count: int, **kwargs: object) -> None:
        for _ in range(count):
            self.submission(course, **kwargs)  # type: ignore[arg-type]

    def case(self, course: str, *, outcome: str = "pending", incident: int | None = 2, language: str = "kk",
             term: str = "2026-2027/1", flagged_at: datetime = T0 + timedelta(days=11), decision_days: float = 5.0,
             appeal: str | None = None, opened_at: datetime | None = None) -> Case:
        """``outcome``: pending, not_responsible, withdrawn or sanction_<level>; ``appeal`` (only
        with a sanction): open, upheld, modified, overturned or withdrawn."""
        submission = self.submission(course, language=language, term=term, at=flagged_at - timedelta(days=1))
        flag = Flag(submission_id=submission.id, course_id=self.courses[course].id, state="referred",
                    created_by="user:synthetic", created_at=flagged_at, referred_at=flagged_at)
        self.session.add(flag)
        self.session.flush()
        opened = opened_at or flagged_at + timedelta(hours=2)
        decided = flagged_at + timedelta(days=decision_days)
        case = Case(number=f"S-{secrets.token_hex(6)}", commission_id=self.commission.id, flag_id=flag.id,
                    submission_id=submission.id, student_id=self.student.id, course_id=self.courses[course].id,
                    incident_level=incident, allegation="synthetic", rule="S 7.3", opened_at=opened)
        if outcome == "withdrawn":
            case.state = "withdrawn"
        elif outcome != "pending":
            case.notified_at, case.response_due_at = opened, opened + timedelta(days=5)
            case.decided_at, case.reasons = decided, "synthetic reasons"
            if outcome == "not_responsible":
                case.state, case.finding, case.final_at = "not_responsible", "not_responsible", decided
            else:
                level = int(outcome.removeprefix("sanction_"))
                case.state, case.finding, case.sanction_level = "decided", "responsible", level
                if appeal is not None:
                    self._appealed(case, appeal, level, decided)
        self.session.add(case)
        self.session.flush()
        if appeal is not None:
            self._appeal_row(case, appeal)
        return case

    def _appealed(self, case: Case, appeal: str, level: int, decided: datetime) -> None:
        case.issued_at, case.appeal_due_at = decided, decided + timedelta(days=10)
        if appeal == "open":
            case.state = "appealed"
            return
        case.final_at = decided + timedelta(days=20)
        if appeal == "withdrawn":
            case.state, case.final_sanction_level = "closed", level
            return
        case.state = "appeal_decided"
        case.final_sanction_level = {"upheld": level, "modified": level - 1, "overturned": None}[appeal]

    def _appeal_row(self, case: Case, appeal: str) -> None:
        row = Appeal(case_id=case.id, grounds=json.dumps(["procedure"]), statement="synthetic appeal",
                     filed_at=(case.issued_at or T0) + timedelta(days=1),
                     original_sanction_level=case.sanction_level or 0)
        if appeal == "withdrawn":
            row.withdrawn_at = row.filed_at + timedelta(days=2)
        elif appeal != "open":
            row.outcome, row.outcome_reasons, row.decided_at = appeal, "synthetic", case.final_at
            if appeal == "modified":
                row.new_sanction_level = case.final_sanction_level
        self.session.add(row)
        self.session.flush()


TERM_1, TERM_2 = "2026-2027/1", "2026-2027/2"
CHEMISTRY, HISTORY = "Synthetic Chemistry 101", "Synthetic History 201"


def standard_world(session: Session) -> StatsWorld:
    """The dataset the report and page tests check (21 cases, 205 submissions):

    ============  ========  =====  ========  ==============  =====================
    course        language  term   incident  outcome         count (appeals)
    ============  ========  =====  ========  ==============  =====================
    chemistry     kk        T1     1         sanction_1      6, decided in 2..7 d
    chemistry     kk        T1     2         not_responsible 5, in 10..14 d
    history       ru        T1     2         sanction_2      7, in 20..26 d (5 upheld, 2 modified)
    history       ru        T2     3         pending         2
    chemistry     en        T1     1         withdrawn       1
    ============  ========  =====  ========  ==============  =====================

    Submissions besides the cases' own: chemistry kk T1 89 (100 with the cases), chemistry en
    T1 4 (5), history ru T1 83 (90), history ru T2 8 (10).
    """
    w = StatsWorld(session)
    w.course("chem", CHEMISTRY)
    w.course("hist", HISTORY)
    for day in range(6):
        w.case("chem", outcome="sanction_1", incident=1, decision_days=2 + day)
    for day in range(5):
        w.case("chem", outcome="not_responsible", incident=2, decision_days=10 + day)
    for index in range(7):
        w.case("hist", outcome="sanction_2", incident=2, language="ru", decision_days=20 + index,
               appeal="upheld" if index < 5 else "modified")
    for _ in range(2):
        w.case("hist", outcome="pending", incident=3, language="ru", term=TERM_2,
               flagged_at=T0 + timedelta(days=150))
    w.case("chem", outcome="withdrawn", incident=1, language="en")
    w.submissions_bulk("chem", 89, language="kk")
    w.submissions_bulk("chem", 4, language="en")
    w.submissions_bulk("hist", 83, language="ru")
    w.submissions_bulk("hist", 8, language="ru", term=TERM_2, at=T0 + timedelta(days=149))
    return w
