"""The statistics page, its CSV and the monitoring report (page download and `adal report
monitoring`), on a database built with the statistics factories: the numbers match what was
made, no count from 1 to 4 and no person's name appears anywhere, and bad filters change nothing."""

from __future__ import annotations

import csv
import io
import re
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import html
from pypdf import PdfReader
from sqlalchemy import func, select

from plugin.admin.accounts import check_second_factor, create_admin
from plugin.admin.auth import SESSION_TOKEN
from plugin.kernel.audit import AuditEntry
from plugin.kernel.clock import now_utc
from plugin.kernel.settings import set_setting
from plugin.kernel.users import Actor, Role
from tests.factories_stats import CHEMISTRY, COMMISSION_NAME, HISTORY, STUDENT_NAME, TERM_2, standard_world
from tests.factories_work import login

ADAL = str(Path(sys.executable).parent / "adal")
INSTITUTION = "Сынақ Қазақ-Орыс университеті"  # Kazakh letters must survive in the PDF
ADMIN_NAME = "statsadmin"
PERIOD = {"from": "2026-09-01", "to": "2027-08-31"}


@pytest.fixture
def world(app):
    runtime = app.extensions["adal.runtime"]
    with runtime.session() as session:
        standard_world(session)
        set_setting(session, Actor.system("test"), "system_card.institution", INSTITUTION, now=now_utc())
        session.commit()
    return app


@pytest.fixture
def admin(world, client):
    runtime = world.extensions["adal.runtime"]
    with runtime.session() as session:
        enrolment = create_admin(session, Actor.system("test"), ADMIN_NAME, "a synthetic passphrase", now=now_utc())
        _account, token = check_second_factor(session, enrolment.account.id, enrolment.recovery_codes[0],
                                              now=now_utc())
        session.commit()
    with client.session_transaction() as browser:
        browser[SESSION_TOKEN] = token
    client.get("/?lang=en")  # the checks below read the English wording
    return client


def _audit_count(app) -> int:
    with app.extensions["adal.runtime"].session() as session:
        return session.execute(select(func.count()).select_from(AuditEntry)).scalar_one()


def _numbers_are_safe(values: list[str]) -> None:
    """Every published count is 0, at least 5, or hidden."""
    for value in values:
        if value.strip().isdecimal():
            assert int(value) == 0 or int(value) >= 5, value


def _no_person(text: str) -> None:
    for name in (STUDENT_NAME, "Nurlanqyzy", ADMIN_NAME, "user:synthetic"):
        assert name not in text


def _statistics_part(page: str) -> str:
    """The page without the console's menu (which names the admin who is signed in, on purpose)."""
    tree = html.fromstring(page)
    return "".join(html.tostring(section, encoding="unicode") for section in tree.xpath("//main//section"))


def test_only_a_signed_in_admin_sees_the_statistics(world, client):
    for path in ("/admin/statistics", "/admin/statistics.csv",
                 "/admin/statistics/report.pdf?from=2026-09-01&to=2027-08-31"):
        response = client.get(path)
        assert response.status_code == 302 and "/admin/login" in response.headers["Location"]
    from tests.factories import make_course, make_user

    with world.extensions["adal.runtime"].session() as session:  # an LMS administrator is not a console admin
        user, course = make_user(session, "lms-admin", "Synthetic Admin"), make_course(session, "lms-admin-course")
        session.commit()
        actor = Actor.for_user(user, frozenset({Role.ADMIN}), course_id=course.id)
    login(client, actor)
    assert client.get("/admin/statistics").status_code == 302


def test_the_page_shows_suppressed_figures_as_charts_and_tables(admin):
    response = admin.get("/admin/statistics")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    tree = html.fromstring(page)
    svgs = tree.xpath("//svg")
    assert len(svgs) >= 5
    for svg in svgs:
        assert svg.get("role") == "img"
        title_id, desc_id = svg.get("aria-labelledby").split()
        assert svg.xpath(f"./title[@id='{title_id}']") and svg.xpath(f"./desc[@id='{desc_id}']")
    course_desc = tree.xpath("//svg[title='Cases by course']/desc")[0].text_content()
    assert f"{CHEMISTRY}: 12" in course_desc and f"{HISTORY}: 9" in course_desc
    rows = {row.xpath("string(th)"): row.xpath("string(td)") for row in
            tree.xpath("//table[caption='Cases by course']//tr[th and td]")}
    assert rows == {CHEMISTRY: "12", HISTORY: "9", "Total": "21"}
    appeals = {row.xpath("string(th)"): row.xpath("string(td)") for row in
               tree.xpath("//table[caption='Appeals by outcome']//tr[th and td]")}
    assert appeals["Decision upheld"] == "hidden" and appeals["Sanction lowered"] == "hidden"
    assert appeals["Total"] == "7"
    _numbers_are_safe([td.text_content() for td in tree.xpath("//td")])
    _numbers_are_safe(re.findall(r": (\d+)", " ".join(d.text_content() for d in tree.xpath("//svg/desc"))))
    _no_person(_statistics_part(page))
    assert STUDENT_NAME not in page
    assert COMMISSION_NAME in page  # a commission's name is not a person's
    assert "Rates are not shown" in page or "rates are not shown" in page.lower()
    assert response.headers["Cache-Control"] == "no-store"


