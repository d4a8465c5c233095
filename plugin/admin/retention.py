"""Retention per data category (S 5.3в): find what has outlived its period, then delete or
anonymise it; ``adal retention run [--dry-run]`` and the console's preview call ``run_retention``.

Table-driven: ``CATEGORIES`` lists one handler per data category, in order (cases first, so the
submissions they held are free afterwards). A handler picks expired rows and hands them to
``Pass.remove``, which deletes them *with every row that points at them*, found through the
foreign keys in the metadata: a table added later with a foreign key to ``integrity_case`` or
``submission`` is deleted with its parent without touching this module. A foreign key declared
``ON DELETE SET NULL`` is cleared instead. Files are content-addressed and may be shared, so a
blob goes only when no remaining row of any table names its SHA-256 (any column called
``sha256`` or ending in ``_sha256``), and only after the transaction committed
(``remove_unreferenced_files``).

Kept, whatever the period: cases not yet final (``appeals.workflow.OPEN``), submissions with an
open flag or a remaining case, and everything under an active legal hold (``plugin.admin.holds``).
A dry run walks the same code without writing, so its counts are what a run would do.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import Table, delete, func, select, update
from sqlmodel import Session, SQLModel

from appeals import models as appeals_models
from appeals.cases import calendar_of
from appeals.models import Case
from appeals.workflow import FINAL, State
from attribution.models import Assignment, Submission, SubmissionFile
from evidence.models import DraftRequest, DraftUpload, EvidenceItem, Flag, Signal
from plugin.admin.holds import active_holds
from plugin.kernel import audit
from plugin.kernel.audit import AuditEntry
from plugin.kernel.filestore import FileStore
from plugin.kernel.notices import REQUIRED_LANGUAGES, Acknowledgement, NoticeText
from plugin.kernel.retention_records import AnonymisedCase, AnonymisedSubmissionCount
from plugin.kernel.settings import get_setting
from plugin.kernel.users import Actor

ERASED_AUDIT_ACTION = "audit.payload_erased"
#: Tables ``Pass.remove`` never reaches through a foreign key: a case goes only through its own
#: handler, which archives its figures first. Reaching one is a bug, not something to cascade.
PROTECTED = frozenset({"integrity_case"})
#: (table, column) naming the case a row came from as "case:<id>": they go with the case.
CASE_SOURCED = (("grade_adjustment", "source"),)


# -- the foreign-key graph ------------------------------------------------------------------------
def _tables() -> dict[str, Table]:
    return dict(SQLModel.metadata.tables)


def children_of(table: str) -> list[tuple[Table, str, str | None, bool]]:
    """Every (child table, column, ON DELETE, nullable) whose foreign key points at ``table``."""
    found = []
    for child in _tables().values():
        for fk in child.foreign_keys:
            if fk.column.table.name == table:
                found.append((child, fk.parent.name, (fk.ondelete or "").upper() or None, bool(fk.parent.nullable)))
    return sorted(found, key=lambda item: (item[0].name, item[1]))


def file_columns(table: Table) -> list[str]:
    return [c.name for c in table.columns if c.name == "sha256" or c.name.endswith("_sha256")]


def _pk(table: Table) -> Any:
    keys = list(table.primary_key.columns)
    if len(keys) != 1:
        raise RuntimeError(f"{table.name}: retention needs a single-column primary key")
    return keys[0]


# -- what a pass did (or would do) ----------------------------------------------------------------
@dataclass
class CategoryReport:
    key: str
    rows: Counter[str] = field(default_factory=Counter)  # table -> rows deleted
    anonymised: int = 0  # rows kept without their person (cases)
    kept_open: int = 0  # expired, but still in use: an open case or flag, evidence of a remaining case
    kept_held: int = 0  # expired, but under a legal hold
    files: int = 0  # blobs removed from the store
    audit_erased: int = 0  # audit payloads erased to their hash

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    def as_dict(self) -> dict[str, Any]:
        return {"rows": dict(sorted(self.rows.items())), "anonymised": self.anonymised, "kept_open": self.kept_open,
                "kept_held": self.kept_held, "files": self.files, "audit_erased": self.audit_erased}


@dataclass
class Report:
    dry_run: bool
    categories: dict[str, CategoryReport]
    files: list[str] = field(default_factory=list)  # SHA-256 of blobs no remaining row references

    @property
    def changed(self) -> bool:
        return any(c.total_rows or c.anonymised or c.audit_erased or c.files for c in self.categories.values())

    def as_dict(self) -> dict[str, Any]:
        return {key: report.as_dict() for key, report in self.categories.items()}


class Pass:
    """One retention pass (or one erasure): what is doomed, which blobs lost a reference."""

    def __init__(self, session: Session, *, now: datetime, dry_run: bool, held: dict[str, set[int]]) -> None:
        self.session, self.now, self.dry_run, self.held = session, now, dry_run, held
        self.doomed: dict[str, set[int]] = {}
        self.blob_category: dict[str, str] = {}
        self.reports: dict[str, CategoryReport] = {}
        self.tally: Counter[tuple[int, str, str]] = Counter()

    def report(self, category: str) -> CategoryReport:
        return self.reports.setdefault(category, CategoryReport(category))

    def is_doomed(self, table: str, row_id: int) -> bool:
        return row_id in self.doomed.get(table, set())

    def remove(self, table_name: str, ids: Iterable[int], category: str) -> None:
        """Delete rows of ``table_name`` and, first, every row that points at them (recursively);
        a dry run only counts. Raises ``RuntimeError`` when that would reach a PROTECTED table."""
        table = _tables()[table_name]
        doomed = self.doomed.setdefault(table_name, set())
        ids = sorted(set(ids) - doomed)
        if not ids:
            return
        doomed.update(ids)
        pk = _pk(table)
        for chunk in _chunks(ids):
            columns = file_columns(table)
            if columns:
                for row in self.session.execute(select(*[table.c[c] for c in columns]).where(pk.in_(chunk))):
                    for sha in row:
                        if sha:
                            self.blob_category.setdefault(sha, category)
            for child, column, ondelete, nullable in children_of(table_name):
                child_pk = _pk(child)
                child_ids = set(self.session.execute(select(child_pk).where(child.c[column].in_(chunk))).scalars())
                child_ids -= self.doomed.get(child.name, set())
                if not child_ids:
                    continue
                if ondelete == "SET NULL" and nullable:
                    if not self.dry_run:
                        self.session.execute(update(child).where(child_pk.in_(child_ids)).values({column: None}))
                    continue
                if child.name in PROTECTED:
                    raise RuntimeError(f"retention would delete {child.name} rows {sorted(child_ids)} "
                                       f"through {table_name}")
                self.remove(child.name, child_ids, category)
            if not self.dry_run:
                self.session.execute(delete(table).where(pk.in_(chunk)))
        self.report(category).rows[table_name] += len(ids)

    def still_referenced(self, sha: str) -> bool:
        """Whether a row that is not doomed names this blob."""
        for table in _tables().values():
            for column in file_columns(table):
                pk = _pk(table)
                for row_id in self.session.execute(select(pk).where(table.c[column] == sha)).scalars():
                    if not self.is_doomed(table.name, row_id):
                        return True
        return False

    def finish(self) -> list[str]:
        """The blobs to delete after commit, counted into their categories."""
        gone = []
        for sha, category in sorted(self.blob_category.items()):
            if not self.still_referenced(sha):
                gone.append(sha)
                self.report(category).files += 1
        return gone


def _chunks(ids: list[int], size: int = 500) -> Iterable[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def is_referenced(session: Session, sha: str) -> bool:
    """Whether any row of any table names this blob."""
    return Pass(session, now=datetime.min.replace(tzinfo=ZoneInfo("UTC")), dry_run=True, held={}).still_referenced(sha)


def remove_unreferenced_files(session: Session, files: FileStore, candidates: Iterable[str]) -> int:
    """Delete each candidate blob that no row references (checked again, in this session, after
    the deleting transaction committed). Returns how many files were removed."""
    removed = 0
    for sha in candidates:
        if not is_referenced(session, sha) and files.delete(sha):
            removed += 1
    return removed


# -- when periods start ---------------------------------------------------------------------------
def term_end(term: str, zone: str) -> datetime | None:
    """The end of an academic term "2026-2027/1" (31 January) or "2026-2027/2" (31 August),
    as ``attribution.submissions.term_of`` names them; ``None`` for another form."""
    try:
        years, half = term.split("/")
        second = int(years.split("-")[1])
    except (ValueError, IndexError):
        return None
    if half not in ("1", "2"):
        return None
    return datetime(second, 2 if half == "1" else 9, 1, tzinfo=ZoneInfo(zone))


def submission_start(submission: Submission, zone: str) -> datetime:
    return term_end(submission.term, zone) or submission.submitted_at


def case_start(session: Session, case: Case) -> datetime:
    """When a final case's period starts: the end of the appeal window after its decision (or
    its issue), or its latest recorded moment when that is later (an appeal's decision, a
    withdrawal). Every timestamp column counts, so one the appeal tables add to the case does."""
    moments = [value for value in (getattr(case, c.name) for c in Case.__table__.columns)
               if isinstance(value, datetime)]
    appeal = _appeal_of(session, case)
    if appeal is not None:
        moments += [value for value in (getattr(appeal, c.name) for c in appeal.__table__.columns)
                    if isinstance(value, datetime)]
    decided = case.issued_at or case.decided_at
    if decided is not None:
        window = int(get_setting(session, "appeal.window_working_days"))
        moments.append(calendar_of(session).deadline(decided, window))
    return max(moments)


def _appeal_of(session: Session, case: Case) -> Any:
    appeal_model = getattr(appeals_models, "Appeal", None)
    if appeal_model is None:
        return None
    return session.execute(select(appeal_model).where(appeal_model.case_id == case.id)).scalar_one_or_none()


def final_sanction(case: Case) -> int | None:
    """The sanction in force once the case is final (an appeal may lower or lift it)."""
    return getattr(case, "final_sanction_level", case.sanction_level)  # type: ignore[no-any-return]


def case_category(case: Case) -> str:
    return "cases_sanctioned" if case.finding == "responsible" and final_sanction(case) is not None \
        else "cases_not_responsible"


def case_keep_reason(p: Pass, case: Case) -> str | None:
    if State(case.state) not in FINAL:
        return "open"
    if case.id in p.held["case"] or case.student_id in p.held["user"] or case.course_id in p.held["course"]:
        return "held"
    return None


def anonymised_fields(session: Session, case: Case) -> dict[str, Any]:
    """What of a case outlives it. Extend here when the appeal tables add figures to count."""
    flag = session.get(Flag, case.flag_id)
    submission = session.get(Submission, case.submission_id)
    appeal = _appeal_of(session, case)
    return {"course_id": case.course_id, "commission_id": case.commission_id,
            "term": submission.term if submission else None,
            "submission_language": submission.language if submission else None,
            "state": case.state, "incident_level": case.incident_level, "finding": case.finding,
            "sanction_level": case.sanction_level, "final_sanction_level": final_sanction(case),
            "sanction_code": case.sanction_code,
            "appealed": appeal is not None, "appeal_outcome": getattr(appeal, "outcome", None),
            "flagged_at": flag.created_at if flag else None, "opened_at": case.opened_at,
            "decided_at": case.decided_at, "issued_at": case.issued_at, "closed_at": case_start(session, case)}


def anonymise_case(p: Pass, case: Case, category: str) -> None:
    """Keep the case's figures in ``anonymised_case``; delete the case, its children (votes,
    statements, appeal rows ...) and its flag with the flag's grounds and evidence."""
    if not p.dry_run:
        p.session.add(AnonymisedCase(**anonymised_fields(p.session, case), anonymised_at=p.now))
    p.report(category).anonymised += 1
    assert case.id is not None
    p.remove("integrity_case", [case.id], category)
    p.remove("flag", [case.flag_id], category)
    for table_name, column in CASE_SOURCED:  # rows that name the case in text rather than by a foreign key
        table = _tables().get(table_name)
        if table is not None:
            ids = p.session.execute(select(_pk(table)).where(table.c[column] == f"case:{case.id}")).scalars()
            p.remove(table_name, list(ids), category)


