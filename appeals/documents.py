"""Written decisions and the case file (S 7.12; U 6.5ә, 6.8): what the student receives and what an
inspector reads.

``decision_facts`` gathers, from the recorded case, the facts a written decision states: the
allegation, the rule, every piece of evidence with the SHA-256 of what it points at, the student's
response, the finding and its reasons, the sanction, and either the appeal rights with their
deadline or the word that the decision is final (for the appeal outcome, the appeal and its
outcome too). Votes appear only as counts, and no member is named: the commission decides.

``write_decision`` renders those facts as a DOCX and a PDF in the student's language, stamps both
as made by Adal (creator/producer ``Adal <version>`` and the facts' digest in the metadata; the
PDF also carries the facts themselves as an attached ``decision-facts.json``), stores them in the
file store by SHA-256 and records a ``DecisionDocument`` whose ``digest`` is the SHA-256 of the
facts' canonical JSON. A written decision is never replaced: a second one for the same case and
kind is refused. ``verify_decision`` recomputes the facts and reads the stored files back, so any
later difference between the recorded decision and the written one shows.

``case_file_pdf`` is the whole case in one printable PDF: cover, the steps from the audit log,
the evidence with hashes, the decision and the appeal, the written documents' hashes.

Nothing here commits: the caller's transaction does (the files are in the store already; content
addressing makes a rolled-back write leave only an unreferenced blob).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from flask import has_app_context
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from appeals.cases import calendar_of
from appeals.models import (
    APPEAL_GROUNDS,
    DOCUMENT_KINDS,
    Appeal,
    AppealPanelMember,
    Case,
    CaseStatement,
    CaseVote,
    Commission,
    DecisionDocument,
)
from appeals.queue import (
    APPEAL_GROUND_TITLES,
    APPEAL_OUTCOME_TITLES,
    EVENT_TITLES,
    FINDING_TITLES,
    INCIDENT_TITLES,
    STATE_TITLES,
    sanction_title,
)
from appeals.workflow import State
from attribution.models import Assignment, Submission
from evidence.flags import EVIDENCE_KIND_TITLES, GROUND_TITLES, flag_grounds
from evidence.models import DraftUpload, Signal
from plugin.kernel import audit
from plugin.kernel.audit import AuditEntry, canonical_payload, payload_digest
from plugin.kernel.clock import iso
from plugin.kernel.errors import AdalError, InvalidInput
from plugin.kernel.filestore import BlobNotFound, CorruptBlob
from plugin.kernel.runtime import runtime_of
from plugin.kernel.settings import get_setting
from plugin.kernel.users import Actor, Course, User

FACTS_FORMAT = "adal.decision/1"
FACTS_ATTACHMENT = "decision-facts.json"
DOCUMENT_LANGUAGES = ("kk", "ru", "en")
#: Adal's own XMP namespace for written decisions (not the AI-provenance one: a decision is no AI output).
DECISION_NS = "http://ns.adal.kz/decision/1.0/"
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


class DecisionAlreadyWritten(AdalError):
    """A written decision of this kind exists for the case; documents are never replaced."""

    status = 409


# -- titles ------------------------------------------------------------------------------------------
RESPONSE_TITLES = {
    "accepted": _l("The student accepted the allegation."),
    "contested": _l("The student contested the allegation."),
    "none": _l("The student did not respond by the deadline."),
}
VOTE_COUNT_TITLES = {
    "responsible": _l("responsible"), "not_responsible": _l("not responsible"), "abstain": _l("abstained"),
    "upheld": _l("uphold"), "modified": _l("modify"), "overturned": _l("overturn"),
}
#: The steps of the case file's timeline: the commission's history, with each vote's question.
STEP_TITLES = {
    **EVENT_TITLES,
    "case.vote": _l("A member voted"),
    "case.vote.finding": _l("A member voted on the finding"),
    "case.vote.sanction": _l("A member voted on the sanction"),
    "case.vote.appeal": _l("A member of the appeal panel voted"),
}
EXTRA_STATE_TITLES = {
    State.APPEALED: _l("Appealed: the sanction is paused"),
    State.APPEAL_REVIEW: _l("The appeal panel is reviewing the case"),
    State.CLOSED: _l("Closed: the decision is final"),
    State.APPEAL_DECIDED: _l("Appeal decided: the decision is final"),
}


def _state_title(state: str) -> str:
    found = STATE_TITLES.get(State(state)) or EXTRA_STATE_TITLES.get(State(state))
    return str(found) if found is not None else state


def adal_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("adal")
    except PackageNotFoundError:
        return "unknown"


def made_by() -> str:
    return f"Adal {adal_version()}"


# -- the facts ---------------------------------------------------------------------------------------
def _at(value: datetime | None) -> str | None:
    return iso(value) if value is not None else None


def _stored(name: str | None, sha256: str | None) -> dict[str, str | None]:
    return {"name": name, "sha256": sha256}


def _evidence(session: Session, case: Case) -> list[dict[str, Any]]:
    items = sorted((item for _ground, found in flag_grounds(session, case.flag_id) for item in found),
                   key=lambda item: item.id or 0)
    grounds = {ground.id: ground.ground for ground, _found in flag_grounds(session, case.flag_id)}
    rows = []
    for number, item in enumerate(items, 1):
        files: list[dict[str, str | None]] = []
        detail = None
        if item.kind == "file" and item.sha256:
            files.append(_stored(item.name, item.sha256))
        elif item.kind == "signal" and item.signal_id:
            signal = session.get(Signal, item.signal_id)
            if signal is not None:
                detail = f"{signal.vendor} {signal.product} {signal.model_version}: {signal.score:g}%"
                if signal.report_sha256:
                    files.append(_stored(signal.report_name, signal.report_sha256))
        elif item.kind == "draft_request" and item.draft_request_id:
            uploads = session.execute(select(DraftUpload).where(DraftUpload.request_id == item.draft_request_id)
                                      .order_by(DraftUpload.id)).scalars()
            files += [_stored(upload.name, upload.sha256) for upload in uploads]
        rows.append({"number": number, "ground": grounds.get(item.ground_id), "kind": item.kind,
                     "description": item.description, "detector": bool(item.is_detector), "detail": detail,
                     "files": files})
    return rows


def _statements(session: Session, case: Case, stage: str) -> tuple[list[str], list[dict[str, str | None]]]:
    rows = list(session.execute(select(CaseStatement).where(CaseStatement.case_id == case.id,
                                                            CaseStatement.stage == stage)
                                .order_by(CaseStatement.at, CaseStatement.id)).scalars())
    texts: list[str] = []
    for row in rows:
        if row.text and row.text != "-" and row.text not in texts:
            texts.append(row.text)
    return texts, [_stored(row.name, row.sha256) for row in rows if row.sha256]


def _actions(session: Session, case: Case) -> list[AuditEntry]:
    return list(session.execute(select(AuditEntry).where(AuditEntry.subject == f"case:{case.id}")
                                .order_by(AuditEntry.seq)).scalars())


def _recorded_votes(entries: Sequence[AuditEntry], actions: Sequence[str]) -> dict[str, int] | None:
    """The vote counts as the closing step recorded them (the tally at that moment)."""
    for entry in reversed(entries):
        if entry.action in actions and entry.payload:
            votes = json.loads(entry.payload).get("votes")
            if isinstance(votes, dict):
                return {str(key): int(value) for key, value in votes.items()}
    return None


def _counted_votes(session: Session, case: Case, question: str, voters: set[int] | None = None) -> dict[str, int]:
    counts: dict[str, int] = {}
    for vote in session.execute(select(CaseVote).where(CaseVote.case_id == case.id,
                                                       CaseVote.question == question)).scalars():
        if voters is not None and vote.user_id not in voters:
            continue
        key = str(vote.sanction_level) if question == "sanction" else vote.vote
        counts[key] = counts.get(key, 0) + 1
    return counts


def _response(session: Session, case: Case, entries: Sequence[AuditEntry]) -> dict[str, Any]:
    kinds = {"case.accept": "accepted", "case.contest": "contested", "case.no_response": "none"}
    found = next((kinds[entry.action] for entry in entries if entry.action in kinds), "none")
    texts, files = _statements(session, case, "response")
    statement = case.student_response or ("\n\n".join(texts) if texts else None)
    return {"kind": found, "at": _at(case.responded_at), "statement": statement, "files": files}


def _appeal(session: Session, case: Case, entries: Sequence[AuditEntry]) -> dict[str, Any]:
    appeal = session.execute(select(Appeal).where(Appeal.case_id == case.id)).scalar_one_or_none()
    if appeal is None or appeal.outcome is None or appeal.decided_at is None:
        raise InvalidInput(_("The appeal has no recorded outcome yet: there is no appeal decision to write."))
    grounds = [g for g in json.loads(appeal.grounds or "[]") if g in APPEAL_GROUNDS]
    texts, files = _statements(session, case, "appeal")
    if appeal.outcome == "upheld":
        after: int | None = appeal.original_sanction_level
    elif appeal.outcome == "modified":
        after = appeal.new_sanction_level
    else:
        after = None
    if after is not None and after > appeal.original_sanction_level:  # the table refuses it too
        raise InvalidInput(_("A sanction can never increase on appeal."))
    panel = set(session.execute(select(AppealPanelMember.user_id)
                                .where(AppealPanelMember.appeal_id == appeal.id)).scalars())
    votes = _recorded_votes(entries, ("case.decide_appeal",)) or _counted_votes(session, case, "appeal", panel)
    catalogue = {row["level"]: row["code"] for row in get_setting(session, "sanctions.catalogue")}
    return {"grounds": grounds, "statement": appeal.statement, "more_statements": [t for t in texts
                                                                                   if t != appeal.statement],
            "files": files, "filed_at": _at(appeal.filed_at), "outcome": appeal.outcome,
            "reasons": appeal.outcome_reasons, "decided_at": _at(appeal.decided_at), "votes": votes,
            "sanction_before": appeal.original_sanction_level, "sanction_after": after,
            "sanction_after_code": catalogue.get(after) if after is not None else None}


def decision_facts(session: Session, case: Case, kind: str) -> dict[str, Any]:
    """The canonical facts of the recorded decision (``kind`` "decision": the first one;
    "appeal": the appeal's outcome). Plain JSON values only; dates as UTC ISO text, the appeal
    deadline also in the institution's time zone. No member is named and votes are counts.

    Raises ``InvalidInput`` when there is no such decision yet (no finding; a responsible finding
    not issued; an appeal without an outcome)."""
    if kind not in DOCUMENT_KINDS:
        raise InvalidInput(_("Unknown kind of written decision."))
    if case.finding is None or case.reasons is None or case.decided_at is None:
        raise InvalidInput(_("The commission has not decided this case yet: there is no decision to write."))
    responsible = case.finding == "responsible"
    if responsible and (case.sanction_level is None or case.issued_at is None or case.appeal_due_at is None):
        raise InvalidInput(_("The decision has not been issued yet: there is no decision to write."))
    entries = _actions(session, case)
    commission = session.get(Commission, case.commission_id)
    course = session.get(Course, case.course_id)
    student = session.get(User, case.student_id)
    submission = session.get(Submission, case.submission_id)
    assignment = session.get(Assignment, submission.assignment_id) if submission else None
    zone = calendar_of(session).zone
    facts: dict[str, Any] = {
        "format": FACTS_FORMAT,
        "kind": kind,
        "case": {"number": case.number, "opened_at": _at(case.opened_at), "incident_level": case.incident_level,
                 "allegation": case.allegation, "rule": case.rule},
        "commission": commission.name if commission else None,
        "student": student.display_name if student else None,
        "course": course.title if course else None,
        "assignment": assignment.title if assignment else None,
        "evidence": _evidence(session, case),
        "response": _response(session, case, entries),
        "finding": {"result": case.finding, "reasons": case.reasons, "decided_at": _at(case.decided_at),
                    "votes": _recorded_votes(entries, ("case.find_responsible", "case.find_not_responsible"))
                    or _counted_votes(session, case, "finding")},
        "sanction": None,
        "issued_at": _at(case.issued_at),
        "appeal": None,
    }
    if responsible:
        facts["sanction"] = {"level": case.sanction_level, "code": case.sanction_code,
                             "reasons": case.sanction_reasons,
                             "votes": _recorded_votes(entries, ("case.set_sanction",))
                             or _counted_votes(session, case, "sanction")}
    if kind == "appeal":
        if not responsible:
            raise InvalidInput(_("A finding of not responsible cannot be appealed: there is no appeal decision."))
        facts["appeal"] = _appeal(session, case, entries)
    if kind == "decision" and responsible:
        assert case.appeal_due_at is not None
        local = case.appeal_due_at.astimezone(ZoneInfo(zone))
        facts["rights"] = {"final": False, "appeal_due_at": local.isoformat(timespec="minutes"), "timezone": zone}
    else:
        facts["rights"] = {"final": True, "appeal_due_at": None, "timezone": zone}
    return facts


def facts_digest(facts: dict[str, Any]) -> str:
    """SHA-256 of the facts' canonical JSON (sorted keys, no spaces, UTF-8): the audit log's form."""
    return payload_digest(canonical_payload(facts))


def student_language(session: Session, case: Case) -> str:
    """The language of the student's work (kk, ru or en); Kazakh for any other."""
    submission = session.get(Submission, case.submission_id)
    language = (submission.language if submission else "") or ""
    return language if language in DOCUMENT_LANGUAGES else "kk"


# -- rendering: blocks, then DOCX and PDF --------------------------------------------------------------
@dataclass(frozen=True)
class Block:
    """One piece of a document: ``title``, ``heading``, ``text``, ``fields`` (label, value) rows,
    ``hash`` (a label and a SHA-256, kept on one line) or ``small`` print."""

    kind: str
    text: str = ""
    rows: tuple[tuple[str, str], ...] = ()


def _local(moment: str | datetime | None, zone: str, *, with_time: bool = True) -> str:
    if moment is None:
        return "—"
    value = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return value.astimezone(ZoneInfo(zone)).strftime("%d.%m.%Y %H:%M" if with_time else "%d.%m.%Y")


def _votes_line(votes: dict[str, int] | None, *, sanction: bool = False) -> str:
    if not votes:
        return "—"
    parts = []
    for key, count in sorted(votes.items()):
        if sanction:
            name = _("level %(level)s", level=key)
        elif key.startswith("modified:"):  # the appeal panel's vote to lower the sanction to one level
            name = _("modify to level %(level)s", level=key.split(":", 1)[1])
        else:
            name = str(VOTE_COUNT_TITLES.get(key, key))
        parts.append(f"{name}: {count}")
    return "; ".join(parts)


def _file_blocks(files: Sequence[dict[str, Any]]) -> list[Block]:
    return [Block("hash", _("File %(name)s, SHA-256:", name=f.get("name") or "—"), ((str(f["sha256"]), ""),))
            for f in files if f.get("sha256")]


def _evidence_blocks(evidence: Sequence[dict[str, Any]]) -> list[Block]:
    blocks: list[Block] = [Block("heading", _("Evidence"))]
    if not evidence:
        blocks.append(Block("text", _("No evidence items.")))
    for item in evidence:
        kind = str(EVIDENCE_KIND_TITLES.get(item["kind"], item["kind"]))
        ground = str(GROUND_TITLES.get(item["ground"], item["ground"] or ""))
        blocks.append(Block("text", f"{item['number']}. {kind} — {item['description']}"))
        rows = [(_("Ground"), ground),
                (_("Detector signal"), _("yes: a signal, not proof") if item["detector"] else _("no"))]
        if item.get("detail"):
            rows.append((_("Signal"), item["detail"]))
        blocks.append(Block("fields", rows=tuple(rows)))
        blocks += _file_blocks(item["files"])
    return blocks


def _kind_title(kind: str) -> str:
    return _("Decision on the appeal") if kind == "appeal" else _("Decision of the integrity commission")


def _sanction_text(level: int | None, code: str | None) -> str:
    if level is None:
        return _("No sanction")
    return _("Level %(level)d: %(title)s (catalogue code: %(code)s)", level=level,
             title=sanction_title(code, level), code=code or "—")


def _allegation_blocks(allegation: str, rule: str) -> list[Block]:
    return [Block("heading", _("Allegation")), Block("text", allegation),
            Block("heading", _("The rule that was broken")), Block("text", rule)]


def _decision_blocks(facts: dict[str, Any], zone: str) -> list[Block]:
    """The first decision's body, from the allegation to the sanction."""
    blocks = _allegation_blocks(facts["case"]["allegation"], facts["case"]["rule"])
    blocks += _evidence_blocks(facts["evidence"])
    response = facts["response"]
    blocks += [Block("heading", _("The student's response")), Block("text", str(RESPONSE_TITLES[response["kind"]]))]
    if response.get("statement"):
        blocks.append(Block("text", response["statement"]))
    blocks += _file_blocks(response["files"])
    finding = facts["finding"]
    blocks += [Block("heading", _("Finding")),
               Block("fields", rows=((_("Finding"), str(FINDING_TITLES[finding["result"]])),
                                     (_("Decided on"), _local(finding["decided_at"], zone)),
                                     (_("Votes"), _votes_line(finding["votes"])))),
               Block("text", _("Reasons: %(reasons)s", reasons=finding["reasons"]))]
    sanction = facts.get("sanction")
    if sanction:
        blocks += [Block("heading", _("Sanction")),
                   Block("fields", rows=((_("Sanction"), _sanction_text(sanction["level"], sanction["code"])),
                                         (_("Votes"), _votes_line(sanction["votes"], sanction=True)))),
                   Block("text", _("Reasons: %(reasons)s", reasons=sanction["reasons"] or "—"))]
    return blocks


def _appeal_blocks(appeal: dict[str, Any], zone: str) -> list[Block]:
    grounds = "; ".join(str(APPEAL_GROUND_TITLES.get(g, g)) for g in appeal["grounds"]) or "—"
    blocks = [Block("heading", _("The appeal")),
              Block("fields", rows=((_("Filed on"), _local(appeal["filed_at"], zone)), (_("Grounds"), grounds))),
              Block("text", appeal["statement"])]
    blocks += [Block("text", text) for text in appeal.get("more_statements", [])]
    blocks += _file_blocks(appeal["files"])
    blocks += [Block("heading", _("Outcome of the appeal")),
               Block("fields", rows=(
                   (_("Outcome"), str(APPEAL_OUTCOME_TITLES.get(appeal["outcome"], appeal["outcome"]))),
                   (_("Decided on"), _local(appeal["decided_at"], zone)),
                   (_("Votes"), _votes_line(appeal["votes"])),
                   (_("Sanction before the appeal"), _("Level %(level)d", level=appeal["sanction_before"])),
                   (_("Sanction after the appeal"), _sanction_text(appeal["sanction_after"],
                                                                  appeal["sanction_after_code"])))),
               Block("text", _("Reasons: %(reasons)s", reasons=appeal["reasons"] or "—"))]
    return blocks


def _rights_blocks(facts: dict[str, Any]) -> list[Block]:
    rights = facts["rights"]
    if rights["final"]:
        return [Block("heading", _("Finality")), Block("text", _("This decision is final."))]
    when = _local(rights["appeal_due_at"], rights["timezone"])
    return [Block("heading", _("Your right to appeal")),
            Block("text", _("You may appeal this decision to the commission until %(when)s (%(zone)s time), on "
                            "stated grounds: a procedural irregularity, new evidence, bias or a disproportionate "
                            "sanction. While your appeal is open, the sanction is paused; on appeal it can never "
                            "increase.", when=when, zone=rights["timezone"]))]


def decision_blocks(facts: dict[str, Any], *, digest: str, made_at: datetime) -> list[Block]:
    """The written decision in the current locale, as blocks."""
    zone = facts["rights"]["timezone"]
    title = _kind_title(facts["kind"])
    blocks = [Block("title", title),
              Block("fields", rows=((_("Case"), facts["case"]["number"]),
                                    (_("Commission"), facts["commission"] or "—"),
                                    (_("Student"), facts["student"] or "—"),
                                    (_("Course"), facts["course"] or "—"),
                                    (_("Assignment"), facts["assignment"] or "—"),
                                    (_("Case opened"), _local(facts["case"]["opened_at"], zone)),
                                    (_("Incident level"), str(INCIDENT_TITLES.get(facts["case"]["incident_level"],
                                                                                   "—"))),
                                    (_("Issued"), _local(facts["issued_at"], zone)))),
              *_decision_blocks(facts, zone)]
    if facts.get("appeal"):
        blocks += _appeal_blocks(facts["appeal"], zone)
    blocks += _rights_blocks(facts)
    blocks += [Block("small", _("Made by %(tool)s on %(when)s from the decision recorded in Adal. SHA-256 of the "
                                "recorded facts:", tool=made_by(), when=_local(made_at, zone))),
               Block("hash", "", ((digest, ""),))]
    return blocks


_DOCX_LANG = {"kk": "kk-KZ", "ru": "ru-RU", "en": "en-US"}


def _docx_run(paragraph: Any, text: str, lang: str, *, bold: bool = False, size: float | None = None) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Pt

    run = paragraph.add_run(_clean(text))
    run.bold = bold or None
    if size is not None:
        run.font.size = Pt(size)
    language = OxmlElement("w:lang")
    language.set(qn("w:val"), _DOCX_LANG[lang])
    run._r.get_or_add_rPr().append(language)


def _clean(text: str) -> str:
    """Text as XML and PDF take it: no control characters but tab and newline."""
    return "".join(c for c in text.replace("\r\n", "\n").replace("\r", "\n") if c in "\t\n" or ord(c) >= 32)


def _docx_custom_properties(document: Any, values: dict[str, str]) -> None:
    """Adal's custom document properties (docProps/custom.xml), which Word shows under
    Properties → Custom; python-docx has no API for them, so the part is added to its package."""
    from docx.opc.packuri import PackURI
    from docx.opc.part import Part
    from lxml import etree

    from attribution.opc import CT_CUSTOM, CUSTOM_NS, FMTID, RT_CUSTOM_PROPERTIES, VT_NS

    root = etree.Element(f"{{{CUSTOM_NS}}}Properties", nsmap={None: CUSTOM_NS, "vt": VT_NS})
    for pid, (name, value) in enumerate(values.items(), 2):
        prop = etree.SubElement(root, f"{{{CUSTOM_NS}}}property", fmtid=FMTID, pid=str(pid), name=name)
        etree.SubElement(prop, f"{{{VT_NS}}}lpwstr").text = value
    blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
    package = document.part.package
    part = Part(PackURI("/docProps/custom.xml"), CT_CUSTOM, blob, package)
    package.relate_to(part, RT_CUSTOM_PROPERTIES)
    # python-docx's template names Word as the application that wrote the file: Adal did.
    for existing in package.iter_parts():
        if existing.partname == "/docProps/app.xml":
            app = etree.fromstring(existing.blob)
            for element in app:
                if etree.QName(element).localname == "Application":
                    element.text = made_by()
            existing._blob = etree.tostring(app, xml_declaration=True, encoding="UTF-8", standalone=True)


def render_docx(blocks: Sequence[Block], *, lang: str, title: str, subject: str, digest: str,
                made_at: datetime, extra: dict[str, str]) -> bytes:
    import docx
    from docx.shared import Pt

    document = docx.Document()
    document.styles["Normal"].font.size = Pt(10.5)
    for block in blocks:
        if block.kind == "title":
            _docx_run(document.add_heading(level=0), block.text, lang)
        elif block.kind == "heading":
            _docx_run(document.add_heading(level=1), block.text, lang)
        elif block.kind in ("text", "small"):
            _docx_run(document.add_paragraph(), block.text, lang, size=8 if block.kind == "small" else None)
        elif block.kind == "hash":
            paragraph = document.add_paragraph()
            if block.text:
                _docx_run(paragraph, block.text + " ", lang, size=9)
            _docx_run(paragraph, block.rows[0][0], lang, size=9)
        elif block.kind == "fields":
            table = document.add_table(rows=0, cols=2)
            table.style = document.styles["Table Grid"]
            for label, value in block.rows:
                cells = table.add_row().cells
                _docx_run(cells[0].paragraphs[0], label, lang, bold=True)
                _docx_run(cells[1].paragraphs[0], value, lang)
            document.add_paragraph()
    core = document.core_properties
    core.author = core.last_modified_by = made_by()
    core.title, core.subject, core.language = title, subject, _DOCX_LANG[lang]
    core.keywords = f"Adal; {subject}"
    core.comments = f"AdalFactsDigest: {digest}"
    core.created = core.modified = made_at.replace(tzinfo=None)
    core.revision = 1
    _docx_custom_properties(document, {"AdalCreator": made_by(), "AdalFactsDigest": digest, **extra})
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


@lru_cache(maxsize=1)
def _fonts() -> tuple[str, str]:
    """DejaVu Sans, registered as attribution's appendix does (every Kazakh letter, embedded)."""
    from attribution.appendix import _BOLD, _FONT, _register_fonts

    _register_fonts()
    return _FONT, _BOLD


def _numbered_canvas(footer: str) -> type:
    """A canvas that writes "footer · page n / N" on every page (N known only at the end)."""
    from reportlab.lib.units import mm
    from reportlab.pdfgen.canvas import Canvas

    font, _bold = _fonts()

    class NumberedCanvas(Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._pages)
            for number, state in enumerate(self._pages, 1):
                self.__dict__.update(state)
                self.setFont(font, 8)
                self.drawCentredString(self._pagesize[0] / 2, 10 * mm,
                                       _("%(footer)s · page %(page)d of %(pages)d", footer=footer, page=number,
                                         pages=total))
                super().showPage()
            super().save()

    return NumberedCanvas


def render_pdf(blocks: Sequence[Block], *, lang: str, title: str, subject: str, footer: str) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font, bold = _fonts()
    body = ParagraphStyle("adal-body", fontName=font, fontSize=10, leading=13.5, spaceAfter=5)
    small = ParagraphStyle("adal-small", parent=body, fontSize=8, leading=10)
    hashes = ParagraphStyle("adal-hash", parent=body, fontSize=8, leading=10, leftIndent=10, spaceAfter=3)
    h0 = ParagraphStyle("adal-title", parent=body, fontName=bold, fontSize=16, leading=20, spaceAfter=10)
    h1 = ParagraphStyle("adal-h1", parent=body, fontName=bold, fontSize=12, leading=15, spaceBefore=8,
                        keepWithNext=1)
    cell = ParagraphStyle("adal-cell", parent=body, fontSize=9, leading=11.5, spaceAfter=0)
    cell_bold = ParagraphStyle("adal-cell-bold", parent=cell, fontName=bold)
    buffer = io.BytesIO()
    document = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm, topMargin=18 * mm,
                                 bottomMargin=20 * mm, title=title, subject=subject, author=made_by(),
                                 creator=made_by(), producer=made_by(), lang=_DOCX_LANG[lang],
                                 initialFontName=font)
    story: list[Any] = []
    for block in blocks:
        text = escape(_clean(block.text)).replace("\n", "<br/>")
        if block.kind == "title":
            story.append(Paragraph(text, h0))
        elif block.kind == "heading":
            story.append(Paragraph(text, h1))
        elif block.kind == "text":
            story.append(Paragraph(text, body))
        elif block.kind == "small":
            story.append(Paragraph(text, small))
        elif block.kind == "hash":
            label = f"{text} " if text else ""
            story.append(Paragraph(f"{label}{escape(block.rows[0][0])}", hashes))
        elif block.kind == "fields":
            width = document.width - 12
            data = [[Paragraph(escape(_clean(label)), cell_bold),
                     Paragraph(escape(_clean(value)).replace("\n", "<br/>"), cell)] for label, value in block.rows]
            table = Table(data, colWidths=[width * 0.32, width * 0.68])
            table.setStyle(TableStyle([("FONT", (0, 0), (-1, -1), font, 9),
                                       ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
                                       ("VALIGN", (0, 0), (-1, -1), "TOP")]))
            story += [table, Spacer(1, 6)]
    document.build(story, canvasmaker=_numbered_canvas(footer))
    return buffer.getvalue()


