"""Process evidence (S 7.5): drafts the teacher asks for, oral defences, and the informal request
to correct an incomplete attribution (S 9.4 level 1: recorded, not a sanction).

Everything here is something the student is told about and chooses to share: Adal captures
nothing covertly (S 3.1a): no keystrokes, screen, camera or network activity, only files and
words the student hands in and the records the teacher writes openly.

Who may: a teacher of the submission's course asks, schedules and records (teaching assistants
too, unless the course withholds flagging from them: these are the steps that lead to a flag).
Only the student who handed the work in answers, and only they see the requests, beside their
receipt. Services take the session and the actor, check permission, change rows, write the
audit entry and never commit. Files reach the store only after every check has passed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlmodel import Session

from attribution.filetypes import detect_kind
from attribution.models import Assignment, Submission, SubmissionFile
from attribution.provenance import Limits
from attribution.submissions import (
    FieldErrors,
    Upload,
    check_drafts_url,
    effective_due,
    safe_name,
    submission_files,
)
from attribution.teaching import MAX_REASON, local_text, reopen_for_student
from evidence.flags import may_flag, submission_in_course
from evidence.models import DEFENCE_CONCLUSIONS, AttributionFixRequest, DraftRequest, DraftUpload, OralDefence
from plugin.kernel import audit
from plugin.kernel.errors import InvalidInput, NotFound, NotPermitted
from plugin.kernel.runtime import runtime_of
from plugin.kernel.settings import get_setting
from plugin.kernel.users import Actor, Role

MAX_MESSAGE = 5_000
MAX_NOTE = MAX_REASON  # an attribution fix's note is also the reopening's reason
MAX_ANSWER_NOTE = 2_000
MAX_RECORD = 20_000
MAX_PLACE = 300
MAX_DRAFT_FILES = 10
#: The furthest ahead a deadline or a defence may be set: beyond a year it is a typing mistake.
FURTHEST = timedelta(days=366)

# Statuses, computed from the rows and the time: nothing is written when a deadline passes.
WAITING, ANSWERED, UNANSWERED = "waiting", "answered", "unanswered"
SCHEDULED, TO_RECORD, RECORDED = "scheduled", "to_record", "recorded"
RESOLVED, OVERDUE = "resolved", "overdue"

CONCLUSION_TITLES = {
    "confirmed": _l("Authorship confirmed"),
    "not_confirmed": _l("Authorship not confirmed"),
    "inconclusive": _l("Inconclusive"),
}


# -- pure rules ------------------------------------------------------------------------------------
def draft_status(request: DraftRequest, now: datetime) -> str:
    """``answered``; ``unanswered`` once the deadline passed without an answer (evidence a flag can
    cite); ``waiting`` before it."""
    if request.answered_at is not None:
        return ANSWERED
    return UNANSWERED if now > request.due_at else WAITING


def defence_status(defence: OralDefence, now: datetime) -> str:
    """``recorded``; ``to_record`` from its scheduled time; ``scheduled`` before."""
    if defence.recorded_at is not None:
        return RECORDED
    return TO_RECORD if now >= defence.scheduled_for else SCHEDULED


def deadline_text(moment: datetime, zone: str) -> str:
    """A deadline as people here read it, with the zone named: 31.10.2026 23:59 (Asia/Almaty)."""
    return f"{local_text(moment, zone)} ({zone})"


def _zone(session: Session) -> str:
    return str(get_setting(session, "institution.timezone"))


def _check_when(errors: dict[str, str], field: str, moment: datetime | None, now: datetime, *,
                missing: str, past: str) -> None:
    if moment is None:
        errors[field] = missing
    elif moment.tzinfo is None:
        raise ValueError(f"{field} must be aware")
    elif moment <= now:
        errors[field] = past
    elif moment > now + FURTHEST:
        errors[field] = _("Choose a date within a year from today.")


def _text(errors: dict[str, str], field: str, value: str, limit: int, missing: str) -> str:
    value = value.strip()
    if not value:
        errors[field] = missing
    elif len(value) > limit:
        errors[field] = _("At most %(n)d characters.", n=limit)
    return value


# -- access ----------------------------------------------------------------------------------------
def _staff_submission(session: Session, actor: Actor, submission_id: int, *,
                      acting: bool) -> tuple[Submission, Assignment]:
    """A submission of the course the actor teaches (``NotFound`` otherwise, also for students:
    these are the teacher's steps). ``acting``: the actor is about to ask or record something,
    which a course may withhold from teaching assistants (``NotPermitted``)."""
    if not actor.has(Role.TEACHER):
        raise NotFound(_("There is no such submission."))
    submission, assignment = submission_in_course(session, actor, submission_id)
    if acting and submission.student_id == actor.user_id:
        raise NotPermitted(_("You cannot ask this about your own work."))
    if acting and not may_flag(session, actor, assignment.course_id):
        raise NotPermitted(_("This course does not let teaching assistants ask for drafts, set oral defences "
                             "or ask for attribution fixes."))
    return submission, assignment


def _own_submission(session: Session, actor: Actor, submission_id: int) -> tuple[Submission, Assignment]:
    """The actor's own submission; ``NotFound`` for anyone else's, whether or not it exists."""
    submission = session.get(Submission, submission_id)
    assignment = session.get(Assignment, submission.assignment_id) if submission else None
    if submission is None or assignment is None or actor.user_id is None or submission.student_id != actor.user_id:
        raise NotFound(_("There is no such submission."))
    return submission, assignment


# -- drafts ----------------------------------------------------------------------------------------
def request_drafts(session: Session, actor: Actor, submission_id: int, *, message: str, due_at: datetime | None,
                   now: datetime) -> DraftRequest:
    """Ask the student for drafts, version history, notes or calculations by ``due_at``; audits
    ``drafts.requested``.

    Raises ``NotFound`` outside the actor's course, ``NotPermitted`` for a teaching assistant the
    course does not let flag, ``FieldErrors`` (``message``, ``due_at``) for a missing or long
    message and a deadline that is missing, past or more than a year ahead.
    """
    submission, _assignment = _staff_submission(session, actor, submission_id, acting=True)
    errors: dict[str, str] = {}
    text = _text(errors, "message", message, MAX_MESSAGE,
                 _("Say what you ask for, for example: drafts, version history, notes or calculations."))
    _check_when(errors, "due_at", due_at, now, missing=_("Give the deadline."),
                past=_("The deadline must be in the future."))
    if errors:
        raise FieldErrors(errors)
    assert due_at is not None
    request = DraftRequest(submission_id=submission.id, message=text, due_at=due_at, requested_by=actor.label,
                           requested_at=now)
    session.add(request)
    session.flush()
    audit.record(session, actor, "drafts.requested", now=now, subject=f"submission:{submission.id}",
                 payload={"request": request.id, "due_at": due_at.isoformat(), "message": text})
    return request


def own_draft_request(session: Session, actor: Actor, request_id: int) -> tuple[DraftRequest, Submission]:
    """A request for drafts about the actor's own work; ``NotFound`` for anyone else's."""
    request = session.get(DraftRequest, request_id)
    if request is None:
        raise NotFound(_("There is no such request."))
    try:
        submission, _assignment = _own_submission(session, actor, request.submission_id)
    except NotFound:
        raise NotFound(_("There is no such request.")) from None
    return request, submission


def answer_draft_request(session: Session, actor: Actor, request_id: int, uploads: Sequence[Upload],
                         note: str = "", *, now: datetime, limits: Limits | None = None) -> DraftRequest:
    """The student's answer: draft files, a note (where the drafts are, a version-history link),
    or both; once, before the deadline. Audits ``drafts.answered``.

    Raises ``NotFound`` for a request about someone else's work, ``InvalidInput`` after the
    deadline (the message names it on the institution's clock) or when already answered,
    ``FieldErrors`` (``files``, ``note``) for no files and no note, too many files, a file of a
    kind Adal does not accept, or a note that is too long. Nothing is stored then.
    """
    request, submission = own_draft_request(session, actor, request_id)
    if request.answered_at is not None:
        raise InvalidInput(_("You already answered this request on %(when)s.",
                             when=deadline_text(request.answered_at, _zone(session))))
    if now > request.due_at:
        raise InvalidInput(_("The deadline for this request was %(due)s. It has passed, so nothing was saved. "
                             "Ask your teacher for a new date.", due=deadline_text(request.due_at, _zone(session))))
    errors: dict[str, str] = {}
    note = note.strip()
    if len(note) > MAX_ANSWER_NOTE:
        errors["note"] = _("At most %(n)d characters.", n=MAX_ANSWER_NOTE)
    if not uploads and not note:
        errors["files"] = _("Attach your drafts, or say in the note where they are (for example a link to the "
                            "version history).")
    elif len(uploads) > MAX_DRAFT_FILES:
        errors["files"] = _("Attach at most %(n)d draft files.", n=MAX_DRAFT_FILES)
    kinds: list[str] = []
    if "files" not in errors:
        for upload in uploads:
            try:
                kinds.append(detect_kind(upload.path, upload.name, limits or Limits()))
            except InvalidInput as exc:
                errors["files"] = str(exc)
                break
    if errors:
        raise FieldErrors(errors)
    files = runtime_of(session).files
    stored = []
    for upload, kind in zip(uploads, kinds, strict=True):
        with open(upload.path, "rb") as handle:
            blob = files.put_stream(handle)
        row = DraftUpload(request_id=request.id, name=safe_name(upload.name), kind=kind, size=blob.size,
                          sha256=blob.sha256)
        session.add(row)
        stored.append(row)
    request.answered_at, request.answer_note = now, note or None
    session.flush()
    audit.record(session, actor, "drafts.answered", now=now, subject=f"submission:{submission.id}",
                 payload={"request": request.id, "note": bool(note),
                          "files": [{"name": row.name, "sha256": row.sha256} for row in stored]})
    return request


def draft_uploads(session: Session, request_id: int) -> list[DraftUpload]:
    return list(session.execute(select(DraftUpload).where(DraftUpload.request_id == request_id)
                                .order_by(DraftUpload.id)).scalars())


def visible_draft_upload(session: Session, actor: Actor, request_id: int, upload_id: int) -> DraftUpload:
    """A draft file the actor may download: the student who sent it, or a teacher of the course."""
    upload = session.get(DraftUpload, upload_id)
    request = session.get(DraftRequest, request_id)
    if upload is None or request is None or upload.request_id != request.id:
        raise NotFound(_("There is no such file."))
    try:
        if actor.has(Role.TEACHER):
            _staff_submission(session, actor, request.submission_id, acting=False)
        else:
            _own_submission(session, actor, request.submission_id)
    except NotFound:
        raise NotFound(_("There is no such file.")) from None
    return upload


# -- oral defence ----------------------------------------------------------------------------------
def schedule_defence(session: Session, actor: Actor, submission_id: int, *, when: datetime | None,
                     place: str | None = None, online_url: str | None = None, now: datetime) -> OralDefence:
    """Set an oral defence of the work (S 7.5) at a place, an online meeting, or both; audits
    ``defence.scheduled``. It is set openly and ahead: the student sees it at once.

    Raises ``NotFound`` outside the actor's course, ``NotPermitted`` as for ``request_drafts``,
    ``FieldErrors`` (``when``, ``place``, ``online_url``) for a time that is missing, past or more
    than a year ahead, neither a place nor a link, a long place, or a link that is not http(s)
    (``javascript:`` and ``data:`` are refused).
    """
    submission, _assignment = _staff_submission(session, actor, submission_id, acting=True)
    errors: dict[str, str] = {}
    _check_when(errors, "when", when, now, missing=_("Give the date and time of the oral defence."),
                past=_("The oral defence must be set in the future, so that the student knows ahead."))
    place = " ".join((place or "").split())
    if len(place) > MAX_PLACE:
        errors["place"] = _("At most %(n)d characters.", n=MAX_PLACE)
    link: str | None = None
    try:
        link = check_drafts_url(online_url or "")
    except ValueError:
        errors["online_url"] = _("The meeting link must be a web address starting with https:// or http://.")
    if not place and not link and "online_url" not in errors:
        errors["place"] = _("Give a place (a room) or a link to an online meeting.")
    if errors:
        raise FieldErrors(errors)
    assert when is not None
    defence = OralDefence(submission_id=submission.id, scheduled_for=when, place=place or None, online_url=link,
                          scheduled_by=actor.label, scheduled_at=now)
    session.add(defence)
    session.flush()
    audit.record(session, actor, "defence.scheduled", now=now, subject=f"submission:{submission.id}",
                 payload={"defence": defence.id, "when": when.isoformat(), "place": defence.place,
                          "online_url": link})
    return defence


def staff_defence(session: Session, actor: Actor, defence_id: int, *, acting: bool) -> tuple[OralDefence, Submission]:
    defence = session.get(OralDefence, defence_id)
    if defence is None:
        raise NotFound(_("There is no such oral defence."))
    try:
        submission, _assignment = _staff_submission(session, actor, defence.submission_id, acting=acting)
    except NotFound:
        raise NotFound(_("There is no such oral defence.")) from None
    return defence, submission


def record_defence(session: Session, actor: Actor, defence_id: int, *, questions: str, answers_summary: str,
                   conclusion: str, conclusion_text: str, now: datetime) -> OralDefence:
    """Keep the record of a defence that took place: the questions asked, a summary of the
    answers, and the teacher's conclusion with its reasons. Once; the student sees it. Audits
    ``defence.recorded``.

    Raises ``NotFound`` outside the actor's course, ``NotPermitted`` as for ``request_drafts``,
    ``InvalidInput`` before the scheduled time or when already recorded, ``FieldErrors``
    (``questions``, ``answers_summary``, ``conclusion``, ``conclusion_text``) for a missing part.
    """
    defence, submission = staff_defence(session, actor, defence_id, acting=True)
    zone = _zone(session)
    if defence.recorded_at is not None:
        raise InvalidInput(_("This oral defence was already recorded on %(when)s. A record is not changed.",
                             when=deadline_text(defence.recorded_at, zone)))
    if now < defence.scheduled_for:
        raise InvalidInput(_("This oral defence is set for %(when)s. Record it after it has taken place.",
                             when=deadline_text(defence.scheduled_for, zone)))
    errors: dict[str, str] = {}
    asked = _text(errors, "questions", questions, MAX_RECORD, _("Write down the questions you asked."))
    summary = _text(errors, "answers_summary", answers_summary, MAX_RECORD,
                    _("Summarise the student's answers."))
    if conclusion not in DEFENCE_CONCLUSIONS:
        errors["conclusion"] = _("Choose your conclusion.")
    reasons = _text(errors, "conclusion_text", conclusion_text, MAX_RECORD,
                    _("Explain your conclusion in a few sentences."))
    if errors:
        raise FieldErrors(errors)
    defence.questions, defence.answers_summary = asked, summary
    defence.conclusion, defence.conclusion_text = conclusion, reasons
    defence.recorded_by, defence.recorded_at = actor.label, now
    session.flush()
    audit.record(session, actor, "defence.recorded", now=now, subject=f"submission:{submission.id}",
                 payload={"defence": defence.id, "conclusion": conclusion, "questions": asked,
                          "answers_summary": summary, "conclusion_text": reasons})
    return defence


# -- attribution fix (S 9.4 level 1) ---------------------------------------------------------------
def request_attribution_fix(session: Session, actor: Actor, submission_id: int, *, note: str,
                            due_at: datetime | None, now: datetime) -> AttributionFixRequest:
    """After an informal talk, ask the student to correct an incomplete attribution by handing in
    a corrected version by ``due_at``. Not a sanction: sanctions come only from the commission.
    Audits ``attribution_fix.requested``; when the assignment would close for this student before
    ``due_at``, it is reopened for them until then (``assignment.reopened``), so the corrected
    version is neither refused nor marked late. An assignment open longer is left as it is: the
    request never shortens the student's time.

    Raises ``NotFound`` outside the actor's course, ``NotPermitted`` as for ``request_drafts``,
    ``FieldErrors`` (``note``, ``due_at``) for a missing or long note (at most 2,000 characters)
    and a deadline that is missing, past or more than a year ahead.
    """
    submission, assignment = _staff_submission(session, actor, submission_id, acting=True)
    errors: dict[str, str] = {}
    text = _text(errors, "note", note, MAX_NOTE, _("Say what is missing from the attribution and what to correct."))
    _check_when(errors, "due_at", due_at, now, missing=_("Give the deadline."),
                past=_("The deadline must be in the future."))
    if errors:
        raise FieldErrors(errors)
    assert due_at is not None
    current = effective_due(session, assignment, submission.student_id)
    reopened = None
    if current is not None and current < due_at:
        reason = _("To correct the attribution: %(note)s", note=text)[:MAX_REASON]
        try:
            reopened = reopen_for_student(session, actor, assignment.id or 0, submission.student_id, due_at, reason,
                                          now=now)
        except FieldErrors as exc:  # e.g. the student has left the course
            raise FieldErrors({"note" if key == "reason" else "due_at" if key == "due_at" else "form": message
                               for key, message in exc.errors.items()}) from None
    fix = AttributionFixRequest(submission_id=submission.id, note=text, due_at=due_at, requested_by=actor.label,
                                requested_at=now)
    session.add(fix)
    session.flush()
    audit.record(session, actor, "attribution_fix.requested", now=now, subject=f"submission:{submission.id}",
                 payload={"request": fix.id, "due_at": due_at.isoformat(), "note": text,
                          "reopening": reopened.id if reopened else None})
    return fix


def fix_resolution(session: Session, fix: AttributionFixRequest, now: datetime) -> tuple[str, Submission | None]:
    """(status, the corrected version): ``resolved`` by a newer version of the same work handed in
    between the request and its deadline; else ``waiting`` or, after the deadline, ``overdue``.
    Computed on reading: the new version is the record, nothing else is written."""
    if fix.resolved_at is not None:
        return RESOLVED, None
    original = session.get(Submission, fix.submission_id)
    if original is None:
        return OVERDUE if now > fix.due_at else WAITING, None
    newer = session.execute(select(Submission).where(
        Submission.assignment_id == original.assignment_id, Submission.student_id == original.student_id,
        Submission.version > original.version, Submission.submitted_at >= fix.requested_at,
        Submission.submitted_at <= fix.due_at).order_by(Submission.version).limit(1)).scalar_one_or_none()
    if newer is not None:
        return RESOLVED, newer
    return (OVERDUE if now > fix.due_at else WAITING), None


# -- reading -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DraftRequestView:
    request: DraftRequest
    version: int
    status: str
    uploads: tuple[DraftUpload, ...]


@dataclass(frozen=True)
class DefenceView:
    defence: OralDefence
    version: int
    status: str

    @property
    def conclusion_title(self) -> str:
        return str(CONCLUSION_TITLES.get(self.defence.conclusion or "", ""))


@dataclass(frozen=True)
class FixView:
    fix: AttributionFixRequest
    version: int
    status: str
    corrected: Submission | None


@dataclass(frozen=True)
class ProcessOverview:
    """Process evidence about one student's work on one assignment, across its versions (a
    request about version 1 stays in view after version 2 is handed in)."""

    submission: Submission
    assignment: Assignment
    zone: str
    drafts: tuple[DraftRequestView, ...]
    defences: tuple[DefenceView, ...]
    fixes: tuple[FixView, ...]
    draft_files: tuple[SubmissionFile, ...] = ()  # handed in with this version (the teacher's view)
    may_act: bool = False  # the teacher may ask, schedule and record

    @property
    def anything(self) -> bool:
        return bool(self.drafts or self.defences or self.fixes)


def _overview(session: Session, submission: Submission, assignment: Assignment, now: datetime, *,
              draft_files: tuple[SubmissionFile, ...] = (), may_act: bool = False) -> ProcessOverview:
    versions: dict[int, int] = {row[0]: row[1] for row in session.execute(
        select(Submission.id, Submission.version).where(Submission.assignment_id == submission.assignment_id,
                                                        Submission.student_id == submission.student_id))}
    ids = list(versions)
    requests = session.execute(select(DraftRequest).where(DraftRequest.submission_id.in_(ids))
                               .order_by(DraftRequest.requested_at, DraftRequest.id)).scalars()
    defences = session.execute(select(OralDefence).where(OralDefence.submission_id.in_(ids))
                               .order_by(OralDefence.scheduled_for, OralDefence.id)).scalars()
    fixes = session.execute(select(AttributionFixRequest).where(AttributionFixRequest.submission_id.in_(ids))
                            .order_by(AttributionFixRequest.requested_at, AttributionFixRequest.id)).scalars()
    return ProcessOverview(
        submission=submission, assignment=assignment, zone=_zone(session),
        drafts=tuple(DraftRequestView(r, versions[r.submission_id], draft_status(r, now),
                                      tuple(draft_uploads(session, r.id or 0))) for r in requests),
        defences=tuple(DefenceView(d, versions[d.submission_id], defence_status(d, now)) for d in defences),
        fixes=tuple(FixView(f, versions[f.submission_id], *fix_resolution(session, f, now)) for f in fixes),
        draft_files=draft_files, may_act=may_act)


def process_for_teacher(session: Session, actor: Actor, submission_id: int, *, now: datetime) -> ProcessOverview:
    """The teacher's view: the drafts handed in with this version, and every request, defence and
    fix about this student's work on the assignment. ``NotFound`` outside the actor's course."""
    submission, assignment = _staff_submission(session, actor, submission_id, acting=False)
    files = tuple(f for f in submission_files(session, submission.id or 0) if f.role == "draft")
    return _overview(session, submission, assignment, now, draft_files=files,
                     may_act=may_flag(session, actor, assignment.course_id))


def requests_for_student(session: Session, actor: Actor, submission_id: int, *, now: datetime) -> ProcessOverview:
    """What the teacher asks of the student about this work, for the student who handed it in
    only (``NotFound`` for anyone else)."""
    submission, assignment = _own_submission(session, actor, submission_id)
    return _overview(session, submission, assignment, now)


def draft_requests_of(session: Session, submission_id: int, *, now: datetime) -> list[tuple[DraftRequest, str]]:
    """Every request for drafts about one submission with its status (for the flag's evidence:
    an ``unanswered`` one is a request left unanswered by its deadline). No access check: the
    caller has checked the submission."""
    rows = session.execute(select(DraftRequest).where(DraftRequest.submission_id == submission_id)
                           .order_by(DraftRequest.requested_at, DraftRequest.id)).scalars()
    return [(row, draft_status(row, now)) for row in rows]


def recorded_defences_of(session: Session, submission_id: int) -> list[OralDefence]:
    """The recorded oral defences of one submission (for the flag's evidence). No access check."""
    return list(session.execute(select(OralDefence).where(OralDefence.submission_id == submission_id,
                                                          OralDefence.recorded_at.is_not(None))
                                .order_by(OralDefence.recorded_at)).scalars())