# -- the handlers ---------------------------------------------------------------------------------
def _cases(p: Pass, days: int, category: str) -> None:
    for case in p.session.execute(select(Case).order_by(Case.id)).scalars().all():
        if case_category(case) != category or State(case.state) not in FINAL:
            continue
        if case_start(p.session, case) + timedelta(days=days) > p.now:
            continue
        reason = case_keep_reason(p, case)
        if reason == "held":
            p.report(category).kept_held += 1
            continue
        anonymise_case(p, case, category)


def expire_sanctioned_cases(p: Pass, days: int) -> None:
    _cases(p, days, "cases_sanctioned")


def expire_not_responsible_cases(p: Pass, days: int) -> None:
    _cases(p, days, "cases_not_responsible")


def submission_keep_reason(p: Pass, submission_id: int, student_id: int, course_id: int) -> str | None:
    """Why a submission (or its drafts and signals) must stay: held, or still in use."""
    if student_id in p.held["user"] or course_id in p.held["course"]:
        return "held"
    cases = p.session.execute(select(Case.id).where(Case.submission_id == submission_id)).scalars()
    if any(not p.is_doomed("integrity_case", case_id) for case_id in cases):
        return "open"
    flags = p.session.execute(select(Flag.id).where(Flag.submission_id == submission_id,
                                                    Flag.state.in_(("open", "referred")))).scalars()  # type: ignore[attr-defined]
    if any(not p.is_doomed("flag", flag_id) for flag_id in flags):
        return "open"
    return None


