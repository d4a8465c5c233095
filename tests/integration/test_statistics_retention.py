"""Retention does not change the statistics: built live data, then the real ``run_retention`` (twice,
with ``now`` further and further ahead) anonymises cases and deletes submissions, and every table,
the CSV (whole data, each term), the page and the monitoring report read exactly as before, with
no person anywhere."""

from __future__ import annotations

import io
import re
from dataclasses import fields, is_dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from lxml import html
from pypdf import PdfReader
from sqlalchemy import func, select

from appeals.models import Case
from attribution.models import Submission
from plugin.admin.accounts import check_second_factor, create_admin
from plugin.admin.auth import SESSION_TOKEN
from plugin.admin.retention import remove_unreferenced_files, run_retention
from plugin.admin.statistics import Scope, gather, period_scope
from plugin.kernel.clock import now_utc
from plugin.kernel.retention_records import AnonymisedCase, AnonymisedSubmissionCount
from plugin.kernel.settings import get_setting
from plugin.kernel.users import Actor
from tests.factories_stats import CHEMISTRY, HISTORY, STUDENT_NAME, TERM_1, TERM_2, StatsWorld

ADMIN = Actor.system("admin:retention-tester")
PERIOD = {"from": "2026-09-01", "to": "2027-08-31"}  # the two terms, end to end
SPRING = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)  # inside TERM_2, as term_of would name it
# Term 1's submissions expire a year after 1 February 2027, term 2's a year after 1 September 2027;
# not-responsible and withdrawn cases once the appeal window passed. Sanctions stay five years.
FIRST_RUN = datetime(2029, 1, 1, 9, 0, tzinfo=UTC)
SECOND_RUN = datetime(2033, 1, 1, 9, 0, tzinfo=UTC)  # now the appealed sanctions go too


def _world(session) -> None:
    w = StatsWorld(session)
    w.course("chem", CHEMISTRY)
    w.course("hist", HISTORY)
    for day in range(6):
        w.case("chem", outcome="not_responsible", incident=2, decision_days=10 + day)
    w.case("chem", outcome="withdrawn", incident=1, language="en")
    for day in range(5):  # decided, not issued: never final, so retention keeps them
        w.case("chem", outcome="sanction_1", incident=1, decision_days=2 + day)
    for index in range(7):
        w.case("hist", outcome="sanction_2", incident=2, language="ru", decision_days=20 + index,
               appeal="upheld" if index < 5 else "modified")
    for index in range(5):
        w.case("hist", outcome="sanction_1", incident=1, language="ru", decision_days=8 + index, appeal="withdrawn")
    for _ in range(2):
        w.case("hist", outcome="pending", incident=3, language="ru", term=TERM_2,
               flagged_at=SPRING + timedelta(days=1))
    w.submissions_bulk("chem", 60, language="kk")
    w.submissions_bulk("chem", 30, language="en")
    w.submissions_bulk("hist", 50, language="ru")
    w.submissions_bulk("hist", 40, language="ru", term=TERM_2, at=SPRING)


@pytest.fixture
def admin(app, client):
    runtime = app.extensions["adal.runtime"]
    with runtime.session() as session:
        _world(session)
        enrolment = create_admin(session, Actor.system("test"), "retentionadmin", "a synthetic passphrase",
                                 now=now_utc())
        _account, token = check_second_factor(session, enrolment.account.id, enrolment.recovery_codes[0],
                                              now=now_utc())
        session.commit()
    with client.session_transaction() as browser:
        browser[SESSION_TOKEN] = token
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def _plain(value: Any) -> Any:
    """A figure as plain data (lazy labels become text), so two gatherings compare with ==."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, (int, float, type(None), datetime)):
        return value
    return str(value)


def _pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF")
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def _snapshot(app, client) -> dict[str, Any]:
    shot: dict[str, Any] = {}
    for term in ("", TERM_1, TERM_2):
        response = client.get("/admin/statistics.csv", query_string={"term": term})
        assert response.status_code == 200
        shot[f"csv {term}"] = response.get_data(as_text=True)
        page = client.get("/admin/statistics", query_string={"term": term})
        assert page.status_code == 200
        tree = html.fromstring(page.get_data(as_text=True))
        shot[f"page {term}"] = "".join(html.tostring(s, encoding="unicode") for s in tree.xpath("//main//section"))
    report = client.get("/admin/statistics/report.pdf", query_string={**PERIOD, "lang": "en"})
    assert report.status_code == 200
    shot["report"] = _pdf_text(report.data)
    runtime = app.extensions["adal.runtime"]
    with app.test_request_context(headers={"Accept-Language": "en"}), runtime.session() as session:
        zone = ZoneInfo(get_setting(session, "institution.timezone"))
        # periods that start and end with terms (see statistics._anonymised_submissions for one that cuts a term)
        year = period_scope(date(2026, 9, 1), date(2027, 8, 31), zone)
        autumn = period_scope(date(2026, 9, 1), date(2027, 1, 31), zone)
        for name, scope in (("all", Scope()), ("term 1", Scope(term=TERM_1)), ("term 2", Scope(term=TERM_2)),
                            ("year", year), ("autumn", autumn)):
            shot[f"figures {name}"] = _plain(gather(session, scope))
    return shot


def _retain(app, now: datetime) -> dict[str, int]:
    runtime = app.extensions["adal.runtime"]
    with runtime.session() as session:
        report = run_retention(session, ADMIN, now=now, dry_run=False)
        session.commit()
        remove_unreferenced_files(session, runtime.files, report.files)
        return {"cases": session.execute(select(func.count()).select_from(Case)).scalar_one(),
                "submissions": session.execute(select(func.count()).select_from(Submission)).scalar_one(),
                "anonymised cases": session.execute(select(func.count()).select_from(AnonymisedCase)).scalar_one(),
                "anonymised submissions": session.execute(
                    select(func.coalesce(func.sum(AnonymisedSubmissionCount.count), 0))).scalar_one()}


def test_statistics_are_the_same_before_and_after_retention(app, admin):
    before = _snapshot(app, admin)
    flat = re.sub(r"\s+", " ", before["report"])
    assert "Referred to the commission 26" in flat  # the data is what the test thinks it is
    assert f"Cases by course,{CHEMISTRY},,12" in before["csv "] and f"Cases by course,{HISTORY},,14" in before["csv "]

    first = _retain(app, FIRST_RUN)
    # six not-responsible cases and the withdrawn one went; 5 + 7 + 5 + 2 live cases stay, and
    # the submissions of the kept cases with them
    assert first == {"cases": 19, "submissions": 19, "anonymised cases": 7, "anonymised submissions": 206 - 19}
    after_first = _snapshot(app, admin)
    assert after_first == before

    second = _retain(app, SECOND_RUN)
    assert second["cases"] == 7 and second["anonymised cases"] == 19  # the appealed sanctions went as well
    assert second["submissions"] == 7 and second["anonymised submissions"] == 206 - 7
    after_second = _snapshot(app, admin)
    assert after_second == before

    for text in after_second.values():
        assert STUDENT_NAME not in str(text) and "Nurlanqyzy" not in str(text)
