"""The teacher's evidence pages (blueprint ``flags``): signals entered by hand or uploaded as a
vendor's JSON, the suspicion flag (S 7.6ә) with its grounds and evidence, referral to the
commission (refused while the only evidence is a detector signal), the informal close, the
course's "teaching assistants may flag" setting; and the data the partials on the teacher's
submission page and on the student's receipt read through the context processor.

Thin views: parse the form, call one service, render. Every route admits teachers only
(``require_roles``); the services check the course (``NotFound`` → 404 for another course's ids)
and the course policy (``NotPermitted`` → 403 for a teaching assistant the course withholds
flagging from). A refused form comes back with each error beside its field and nothing stored:
an uploaded file reaches the file store only after the service accepted the row that names it.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, time
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.datastructures import FileStorage

from attribution.filetypes import detect_kind
from attribution.models import Assignment, Submission
from attribution.submissions import FieldErrors, safe_name
from attribution.teaching import parse_local
from evidence.flags import (
    EVIDENCE_KIND_TITLES,
    GROUND_HINTS,
    GROUND_TITLES,
    MAX_TEXT,
    STATE_TITLES,
    FlagStatus,
    GroundInput,
    NotReferable,
    add_ground,
    attach_evidence,
    close_flag,
    draft_requests_of,
    evidence_file,
    flag_grounds,
    flag_status,
    flag_suspicion,
    flags_of_submission,
    may_flag,
    recorded_defences,
    refer_flag,
    referred_flags,
    set_course_policy,
    submission_in_course,
    ta_may_flag,
    visible_flag,
)
from evidence.models import GROUNDS, SIGNAL_KINDS, Signal
from evidence.signals import (
    CAVEAT,
    KIND_TITLES,
    MatchedSource,
    SignalInput,
    SignalView,
    record_signal,
    record_vendor_report,
    signal_views,
    visible_signals,
)
from evidence.vendors import MAX_REPORT_BYTES, VENDORS, VendorFormatError
from plugin.kernel.clock import now_utc
from plugin.kernel.errors import AdalError, InvalidInput, NotFound, NotPermitted
from plugin.kernel.settings import get_setting
from plugin.kernel.users import Actor, Role, User
from plugin.kernel.web import db, error_response, local_time, require_roles, runtime, send_stored_file

bp = Blueprint("flags", __name__, template_folder="templates")
FLASH = "teach"  # the teacher's pages show this category (attribution/teach_fields.html: flashes)
VENDOR_TITLES = {"gptzero": "GPTZero", "copyleaks": "Copyleaks"}
#: The service's field names → the ids of the fields on the manual form and on the upload form.
ENTRY_FIELDS = {"kind": "signal_kind", "vendor": "signal_vendor", "product": "signal_product",
                "model_version": "signal_model_version", "score": "signal_score", "scanned_at": "signal_date",
                "report_url": "signal_report_url", "report": "signal_report_url", "matched_sources": "signal_sources"}
UPLOAD_FIELDS = {"scanned_at": "report_date"}
ENTRY_KEYS = ("signal_kind", "signal_vendor", "signal_product", "signal_model_version", "signal_score",
              "signal_date", "signal_time", "signal_report_url", "signal_sources")
EVIDENCE_FORMS = ("file", "signal", "record", "note")


def _page(template: str, status: int = 200, **context: Any) -> Response:
    return Response(render_template(f"evidence/{template}", **context), status=status, mimetype="text/html")


def _zone() -> str:
    return str(get_setting(db(), "institution.timezone"))


def _student_of(submission: Submission) -> User | None:
    return db().get(User, submission.student_id)


# -- what the partials read --------------------------------------------------------------------------
@dataclass(frozen=True)
class TeacherEvidence:
    signals: list[tuple[Signal, SignalView]]
    flags: list[FlagStatus]
    may_flag: bool


@dataclass(frozen=True)
class PolicyView:
    ta_may_flag: bool
    may_change: bool


def _actor() -> Actor | None:
    return g.get("actor")


def teacher_evidence(submission: Submission) -> TeacherEvidence | None:
    """Signals and flags of ``submission`` for a teacher of its course; ``None`` for anyone else."""
    actor, session = _actor(), db()
    if actor is None or not actor.has(Role.TEACHER):
        return None
    cache = g.setdefault("teacher_evidence", {})  # both partials of one page ask
    if submission.id in cache:
        return cache[submission.id]  # type: ignore[no-any-return]
    try:
        _found, assignment = submission_in_course(session, actor, submission.id or 0)
    except AdalError:
        return None
    signals = signal_views(session, visible_signals(session, actor, submission.id or 0))
    flags = [flag_status(session, flag) for flag in flags_of_submission(session, submission.id or 0)]
    found = TeacherEvidence(signals=signals, flags=flags, may_flag=may_flag(session, actor, assignment.course_id))
    cache[submission.id] = found
    return found


def student_flags(submission: Submission) -> list[Any]:
    """Referred flags on ``submission`` for its student (or a teacher of the course), else none."""
    actor, session = _actor(), db()
    if actor is None:
        return []
    assignment = session.get(Assignment, submission.assignment_id)
    if assignment is None:
        return []
    return referred_flags(session, actor, submission, assignment.course_id)


def flag_policy() -> PolicyView | None:
    actor = _actor()
    if actor is None or not actor.has(Role.TEACHER) or actor.course_id is None:
        return None
    return PolicyView(ta_may_flag=ta_may_flag(db(), actor.course_id), may_change=not actor.is_ta)


@bp.app_context_processor
def _evidence_helpers() -> dict[str, object]:
    return {"teacher_evidence": teacher_evidence, "student_flags": student_flags, "flag_policy": flag_policy,
            "ground_titles": GROUND_TITLES, "flag_state_titles": STATE_TITLES,
            "evidence_kind_titles": EVIDENCE_KIND_TITLES, "signal_kind_titles": KIND_TITLES,
            "signal_vendors": [(code, VENDOR_TITLES.get(code, code)) for code in VENDORS],
            "signal_report_max_kb": MAX_REPORT_BYTES // 1024}


# -- signals ---------------------------------------------------------------------------------------
def _percent(text: str) -> float | None:
    cleaned = text.strip().removesuffix("%").strip().replace(",", ".")
    try:
        return float(cleaned)
    except ValueError:
        return None


def _sources(text: str) -> tuple[tuple[MatchedSource, ...], str | None]:
    """Matched sources typed one per line as "title | address | percent" (the address optional)."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = [part.strip() for part in line.split("|")]
        if len(parts) not in (2, 3):
            return (), _("Line %(n)d: write the title, the address (optional) and the percentage, separated by "
                         "\"|\".", n=number)
        percent = _percent(parts[-1])
        if percent is None:
            return (), _("Line %(n)d: the last part must be a percentage.", n=number)
        found.append(MatchedSource(title=parts[0], url=(parts[1] or None) if len(parts) == 3 else None,
                                   percent=percent))
    return tuple(found), None


