"""Handing in work with the AI-use disclosure (S C.5, 7.1–7.5; U 5.2, 6.5), the teacher's
assignment policy (S 7.2, 7.3, 4.6ә), versions, reopening and grading.

Services take the session and the actor, check permission, change rows, write the audit entry
and never commit. Files reach the store only after every check has passed, so a refused
submission leaves neither a row nor a file behind.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from attribution.appendix import COPY_KINDS, NoCopyForKind, make_disclosed_copy
from attribution.filetypes import detect_kind
from attribution.models import LATE_POLICIES, Assignment, Reopening, Submission, SubmissionFile
from attribution.provenance import Limits, StampError
from attribution.statements import (
    LANGUAGES,
    OTHER_TASK,
    STANDARD_TASKS,
    TASK_TITLES,
    Disclosure,
    UseRow,
    statement_text,
)
from plugin.kernel import audit
from plugin.kernel.errors import InvalidInput, NotFound, NotPermitted
from plugin.kernel.notices import current_version, has_acknowledged
from plugin.kernel.runtime import runtime_of
from plugin.kernel.settings import DEGREE_LEVELS, get_setting
from plugin.kernel.users import Actor, Role, User

MAX_FILES = 10
MAX_DRAFTS = 10
MAX_ROWS = 20
MAX_CUSTOM_TASKS = 5
WORK_LANGUAGES = ("kk", "ru", "en", "other")


class FieldErrors(InvalidInput):
    """Several fields were refused; ``errors`` maps a field name to its message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


# -- the teacher's policy ------------------------------------------------------------------------
@dataclass(frozen=True)
class TaskRule:
    code: str
    allowed: bool
    title: str | None = None  # the teacher's own categories carry their title

    @property
    def display(self) -> str:
        return self.title or str(TASK_TITLES.get(self.code, self.code))


@dataclass(frozen=True)
class AssignmentSettings:
    title: str
    instructions: str = ""
    due_at: datetime | None = None
    late_policy: str = "mark"
    degree_level: str | None = None
    allowed: dict[str, bool] = field(default_factory=dict)  # standard task code → allowed
    custom: tuple[tuple[str, bool], ...] = ()  # (title, allowed)
    drafts_required: bool = False
    oral_defence_possible: bool = False
    no_ai_alternative: str = ""


def task_rules(assignment: Assignment) -> list[TaskRule]:
    """The assignment's categories in order; before the teacher chose, every S 7.2 use is allowed
    with disclosure (the standard's own default)."""
    stored = json.loads(assignment.task_policy or "[]")
    if not stored:
        return [TaskRule(code, True) for code in STANDARD_TASKS]
    return [TaskRule(r["code"], bool(r["allowed"]), r.get("title")) for r in stored]


def _one_line(value: str, limit: int) -> str:
    return " ".join(value.split())[:limit]


def configure_assignment(session: Session, actor: Actor, assignment_id: int, settings: AssignmentSettings, *,
                         now: datetime) -> Assignment:
    """Save the teacher's settings; audits ``assignment.configured``.

    Raises ``NotFound`` outside the actor's course, ``NotPermitted`` for a non-teacher,
    ``FieldErrors`` for bad values.
    """
    assignment = visible_assignment(session, actor, assignment_id)
    if not actor.has(Role.TEACHER):
        raise NotPermitted(_("Only a teacher of this course can change the assignment."))
    errors: dict[str, str] = {}
    title = _one_line(settings.title, 1000)
    if not title or len(title) > 300:
        errors["title"] = _("Give the assignment a title (at most 300 characters).")
    if len(settings.instructions) > 20_000:
        errors["instructions"] = _("The instructions are longer than %(n)d characters.", n=20_000)
    if settings.late_policy not in LATE_POLICIES:
        errors["late_policy"] = _("Choose what happens to late work.")
    if settings.degree_level is not None and settings.degree_level not in DEGREE_LEVELS:
        errors["degree_level"] = _("Choose a level from the list.")
    customs = [(_one_line(t, 200), allowed) for t, allowed in settings.custom if t.strip()]
    if len(customs) > MAX_CUSTOM_TASKS:
        errors["custom"] = _("At most %(n)d categories of your own.", n=MAX_CUSTOM_TASKS)
    if len(settings.no_ai_alternative) > 2000:
        errors["no_ai_alternative"] = _("The alternative is longer than %(n)d characters.", n=2000)
    if settings.due_at is not None and settings.due_at.tzinfo is None:
        raise ValueError("due_at must be aware")
    if errors:
        raise FieldErrors(errors)
    policy = [{"code": code, "allowed": bool(settings.allowed.get(code, False))} for code in STANDARD_TASKS]
    policy += [{"code": f"custom{i}", "title": t, "allowed": allowed} for i, (t, allowed) in enumerate(customs, 1)]
    assignment.title = title
    assignment.instructions = settings.instructions.strip() or None
    assignment.due_at = settings.due_at
    assignment.late_policy = settings.late_policy
    assignment.degree_level = settings.degree_level
    assignment.task_policy = json.dumps(policy, ensure_ascii=False)
    assignment.drafts_required = settings.drafts_required
    assignment.oral_defence_possible = settings.oral_defence_possible
    assignment.no_ai_alternative = settings.no_ai_alternative.strip() or None
    first = assignment.configured_at is None
    assignment.configured_at = now
    session.flush()
    audit.record(session, actor, "assignment.configured", now=now, subject=f"assignment:{assignment.id}",
                 payload={"first": first, "title": title, "due_at": settings.due_at.isoformat() if settings.due_at
                          else None, "late_policy": settings.late_policy, "degree_level": settings.degree_level,
                          "tasks": policy, "drafts_required": settings.drafts_required,
                          "oral_defence_possible": settings.oral_defence_possible})
    return assignment


