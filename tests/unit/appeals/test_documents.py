"""Written decisions and the case file at the service level: the DOCX and the PDF state the
recorded decision (number, finding, reasons, sanction, every evidence hash, the appeal deadline)
in the student's language; they match the recorded decision until someone changes it or a stored
file; they are never replaced; no member is named; the case file has the steps and the hashes."""

from __future__ import annotations

import io
import json
import os
import subprocess
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import docx
import pytest
from flask import Flask
from flask_babel import Babel, force_locale
from pypdf import PdfReader
from sqlalchemy import func, select, update

from appeals.appeal import cast_appeal_vote, convene_panel, decide_appeal, file_appeal
from appeals.cases import (
    cast_vote,
    issue_decision,
    notify_student,
    open_case,
    open_deliberation,
    record_finding,
    record_sanction,
    respond,
    schedule_hearing,
)
from appeals.documents import (
    DecisionAlreadyWritten,
    case_file_pdf,
    decision_facts,
    facts_digest,
    verify_decision,
    write_decision,
)
from appeals.models import Case, Commission, CommissionMember, DecisionDocument
from attribution.models import Submission
from attribution.submissions import Upload, submit_work
from evidence.flags import GroundInput, attach_evidence, flag_suspicion, refer_flag
from evidence.models import FlagGround, Signal
from plugin.app import TRANSLATIONS
from plugin.kernel.audit import AuditEntry
from plugin.kernel.errors import InvalidInput
from plugin.kernel.runtime import runtime_of
from plugin.kernel.users import Actor, Role
from tests.factories import T0, enrol, make_course, make_user
from tests.work_samples import acknowledged, actor_for, disclosure, docx_bytes, make_assignment, publish_test_notice

NAMES = ("Төраға Сынақұлы", "Хатшы Үлгіқызы", "Мүше Бірінші", "Мүше Екінші", "Мүше Үшінші", "Мүше Төртінші",
         "Мүше Бесінші", "Мүше Алтыншы")
REASONS = "The oral defence showed she could not explain paragraph 2."
SANCTION_REASONS = "A first offence: resubmission is proportionate."
EVIDENCE = b"Her September essay, for comparison.\n"
REPORT = b"%PDF-1.4 synthetic detector report\n"
STATEMENT_FILE = b"My notes from the week I wrote it.\n"
DECIDED = T0 + timedelta(days=4, hours=2)
ISSUED = T0 + timedelta(days=5)
APPEAL_DUE = ISSUED + timedelta(days=14)


@pytest.fixture(scope="module")
def babel_app() -> Flask:
    """The translations, as the app has them (documents are rendered with force_locale)."""
    app = Flask("documents-test")
    app.config.update(BABEL_TRANSLATION_DIRECTORIES=str(TRANSLATIONS), BABEL_DEFAULT_LOCALE="kk")
    Babel(app)
    return app