def _xmp(values: dict[str, str], *, title: str, made_at: datetime) -> bytes:
    from lxml import etree

    rdf, x = "http://www.w3.org/1999/02/22-rdf-syntax-ns#", "adobe:ns:meta/"
    namespaces = {"x": x, "rdf": rdf, "xmp": "http://ns.adobe.com/xap/1.0/", "pdf": "http://ns.adobe.com/pdf/1.3/",
                  "dc": "http://purl.org/dc/elements/1.1/", "adaldecision": DECISION_NS}
    meta = etree.Element(f"{{{x}}}xmpmeta", nsmap={"x": x})
    root = etree.SubElement(meta, f"{{{rdf}}}RDF", nsmap={"rdf": rdf})
    description = etree.SubElement(root, f"{{{rdf}}}Description", nsmap=namespaces)
    description.set(f"{{{rdf}}}about", "")
    etree.SubElement(description, f"{{{namespaces['xmp']}}}CreatorTool").text = made_by()
    etree.SubElement(description, f"{{{namespaces['xmp']}}}CreateDate").text = iso(made_at)
    etree.SubElement(description, f"{{{namespaces['pdf']}}}Producer").text = made_by()
    alt = etree.SubElement(etree.SubElement(description, f"{{{namespaces['dc']}}}title"), f"{{{rdf}}}Alt")
    item = etree.SubElement(alt, f"{{{rdf}}}li")
    item.set("{http://www.w3.org/XML/1998/namespace}lang", "x-default")
    item.text = title
    for name, value in values.items():
        etree.SubElement(description, f"{{{DECISION_NS}}}{name}").text = value
    body = etree.tostring(meta, encoding="UTF-8")
    return b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>' + body + b'<?xpacket end="w"?>'


