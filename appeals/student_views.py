"""The student's side of a commission case (blueprint ``cases``): their cases, one case with the
allegation, the rule, every piece of evidence and the deadlines (S 7.6б, 7.12; S 4.5ә: the
procedure told plainly), the answer (accept or contest, with a statement and files) and an
objection to a member; and the link from the receipt to the case.

Thin views: parse, check, call one service of ``appeals.cases``, render. Every route admits
students only (teachers get 403); a case that is not the student's own answers 404, whether or
not it exists. Before the secretary notifies the student, the case page says only that the work
was referred. A refused form comes back on the case page with each problem beside its field and
nothing stored: the transaction is rolled back and an uploaded file reaches the file store only
after the service accepted the answer that names it.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from appeals.appeal import appeal_of, file_appeal, withdraw_appeal
from appeals.cases import (
    HEARING_NOTICE_WORKING_DAYS,
    MAX_TEXT,
    RESPONSE_WORKING_DAYS,
    CaseConflict,
    case_for,
    eligible_members,
    object_to_member,
    respond,
)
from appeals.effects import send_effects
from appeals.models import (
    APPEAL_GROUNDS,
    Case,
    CaseEffect,
    CaseObjection,
    CaseStatement,
    CommissionMember,
    DecisionDocument,
)
from appeals.queue import APPEAL_GROUND_TITLES, APPEAL_OUTCOME_TITLES, DOCUMENT_TITLES, EFFECT_TITLES
from appeals.timeline import build_timeline
from appeals.workflow import FINAL, State
from attribution.filetypes import ACCEPT_ATTRIBUTE, detect_kind
from attribution.models import Assignment, Submission
from attribution.submissions import safe_name
from evidence.flags import EVIDENCE_KIND_TITLES, GROUND_TITLES, flag_grounds, flag_items
from evidence.models import DraftRequest, DraftUpload, OralDefence, Signal
from evidence.process import CONCLUSION_TITLES, draft_uploads
from evidence.signals import CAVEAT, signal_views
from plugin.kernel.clock import now_utc
from plugin.kernel.errors import InvalidInput, NotFound
from plugin.kernel.settings import get_setting
from plugin.kernel.users import Role, User
from plugin.kernel.web import current_actor, db, error_response, local_time, require_roles, runtime, send_stored_file

bp = Blueprint("cases", __name__, template_folder="templates")
FLASH = "case"
MAX_FILES = 5  # evidence files with one answer

#: Every state in the student's words. Between the finding and the issued decision the student
#: is told only that the decision is being completed: the finding reaches them when it is issued.
STATE_TITLES = {
    State.REFERRED: _l("Referred to the commission: you will be notified"),
    State.NOTIFIED: _l("Waiting for your answer"),
    State.ACCEPTED: _l("You accepted the allegation"),
    State.CONTESTED: _l("You contested the allegation"),
    State.HEARING: _l("Hearing scheduled"),
    State.DELIBERATION: _l("The commission is deciding"),
    State.SANCTIONING: _l("The commission is completing its decision"),
    State.DECIDED: _l("The decision is written and will be issued to you"),
    State.ISSUED: _l("Decision issued: you may appeal"),
    State.APPEALED: _l("You appealed: the commission is forming the appeal panel"),
    State.APPEAL_REVIEW: _l("You appealed: the appeal panel is examining your case"),
    State.CLOSED: _l("Closed: the decision is final"),
    State.APPEAL_DECIDED: _l("Closed: your appeal is decided and the decision is final"),
    State.NOT_RESPONSIBLE: _l("Closed: not responsible"),
    State.WITHDRAWN: _l("Closed: the case was withdrawn"),
}
MEMBER_ROLE_TITLES = {"chair": _l("chair"), "secretary": _l("secretary"), "member": _l("member")}
FINDING_TITLES = {"responsible": _l("Responsible: the commission found that the violation took place"),
                  "not_responsible": _l("Not responsible: the commission did not find that the violation took "
                                        "place")}
#: S 7.7, the default catalogue: what each sanction level means for the student.
SANCTION_TITLES = {0: _l("Level 0: warning"), 1: _l("Level 1: resubmission"),
                   2: _l("Level 2: grade 0 and retaking the course"), 3: _l("Level 3: disciplinary measures")}
SANCTION_MEANINGS = {
    0: _l("No intent was found: an allowed use of AI was not disclosed. You receive a warning and correct the "
          "attribution in your work."),
    1: _l("Part of the content was not your own. You hand in the task again, and points are deducted."),
    2: _l("A substantial part of the content was not your own. The grade for the work is 0, and you retake the "
          "course as the commission decided."),
    3: _l("A systematic or group violation. Disciplinary measures under your institution's charter apply."),
}
OBJECTION_RULINGS = {None: _l("waiting for the chair's ruling"),
                     "upheld": _l("upheld: the member no longer takes part"),
                     "rejected": _l("rejected: the member takes part")}


# -- what happens next --------------------------------------------------------------------------------
@dataclass(frozen=True)
class NextStep:
    who: str
    what: str
    by: datetime | None


def next_step(case: Case, now: datetime) -> NextStep | None:
    """Who acts next in ``case`` and by when (``None`` once the case is closed)."""
    state = State(case.state)
    commission, secretary, you = _("The commission"), _("The commission's secretary"), _("You")
    if state is State.REFERRED:
        return NextStep(secretary, _("tells you the allegation, the evidence and your deadlines"), None)
    if state is State.NOTIFIED:
        if case.response_due_at is not None and now <= case.response_due_at:
            return NextStep(you, _("accept or contest the allegation"), case.response_due_at)
        return NextStep(commission, _("considers the case without your answer: the time to respond has ended"),
                        None)
    if state is State.ACCEPTED:
        return NextStep(commission, _("meets to decide, using the evidence and your answer"), None)
    if state is State.CONTESTED:
        return NextStep(secretary, _("sets the date and place of your hearing"), None)
    if state is State.HEARING:
        return NextStep(_("You and the commission"), _("meet at the hearing"), case.hearing_at)
    if state is State.DELIBERATION:
        return NextStep(commission, _("decides: its members vote and write their reasons"), None)
    if state in (State.SANCTIONING, State.DECIDED):
        return NextStep(commission, _("completes the decision; the secretary then issues it to you"), None)
    if state is State.ISSUED:
        if case.appeal_due_at is not None and now <= case.appeal_due_at:
            return NextStep(you, _("may appeal to the commission if you disagree with the decision"),
                            case.appeal_due_at)
        return NextStep(commission, _("records that the decision is final: the time to appeal has ended"), None)
    if state is State.APPEALED:
        return NextStep(secretary, _("forms the appeal panel from members who did not decide your case"), None)
    if state is State.APPEAL_REVIEW:
        return NextStep(_("The appeal panel"), _("examines the case again and decides on your appeal"), None)
    return None


# -- reading ----------------------------------------------------------------------------------------------
def _own_case(case_id: int) -> Case:
    """The actor's own case; ``NotFound`` for any other, even one they could see in another role."""
    case = case_for(db(), g.actor, case_id)
    if g.actor.user_id is None or case.student_id != g.actor.user_id:
        raise NotFound(_("There is no such case."))
    return case


