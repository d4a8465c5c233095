"""Data-subject requests (S 5.3г): export everything about a person, and erase it on request.

The person's rows are found through the foreign keys to ``user_account`` in the metadata, so a
new table is covered as soon as it declares one; ``USER_LINKS`` then says what each such link
means (``tests/unit/admin/test_subjects.py`` fails for a link missing here):

* ``descend``: the row is *about* the person (their submission, their case): the export follows
  it to every row that points at it (files, signals, flags, votes on their case ...), with other
  people's ids replaced by a marker.
* ``erase``: what ``erase_subject`` does with it: ``delete`` (with every row that points at
  it), ``set_null`` (the row is someone else's record; only the link goes), ``case`` (the
  person's own cases: deleted and counted anonymously, except a sanction still within its
  retention period, which the institution must keep), ``with_case`` (the person's part in a
  commission's case record: kept while that case is kept, gone with it).

Erasure refuses, changing nothing, while the person or one of their cases is under a legal hold
or one of their cases is still open, and names what blocks it. Otherwise it erases what it may and
reports what it kept and why (a sanction record within its period; the account itself while a
kept record still points at it).
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import Table, select, update
from sqlmodel import Session, SQLModel

from appeals.models import Case
from appeals.workflow import FINAL, State
from plugin.admin.holds import active_holds
from plugin.admin.retention import (
    Pass,
    _pk,
    anonymise_case,
    case_category,
    case_start,
    children_of,
    file_columns,
    retention_days,
)
from plugin.kernel import audit
from plugin.kernel.audit import AuditEntry
from plugin.kernel.errors import InvalidInput, NotFound
from plugin.kernel.runtime import runtime_of
from plugin.kernel.users import Actor, User

OTHER = "(another person)"


@dataclass(frozen=True)
class Link:
    descend: bool
    erase: str  # delete | set_null | case | with_case
    case_source: str | None = None  # a column naming the case a row came from ("case:12"): kept with that case


USER_LINKS: dict[tuple[str, str], Link] = {
    ("membership", "user_id"): Link(False, "delete"),
    ("notice_acknowledgement", "user_id"): Link(False, "delete"),
    ("submission", "student_id"): Link(True, "delete"),
    ("assignment_reopening", "student_id"): Link(False, "delete"),
    ("flag", "created_by_user"): Link(False, "set_null"),
    ("commission_member", "user_id"): Link(False, "delete"),
    ("integrity_case", "student_id"): Link(True, "case"),
    ("case_recusal", "user_id"): Link(False, "with_case"),
    ("case_objection", "member_user_id"): Link(False, "with_case"),
    ("case_vote", "user_id"): Link(False, "with_case"),
    ("case_appeal", "presiding_user_id"): Link(False, "with_case"),
    ("appeal_panel_member", "user_id"): Link(False, "with_case"),
    ("grade_adjustment", "student_id"): Link(False, "delete", case_source="source"),
    ("notification", "user_id"): Link(False, "delete"),
}


def user_links() -> list[tuple[Table, str]]:
    """Every (table, column) with a foreign key to ``user_account``."""
    return [(child, column) for child, column, _ondelete, _nullable in children_of("user_account")]


def unhandled_links() -> list[str]:
    return [f"{table.name}.{column}" for table, column in user_links() if (table.name, column) not in USER_LINKS]


def _require_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id) if isinstance(user_id, int) and not isinstance(user_id, bool) else None
    if user is None:
        raise NotFound(_("There is no person #%(id)s.", id=user_id))
    missing = unhandled_links()
    if missing:  # a table added without saying what a request does with it: refuse rather than guess
        raise RuntimeError(f"no data-subject policy for {', '.join(missing)} (plugin/admin/subjects.py USER_LINKS)")
    return user


# -- export ---------------------------------------------------------------------------------------
def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.hex()
    return value


def collect_rows(session: Session, user_id: int) -> dict[str, set[int]]:
    """Primary keys of every row about the person, by table (their own rows, and the rows that
    point at the ones ``USER_LINKS`` marks ``descend``)."""
    found: dict[str, set[int]] = {}
    queue: list[tuple[str, set[int]]] = []
    for table, column in user_links():
        ids = set(session.execute(select(_pk(table)).where(table.c[column] == user_id)).scalars())
        if ids:
            found.setdefault(table.name, set()).update(ids)
            if USER_LINKS[(table.name, column)].descend:
                queue.append((table.name, ids))
    while queue:
        name, ids = queue.pop()
        for child, column, _ondelete, _nullable in children_of(name):
            if child.name == "user_account":
                continue
            child_ids = set(session.execute(select(_pk(child)).where(child.c[column].in_(sorted(ids)))).scalars())
            new = child_ids - found.get(child.name, set())
            if new:
                found.setdefault(child.name, set()).update(new)
                queue.append((child.name, new))
    return found


def _redact(table: Table, row: dict[str, Any], user_id: int) -> dict[str, Any]:
    """Other people's ids and actor labels become a marker: the export is the person's, not theirs."""
    user_columns = {fk.parent.name for fk in table.foreign_keys if fk.column.table.name == "user_account"}
    own_label = f"user:{user_id}"
    out = {}
    for key, value in row.items():
        someone_else = key in user_columns and value is not None and value != user_id
        other_label = isinstance(value, str) and value.startswith("user:") and value[5:].isdecimal() \
            and value != own_label
        if someone_else or other_label:
            value = OTHER
        out[key] = _json_value(value)
    return out


def _audit_for(session: Session, user_id: int, subjects: set[str]) -> list[dict[str, Any]]:
    label = f"user:{user_id}"
    rows = session.execute(select(AuditEntry).where(
        (AuditEntry.actor == label) | (AuditEntry.subject == label)
        | AuditEntry.subject.in_(sorted(subjects))).order_by(AuditEntry.seq)).scalars()  # type: ignore[union-attr]
    out = []
    for entry in rows:
        out.append({"seq": entry.seq, "at": entry.at.isoformat(),
                    "actor": entry.actor if entry.actor == label or not entry.actor.startswith("user:") else OTHER,
                    "action": entry.action, "subject": entry.subject,
                    "payload": json.loads(entry.payload) if entry.payload is not None else None,
                    "payload_erased": entry.payload is None})
    return out


_SUBJECT_PREFIX = {"submission": "submission", "integrity_case": "case", "flag": "flag", "signal": "signal"}

README = """Adal: export of personal data / дербес деректер көшірмесі / выгрузка персональных данных