def _entry_from(form: Any, zone: str, now: datetime) -> tuple[SignalInput | None, dict[str, str]]:
    errors: dict[str, str] = {}
    kind = form.get("signal_kind", "")
    if kind not in SIGNAL_KINDS:
        errors["signal_kind"] = _("Choose detector or originality.")
    score = _percent(form.get("signal_score", ""))
    if score is None:
        errors["signal_score"] = _("Give a percentage from 0 to 100.")
    try:
        scanned_at = parse_local(form.get("signal_date", ""), form.get("signal_time", ""), zone,
                                 default_time=time(0, 0))
    except ValueError:
        scanned_at = None
        errors["signal_date"] = _("Give the date of the scan as a calendar date, and the time as hours and minutes.")
    else:
        if scanned_at is None:
            errors["signal_date"] = _("Give the date of the scan.")
    sources, problem = _sources(form.get("signal_sources", ""))
    if problem:
        errors["signal_sources"] = problem
    if errors:
        return None, errors
    assert score is not None and scanned_at is not None
    return SignalInput(kind=kind, vendor=form.get("signal_vendor", ""), product=form.get("signal_product", ""),
                       model_version=form.get("signal_model_version", ""), score=score, scanned_at=scanned_at,
                       report_url=form.get("signal_report_url", "").strip() or None, matched_sources=sources), {}