@pytest.fixture
def world(db_session, tmp_path: Path, babel_app: Flask):
    s = db_session
    files = runtime_of(s).files
    course = make_course(s, title="Синтетикалық тарих 101")
    student_user, teacher_user = make_user(s, "doc-student", "Аружан Синтетикова"), make_user(s, "doc-teacher")
    enrol(s, student_user, course)
    enrol(s, teacher_user, course, Role.TEACHER)
    publish_test_notice(s)
    student = acknowledged(s, actor_for(student_user, course))
    assignment = make_assignment(s, course)
    path = tmp_path / "w.docx"
    path.write_bytes(docx_bytes())
    submission, _ = submit_work(s, student, assignment.id, disclosure(), [Upload("w.docx", path)],
                                statement_lang="kk", now=T0)
    teacher = actor_for(teacher_user, course, Role.TEACHER)
    flag = flag_suspicion(s, teacher, submission.id, [GroundInput("failed_defence", "Could not explain it")], now=T0)
    ground = s.execute(select(FlagGround).where(FlagGround.flag_id == flag.id)).scalar_one()
    report = files.put_bytes(REPORT)
    signal = Signal(submission_id=submission.id, kind="detector", source="manual", vendor="GPTZero", product="x",
                    model_version="1", score=97, scanned_at=T0, created_by="t", created_at=T0,
                    report_sha256=report.sha256, report_name="report.pdf")
    s.add(signal)
    s.flush()
    evidence = files.put_bytes(EVIDENCE)
    items = {
        "signal": attach_evidence(s, teacher, ground.id, kind="signal", signal_id=signal.id,
                                  description="The detector's score", now=T0),
        "note": attach_evidence(s, teacher, ground.id, kind="note", description="Oral questions unanswered", now=T0),
        "file": attach_evidence(s, teacher, ground.id, kind="file", sha256=evidence.sha256, name="september.txt",
                                description="Her September essay", now=T0),
    }
    refer_flag(s, teacher, flag.id, now=T0)
    commission = Commission(name="Академиялық адалдық комиссиясы", scope="institution", created_at=T0)
    s.add(commission)
    s.flush()
    people = []
    for index, name in enumerate(NAMES):
        user = make_user(s, f"doc-commission-{index}", name)
        role = "chair" if index == 0 else "secretary" if index == 1 else "member"
        s.add(CommissionMember(commission_id=commission.id, user_id=user.id, role=role, added_at=T0))
        people.append(Actor.for_user(user, frozenset()))
    s.flush()
    with babel_app.app_context():
        yield {"s": s, "student": student, "teacher": teacher, "flag": flag, "commission": commission,
               "chair": people[0], "secretary": people[1], "voters": [people[0], *people[2:5]], "panel": people[5:],
               "items": items,
               "submission": submission, "hashes": {"evidence": evidence.sha256, "report": report.sha256},
               "files": files}


def _decided(w, *, finding: str = "responsible") -> Case:
    s = w["s"]
    case = open_case(s, w["secretary"], w["flag"].id, commission_id=w["commission"].id,
                     allegation="Substantial undisclosed AI text", rule="S 7.3а", incident_level=2, now=T0)
    notify_student(s, w["secretary"], case.id, expected_version=case.version, now=T0)
    blob = w["files"].put_bytes(STATEMENT_FILE)
    w["hashes"]["statement"] = blob.sha256
    respond(s, w["student"], case.id, accept=False, statement="I wrote it myself over a week.",
            expected_version=case.version, now=T0 + timedelta(days=1), evidence=[(blob.sha256, "notes.txt")])
    schedule_hearing(s, w["secretary"], case.id, when=T0 + timedelta(days=3), place="Room 12", support_person=None,
                     expected_version=case.version, now=T0 + timedelta(days=1))
    open_deliberation(s, w["secretary"], case.id, expected_version=case.version, now=T0 + timedelta(days=4))
    votes = ("responsible",) * 3 + ("abstain",) if finding == "responsible" else ("not_responsible",) * 4
    for member, vote in zip(w["voters"], votes, strict=True):
        cast_vote(s, member, case.id, question="finding", vote=vote, reasons=f"My reasons: {vote}",
                  cited=[w["items"]["note"].id], now=DECIDED)
    record_finding(s, w["chair"], case.id, reasons=REASONS, expected_version=case.version,
                   now=DECIDED)
    if finding != "responsible":
        return case
    for member in w["voters"]:
        cast_vote(s, member, case.id, question="sanction", vote="level", sanction_level=1, reasons="First offence",
                  now=DECIDED)
    record_sanction(s, w["chair"], case.id, reasons=SANCTION_REASONS, expected_version=case.version,
                    now=DECIDED)
    return case


def _issued(w) -> Case:
    case = _decided(w)
    if case.appeal_due_at is None:  # the appeal services set it on issue; before them, the test does
        w["s"].execute(update(Case).where(Case.id == case.id).values(appeal_due_at=APPEAL_DUE))
        w["s"].refresh(case)
    issue_decision(w["s"], w["secretary"], case.id, expected_version=case.version, now=ISSUED)
    return case