def assignment_for_link(session: Session, actor: Actor, *, resource_link_id: str, title: str,
                        line_item_url: str | None, now: datetime) -> Assignment:
    """The assignment behind an LMS link in the actor's course, made on the first launch of a
    link that was not placed through Adal (an admin added the tool by hand). Audits
    ``assignment.created`` then."""
    if actor.course_id is None:
        raise NotFound(_("Adal was opened outside a course."))
    found = session.execute(select(Assignment).where(Assignment.course_id == actor.course_id,
                                                     Assignment.resource_link_id == resource_link_id))
    assignment = found.scalar_one_or_none()
    if assignment is not None:
        if line_item_url and assignment.line_item_url != line_item_url:
            assignment.line_item_url = line_item_url
        return assignment
    try:
        with session.begin_nested():  # two first launches at once: the second finds the first
            assignment = Assignment(course_id=actor.course_id, title=_one_line(title, 300) or "—", score_maximum=100,
                                    resource_link_id=resource_link_id, line_item_url=line_item_url,
                                    created_by=actor.label, created_at=now)
            session.add(assignment)
    except IntegrityError:
        return assignment_for_link(session, actor, resource_link_id=resource_link_id, title=title,
                                   line_item_url=line_item_url, now=now)
    audit.record(session, actor, "assignment.created", now=now, subject=f"assignment:{assignment.id}",
                 payload={"title": assignment.title, "resource_link_id": resource_link_id,
                          "course_id": actor.course_id})
    return assignment


def visible_assignment(session: Session, actor: Actor, assignment_id: int) -> Assignment:
    """The assignment if it is in the actor's current course; ``NotFound`` otherwise (whether it
    exists elsewhere is not revealed)."""
    assignment = session.get(Assignment, assignment_id)
    if assignment is None or actor.course_id is None or assignment.course_id != actor.course_id:
        raise NotFound(_("There is no such assignment in this course."))
    return assignment


def degree_level(session: Session, assignment: Assignment) -> str:
    if assignment.degree_level:
        return assignment.degree_level
    kind = get_setting(session, "institution.type")
    return {"school": "school", "college": "college"}.get(kind, "bachelor")


def originality_threshold(session: Session, assignment: Assignment) -> int:
    """U 5.6: the largest share of non-original text for the assignment's level, in per cent."""
    return int(get_setting(session, "originality.max_nonoriginal_percent")[degree_level(session, assignment)])


# -- deadlines and terms -------------------------------------------------------------------------
def effective_due(session: Session, assignment: Assignment, student_id: int) -> datetime | None:
    """The due date for one student: the latest reopening's, else the assignment's."""
    reopened = session.execute(
        select(Reopening.due_at).where(Reopening.assignment_id == assignment.id, Reopening.student_id == student_id)
        .order_by(Reopening.created_at.desc(), Reopening.id.desc()).limit(1)
    ).scalar_one_or_none()
    return reopened or assignment.due_at