def _notified(case: Case) -> bool:
    return case.notified_at is not None


@dataclass(frozen=True)
class CaseRow:
    case: Case
    assignment: Assignment | None
    submission: Submission | None
    state_title: str
    next: NextStep | None


def _row(case: Case, now: datetime) -> CaseRow:
    session = db()
    submission = session.get(Submission, case.submission_id)
    assignment = session.get(Assignment, submission.assignment_id) if submission else None
    return CaseRow(case=case, assignment=assignment, submission=submission,
                   state_title=str(STATE_TITLES[State(case.state)]), next=next_step(case, now))


def student_cases_for(submission: Submission | None) -> list[CaseRow]:
    """The cases opened on ``submission``, for the student who handed it in (none for anyone else)."""
    actor = current_actor()
    if (actor is None or submission is None or actor.user_id is None or not actor.has(Role.STUDENT)
            or submission.student_id != actor.user_id):
        return []
    cases = db().execute(select(Case).where(Case.submission_id == submission.id, Case.student_id == actor.user_id)
                         .order_by(Case.opened_at, Case.id)).scalars()
    now = now_utc()
    return [_row(case, now) for case in cases]


@bp.app_context_processor
def _case_helpers() -> dict[str, object]:
    return {"student_cases_for": student_cases_for}