def _written(w, case: Case, kind: str = "decision") -> DecisionDocument:
    """The document the services wrote on issue, or write it (before the lead's hook exists)."""
    found = w["s"].execute(select(DecisionDocument).where(DecisionDocument.case_id == case.id,
                                                          DecisionDocument.kind == kind)).scalar_one_or_none()
    return found or write_decision(w["s"], case, kind, now=ISSUED)


def _docx_text(data: bytes) -> str:
    document = docx.Document(io.BytesIO(data))
    parts = [p.text for p in document.paragraphs]
    parts += [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    return "\n".join(parts)


def _pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)


def _pdftotext(data: bytes, tmp_path: Path) -> str:
    path = tmp_path / "doc.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


def _local(case: Case) -> str:
    return case.appeal_due_at.astimezone(ZoneInfo("Asia/Almaty")).strftime("%d.%m.%Y %H:%M")


def _state(s, files) -> dict:
    return {"documents": s.execute(select(func.count()).select_from(DecisionDocument)).scalar(),
            "audit": s.execute(select(func.count()).select_from(AuditEntry)).scalar(),
            "blobs": sorted(files.iter_blobs())}


# -- the facts ----------------------------------------------------------------------------------------------
def test_the_facts_state_the_recorded_decision_without_naming_members(world):
    w = world
    case = _issued(w)
    facts = decision_facts(w["s"], case, "decision")
    assert facts["case"]["number"] == case.number and facts["student"] == "Аружан Синтетикова"
    assert facts["course"] == "Синтетикалық тарих 101" and facts["commission"] == "Академиялық адалдық комиссиясы"
    assert facts["finding"] == {"result": "responsible", "reasons": REASONS,
                                "decided_at": facts["finding"]["decided_at"], "votes": {"responsible": 3,
                                                                                        "abstain": 1}}
    assert facts["sanction"]["level"] == 1 and facts["sanction"]["code"] == "resubmission"
    assert facts["sanction"]["votes"] == {"1": 4}
    by_kind = {item["kind"]: item for item in facts["evidence"]}
    assert by_kind["signal"]["detector"] is True and by_kind["note"]["detector"] is False
    assert by_kind["signal"]["files"] == [{"name": "report.pdf", "sha256": w["hashes"]["report"]}]
    assert by_kind["file"]["files"] == [{"name": "september.txt", "sha256": w["hashes"]["evidence"]}]
    assert facts["response"]["kind"] == "contested"
    assert facts["response"]["files"] == [{"name": "notes.txt", "sha256": w["hashes"]["statement"]}]
    assert facts["rights"]["final"] is False
    assert facts["rights"]["appeal_due_at"] == case.appeal_due_at.astimezone(
        ZoneInfo("Asia/Almaty")).isoformat(timespec="minutes")
    text = json.dumps(facts, ensure_ascii=False)
    for name in NAMES:
        assert name not in text, name
    assert facts_digest(facts) == facts_digest(decision_facts(w["s"], case, "decision"))  # stable


def test_no_written_decision_before_the_decision_is_issued(world):
    w = world
    case = _decided(w)
    before = _state(w["s"], w["files"])
    with force_locale("en"), pytest.raises(InvalidInput, match="not been issued"):
        write_decision(w["s"], case, "decision", now=ISSUED)
    with force_locale("en"), pytest.raises(InvalidInput, match="Unknown kind"):
        write_decision(w["s"], case, "verdict", now=ISSUED)
    assert _state(w["s"], w["files"]) == before