def _expired_submissions(p: Pass, days: int) -> list[tuple[Submission, int]]:
    zone = str(get_setting(p.session, "institution.timezone"))
    rows = p.session.execute(select(Submission, Assignment.course_id).join(
        Assignment, Assignment.id == Submission.assignment_id).order_by(Submission.id)).all()
    return [(s, course_id) for s, course_id in rows if submission_start(s, zone) + timedelta(days=days) <= p.now]


def expire_submissions(p: Pass, days: int) -> None:
    report = p.report("submissions")
    for submission, course_id in _expired_submissions(p, days):
        assert submission.id is not None
        if p.is_doomed("submission", submission.id):
            continue
        reason = submission_keep_reason(p, submission.id, submission.student_id, course_id)
        if reason == "held":
            report.kept_held += 1
        elif reason == "open":
            report.kept_open += 1
        else:
            p.tally[(course_id, submission.term, submission.language)] += 1
            p.remove("submission", [submission.id], "submissions")


def expire_signals(p: Pass, days: int) -> None:
    """Signals go with their submission's period (counted from its term's end), earlier when
    this category is set shorter; a signal cited as evidence stays with its flag."""
    report = p.report("signals")
    expired = {s.id: course_id for s, course_id in _expired_submissions(p, days)}
    signals = p.session.execute(select(Signal.id, Signal.submission_id).order_by(Signal.id)).all()
    for signal_id, submission_id in signals:
        if submission_id not in expired or p.is_doomed("signal", signal_id):
            continue
        submission = p.session.get(Submission, submission_id)
        assert submission is not None
        reason = submission_keep_reason(p, submission_id, submission.student_id, expired[submission_id])
        cited = p.session.execute(select(EvidenceItem.id).where(EvidenceItem.signal_id == signal_id)).scalars()
        if reason is None and any(not p.is_doomed("evidence_item", item) for item in cited):
            reason = "open"
        if reason == "held":
            report.kept_held += 1
        elif reason == "open":
            report.kept_open += 1
        else:
            p.remove("signal", [signal_id], "signals")