@dataclass(frozen=True)
class Member:
    name: str
    role_title: str
    user_id: int


def _members(case: Case) -> list[Member]:
    """Who will decide: the commission's active members not recused from the case."""
    session = db()
    order = {"chair": 0, "secretary": 1, "member": 2}
    rows: list[CommissionMember] = sorted(eligible_members(session, case), key=lambda m: (order[m.role], m.id))
    people = []
    for row in rows:
        user = session.get(User, row.user_id)
        people.append(Member(name=user.display_name if user else "", role_title=str(MEMBER_ROLE_TITLES[row.role]),
                             user_id=row.user_id))
    return people


def _evidence(case: Case) -> dict[str, Any]:
    """Every piece of evidence of the case's flag, with what each item points at."""
    session = db()
    grounds = flag_grounds(session, case.flag_id)
    items = [item for _ground, found in grounds for item in found]
    signals = [session.get(Signal, item.signal_id) for item in items if item.kind == "signal" and item.signal_id]
    defences = {item.defence_id: session.get(OralDefence, item.defence_id) for item in items
                if item.kind == "defence" and item.defence_id}
    requests = {item.draft_request_id: session.get(DraftRequest, item.draft_request_id) for item in items
                if item.kind == "draft_request" and item.draft_request_id}
    uploads: dict[int, list[DraftUpload]] = {rid: draft_uploads(session, rid) for rid in requests}
    return {"grounds": grounds, "signal_of": {signal.id: (signal, view)
                                              for signal, view in signal_views(session, [s for s in signals if s])},
            "defences": defences, "requests": requests, "uploads": uploads}


def _statements(case: Case) -> list[CaseStatement]:
    return list(db().execute(select(CaseStatement).where(CaseStatement.case_id == case.id)
                             .order_by(CaseStatement.at, CaseStatement.id)).scalars())


def _objections(case: Case) -> list[tuple[CaseObjection, str]]:
    session = db()
    rows = session.execute(select(CaseObjection).where(CaseObjection.case_id == case.id)
                           .order_by(CaseObjection.filed_at, CaseObjection.id)).scalars()
    found = []
    for row in rows:
        user = session.get(User, row.member_user_id)
        found.append((row, user.display_name if user else ""))
    return found


def _documents(case: Case) -> list[DecisionDocument]:
    return list(db().execute(select(DecisionDocument).where(DecisionDocument.case_id == case.id)
                             .order_by(DecisionDocument.id)).scalars())


def _effects(case: Case) -> list[CaseEffect]:
    return list(db().execute(select(CaseEffect).where(CaseEffect.case_id == case.id).order_by(CaseEffect.id)).scalars())