def _signal_form_page(submission: Submission, assignment: Assignment, *, values: dict[str, str],
                      errors: dict[str, str], status: int = 200) -> Response:
    return _page("signal_form.html", status, submission=submission, assignment=assignment,
                 student=_student_of(submission), values=values, errors=errors, zone=_zone(),
                 kind_titles=KIND_TITLES, vendors=[(code, VENDOR_TITLES.get(code, code)) for code in VENDORS],
                 max_report_kb=MAX_REPORT_BYTES // 1024)


@bp.get("/s/<int:submission_id>/signals/new")
@require_roles(Role.TEACHER)
def new_signal(submission_id: int) -> Response:
    submission, assignment = submission_in_course(db(), g.actor, submission_id)
    return _signal_form_page(submission, assignment, values={}, errors={})


@bp.post("/s/<int:submission_id>/signals")
@require_roles(Role.TEACHER)
def enter_signal(submission_id: int) -> Response:
    session, now = db(), now_utc()
    submission, assignment = submission_in_course(session, g.actor, submission_id)
    values = {key: request.form.get(key, "") for key in ENTRY_KEYS}
    data, errors = _entry_from(request.form, _zone(), now)
    if data is not None:
        try:
            record_signal(session, g.actor, submission_id, data, now=now, source="manual")
        except FieldErrors as exc:
            errors = {ENTRY_FIELDS.get(key, "signal_kind"): message for key, message in exc.errors.items()}
    if errors:
        return _signal_form_page(submission, assignment, values=values, errors=errors, status=400)
    flash(_("The signal is recorded. It is a signal, not proof: check the work yourself."), FLASH)
    return redirect(url_for("teach.submission", submission_id=submission_id, _anchor="signals-title"), code=303)


def _read_upload(storage: FileStorage | None) -> tuple[bytes | None, str | None]:
    if storage is None or not storage.filename:
        return None, _("Choose the JSON file you exported from the detector.")
    raw = storage.stream.read(MAX_REPORT_BYTES + 1)
    if not raw:
        return None, _("The file is empty.")
    if len(raw) > MAX_REPORT_BYTES:
        return None, _("The report is larger than %(kb)d KB.", kb=MAX_REPORT_BYTES // 1024)
    return raw, None


@bp.post("/s/<int:submission_id>/signals/upload")
@require_roles(Role.TEACHER)
def upload_signal(submission_id: int) -> Response:
    session, now = db(), now_utc()
    submission, assignment = submission_in_course(session, g.actor, submission_id)
    form = request.form
    values = {key: form.get(key, "") for key in ("report_vendor", "report_date", "report_time")}
    errors: dict[str, str] = {}
    vendor = values["report_vendor"] or None
    if vendor is not None and vendor not in VENDORS:
        errors["report_vendor"] = _("Choose the detector from the list.")
    try:
        scanned_at = parse_local(values["report_date"], values["report_time"], _zone(), default_time=time(0, 0))
    except ValueError:
        scanned_at, errors["report_date"] = None, _("Give the date of the scan as a calendar date, and the time as "
                                                    "hours and minutes.")
    raw, problem = _read_upload(request.files.get("report_file"))
    if problem:
        errors["report_file"] = problem
    created = False
    if not errors and raw is not None:
        storage = request.files["report_file"]
        try:
            _signal, created = record_vendor_report(session, g.actor, submission_id, raw, now=now,
                                                    name=safe_name(storage.filename or "report.json"),
                                                    vendor=vendor, scanned_at=scanned_at)
        except VendorFormatError as exc:
            errors["report_file"] = _("Adal cannot read this report. The field that is wrong: %(detail)s",
                                      detail=str(exc))
        except FieldErrors as exc:
            errors = {UPLOAD_FIELDS.get(key, "report_file"): message for key, message in exc.errors.items()}
        except InvalidInput as exc:  # the scan id was already sent for another submission
            errors["report_file"] = str(exc)
    if errors:
        return _signal_form_page(submission, assignment, values=values, errors=errors, status=400)
    flash(_("The vendor's report is recorded as a signal. It is a signal, not proof: check the work yourself.")
          if created else _("This report was already recorded for this submission; nothing changed."), FLASH)
    return redirect(url_for("teach.submission", submission_id=submission_id, _anchor="signals-title"), code=303)


# -- opening a flag ----------------------------------------------------------------------------------
def _flag_form_page(submission: Submission, assignment: Assignment, *, values: dict[str, Any],
                    errors: dict[str, str], status: int = 200) -> Response:
    return _page("flag_new.html", status, submission=submission, assignment=assignment,
                 student=_student_of(submission), values=values, errors=errors,
                 grounds=[(code, GROUND_TITLES[code], GROUND_HINTS[code]) for code in GROUNDS], max_text=MAX_TEXT)


def _check_may_flag(session: Any, course_id: int) -> None:
    if not may_flag(session, g.actor, course_id):
        raise NotPermitted(_("This course does not let teaching assistants flag work."))


@bp.route("/s/<int:submission_id>/flag", methods=["GET", "POST"])
@require_roles(Role.TEACHER)
def new_flag(submission_id: int) -> Response:
    session = db()
    submission, assignment = submission_in_course(session, g.actor, submission_id)
    _check_may_flag(session, assignment.course_id)
    if request.method == "GET":
        return _flag_form_page(submission, assignment, values={"grounds": []}, errors={})
    form = request.form
    asked = form.getlist("ground")
    chosen = [code for code in GROUNDS if code in asked]
    values: dict[str, Any] = {"grounds": chosen, **{f"desc_{code}": form.get(f"desc_{code}", "") for code in GROUNDS}}
    errors: dict[str, str] = {}
    if set(asked) - set(GROUNDS):
        errors["grounds"] = _("Choose grounds from the list.")
    elif not chosen:
        errors["grounds"] = _("Choose at least one ground.")
    for code in chosen:
        text = values[f"desc_{code}"].strip()
        if not text:
            errors[f"desc_{code}"] = _("Describe this ground in your own words: %(ground)s.",
                                       ground=GROUND_TITLES[code])
        elif len(text) > MAX_TEXT:
            errors[f"desc_{code}"] = _("At most %(n)d characters.", n=MAX_TEXT)
    if errors:
        return _flag_form_page(submission, assignment, values=values, errors=errors, status=400)
    try:
        flag = flag_suspicion(session, g.actor, submission_id,
                              [GroundInput(code, values[f"desc_{code}"]) for code in chosen], now=now_utc())
    except InvalidInput as exc:
        return _flag_form_page(submission, assignment, values=values, errors={"grounds": str(exc)}, status=400)
    flash(_("The flag is opened. Attach the evidence for each ground: a detector signal alone can never be "
            "referred."), FLASH)
    return redirect(url_for("flags.flag", flag_id=flag.id), code=303)


# -- the flag page -----------------------------------------------------------------------------------
@dataclass
class _EvidenceChoices:
    signals: list[tuple[Signal, SignalView]] = field(default_factory=list)
    records: list[tuple[str, str]] = field(default_factory=list)  # (value, label)


def _choices(session: Any, submission: Submission, zone_local: Any) -> _EvidenceChoices:
    choices = _EvidenceChoices(signals=signal_views(session, visible_signals(session, g.actor, submission.id or 0)))
    for defence in recorded_defences(session, submission.id or 0):
        choices.records.append((f"defence:{defence.id}", _("Oral defence of %(when)s (recorded)",
                                                            when=zone_local(defence.scheduled_for))))
    for asked in draft_requests_of(session, submission.id or 0):
        state = (_("answered %(when)s", when=zone_local(asked.answered_at)) if asked.answered_at
                 else _("not answered"))
        choices.records.append((f"draft_request:{asked.id}", _("Request for drafts due %(due)s (%(state)s)",
                                                                 due=zone_local(asked.due_at), state=state)))
    return choices


def _flag_page(flag_id: int, *, errors: dict[str, str] | None = None, values: dict[str, str] | None = None,
               status: int = 200) -> Response:
    session = db()
    flag, submission, assignment = visible_flag(session, g.actor, flag_id)
    grounds = flag_grounds(session, flag.id or 0)
    choices = _choices(session, submission, local_time)
    used = [session.get(Signal, item.signal_id) for _ground, items in grounds for item in items
            if item.kind == "signal" and item.signal_id]
    signal_of = {signal.id: (signal, view) for signal, view in signal_views(session, [s for s in used if s])}
    defences = {d.id: d for d in recorded_defences(session, submission.id or 0)}
    requests = {r.id: r for r in draft_requests_of(session, submission.id or 0)}
    return _page("flag.html", status, flag=flag, status_of=flag_status(session, flag), grounds=grounds,
                 submission=submission, assignment=assignment, student=_student_of(submission),
                 choices=choices, signal_of=signal_of, defences=defences, requests=requests,
                 errors=errors or {}, values=values or {}, max_text=MAX_TEXT, caveat=CAVEAT,
                 all_grounds=[(code, GROUND_TITLES[code], GROUND_HINTS[code]) for code in GROUNDS])


@bp.get("/flags/<int:flag_id>")
@require_roles(Role.TEACHER)
def flag(flag_id: int) -> Response:
    return _flag_page(flag_id)


@bp.post("/flags/<int:flag_id>/grounds")
@require_roles(Role.TEACHER)
def new_ground(flag_id: int) -> Response:
    session = db()
    visible_flag(session, g.actor, flag_id)
    values = {"new_ground": request.form.get("new_ground", ""),
              "new_ground_description": request.form.get("new_ground_description", "")}
    errors: dict[str, str] = {}
    if values["new_ground"] not in GROUNDS:
        errors["new_ground"] = _("Choose a ground from the list.")
    text = values["new_ground_description"].strip()
    if not text:
        errors["new_ground_description"] = _("Describe the ground in your own words.")
    elif len(text) > MAX_TEXT:
        errors["new_ground_description"] = _("At most %(n)d characters.", n=MAX_TEXT)
    if not errors:
        try:
            add_ground(session, g.actor, flag_id, GroundInput(values["new_ground"], text), now=now_utc())
        except InvalidInput as exc:
            errors["new_ground"] = str(exc)
    if errors:
        return _flag_page(flag_id, errors=errors, values=values, status=400)
    flash(_("The ground is added. Attach its evidence."), FLASH)
    return redirect(url_for("flags.flag", flag_id=flag_id, _anchor="grounds-title"), code=303)


def _ground_id(raw: str, flag_id: int) -> int | None:
    """The chosen ground, if it is one of this flag's; ``None`` when none was chosen. A ground of
    another flag is answered like one that does not exist."""
    if not raw.strip():
        return None
    ids = {ground.id for ground, _items in flag_grounds(db(), flag_id)}
    if not raw.isdecimal() or int(raw) not in ids:
        raise NotFound(_("There is no such ground."))
    return int(raw)


@bp.post("/flags/<int:flag_id>/evidence")
@require_roles(Role.TEACHER)
def new_evidence(flag_id: int) -> Response:
    session, now = db(), now_utc()
    visible_flag(session, g.actor, flag_id)
    form = request.form
    kind = form.get("kind", "")
    if kind not in EVIDENCE_FORMS:
        return error_response(400, _("Choose a kind of evidence from the list."))
    prefix = f"ev_{kind}"
    values = {key: form.get(key, "") for key in (f"{prefix}_ground", f"{prefix}_description", prefix)}
    values["form"] = kind
    errors: dict[str, str] = {}
    ground_id = _ground_id(values[f"{prefix}_ground"], flag_id)
    if ground_id is None:
        errors[f"{prefix}_ground"] = _("Choose the ground this evidence supports.")
    description = values[f"{prefix}_description"]
    if not description.strip():
        errors[f"{prefix}_description"] = (_("Write the note.") if kind == "note"
                                           else _("Say in a sentence what this evidence shows."))
    elif len(description) > MAX_TEXT:
        errors[f"{prefix}_description"] = _("At most %(n)d characters.", n=MAX_TEXT)
    target: dict[str, Any] = {}
    if kind == "signal":
        chosen = values[prefix]
        if not chosen.isdecimal():
            errors[prefix] = _("Choose one of this submission's signals.")
        else:
            target = {"kind": "signal", "signal_id": int(chosen)}
    elif kind == "record":
        which, _sep, number = values[prefix].partition(":")
        if which not in ("defence", "draft_request") or not number.isdecimal():
            errors[prefix] = _("Choose a recorded oral defence or a request for drafts.")
        else:
            target = {"kind": which, f"{which}_id": int(number)}
    elif kind == "note":
        target = {"kind": "note"}
    with tempfile.TemporaryDirectory(prefix="adal-evidence-") as folder:
        upload = None
        if kind == "file":
            upload, problem = _save_evidence_file(request.files.get(prefix), Path(folder))
            if problem:
                errors[prefix] = problem
            elif upload is not None:
                target = {"kind": "file", "sha256": upload[2], "name": upload[1]}
        if errors:
            return _flag_page(flag_id, errors=errors, values=values, status=400)
        assert ground_id is not None
        try:
            attach_evidence(session, g.actor, ground_id, description=description, now=now, **target)
        except InvalidInput as exc:
            return _flag_page(flag_id, errors={f"{prefix}_description": str(exc)}, values=values, status=400)
        if upload is not None:
            # Stored only now that the row naming it is accepted: a refused form leaves no file behind.
            with open(upload[0], "rb") as handle:
                runtime().files.put_stream(handle)
    flash(_("The evidence is attached."), FLASH)
    return redirect(url_for("flags.flag", flag_id=flag_id, _anchor="referral-title"), code=303)


def _save_evidence_file(storage: FileStorage | None, folder: Path) -> tuple[tuple[Path, str, str] | None, str | None]:
    """The upload saved to ``folder`` and checked by content: (path, safe name, SHA-256)."""
    if storage is None or not storage.filename:
        return None, _("Choose a file.")
    name = safe_name(storage.filename)
    path = folder / "evidence"
    storage.save(path)
    try:
        detect_kind(path, name)
    except InvalidInput as exc:
        return None, str(exc)
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1024 * 1024):
            digest.update(block)
    return (path, name, digest.hexdigest()), None


@bp.get("/flags/<int:flag_id>/evidence/<int:item_id>")
@require_roles(Role.TEACHER)
def evidence_download(flag_id: int, item_id: int) -> Response:
    item = evidence_file(db(), g.actor, flag_id, item_id)
    return send_stored_file(item.sha256, item.name or "evidence")


@bp.post("/flags/<int:flag_id>/refer")
@require_roles(Role.TEACHER)
def refer(flag_id: int) -> Response:
    try:
        refer_flag(db(), g.actor, flag_id, now=now_utc())
    except NotReferable as exc:
        return _flag_page(flag_id, errors={"refer": str(exc)}, status=exc.status)
    flash(_("The flag is referred to the integrity commission. The commission decides; the student will be told "
            "the allegation, the evidence and the deadline to respond."), FLASH)
    return redirect(url_for("flags.flag", flag_id=flag_id), code=303)


@bp.post("/flags/<int:flag_id>/close")
@require_roles(Role.TEACHER)
def close(flag_id: int) -> Response:
    session = db()
    visible_flag(session, g.actor, flag_id)
    values = {"outcome": request.form.get("outcome", ""), "close_note": request.form.get("close_note", "")}
    errors: dict[str, str] = {}
    if values["outcome"] not in ("closed_informal", "withdrawn"):
        errors["outcome"] = _("Choose how the flag ends.")
    note = values["close_note"].strip()
    if not note:
        errors["close_note"] = _("Write a short note on why.")
    elif len(note) > MAX_TEXT:
        errors["close_note"] = _("At most %(n)d characters.", n=MAX_TEXT)
    if not errors:
        try:
            close_flag(session, g.actor, flag_id, outcome=values["outcome"], note=note, now=now_utc())
        except InvalidInput as exc:
            errors["outcome"] = str(exc)
    if errors:
        return _flag_page(flag_id, errors=errors, values=values, status=400)
    flash(_("The flag is closed after an informal talk. It is recorded; it is not a sanction.")
          if values["outcome"] == "closed_informal" else _("The flag is withdrawn."), FLASH)
    return redirect(url_for("flags.flag", flag_id=flag_id), code=303)


# -- the course's setting ----------------------------------------------------------------------------
@bp.post("/course/flag-policy")
@require_roles(Role.TEACHER)
def policy() -> Response:
    choice = request.form.get("ta_may_flag", "")
    if choice not in ("0", "1"):
        return error_response(400, _("Choose whether teaching assistants may flag work."))
    set_course_policy(db(), g.actor, ta_may_flag=choice == "1", now=now_utc())
    flash(_("Teaching assistants of this course may now flag work.") if choice == "1"
          else _("Teaching assistants of this course can no longer flag work; teachers still can."), FLASH)
    back = request.form.get("back", "")
    if back.isdecimal():
        return redirect(url_for("teach.submissions", assignment_id=int(back), _anchor="flag-policy-title"), code=303)
    return redirect(url_for("core.index"), code=303)