def expire_drafts(p: Pass, days: int) -> None:
    """Draft files: those a student uploaded when asked (counted from the answer) and those
    handed in with the work (counted from the submission)."""
    report = p.report("drafts")
    cutoff = p.now - timedelta(days=days)

    def keep(submission_id: int) -> str | None:
        submission = p.session.get(Submission, submission_id)
        assert submission is not None
        assignment = p.session.get(Assignment, submission.assignment_id)
        return submission_keep_reason(p, submission_id, submission.student_id, assignment.course_id if assignment
                                      else -1)

    uploads = p.session.execute(select(DraftUpload.id, DraftRequest.submission_id,
                                       func.coalesce(DraftRequest.answered_at, DraftRequest.requested_at))
                                .join(DraftRequest, DraftRequest.id == DraftUpload.request_id)
                                .order_by(DraftUpload.id)).all()
    handed_in = p.session.execute(select(SubmissionFile.id, SubmissionFile.submission_id, Submission.submitted_at)
                                  .join(Submission, Submission.id == SubmissionFile.submission_id)
                                  .where(SubmissionFile.role == "draft").order_by(SubmissionFile.id)).all()
    for table, rows in (("draft_upload", uploads), ("submission_file", handed_in)):
        for row_id, submission_id, moment in rows:
            moment = _aware(moment)
            if moment > cutoff or p.is_doomed(table, row_id):
                continue
            reason = keep(submission_id)
            if reason == "held":
                report.kept_held += 1
            elif reason == "open":
                report.kept_open += 1
            else:
                p.remove(table, [row_id], "drafts")