# -- the written decision ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("language", "words"), [
    ("kk", ("Жауапты", "Жазба", "Тапсырма қайта тапсырылады; ұпай шегеріледі")),
    ("ru", ("Ответственен", "Запись", "Задание сдаётся повторно; баллы снижаются")),
])
def test_the_docx_and_pdf_state_the_decision_in_the_students_language(world, tmp_path, language, words):
    w = world
    w["s"].execute(update(Submission).where(Submission.id == w["submission"].id).values(language=language))
    case = _issued(w)
    document = _written(w, case)
    assert document.language == language
    assert (document.kind, document.made_at) == ("decision", document.made_at)
    assert document.digest == facts_digest(decision_facts(w["s"], case, "decision"))
    docx_bytes_, pdf_bytes_ = w["files"].read(document.docx_sha256), w["files"].read(document.pdf_sha256)
    for text in (_docx_text(docx_bytes_), _pdftotext(pdf_bytes_, tmp_path)):
        flat = " ".join(text.split())
        for needed in (case.number, REASONS, SANCTION_REASONS, "Substantial undisclosed AI text", "S 7.3а",
                       w["hashes"]["evidence"], w["hashes"]["report"], w["hashes"]["statement"], _local(case),
                       "Аружан Синтетикова", "Академиялық адалдық комиссиясы", "resubmission",
                       document.digest):
            assert needed in flat, (language, needed)
        for name in NAMES:
            assert name not in flat, name
    # the labels are in the student's language (strings the catalogs already have)
    flat_pdf = " ".join(_pdf_text(pdf_bytes_).split())
    for word in words:
        assert word in flat_pdf, (language, word)


def test_the_documents_are_stamped_as_made_by_adal_with_the_facts_digest(world):
    w = world
    case = _issued(w)
    document = _written(w, case)
    reader = PdfReader(io.BytesIO(w["files"].read(document.pdf_sha256)))
    info = reader.metadata
    assert info["/Creator"].startswith("Adal ") and info["/Producer"].startswith("Adal ")
    assert info["/AdalFactsDigest"] == document.digest and info["/AdalCaseNumber"] == case.number
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode("utf-8")
    assert document.digest in xmp and "http://ns.adal.kz/decision/1.0/" in xmp
    attached = json.loads(reader.attachments["decision-facts.json"][0])
    assert facts_digest(attached) == document.digest
    word = docx.Document(io.BytesIO(w["files"].read(document.docx_sha256)))
    assert word.core_properties.author.startswith("Adal ")
    custom = word.part.package.part_related_by(
        "http://schemas.openxmlformats.org/officeDocument/2006/relationships/custom-properties")
    assert document.digest.encode() in custom.blob and b"AdalFactsDigest" in custom.blob
    app_xml = next(p for p in word.part.package.iter_parts() if p.partname == "/docProps/app.xml").blob
    assert b"<Application>Adal " in app_xml and b"Microsoft" not in app_xml
    entry = w["s"].execute(select(AuditEntry).where(AuditEntry.action == "case.decision_written",
                                                    AuditEntry.subject == f"case:{case.id}")).scalar_one()
    assert json.loads(entry.payload)["pdf_sha256"] == document.pdf_sha256


# -- the written decision matches the recorded decision --------------------------------------------------
def test_verify_is_empty_then_reports_changed_reasons(world):
    w = world
    case = _issued(w)
    document = _written(w, case)
    assert verify_decision(w["s"], document) == []
    w["s"].execute(update(Case).where(Case.id == case.id).values(reasons="Reasons rewritten afterwards."))
    problems = verify_decision(w["s"], document)
    assert len(problems) == 1 and case.number in problems[0]
    assert "finding.reasons" in problems[0]


def test_verify_reports_a_replaced_or_missing_stored_file(world):
    w = world
    case = _issued(w)
    document = _written(w, case)
    path = w["files"].path(document.pdf_sha256)
    os.chmod(path, 0o644)
    path.write_bytes(b"%PDF-1.4 a forged decision\n")
    with force_locale("en"):
        problems = verify_decision(w["s"], document)
    assert any("PDF" in p and document.pdf_sha256 in p and "no longer matches" in p for p in problems), problems
    w["files"].delete(w["hashes"]["evidence"])
    with force_locale("en"):
        problems = verify_decision(w["s"], document)
    assert any("september.txt" in p and "missing" in p for p in problems), problems