def test_the_term_filter_and_a_bad_term(admin, world):
    response = admin.get("/admin/statistics", query_string={"term": TERM_2})
    assert response.status_code == 200
    tree = html.fromstring(response.get_data(as_text=True))
    assert tree.xpath("//select[@id='term']/option[@selected]/@value") == [TERM_2]
    usage = tree.xpath("//table[caption='Submissions by term and language']//tfoot//td")
    assert [td.text_content() for td in usage] == ["0", "10", "0", "0", "10"]
    before = _audit_count(world)
    bad = admin.get("/admin/statistics", query_string={"term": "1999-2000/9"})
    assert bad.status_code == 400 and "no term 1999-2000/9" in bad.get_data(as_text=True)
    assert _audit_count(world) == before


def test_the_csv_has_the_published_figures_only(admin):
    response = admin.get("/admin/statistics.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["Table", "Row", "Column", "Count"]
    assert ["Cases by course", CHEMISTRY, "", "12"] in rows
    assert ["Appeals by outcome", "Sanction lowered", "", "hidden"] in rows
    assert ["Cases by outcome and incident level", "Total", "Total", "21"] in rows
    _numbers_are_safe([row[3] for row in rows[1:]])
    _no_person(text)


def _pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF")
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def _check_report(text: str) -> None:
    assert INSTITUTION in text
    assert "01.09.2026" in text and "31.08.2027" in text
    flat = re.sub(r"\s+", " ", text)
    assert f"{CHEMISTRY} 12" in flat and f"{HISTORY} 9" in flat
    assert "Decision upheld hidden" in flat and "Sanction lowered hidden" in flat
    assert "Referred to the commission 21" in flat
    assert "All decided cases 6.2 12.5 21.8" in flat  # days from flag to decision: quartiles of 18 decisions
    assert "Incident level 1 Too few decisions to show" in flat
    assert "Disparity check" in flat and "No marked difference" in flat
    _numbers_are_safe([line for line in text.splitlines() if line.strip().isdecimal()])  # the table cells
    assert "Not responsible 0 5 0 0 5" in flat  # a row of the outcome table: levels 1, 2, 3, not set, total
    _no_person(text)


def test_the_report_downloaded_from_the_page(admin, world):
    response = admin.get("/admin/statistics/report.pdf", query_string={**PERIOD, "lang": "en"})
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "adal-monitoring-20260901-20270831-en.pdf" in response.headers["Content-Disposition"]
    _check_report(_pdf_text(response.data))
    for lang in ("kk", "ru"):  # the fonts carry Kazakh and Russian letters whatever the catalogs say
        other = admin.get("/admin/statistics/report.pdf", query_string={**PERIOD, "lang": lang})
        assert other.status_code == 200 and f"-{lang}.pdf" in other.headers["Content-Disposition"]
        reader = PdfReader(io.BytesIO(other.data))
        fonts = {str(font["/BaseFont"]) for page in reader.pages
                 for font in page["/Resources"]["/Font"].values()}
        assert fonts and all("DejaVuSans" in font for font in fonts)
        assert INSTITUTION in _pdf_text(other.data) and f"{CHEMISTRY}\n12" in _pdf_text(other.data)
    before = _audit_count(world)
    for query in ({"from": "2027-01-01", "to": "2026-01-01"}, {"from": "yesterday", "to": "2027-01-01"},
                  {**PERIOD, "lang": "de"}):
        bad = admin.get("/admin/statistics/report.pdf", query_string=query)
        assert bad.status_code == 400 and bad.mimetype == "text/html"
    assert _audit_count(world) == before


def test_adal_report_monitoring_writes_the_pdf(world, config, tmp_path):
    env = {"ADAL_INSTANCE_PATH": str(config.instance_path), "ADAL_DATABASE_URL": config.database_url,
           "ADAL_LANG": "en", "PATH": "/usr/bin:/bin"}
    out = tmp_path / "report.pdf"
    done = subprocess.run([ADAL, "report", "monitoring", "--from", PERIOD["from"], "--to", PERIOD["to"],
                           "--lang", "en", "-o", str(out)], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    _check_report(_pdf_text(out.read_bytes()))
    bad_out = tmp_path / "bad.pdf"
    refused = subprocess.run([ADAL, "report", "monitoring", "--from", "2027-01-01", "--to", "2026-01-01",
                              "-o", str(bad_out)], env=env, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 1 and "end on or after" in refused.stderr and not bad_out.exists()