kk: Бұл мұрағатта Adal жүйесінде сіз туралы сақталған барлық деректер бар (S 5.3г).
    data.json: әр кестедегі сізге қатысты жолдар; audit: сіздің немесе сіздің
    жұмыстарыңыз туралы журнал жазбалары; files/: сіз тапсырған немесе сізге қатысты файлдар,
    әрқайсысы өзінің SHA-256 хэшімен аталған. Басқа адамдардың идентификаторлары
    "(another person)" деп ауыстырылған.

ru: В этом архиве все данные о вас, которые хранит Adal (S 5.3г).
    data.json: строки каждой таблицы, относящиеся к вам; audit: записи журнала о ваших
    действиях и ваших работах; files/: файлы, которые вы сдали или которые относятся к вам,
    каждый назван своим хэшем SHA-256. Идентификаторы других людей заменены на
    "(another person)".

en: This archive holds everything Adal keeps about you (S 5.3г).
    data.json: your rows in every table; audit: log entries of your actions and about
    your work; files/: the files you handed in or that concern you, each named by its
    SHA-256. Other people's identifiers are replaced by "(another person)".
"""


@dataclass
class Export:
    data: dict[str, Any]
    files: dict[str, bytes]  # sha256 -> content
    missing_files: list[str] = field(default_factory=list)

    def to_zip(self) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("README.txt", README)
            archive.writestr("data.json", json.dumps(self.data, ensure_ascii=False, indent=2, sort_keys=True))
            for sha, content in sorted(self.files.items()):
                archive.writestr(f"files/{sha}", content)
        return buffer.getvalue()


def export_subject(session: Session, actor: Actor, user_id: int, *, now: datetime) -> Export:
    """Everything about the person. Audits ``subject.exported`` (counts only). Raises ``NotFound``
    for no such person; nothing is written then."""
    user = _require_user(session, user_id)
    tables = SQLModel.metadata.tables
    found = collect_rows(session, user_id)
    data: dict[str, Any] = {"exported_at": now.isoformat(), "user_id": user_id, "tables": {}, "files": []}
    data["user"] = {c.name: _json_value(getattr(user, c.name)) for c in User.__table__.columns}
    shas: dict[str, list[str]] = {}
    subjects: set[str] = set()
    for name, ids in sorted(found.items()):
        table = tables[name]
        pk = _pk(table)
        rows = [dict(r._mapping) for r in session.execute(select(table).where(pk.in_(sorted(ids))).order_by(pk))]
        data["tables"][name] = [_redact(table, row, user_id) for row in rows]
        for row in rows:
            for column in file_columns(table):
                if row.get(column):
                    shas.setdefault(row[column], []).append(f"{name}.{column}#{row[pk.name]}")
        if name in _SUBJECT_PREFIX:
            subjects.update(f"{_SUBJECT_PREFIX[name]}:{row[pk.name]}" for row in rows)
    data["audit"] = _audit_for(session, user_id, subjects)
    store = runtime_of(session).files
    files, missing = {}, []
    for sha, used_by in sorted(shas.items()):
        try:
            files[sha] = store.read(sha)
        except (LookupError, ValueError):
            missing.append(sha)
        data["files"].append({"sha256": sha, "path": f"files/{sha}" if sha in files else None, "rows": used_by})
    audit.record(session, actor, "subject.exported", now=now, subject=f"user:{user_id}",
                 payload={"tables": {name: len(ids) for name, ids in sorted(found.items())}, "files": len(files)})
    return Export(data, files, missing)


# -- erasure --------------------------------------------------------------------------------------
@dataclass
class Erasure:
    user_id: int
    dry_run: bool
    deleted: dict[str, int] = field(default_factory=dict)  # table -> rows
    unlinked: dict[str, int] = field(default_factory=dict)  # table -> rows whose link to the person was cleared
    anonymised_cases: int = 0
    kept: list[str] = field(default_factory=list)  # translated: what stays, and why
    account_deleted: bool = False
    audit_erased: int = 0
    files: list[str] = field(default_factory=list)


class ErasureBlocked(InvalidInput):
    """The request cannot be carried out now; the message names each reason."""


def erasure_blockers(session: Session, user_id: int) -> list[str]:
    held = active_holds(session)
    blockers = []
    if user_id in held["user"]:
        blockers.append(_("the person is under a legal hold"))
    cases = session.execute(select(Case).where(Case.student_id == user_id).order_by(Case.id)).scalars().all()
    for case in cases:
        if State(case.state) not in FINAL:
            blockers.append(_("case %(number)s is still open", number=case.number))
        elif case.id in held["case"] or case.course_id in held["course"]:
            blockers.append(_("case %(number)s is under a legal hold", number=case.number))
    return blockers


def erase_subject(session: Session, actor: Actor, user_id: int, *, now: datetime, dry_run: bool) -> Erasure:
    """Delete or anonymise what Adal keeps about the person. Audits ``subject.erased`` (counts,
    not contents). Never commits; the caller commits and then removes ``files`` with
    ``remove_unreferenced_files``.

    Raises ``NotFound`` for no such person and ``ErasureBlocked`` (naming each reason) while the
    person or one of their cases is held or one of their cases is open; nothing changes then.
    """
    _require_user(session, user_id)
    blockers = erasure_blockers(session, user_id)
    if blockers:
        raise ErasureBlocked(_("Nothing was erased: %(reasons)s.", reasons="; ".join(blockers)))
    held = active_holds(session)
    p = Pass(session, now=now, dry_run=dry_run, held=held)
    result = Erasure(user_id, dry_run)
    days = retention_days(session)
    kept_cases: set[int] = set()
    for case in session.execute(select(Case).where(Case.student_id == user_id).order_by(Case.id)).scalars().all():
        assert case.id is not None
        if case_category(case) == "cases_sanctioned":
            until = case_start(session, case) + timedelta(days=days["cases_sanctioned"])
            if until > now:
                kept_cases.add(case.id)
                result.kept.append(_("case %(number)s: a sanction record, kept until %(date)s",
                                     number=case.number, date=until.date().isoformat()))
                continue
        anonymise_case(p, case, "subject")
        result.anonymised_cases += 1
    for table, column in user_links():
        link = USER_LINKS[(table.name, column)]
        pk = _pk(table)
        ids = set(session.execute(select(pk).where(table.c[column] == user_id)).scalars()) \
            - p.doomed.get(table.name, set())
        if not ids:
            continue
        if link.erase == "set_null":
            if not dry_run:
                session.execute(update(table).where(pk.in_(sorted(ids))).values({column: None}))
            result.unlinked[table.name] = len(ids)
        elif link.erase == "delete":
            if link.case_source is not None:
                sources = {f"case:{case_id}" for case_id in kept_cases}
                needed = set(session.execute(select(pk).where(pk.in_(sorted(ids)),
                                                              table.c[link.case_source].in_(sorted(sources))))
                             .scalars())
                if needed:
                    result.kept.append(ngettext("%(num)d row of %(table)s: part of a sanction that is kept",
                                                "%(num)d rows of %(table)s: part of a sanction that is kept",
                                                len(needed), table=table.name))
                ids -= needed
            if table.name == "submission":
                needed = {i for i in ids if _used_by_kept_case(session, i, kept_cases)}
                if needed:
                    result.kept.append(ngettext("%(num)d submission that kept cases refer to",
                                                "%(num)d submissions that kept cases refer to", len(needed)))
                ids -= needed
            p.remove(table.name, ids, "subject")
        elif link.erase == "with_case":
            result.kept.append(ngettext("%(num)d row of %(table)s: part of commission case records that are kept",
                                        "%(num)d rows of %(table)s: part of commission case records that are kept",
                                        len(ids), table=table.name))
    still_needed = _still_linked(session, user_id, p)
    if still_needed:
        result.kept.append(_("the account itself (name and LMS identity), because kept records refer to it: "
                             "%(tables)s", tables=", ".join(still_needed)))
    else:
        p.remove("user_account", [user_id], "subject")
        result.account_deleted = True
    result.audit_erased = _erase_audit(session, actor, user_id, p, now=now)
    result.files = p.finish()
    result.deleted = dict(sorted(p.report("subject").rows.items()))
    if not dry_run:
        session.flush()
        audit.record(session, actor, "subject.erased", now=now, subject=f"user:{user_id}",
                     payload={"deleted": result.deleted, "unlinked": result.unlinked,
                              "anonymised_cases": result.anonymised_cases, "kept": len(result.kept),
                              "account_deleted": result.account_deleted, "audit_erased": result.audit_erased,
                              "files": len(result.files)})
        session.flush()
        session.expire_all()  # the rows went by plain DELETEs: loaded objects must not outlive them
    return result


def _used_by_kept_case(session: Session, submission_id: int, kept_cases: set[int]) -> bool:
    cases = set(session.execute(select(Case.id).where(Case.submission_id == submission_id)).scalars())
    return bool(cases & kept_cases)


def _still_linked(session: Session, user_id: int, p: Pass) -> list[str]:
    """Tables whose remaining rows still point at the person (so the account must stay)."""
    names = []
    for table, column in user_links():
        link = USER_LINKS[(table.name, column)]
        if link.erase == "set_null":
            continue
        ids = set(session.execute(select(_pk(table)).where(table.c[column] == user_id)).scalars())
        if ids - p.doomed.get(table.name, set()):
            names.append(table.name)
    return sorted(set(names))


def _erase_audit(session: Session, actor: Actor, user_id: int, p: Pass, *, now: datetime) -> int:
    """Erase the payloads of the person's own audit entries (their actions and entries about
    them), except those about a case that is kept. Their hashes stay: the chain still verifies."""
    label = f"user:{user_id}"
    entries: Iterable[AuditEntry] = session.execute(select(AuditEntry).where(
        (AuditEntry.actor == label) | (AuditEntry.subject == label),
        AuditEntry.payload.is_not(None)).order_by(AuditEntry.seq)).scalars().all()  # type: ignore[union-attr]
    erased = 0
    for entry in entries:
        kind, _sep, ident = (entry.subject or "").partition(":")
        if kind == "case" and ident.isdecimal() and not p.is_doomed("integrity_case", int(ident)) \
                and session.get(Case, int(ident)) is not None:
            continue
        if not p.dry_run:
            audit.erase_payload(session, actor, entry.seq, reason="data-subject erasure", now=now)
        erased += 1
    return erased