def _pdf_date(moment: datetime) -> str:
    utc = moment.astimezone(ZoneInfo("UTC"))
    return utc.strftime("D:%Y%m%d%H%M%SZ")


def stamp_pdf(data: bytes, *, values: dict[str, str], title: str, made_at: datetime,
              attachment: tuple[str, bytes] | None = None) -> bytes:
    """Adal's metadata on a PDF it made: Info keys (creator, producer, ``/Adal…`` values), XMP with
    the same, and the facts as an attached file when given."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import NameObject

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.add_metadata({"/Creator": made_by(), "/Producer": made_by(), "/CreationDate": _pdf_date(made_at),
                         "/ModDate": _pdf_date(made_at), **{f"/{name}": value for name, value in values.items()}})
    writer.xmp_metadata = _xmp(values, title=title, made_at=made_at)
    stream = writer.root_object["/Metadata"].get_object()
    stream[NameObject("/Type")] = NameObject("/Metadata")
    stream[NameObject("/Subtype")] = NameObject("/XML")
    if attachment is not None:
        writer.add_attachment(*attachment)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@contextmanager
def _in_language(lang: str) -> Iterator[str]:
    """Render in ``lang`` when the app's translations are at hand; otherwise (no app context) in
    English, which is then the language recorded."""
    if not has_app_context():
        yield "en"
        return
    with force_locale(lang):
        yield lang


# -- writing ---------------------------------------------------------------------------------------------
def document_of(session: Session, case_id: int, kind: str) -> DecisionDocument | None:
    return session.execute(select(DecisionDocument).where(DecisionDocument.case_id == case_id,
                                                          DecisionDocument.kind == kind)).scalar_one_or_none()


def documents_of(session: Session, case_id: int) -> list[DecisionDocument]:
    return list(session.execute(select(DecisionDocument).where(DecisionDocument.case_id == case_id)
                                .order_by(DecisionDocument.made_at, DecisionDocument.id)).scalars())


def _refused() -> DecisionAlreadyWritten:
    return DecisionAlreadyWritten(_("This written decision has already been made; a written decision is never "
                                    "replaced."))


def write_decision(session: Session, case: Case, kind: str, *, now: datetime,
                   actor: Actor | str = "system:documents") -> DecisionDocument:
    """Write the decision of ``kind`` ("decision" or "appeal") as DOCX and PDF in the student's
    language, store both and record them. In the caller's transaction; no commit.

    Raises ``DecisionAlreadyWritten`` when one exists for (case, kind) (nothing is stored),
    ``InvalidInput`` when there is no such decision yet. Audits ``case.decision_written``."""
    if kind not in DOCUMENT_KINDS:
        raise InvalidInput(_("Unknown kind of written decision."))
    if document_of(session, case.id or 0, kind) is not None:
        raise _refused()
    facts = decision_facts(session, case, kind)
    digest = facts_digest(facts)
    facts_json = canonical_payload(facts).encode("utf-8")
    with _in_language(student_language(session, case)) as lang:
        blocks = decision_blocks(facts, digest=digest, made_at=now)
        title = blocks[0].text
        subject = _("Case %(number)s", number=case.number)
        values = {"AdalFactsDigest": digest, "AdalCaseNumber": case.number, "AdalDocumentKind": kind}
        docx_bytes = render_docx(blocks, lang=lang, title=title, subject=subject, digest=digest, made_at=now,
                                 extra={"AdalCaseNumber": case.number, "AdalDocumentKind": kind})
        pdf_bytes = stamp_pdf(render_pdf(blocks, lang=lang, title=title, subject=subject, footer=subject),
                              values=values, title=title, made_at=now, attachment=(FACTS_ATTACHMENT, facts_json))
    files = runtime_of(session).files
    docx_blob, pdf_blob = files.put_bytes(docx_bytes), files.put_bytes(pdf_bytes)
    row = DecisionDocument(case_id=case.id, kind=kind, language=lang, docx_sha256=docx_blob.sha256,
                           pdf_sha256=pdf_blob.sha256, digest=digest, made_at=now)
    try:
        with session.begin_nested():  # a concurrent writer of the same document: refuse, keep the caller's work
            session.add(row)
    except IntegrityError:
        raise _refused() from None
    audit.record(session, actor, "case.decision_written", now=now, subject=f"case:{case.id}",
                 payload={"kind": kind, "language": lang, "docx_sha256": docx_blob.sha256,
                          "pdf_sha256": pdf_blob.sha256, "digest": digest})
    return row


# -- verifying -------------------------------------------------------------------------------------------
def _embedded_facts(data: bytes) -> dict[str, Any] | None:
    from pypdf import PdfReader

    try:
        found = PdfReader(io.BytesIO(data)).attachments.get(FACTS_ATTACHMENT)
        return json.loads(found[0]) if found else None
    except Exception:
        return None


def _differences(old: Any, new: Any, path: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        found: list[str] = []
        for key in sorted(set(old) | set(new)):
            found += _differences(old.get(key), new.get(key), f"{path}.{key}" if path else str(key))
        return found
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [d for i, (a, b) in enumerate(zip(old, new, strict=True)) for d in _differences(a, b, f"{path}[{i}]")]
    return [] if old == new else [path or "facts"]


def verify_decision(session: Session, document: DecisionDocument) -> list[str]:
    """What no longer matches between the written decision and the recorded one: the facts
    (recomputed now, against the digest recorded then; the fields that differ are named when
    the PDF's attached facts can be read), the stored DOCX and PDF, and every file the decision
    lists. Empty when all is well."""
    problems: list[str] = []
    case = session.get(Case, document.case_id, populate_existing=True)
    label = _("Case %(number)s, %(kind)s", number=case.number if case else document.case_id,
              kind=_kind_title(document.kind))
    files = runtime_of(session).files
    stored: dict[str, bytes] = {}
    for what, sha256 in (("DOCX", document.docx_sha256), ("PDF", document.pdf_sha256)):
        try:
            stored[what] = files.read(sha256)
        except BlobNotFound:
            problems.append(_("%(doc)s: the written %(what)s (%(sha)s) is missing from the file store.", doc=label,
                              what=what, sha=sha256))
        except CorruptBlob:
            problems.append(_("%(doc)s: the written %(what)s no longer matches its SHA-256 %(sha)s.", doc=label,
                              what=what, sha=sha256))
    if case is None:
        return [*problems, _("%(doc)s: the case no longer exists.", doc=label)]
    try:
        facts = decision_facts(session, case, document.kind)
    except AdalError as exc:
        return [*problems, _("%(doc)s: the recorded decision cannot be read: %(reason)s", doc=label,
                             reason=str(exc))]
    if facts_digest(facts) != document.digest:
        written = _embedded_facts(stored["PDF"]) if "PDF" in stored else None
        fields = _differences(written, facts) if written is not None and facts_digest(written) == document.digest \
            else []
        problems.append(_("%(doc)s: the recorded decision no longer matches the written one (%(fields)s).",
                          doc=label, fields=", ".join(fields) if fields else _("the facts' digest differs")))
    listed = [f for item in facts["evidence"] for f in item["files"]] + facts["response"]["files"]
    listed += facts["appeal"]["files"] if facts.get("appeal") else []
    for entry in listed:
        sha256 = str(entry["sha256"])
        try:
            files.read(sha256)
        except BlobNotFound:
            problems.append(_("%(doc)s: the file %(name)s (%(sha)s) is missing from the file store.", doc=label,
                              name=entry.get("name") or "—", sha=sha256))
        except CorruptBlob:
            problems.append(_("%(doc)s: the file %(name)s no longer matches its SHA-256 %(sha)s.", doc=label,
                              name=entry.get("name") or "—", sha=sha256))
    return problems


def verify_all(session: Session) -> tuple[int, list[str]]:
    """Every written decision checked: (how many, the problems)."""
    documents = list(session.execute(select(DecisionDocument).order_by(DecisionDocument.id)).scalars())
    return len(documents), [problem for document in documents for problem in verify_decision(session, document)]


# -- the case file -----------------------------------------------------------------------------------------
def _timeline(session: Session, case: Case, zone: str) -> list[tuple[str, str]]:
    rows = []
    for entry in _actions(session, case):
        title = STEP_TITLES.get(entry.action)
        if title is None:
            continue
        payload = json.loads(entry.payload) if entry.payload else {}
        if entry.action == "case.vote":
            title = STEP_TITLES.get(f"case.vote.{payload.get('question')}", title)
        detail = ""
        if entry.action == "case.decision_written" and payload.get("kind") in DOCUMENT_KINDS:
            detail = f": {_kind_title(payload['kind'])} ({payload.get('language', '')})"
        rows.append((_local(entry.at, zone), f"{title}{detail}"))
    return rows


def case_file_pdf(session: Session, case: Case, *, now: datetime, language: str) -> bytes:
    """The case in one printable PDF, in ``language``: cover, the steps with their dates, the
    evidence with hashes, the decision and the appeal as recorded, the written documents' hashes.
    Members are not named; votes are counts."""
    zone = calendar_of(session).zone
    with _in_language(language if language in DOCUMENT_LANGUAGES else "kk") as lang:
        commission = session.get(Commission, case.commission_id)
        course = session.get(Course, case.course_id)
        student = session.get(User, case.student_id)
        title = _("Case file %(number)s", number=case.number)
        blocks = [Block("title", title),
                  Block("fields", rows=(
                      (_("Case"), case.number), (_("Commission"), commission.name if commission else "—"),
                      (_("Student"), student.display_name if student else "—"),
                      (_("Course"), course.title if course else "—"), (_("State"), _state_title(case.state)),
                      (_("Case opened"), _local(case.opened_at, zone)),
                      (_("Student notified"), _local(case.notified_at, zone)),
                      (_("Response due"), _local(case.response_due_at, zone)),
                      (_("Hearing"), _local(case.hearing_at, zone)),
                      (_("Decided on"), _local(case.decided_at, zone)), (_("Issued"), _local(case.issued_at, zone)),
                      (_("Appeal due"), _local(case.appeal_due_at, zone)),
                      (_("Final on"), _local(case.final_at, zone)),
                      (_("Printed on"), _local(now, zone)))),
                  Block("heading", _("Timeline")),
                  Block("fields", rows=tuple(_timeline(session, case, zone)) or (("—", _("No steps yet.")),))]
        decision: dict[str, Any] | None = None
        try:
            decision = decision_facts(session, case, "decision")
        except InvalidInput:
            blocks += _allegation_blocks(case.allegation, case.rule)
            blocks += _evidence_blocks(_evidence(session, case))
            blocks += [Block("heading", _("Decision")), Block("text", _("The commission has not decided yet."))]
        if decision is not None:  # the appeal deadline and finality are on the cover, as they stand now
            blocks += _decision_blocks(decision, zone)
        appeal = session.execute(select(Appeal).where(Appeal.case_id == case.id)).scalar_one_or_none()
        if appeal is not None and appeal.outcome is not None:
            blocks += _appeal_blocks(_appeal(session, case, _actions(session, case)), zone)
        elif appeal is not None:
            pending = {"grounds": [g for g in json.loads(appeal.grounds or "[]") if g in APPEAL_GROUNDS],
                       "statement": appeal.statement, "files": _statements(session, case, "appeal")[1],
                       "filed_at": _at(appeal.filed_at)}
            grounds = "; ".join(str(APPEAL_GROUND_TITLES.get(g, g)) for g in pending["grounds"]) or "—"
            blocks += [Block("heading", _("The appeal")),
                       Block("fields", rows=((_("Filed on"), _local(pending["filed_at"], zone)),
                                             (_("Grounds"), grounds))),
                       Block("text", appeal.statement), *_file_blocks(pending["files"]),
                       Block("text", _("The appeal was withdrawn.") if appeal.withdrawn_at
                             else _("The appeal has not been decided yet."))]
        blocks.append(Block("heading", _("Written decisions")))
        written = documents_of(session, case.id or 0)
        if not written:
            blocks.append(Block("text", _("No written decision yet.")))
        for document in written:
            blocks += [Block("text", _("%(kind)s, made on %(when)s, language: %(lang)s",
                                       kind=_kind_title(document.kind), when=_local(document.made_at, zone),
                                       lang=document.language)),
                       Block("hash", "PDF SHA-256:", ((document.pdf_sha256, ""),)),
                       Block("hash", "DOCX SHA-256:", ((document.docx_sha256, ""),)),
                       Block("hash", _("SHA-256 of the recorded facts:"), ((document.digest, ""),))]
        blocks.append(Block("small", _("Printed by %(tool)s on %(when)s.", tool=made_by(), when=_local(now, zone))))
        pdf = render_pdf(blocks, lang=lang, title=title, subject=title, footer=title)
        return stamp_pdf(pdf, values={"AdalCaseNumber": case.number, "AdalDocumentKind": "case-file"}, title=title,
                         made_at=now)