def term_of(moment: datetime, zone: str) -> str:
    """The academic term a moment falls in: 1 from September to January, 2 from February to August."""
    local = moment.astimezone(ZoneInfo(zone)).date()
    if local.month >= 9:
        return f"{local.year}-{local.year + 1}/1"
    if local.month == 1:
        return f"{local.year - 1}-{local.year}/1"
    return f"{local.year - 1}-{local.year}/2"


# -- the submission ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Upload:
    """A file as the browser sent it, already saved to ``path`` (a temporary file)."""

    name: str
    path: Path


@dataclass(frozen=True)
class SubmissionInput:
    idempotency_key: str
    ai_used: bool
    language: str
    tasks: tuple[str, ...] = ()
    other_text: str = ""
    service: str = ""
    model: str = ""
    model_version: str = ""
    dates: tuple[date, ...] = ()
    drafts_url: str = ""
    rows: tuple[UseRow, ...] = ()
    checked: bool = False


_KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\]")


def safe_name(name: str) -> str:
    """A browser-sent file name kept for display and download: no path, no control characters."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = _UNSAFE_NAME.sub("_", base).strip() or "file"
    if len(base) > 200:
        stem, dot, ext = base.rpartition(".")
        base = (stem[: 190] + dot + ext[:9]) if dot else base[:200]
    return base


def check_drafts_url(url: str) -> str | None:
    """An http(s) address or nothing; ``javascript:``, ``data:`` and the like are refused."""
    url = url.strip()
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or len(url) > 2000 or any(
            ord(c) < 33 for c in url):
        raise ValueError(url)
    return url


def policy_problems(assignment: Assignment, tasks: Sequence[str]) -> list[TaskRule]:
    """The declared tasks the assignment does not allow (shown before submitting, marked after)."""
    rules = {rule.code: rule for rule in task_rules(assignment)}
    return [rules[code] for code in tasks if code in rules and not rules[code].allowed]


def _validate(assignment: Assignment, data: SubmissionInput, uploads: Sequence[Upload], drafts: Sequence[Upload],
              today: date) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not _KEY.fullmatch(data.idempotency_key):
        errors["form"] = _("The form has expired. Reload the page and submit again.")
    if not uploads:
        errors["files"] = _("Attach at least one file.")
    elif len(uploads) > MAX_FILES:
        errors["files"] = _("Attach at most %(n)d files.", n=MAX_FILES)
    if len(drafts) > MAX_DRAFTS:
        errors["drafts"] = _("Attach at most %(n)d draft files.", n=MAX_DRAFTS)
    if data.language not in WORK_LANGUAGES:
        errors["language"] = _("Choose the language of your work.")
    try:
        check_drafts_url(data.drafts_url)
    except ValueError:
        errors["drafts_url"] = _("The drafts link must be a web address starting with https:// or http://.")
    if assignment.drafts_required and not data.drafts_url.strip() and not drafts:
        errors["drafts_url"] = _("This assignment asks for drafts: give a link to the version history or "
                                 "attach draft files.")
    if not data.ai_used:
        return errors
    codes = {rule.code for rule in task_rules(assignment)} | {OTHER_TASK}
    if not data.tasks:
        errors["tasks"] = _("Tick what you used AI for.")
    elif any(code not in codes for code in data.tasks):
        errors["tasks"] = _("Choose tasks from the list.")
    if OTHER_TASK in data.tasks and not data.other_text.strip():
        errors["other_text"] = _("Say what the other use was.")
    if len(data.other_text) > 300:
        errors["other_text"] = _("At most %(n)d characters.", n=300)
    for name, value, message in (("service", data.service, _("Name the AI tool or service you used.")),
                                 ("model", data.model, _("Name the model you used."))):
        if not value.strip():
            errors[name] = message
        elif len(value) > 200:
            errors[name] = _("At most %(n)d characters.", n=200)
    if len(data.model_version) > 200:
        errors["model_version"] = _("At most %(n)d characters.", n=200)
    if not data.dates:
        errors["dates"] = _("Give the date(s) when you used AI.")
    elif any(d > today or d < today - timedelta(days=3 * 366) for d in data.dates) or len(data.dates) > 20:
        errors["dates"] = _("The dates of use cannot be in the future or years ago.")
    if len(data.rows) > MAX_ROWS:
        errors["rows"] = _("At most %(n)d rows.", n=MAX_ROWS)
    elif any(len(cell) > 10_000 for row in data.rows for cell in (row.task, row.prompt, row.answer, row.edit)):
        errors["rows"] = _("Each cell of the table holds at most %(n)d characters.", n=10_000)
    else:
        for row in data.rows:
            try:
                check_drafts_url(row.link)
            except ValueError:
                errors["rows"] = _("A link to a fragment must be a web address starting with https:// or http://.")
    if not data.checked:
        errors["checked"] = _("Confirm that you personally checked the final result.")
    return errors


@dataclass
class _Prepared:
    role: str
    position: int
    name: str
    kind: str
    path: Path


def _disclosure(assignment: Assignment, data: SubmissionInput) -> Disclosure:
    titles = {rule.code: rule.title for rule in task_rules(assignment) if rule.title}
    if not data.ai_used:
        return Disclosure(ai_used=False)
    return Disclosure(ai_used=True, tasks=data.tasks, service=data.service.strip(), model=data.model.strip(),
                      model_version=data.model_version.strip(), dates=tuple(sorted(set(data.dates))),
                      other_text=" ".join(data.other_text.split()), custom_titles=titles, rows=data.rows,
                      checked=data.checked)


def submission_gate(session: Session, actor: Actor, assignment: Assignment, now: datetime) -> str | None:
    """Why the actor cannot submit now (a message), or ``None`` when they can."""
    if not actor.has(Role.STUDENT) or actor.user_id is None:
        return _("Only students of this course hand in work here.")
    if assignment.configured_at is None:
        return _("Your teacher has not set up this assignment yet. Come back later.")
    version = current_version(session)
    if version is None:
        return _("Your institution has not published its notice on AI use yet, so submission is not open. "
                 "Tell your teacher.")
    if not has_acknowledged(session, actor.user_id, version):
        return "notice"
    due = effective_due(session, assignment, actor.user_id)
    if due is not None and now > due and assignment.late_policy == "refuse":
        return _("The due date has passed and this assignment does not accept late work. Ask your teacher "
                 "to reopen it for you.")
    return None


def submit_work(session: Session, actor: Actor, assignment_id: int, data: SubmissionInput, uploads: Sequence[Upload],
                *, drafts: Sequence[Upload] = (), statement_lang: str, now: datetime,
                limits: Limits | None = None, copies: str = "inline") -> tuple[Submission, bool]:
    """Record one version of the actor's work with the disclosure; returns (submission, created).

    A repeated idempotency key returns the first submission and ``created=False`` (a double click
    or a retried POST). Raises ``NotFound`` outside the course, ``NotPermitted`` when the actor
    may not submit (not a student, assignment not set up, notice not published or not yet
    acknowledged, deadline passed under the refuse policy), ``FieldErrors`` for the form. The
    files go to the store only after every check passed. ``copies`` is ``inline`` (the stamped
    copies are made now) or ``background`` (marked pending for ``finish_copies``). Audits
    ``submission.created``.
    """
    assignment = visible_assignment(session, actor, assignment_id)
    if actor.user_id is not None:
        earlier = session.execute(select(Submission).where(Submission.student_id == actor.user_id,
                                                           Submission.idempotency_key == data.idempotency_key))
        repeat = earlier.scalar_one_or_none()
        if repeat is not None and repeat.assignment_id == assignment.id:
            return repeat, False
    gate = submission_gate(session, actor, assignment, now)
    if gate == "notice":
        raise NotPermitted(_("Read and acknowledge your institution's notice on AI use first."))
    if gate is not None:
        raise NotPermitted(gate)
    assert actor.user_id is not None
    zone = get_setting(session, "institution.timezone")
    today = now.astimezone(ZoneInfo(zone)).date()
    errors = _validate(assignment, data, uploads, drafts, today)
    if errors:
        raise FieldErrors(errors)
    # The statement goes into the work: in the work's language, else the student's interface language.
    lang = data.language if data.language in LANGUAGES else statement_lang if statement_lang in LANGUAGES else "kk"
    disclosure = _disclosure(assignment, data)
    statement = statement_text(disclosure, lang)
    runtime = runtime_of(session)
    limits = limits or Limits()
    prepared: list[_Prepared] = []
    for role, batch in (("original", uploads), ("draft", drafts)):
        for position, upload in enumerate(batch):
            try:
                kind = detect_kind(upload.path, upload.name, limits)
            except InvalidInput as exc:
                raise FieldErrors({"files" if role == "original" else "drafts": str(exc)}) from None
            prepared.append(_Prepared(role, position, safe_name(upload.name), kind, upload.path))
    version = (session.execute(select(func.max(Submission.version)).where(
        Submission.assignment_id == assignment.id, Submission.student_id == actor.user_id)).scalar() or 0) + 1
    due = effective_due(session, assignment, actor.user_id)
    not_allowed = [rule.code for rule in policy_problems(assignment, disclosure.tasks)]
    wants_copies = disclosure.ai_used and any(i.role == "original" and i.kind in COPY_KINDS for i in prepared)
    submission = Submission(
        assignment_id=assignment.id, student_id=actor.user_id, version=version,
        idempotency_key=data.idempotency_key, submitted_at=now, late=due is not None and now > due,
        language=data.language, term=term_of(now, zone), notice_version=current_version(session),
        ai_used=disclosure.ai_used, tasks=json.dumps(list(disclosure.tasks)),
        other_text=disclosure.other_text or None, service=disclosure.service or None,
        model=disclosure.model or None, model_version=disclosure.model_version or None,
        use_dates=json.dumps([d.isoformat() for d in disclosure.dates]),
        drafts_url=check_drafts_url(data.drafts_url),
        use_rows=json.dumps([row.__dict__ for row in disclosure.rows], ensure_ascii=False),
        checked=disclosure.checked, not_allowed=json.dumps(not_allowed), statement=statement,
        statement_lang=lang, copies_pending=wants_copies and copies == "background")
    try:
        with session.begin_nested():
            session.add(submission)
    except IntegrityError:
        # A parallel request with the same key (a double click) won the race: its submission is the
        # answer to this one too. Otherwise another window took this version number.
        winner = session.execute(select(Submission).where(Submission.student_id == actor.user_id,
                                                          Submission.idempotency_key == data.idempotency_key))
        first = winner.scalar_one_or_none()
        if first is not None and first.assignment_id == assignment.id:
            return first, False
        raise InvalidInput(_("This work was just submitted from another window. Reload the page.")) from None
    stored: list[SubmissionFile] = []
    for item in prepared:
        with open(item.path, "rb") as handle:
            blob = runtime.files.put_stream(handle)
        row = SubmissionFile(submission_id=submission.id, role=item.role, position=item.position, name=item.name,
                             kind=item.kind, size=blob.size, sha256=blob.sha256)
        session.add(row)
        stored.append(row)
    session.flush()
    notes: list[str] = []
    if wants_copies and copies == "inline":
        copies_made, notes = _copy_originals(session, submission, disclosure,
                                             [(row, item.path) for row, item in zip(stored, prepared, strict=True)
                                              if row.role == "original"], limits=limits)
        stored += copies_made
    audit.record(session, actor, "submission.created", now=now, subject=f"submission:{submission.id}",
                 payload={"assignment": assignment.id, "version": version, "late": submission.late,
                          "ai_used": disclosure.ai_used, "tasks": list(disclosure.tasks), "not_allowed": not_allowed,
                          "files": [{"role": f.role, "name": f.name, "sha256": f.sha256} for f in stored],
                          "copy_problems": notes, "copies_pending": submission.copies_pending})
    return submission, True


def _copy_originals(session: Session, submission: Submission, disclosure: Disclosure,
                    originals: Sequence[tuple[SubmissionFile, Path]], *,
                    limits: Limits) -> tuple[list[SubmissionFile], list[str]]:
    """The stamped copies (statement appended, C.3 metadata) of the DOCX/PDF/PPTX originals;
    stores them and adds their rows. A file that cannot be copied (damaged, encrypted,
    certified) keeps only its original: the reason is returned, the submission stands."""
    author = session.get(User, submission.student_id)
    runtime = runtime_of(session)
    rows: list[SubmissionFile] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="adal-copy-") as work:
        for original, path in originals:
            if original.kind not in COPY_KINDS:
                continue
            dest = Path(work) / f"{original.id}.{original.kind}"
            try:
                make_disclosed_copy(path, dest, disclosure, lang=submission.statement_lang,
                                    author=author.display_name if author else None,
                                    drafts_url=submission.drafts_url, limits=limits)
            except NoCopyForKind:  # a certified PDF: adding pages would break its certification
                continue
            except StampError as exc:  # damaged, encrypted or hostile: the original is still handed in
                notes.append(f"{original.name}: {exc}")
                continue
            with open(dest, "rb") as handle:
                blob = runtime.files.put_stream(handle)
            stem = original.name.rsplit(".", 1)[0]
            row = SubmissionFile(submission_id=submission.id, role="copy", position=original.position,
                                 name=f"{stem}.adal.{original.kind}", kind=original.kind, size=blob.size,
                                 sha256=blob.sha256, copy_of=original.id)
            session.add(row)
            rows.append(row)
    session.flush()
    return rows, notes


def originals_without_copy(submission: Submission, files: Sequence[SubmissionFile]) -> list[SubmissionFile]:
    """Pure: the DOCX/PDF/PPTX originals that got no stamped copy (damaged, encrypted, signed or
    certified), so the receipt can say so; none while the copies are still pending."""
    if not submission.ai_used or submission.copies_pending:
        return []
    copied = {f.copy_of for f in files if f.role == "copy"}
    return [f for f in files if f.role == "original" and f.kind in COPY_KINDS and f.id not in copied]


def pending_copies(session: Session, limit: int = 100) -> list[int]:
    """Submissions whose stamped copies are still to be made, oldest first."""
    return list(session.execute(select(Submission.id).where(Submission.copies_pending.is_(True))
                                .order_by(Submission.id).limit(limit)).scalars())


def finish_copies(session: Session, submission_id: int, *, now: datetime, limits: Limits | None = None) -> bool:
    """Make the pending copies of one submission (background mode). Claims the work with a
    compare-and-set, so two runners never copy the same submission; if the process dies before
    the commit, the claim rolls back with everything else and the copy stays pending. Audits
    ``submission.copies_made``. Returns whether this call did the work."""
    claimed = session.execute(update(Submission).where(Submission.id == submission_id,
                                                       Submission.copies_pending.is_(True))
                              .values(copies_pending=False).execution_options(synchronize_session=False))
    if claimed.rowcount != 1:
        return False
    submission = session.get(Submission, submission_id, populate_existing=True)
    assert submission is not None
    store = runtime_of(session).files
    originals = [f for f in submission_files(session, submission_id) if f.role == "original"]
    with tempfile.TemporaryDirectory(prefix="adal-originals-") as folder:
        pairs = []
        for index, original in enumerate(originals):
            path = Path(folder) / str(index) / original.name  # the student's name: messages and checks use it
            path.parent.mkdir()
            path.write_bytes(store.read(original.sha256))
            pairs.append((original, path))
        rows, notes = _copy_originals(session, submission, disclosure_of(submission), pairs,
                                      limits=limits or Limits())
    audit.record(session, "system:jobs", "submission.copies_made", now=now, subject=f"submission:{submission_id}",
                 payload={"files": [{"name": r.name, "sha256": r.sha256} for r in rows], "copy_problems": notes})
    return True


# -- reading -------------------------------------------------------------------------------------
def submission_for(session: Session, actor: Actor, submission_id: int) -> tuple[Submission, Assignment]:
    """A submission the actor may see: their own, or any in a course they teach. ``NotFound``
    for anything else, whether or not it exists."""
    submission = session.get(Submission, submission_id)
    if submission is None:
        raise NotFound(_("There is no such submission."))
    assignment = session.get(Assignment, submission.assignment_id)
    own = actor.user_id is not None and submission.student_id == actor.user_id
    teaches = actor.has(Role.TEACHER) and assignment is not None and assignment.course_id == actor.course_id
    if assignment is None or not (own or teaches):
        raise NotFound(_("There is no such submission."))
    return submission, assignment


def submission_files(session: Session, submission_id: int) -> list[SubmissionFile]:
    rows = session.execute(select(SubmissionFile).where(SubmissionFile.submission_id == submission_id)
                           .order_by(SubmissionFile.role.desc(), SubmissionFile.position, SubmissionFile.id))
    order = {"original": 0, "copy": 1, "draft": 2}
    return sorted(rows.scalars(), key=lambda f: (order[f.role], f.position, f.id or 0))


def my_submissions(session: Session, actor: Actor, assignment: Assignment) -> list[Submission]:
    if actor.user_id is None:
        return []
    return list(session.execute(select(Submission).where(Submission.assignment_id == assignment.id,
                                                         Submission.student_id == actor.user_id)
                                .order_by(Submission.version.desc())).scalars())


def disclosure_of(submission: Submission) -> Disclosure:
    rows = tuple(UseRow(**row) for row in json.loads(submission.use_rows))
    return Disclosure(ai_used=submission.ai_used, tasks=tuple(json.loads(submission.tasks)),
                      service=submission.service or "", model=submission.model or "",
                      model_version=submission.model_version or "",
                      dates=tuple(date.fromisoformat(d) for d in json.loads(submission.use_dates)),
                      other_text=submission.other_text or "", rows=rows, checked=submission.checked)