def _aware(value: datetime) -> datetime:
    """``func.coalesce`` bypasses the column type: SQLite hands back a naive UTC time or text."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=ZoneInfo("UTC"))


def expire_acknowledgements(p: Pass, days: int) -> None:
    """An acknowledgement is kept while its notice version is current, then ``days`` more."""
    report = p.report("notices")
    complete: dict[int, datetime] = {}
    langs: dict[int, dict[str, datetime]] = {}
    for version, lang, published_at in p.session.execute(select(NoticeText.version, NoticeText.lang,
                                                                NoticeText.published_at)).all():
        langs.setdefault(version, {})[lang] = published_at
    for version, by_lang in langs.items():
        if set(REQUIRED_LANGUAGES) <= set(by_lang):
            complete[version] = max(by_lang[lang] for lang in REQUIRED_LANGUAGES)

    def superseded_at(version: int) -> datetime | None:
        later = [at for v, at in complete.items() if v > version]
        return min(later) if later else None

    rows = p.session.execute(select(Acknowledgement.id, Acknowledgement.user_id, Acknowledgement.version)
                             .order_by(Acknowledgement.id)).all()
    for ack_id, user_id, version in rows:
        ended = superseded_at(version)
        if ended is None or ended + timedelta(days=days) > p.now:
            continue
        if user_id in p.held["user"]:
            report.kept_held += 1
            continue
        p.remove("notice_acknowledgement", [ack_id], "notices")


def audit_subject_held(p: Pass, entry: AuditEntry) -> str | None:
    for label in (entry.subject or "", entry.actor):
        kind, _sep, ident = label.partition(":")
        if not ident.isdecimal():
            continue
        if kind in ("case", "user", "course") and int(ident) in p.held[kind]:
            return "held"
        if kind == "case" and not p.is_doomed("integrity_case", int(ident)) \
                and p.session.get(Case, int(ident)) is not None:
            return "open"  # the history of a case that is still kept stays with it
    return None


def erase_audit_payloads(p: Pass, days: int, *, actor: Actor) -> None:
    report = p.report("audit")
    cutoff = p.now - timedelta(days=days)
    seqs = p.session.execute(select(AuditEntry.seq).where(
        AuditEntry.at <= cutoff, AuditEntry.payload.is_not(None),  # type: ignore[union-attr]
        AuditEntry.action != ERASED_AUDIT_ACTION).order_by(AuditEntry.seq)).scalars().all()
    for seq in seqs:
        entry = p.session.get(AuditEntry, seq)
        assert entry is not None
        reason = audit_subject_held(p, entry)
        if reason == "held":
            report.kept_held += 1
        elif reason == "open":
            report.kept_open += 1
        else:
            if not p.dry_run:
                audit.erase_payload(p.session, actor, seq, reason=f"retention: audit {days} days", now=p.now)
            report.audit_erased += 1


@dataclass(frozen=True)
class Category:
    key: str
    title: Any  # lazy translated
    counted_from: Any  # lazy translated: when the period starts
    handler: Callable[..., None]


CATEGORIES: list[Category] = [
    Category("cases_sanctioned", _l("Cases with a sanction"),
             _l("the end of the appeal window, or the appeal's decision"), expire_sanctioned_cases),
    Category("cases_not_responsible", _l("Cases found not responsible or withdrawn"),
             _l("the end of the appeal window after the decision"), expire_not_responsible_cases),
    Category("drafts", _l("Drafts"), _l("the upload (or the submission it came with)"), expire_drafts),
    Category("signals", _l("Detector and originality signals"), _l("the end of the submission's term"),
             expire_signals),
    Category("submissions", _l("Submissions and their stamped copies"), _l("the end of the submission's term"),
             expire_submissions),
    Category("notices", _l("Notice acknowledgements"), _l("the day a newer notice version became current"),
             expire_acknowledgements),
    Category("audit", _l("Audit log payloads (erased to their hash)"), _l("the entry's time"),
             erase_audit_payloads),
]


def retention_days(session: Session) -> dict[str, int]:
    return dict(get_setting(session, "retention.days"))


def _record_tally(session: Session, tally: Counter[tuple[int, str, str]]) -> None:
    for (course_id, term, language), count in sorted(tally.items()):
        row = session.execute(select(AnonymisedSubmissionCount).where(
            AnonymisedSubmissionCount.course_id == course_id, AnonymisedSubmissionCount.term == term,
            AnonymisedSubmissionCount.language == language)).scalar_one_or_none()
        if row is None:
            session.add(AnonymisedSubmissionCount(course_id=course_id, term=term, language=language, count=count))
        else:
            row.count += count


def run_retention(session: Session, actor: Actor, *, now: datetime, dry_run: bool) -> Report:
    """Apply every category's period. Audits ``retention.run`` with the counts (not in a dry run,
    which writes nothing at all). Never commits; the caller commits, then removes ``report.files``
    with ``remove_unreferenced_files``. Running it again at once finds nothing more.
    """
    days = retention_days(session)
    p = Pass(session, now=now, dry_run=dry_run, held=active_holds(session))
    for category in CATEGORIES:
        p.report(category.key)
        if category.key == "audit":
            category.handler(p, days[category.key], actor=actor)
        else:
            category.handler(p, days[category.key])
        if not dry_run:
            session.flush()
    files = p.finish()
    report = Report(dry_run, {c.key: p.report(c.key) for c in CATEGORIES}, files)
    if not dry_run:
        _record_tally(session, p.tally)
        if report.changed:
            audit.record(session, actor, "retention.run", now=now, subject="retention",
                         payload={"categories": report.as_dict(), "days": days})
        session.flush()
        session.expire_all()  # the rows went by plain DELETEs: loaded objects must not outlive them
    return report
