"""Written decisions and the case file over the WSGI stack and the `adal` command: the student
downloads their own decision (PDF and DOCX), members of the case's commission download it and the
case file; another student, a teacher of another course, a recused member and anonymous visitors
do not (404, or 403 for the recused and the anonymous) and nothing changes; `adal decisions
verify` passes, then names a decision whose recorded reasons were changed."""

from __future__ import annotations

import hashlib
import io
import re
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select, update

from appeals.cases import issue_decision
from appeals.documents import write_decision
from appeals.models import Case, DecisionDocument
from plugin.kernel.audit import AuditEntry
from plugin.kernel.clock import now_utc
from plugin.kernel.users import Role
from tests.factories import make_course
from tests.factories_work import login, person
from tests.integration.test_student_case_pages import _decide, build_world, make_case

ADAL = str(Path(sys.executable).parent / "adal")
REASONS = "The oral defence did not confirm authorship."


@pytest.fixture
def rt(app):
    return app.extensions["adal.runtime"]


@pytest.fixture
def issued(app, rt) -> dict:
    """An issued level 1 decision and its written documents (made by the issuing step once the
    appeal services call ``write_decision``; until then, here)."""
    world = build_world(rt)
    case = make_case(rt, world)
    _decide(rt, world, case, responsible=True)
    with app.app_context(), rt.session() as s:
        row = s.get(Case, case["case"])
        if row.appeal_due_at is None:
            s.execute(update(Case).where(Case.id == row.id).values(appeal_due_at=now_utc()))
            s.refresh(row)
        issue_decision(s, world["secretary"], row.id, expected_version=row.version, now=now_utc())
        document = s.execute(select(DecisionDocument).where(DecisionDocument.case_id == row.id)).scalar_one_or_none()
        if document is None:
            document = write_decision(s, row, "decision", now=now_utc())
        s.commit()
        other = make_course(s, "course-elsewhere", "Another synthetic course")
        _u, outsider = person(s, other, "teacher-elsewhere", "Teacher Elsewhere", Role.TEACHER)
        s.commit()
        return {**world, **case, "outsider": outsider, "pdf": document.pdf_sha256, "docx": document.docx_sha256,
                "digest": document.digest}


def _state(rt) -> tuple:
    with rt.session() as s:
        return (s.execute(select(func.count()).select_from(DecisionDocument)).scalar(),
                s.execute(select(func.count()).select_from(AuditEntry)).scalar(), sorted(rt.files.iter_blobs()))


def _client(app, actor, lang: str = "en"):
    client = app.test_client()
    if actor is not None:
        login(client, actor)
        client.get(f"/?lang={lang}")
    return client


def _urls(case_id: int) -> dict[str, list[str]]:
    return {"student": [f"/cases/{case_id}/documents/decision.pdf", f"/cases/{case_id}/documents/decision.docx"],
            "commission": [f"/commission/cases/{case_id}/documents/decision.pdf",
                           f"/commission/cases/{case_id}/documents/decision.docx",
                           f"/commission/cases/{case_id}/case-file.pdf"]}


def test_the_endpoints_are_the_documented_ones(app):
    names = sorted(name for name in app.view_functions if name.startswith("case_documents."))
    assert names == ["case_documents.case_file", "case_documents.commission_document",
                     "case_documents.student_document"]


def test_the_student_downloads_their_written_decision(app, rt, issued):
    client = _client(app, issued["student"])
    before = _state(rt)
    pdf = client.get(f"/cases/{issued['case']}/documents/decision.pdf")
    assert pdf.status_code == 200
    assert hashlib.sha256(pdf.data).hexdigest() == issued["pdf"]
    assert f"{issued['number']}-decision.pdf" in pdf.headers["Content-Disposition"]
    assert pdf.headers["Cache-Control"] == "private, no-store"
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages).split())
    assert issued["number"] in text and REASONS in text and issued["file_sha256"] in text
    word = client.get(f"/cases/{issued['case']}/documents/decision.docx")
    assert word.status_code == 200 and hashlib.sha256(word.data).hexdigest() == issued["docx"]
    # not written (yet), or no such kind or format
    for url in (f"/cases/{issued['case']}/documents/appeal.pdf", f"/cases/{issued['case']}/documents/decision.odt",
                f"/cases/{issued['case']}/documents/verdict.pdf"):
        assert client.get(url).status_code == 404, url
    assert _state(rt) == before


def test_a_member_downloads_the_decision_and_the_case_file(app, rt, issued):
    client = _client(app, issued["member1"], "ru")
    before = _state(rt)
    pdf = client.get(f"/commission/cases/{issued['case']}/documents/decision.pdf")
    assert pdf.status_code == 200 and hashlib.sha256(pdf.data).hexdigest() == issued["pdf"]
    response = client.get(f"/commission/cases/{issued['case']}/case-file.pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    assert f"{issued['number']}-case-file.pdf" in response.headers["Content-Disposition"]
    reader = PdfReader(io.BytesIO(response.data))
    text = " ".join(" ".join(page.extract_text() for page in reader.pages).split())
    for needed in (issued["number"], issued["file_sha256"], issued["pdf"], issued["docx"], issued["digest"], REASONS,
                   "Дело открыто", "Решение вручено"):  # the steps, in the member's language
        assert needed in text, needed
    for name in ("Мүше Бірінші", "Төраға Сынақұлы", "Хатшы Үлгіқызы"):
        assert name not in text, name
    assert _state(rt) == before


def test_others_get_404_the_recused_and_anonymous_403_and_nothing_changes(app, rt, issued):
    theirs = make_case(rt, issued, submission="classmate_submission")
    urls = _urls(issued["case"])
    before = _state(rt)
    for who in ("classmate", "outsider"):
        client = _client(app, issued[who])
        for url in urls["student"] + urls["commission"]:
            assert client.get(url).status_code == 404, (who, url)
    student = _client(app, issued["student"])
    for url in urls["commission"] + _urls(theirs["case"])["student"] + _urls(999999)["student"]:
        assert student.get(url).status_code == 404, url
    member = _client(app, issued["member1"])
    for url in urls["student"] + _urls(999999)["commission"]:
        assert member.get(url).status_code == 404, url
    recused = _client(app, issued["teacher"])  # teaches the course: recused when the case opened
    for url in urls["commission"]:
        assert recused.get(url).status_code == 403, url
    anonymous = _client(app, None)
    for url in urls["student"] + urls["commission"]:
        assert anonymous.get(url).status_code == 403, url
    assert _state(rt) == before


def _adal(config, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"ADAL_INSTANCE_PATH": str(config.instance_path), "ADAL_DATABASE_URL": config.database_url,
           "ADAL_LANG": "en", "PATH": "/usr/bin:/bin"}
    return subprocess.run([ADAL, *args], env=env, capture_output=True, text=True, timeout=120)


def test_adal_decisions_verify_passes_then_names_a_changed_decision(config, rt, issued):
    ok = _adal(config, "decisions", "verify")
    assert ok.returncode == 0, ok.stderr
    assert "1 written decision verified" in ok.stdout
    with rt.session() as s:
        s.execute(update(Case).where(Case.id == issued["case"]).values(reasons="Rewritten after the decision."))
        s.commit()
    bad = _adal(config, "decisions", "verify")
    assert bad.returncode == 1
    expected = rf"Case {issued['number']}, Decision of the integrity commission: .*finding\.reasons"
    assert re.search(expected, bad.stderr), bad.stderr