def _case_page(case_id: int, *, errors: dict[str, str] | None = None, values: dict[str, str] | None = None,
               status: int = 200) -> Response:
    case = _own_case(case_id)
    now = now_utc()
    row = _row(case, now)
    appeal = appeal_of(db(), case)
    context: dict[str, Any] = {"row": row, "case": case, "errors": errors or {}, "values": values or {},
                               "timeline": build_timeline(case, appeal, now=now),
                               "notified": _notified(case), "state_titles": STATE_TITLES, "now": now}
    if _notified(case):
        context.update(_evidence(case))
        open_case = State(case.state) not in FINAL
        context.update(
            members=_members(case), statements=_statements(case), objections=_objections(case),
            may_respond=case.state == State.NOTIFIED.value and case.response_due_at is not None
            and now <= case.response_due_at,
            may_object=open_case and case.objection_due_at is not None and now <= case.objection_due_at,
            decision_shown=case.issued_at is not None or case.state == State.NOT_RESPONSIBLE.value,
            appeal=appeal, appeal_ground_titles=APPEAL_GROUND_TITLES,
            appeal_outcome_titles=APPEAL_OUTCOME_TITLES, appeal_grounds=APPEAL_GROUNDS,
            may_appeal=case.state == State.ISSUED.value and case.appeal_due_at is not None
            and now <= case.appeal_due_at,
            effects=_effects(case), effect_titles=EFFECT_TITLES, documents=_documents(case),
            document_titles=DOCUMENT_TITLES,
            finding_titles=FINDING_TITLES, sanction_titles=SANCTION_TITLES,
            sanction_meanings=SANCTION_MEANINGS, objection_rulings=OBJECTION_RULINGS, caveat=CAVEAT,
            ground_titles=GROUND_TITLES, evidence_kind_titles=EVIDENCE_KIND_TITLES,
            conclusion_titles=CONCLUSION_TITLES, max_text=MAX_TEXT, max_files=MAX_FILES, accept=ACCEPT_ATTRIBUTE,
            zone=get_setting(db(), "institution.timezone"),
            appeal_days=get_setting(db(), "appeal.window_working_days"), response_days=RESPONSE_WORKING_DAYS,
            hearing_days=HEARING_NOTICE_WORKING_DAYS, objection_days=get_setting(db(), "case.objection_working_days"))
    html = render_template("appeals/student_case.html", **context)
    return Response(html, status=status, mimetype="text/html")


# -- pages ----------------------------------------------------------------------------------------------
@bp.get("/cases")
@require_roles(Role.STUDENT)
def mine() -> str:
    rows = db().execute(select(Case).where(Case.student_id == g.actor.user_id)
                        .order_by(Case.opened_at.desc(), Case.id.desc())).scalars()
    now = now_utc()
    return render_template("appeals/student_cases.html", rows=[_row(case, now) for case in rows])


@bp.get("/cases/<int:case_id>")
@require_roles(Role.STUDENT)
def case(case_id: int) -> Response:
    return _case_page(case_id)


def _evidence_item_file(case: Case, item_id: int) -> tuple[str, str]:
    if not _notified(case):
        raise NotFound(_("There is no such file."))
    for item in flag_items(db(), case.flag_id):
        if item.id == item_id and item.kind == "file" and item.sha256:
            return item.sha256, item.name or "evidence"
    raise NotFound(_("There is no such file."))


def _download(sha256: str, name: str) -> Response:
    return send_stored_file(sha256, name)


@bp.get("/cases/<int:case_id>/evidence/<int:item_id>")
@require_roles(Role.STUDENT)
def evidence_file(case_id: int, item_id: int) -> Response:
    """A file evidence item of this case's flag; 404 for any other item, or before notification."""
    return _download(*_evidence_item_file(_own_case(case_id), item_id))


@bp.get("/cases/<int:case_id>/statements/<int:statement_id>")
@require_roles(Role.STUDENT)
def statement_file(case_id: int, statement_id: int) -> Response:
    """A file the student sent with their answer."""
    case = _own_case(case_id)
    row = db().get(CaseStatement, statement_id)
    if row is None or row.case_id != case.id or not row.sha256:
        raise NotFound(_("There is no such file."))
    return _download(row.sha256, row.name or "evidence")


# -- answering ------------------------------------------------------------------------------------------
def _save_files(files: list[FileStorage], folder: Path) -> tuple[list[tuple[Path, str, str]], str | None]:
    """The uploads saved to ``folder`` and checked by content: [(path, safe name, SHA-256)]."""
    chosen = [storage for storage in files if storage and storage.filename]
    if len(chosen) > MAX_FILES:
        return [], _("Attach at most %(n)d files.", n=MAX_FILES)
    saved = []
    for index, storage in enumerate(chosen):
        name = safe_name(storage.filename or "evidence")
        path = folder / f"evidence{index}"
        storage.save(path)
        try:
            detect_kind(path, name)
        except InvalidInput as exc:
            return [], str(exc)
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            while block := handle.read(1024 * 1024):
                digest.update(block)
        saved.append((path, name, digest.hexdigest()))
    return saved, None