def test_a_second_write_is_refused_and_changes_nothing(world):
    w = world
    case = _issued(w)
    first = _written(w, case)
    before = _state(w["s"], w["files"])
    with pytest.raises(DecisionAlreadyWritten):
        write_decision(w["s"], case, "decision", now=ISSUED + timedelta(hours=1))
    assert _state(w["s"], w["files"]) == before
    again = w["s"].execute(select(DecisionDocument).where(DecisionDocument.case_id == case.id)).scalar_one()
    assert (again.id, again.pdf_sha256, again.docx_sha256) == (first.id, first.pdf_sha256, first.docx_sha256)


def test_not_responsible_is_final_and_names_no_sanction(world, tmp_path):
    w = world
    case = _decided(w, finding="not_responsible")
    document = _written(w, case)
    facts = decision_facts(w["s"], case, "decision")
    assert facts["rights"] == {"final": True, "appeal_due_at": None, "timezone": "Asia/Almaty"}
    assert facts["sanction"] is None
    text = " ".join(_pdftotext(w["files"].read(document.pdf_sha256), tmp_path).split())
    assert case.number in text and REASONS in text
    assert verify_decision(w["s"], document) == []


def test_the_appeal_decision_states_the_outcome_and_is_final(world, tmp_path):
    w = world
    s = w["s"]
    case = _issued(w)
    blob = w["files"].put_bytes(b"A letter from my tutor.\n")
    when = ISSUED + timedelta(days=1)
    file_appeal(s, w["student"], case.id, grounds=["disproportionate", "new_evidence"],
                statement="Level 1 is too harsh.", expected_version=case.version, now=when,
                evidence=[(blob.sha256, "tutor-letter.txt")])
    panel = w["panel"] + [w["secretary"]]
    convene_panel(s, w["secretary"], case.id, members=[a.user_id for a in panel], presiding=panel[0].user_id,
                  expected_version=case.version, now=when + timedelta(hours=1))
    for member, vote in zip(panel, ("modified", "modified", "modified", "upheld"), strict=True):
        cast_appeal_vote(s, member, case.id, vote=vote, sanction_level=0 if vote == "modified" else None,
                         reasons="My reasons", now=when + timedelta(hours=2))
    decide_appeal(s, panel[0], case.id, reasons="A warning suffices for a first case.",
                  expected_version=case.version, now=when + timedelta(hours=3))
    document = _written(w, case, "appeal")
    facts = decision_facts(s, case, "appeal")
    assert facts["appeal"]["sanction_after"] == 0 and facts["appeal"]["sanction_before"] == 1
    assert facts["appeal"]["votes"] == {"modified:0": 3, "upheld": 1}
    assert facts["appeal"]["grounds"] == ["disproportionate", "new_evidence"]
    assert facts["rights"]["final"] is True
    text = " ".join(_pdftotext(w["files"].read(document.pdf_sha256), tmp_path).split())
    for needed in (case.number, "Level 1 is too harsh.", "A warning suffices for a first case.", "tutor-letter.txt",
                   blob.sha256, w["hashes"]["evidence"], REASONS):
        assert needed in text, needed
    for name in NAMES:
        assert name not in text, name
    assert verify_decision(s, document) == []
    # the first decision's written document still matches: the appeal changed no recorded fact of it
    assert verify_decision(s, _written(w, case, "decision")) == []


# -- the case file ------------------------------------------------------------------------------------------
def test_the_case_file_has_the_steps_the_evidence_hashes_and_the_documents(world, tmp_path):
    w = world
    case = _issued(w)
    document = _written(w, case)
    data = case_file_pdf(w["s"], case, now=ISSUED + timedelta(days=1), language="en")
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) >= 2
    text = " ".join(_pdftotext(data, tmp_path).split())
    for step in ("Case opened", "Student notified", "The student contested the allegation", "Deliberation opened",
                 "Finding recorded: responsible", "Sanction recorded", "Decision issued",
                 "Written decision kept on file"):
        assert step in text, step
    for needed in (case.number, w["hashes"]["evidence"], w["hashes"]["report"], w["hashes"]["statement"],
                   document.pdf_sha256, document.docx_sha256, document.digest, REASONS, "page 1 of"):
        assert needed in text, needed
    for name in NAMES:
        assert name not in text, name
    assert reader.metadata["/Producer"].startswith("Adal ")