def _store(saved: list[tuple[Path, str, str]]) -> None:
    """Stored only once the answer or appeal naming the files was accepted: a refused form leaves
    no file behind."""
    for path, _name, _sha256 in saved:
        with open(path, "rb") as handle:
            runtime().files.put_stream(handle)


def _version(raw: str) -> int | None:
    return int(raw) if raw.isdecimal() and len(raw) < 10 else None


def _refused(case_id: int, errors: dict[str, str], values: dict[str, str], status: int = 400) -> Response:
    # A service may have added rows before it refused (a stale page, a passed deadline): nothing stays.
    db().rollback()
    return _case_page(case_id, errors=errors, values=values, status=status)


@bp.post("/cases/<int:case_id>/respond")
@require_roles(Role.STUDENT)
def respond_view(case_id: int) -> Response:
    session, now = db(), now_utc()
    case = _own_case(case_id)
    if not _notified(case):
        raise NotFound(_("There is no such case."))
    form = request.form
    values = {"decision": form.get("decision", ""), "statement": form.get("statement", "")}
    errors: dict[str, str] = {}
    decision, statement = values["decision"], values["statement"]
    if decision not in ("accept", "contest"):
        errors["decision"] = _("Choose whether you accept or contest the allegation.")
    if len(statement) > MAX_TEXT:
        errors["statement"] = _("Your statement is too long: at most %(n)d characters.", n=MAX_TEXT)
    elif decision == "contest" and not statement.strip():
        errors["statement"] = _("Say in your own words why you contest the allegation.")
    version = _version(form.get("expected_version", ""))
    if version is None:
        return error_response(400)
    if case.state != State.NOTIFIED.value and case.responded_at is not None:
        return _refused(case_id, {"form": _("You already answered on %(when)s.", when=local_time(case.responded_at))},
                        values)
    if State(case.state) in FINAL:
        return _refused(case_id, {"form": _("The case is closed: there is nothing left to answer.")}, values)
    with tempfile.TemporaryDirectory(prefix="adal-case-") as folder:
        saved, problem = _save_files(request.files.getlist("files"), Path(folder))
        if problem:
            errors["files"] = problem
        if errors:
            return _refused(case_id, errors, values)
        try:
            respond(session, g.actor, case.id or 0, accept=decision == "accept", statement=statement,
                    expected_version=version, now=now, evidence=[(sha256, name) for _path, name, sha256 in saved])
        except CaseConflict as exc:
            return _refused(case_id, {"form": str(exc)}, values, status=409)
        except InvalidInput as exc:  # the deadline passed (the message names the date)
            return _refused(case_id, {"form": str(exc)}, values)
        _store(saved)
    flash(_("Your answer was sent to the commission: you accepted the allegation.") if decision == "accept"
          else _("Your answer was sent to the commission: you contested the allegation. The secretary will set the "
                 "date of your hearing."), FLASH)
    return redirect(url_for("cases.case", case_id=case_id, _anchor="answer-title"), code=303)


@bp.post("/cases/<int:case_id>/objections")
@require_roles(Role.STUDENT)
def object_view(case_id: int) -> Response:
    session, now = db(), now_utc()
    case = _own_case(case_id)
    if not _notified(case):
        raise NotFound(_("There is no such case."))
    values = {"member": request.form.get("member", ""), "grounds": request.form.get("grounds", "")}
    if State(case.state) in FINAL:  # the service checks only the date; a closed case has nobody left to object to
        return _refused(case_id, {"form": _("The case is closed: objections to members are no longer possible.")},
                        values)
    errors: dict[str, str] = {}
    members = {m.user_id for m in eligible_members(session, case)}
    member = int(values["member"]) if values["member"].isdecimal() and len(values["member"]) < 10 else None
    if member is None or member not in members:
        errors["member"] = _("Choose a member of the commission from the list.")
    else:
        pending = session.execute(select(CaseObjection.id).where(
            CaseObjection.case_id == case.id, CaseObjection.member_user_id == member,
            CaseObjection.ruling.is_(None))).first()
        if pending is not None:
            errors["member"] = _("You have already objected to this member; the chair will rule on it.")
    grounds = values["grounds"]
    if not grounds.strip():
        errors["grounds"] = _("Say why this member should not decide your case.")
    elif len(grounds) > MAX_TEXT:
        errors["grounds"] = _("At most %(n)d characters.", n=MAX_TEXT)
    if errors:
        return _refused(case_id, errors, values)
    assert member is not None
    try:
        object_to_member(session, g.actor, case.id or 0, member_user_id=member, grounds=grounds, now=now)
    except InvalidInput as exc:  # the time to object has ended (the message names the date)
        return _refused(case_id, {"form": str(exc)}, values)
    flash(_("Your objection was sent. The commission's chair will rule on it and tell you the reasons."), FLASH)
    return redirect(url_for("cases.case", case_id=case_id, _anchor="members-title"), code=303)


# -- the appeal -----------------------------------------------------------------------------------------
@bp.post("/cases/<int:case_id>/appeal")
@require_roles(Role.STUDENT)
def appeal_view(case_id: int) -> Response:
    """File an appeal within the window, on stated grounds, with a statement and files. A late
    appeal is refused naming the closing date; nothing is stored then."""
    session, now = db(), now_utc()
    case = _own_case(case_id)
    if not _notified(case):
        raise NotFound(_("There is no such case."))
    form = request.form
    grounds = form.getlist("appeal_grounds")
    values = {"appeal_statement": form.get("appeal_statement", ""), "appeal_grounds": ",".join(grounds)}
    errors: dict[str, str] = {}
    if not grounds or any(ground not in APPEAL_GROUNDS for ground in grounds):
        errors["appeal_grounds"] = _("Choose at least one ground for the appeal.")
    statement = values["appeal_statement"]
    if not statement.strip():
        errors["appeal_statement"] = _("Explain in your own words why the decision should change.")
    elif len(statement) > MAX_TEXT:
        errors["appeal_statement"] = _("At most %(n)d characters.", n=MAX_TEXT)
    version = _version(form.get("expected_version", ""))
    if version is None:
        return error_response(400)
    with tempfile.TemporaryDirectory(prefix="adal-appeal-") as folder:
        saved, problem = _save_files(request.files.getlist("appeal_files"), Path(folder))
        if problem:
            errors["appeal_files"] = problem
        if errors:
            return _refused(case_id, errors, values)
        try:
            file_appeal(session, g.actor, case.id or 0, grounds=grounds, statement=statement,
                        expected_version=version, now=now, evidence=[(sha256, name) for _path, name, sha256 in saved])
        except CaseConflict as exc:
            return _refused(case_id, {"appeal": str(exc)}, values, status=409)
        except InvalidInput as exc:  # the window has closed (the message names the date)
            return _refused(case_id, {"appeal": str(exc)}, values)
        _store(saved)
    flash(_("Your appeal was sent. The sanction is paused until the appeal panel decides."), FLASH)
    return redirect(url_for("cases.case", case_id=case_id, _anchor="appeal-title"), code=303)


@bp.post("/cases/<int:case_id>/appeal/withdraw")
@require_roles(Role.STUDENT)
def withdraw_appeal_view(case_id: int) -> Response:
    session = db()
    case = _own_case(case_id)
    version = _version(request.form.get("expected_version", ""))
    if version is None:
        return error_response(400)
    try:
        withdraw_appeal(session, g.actor, case.id or 0, expected_version=version, now=now_utc())
    except CaseConflict as exc:
        return _refused(case_id, {"appeal": str(exc)}, {}, status=409)
    except InvalidInput as exc:
        return _refused(case_id, {"appeal": str(exc)}, {})
    session.commit()  # the decision is final before the LMS hears of it
    send_effects(runtime(), case_id, now=now_utc())
    flash(_("You withdrew your appeal. The decision is final."), FLASH)
    return redirect(url_for("cases.case", case_id=case_id, _anchor="appeal-title"), code=303)
