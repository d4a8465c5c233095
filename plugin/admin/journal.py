"""The usage journal (S 8.4): every AI system the institution uses, the scenario approved for it,
the unit that answers for it, and the council's decision (number and date) that approved it.
Kept by the admin in the console and exported as CSV."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import gettext as _
from sqlalchemy import select
from sqlmodel import Session

from attribution.teaching import csv_cell
from plugin.admin.models import UsageJournalEntry
from plugin.kernel import audit
from plugin.kernel.errors import InvalidInput, NotFound
from plugin.kernel.users import Actor

MAX_LINE = 200
MAX_NUMBER = 100
MAX_TEXT = 5_000
FIELDS = ("system_name", "scenario", "responsible_unit", "decision_number", "decision_date", "note")


@dataclass(frozen=True)
class JournalInput:
    """One entry as typed in the form (text): checked by ``clean_entry``."""

    system_name: str = ""
    scenario: str = ""
    responsible_unit: str = ""
    decision_number: str = ""
    decision_date: str = ""
    note: str = ""


class JournalError(InvalidInput):
    """The entry was refused; ``problems`` maps each field to what is wrong with it."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__(" ".join(problems.values()))
        self.problems = problems


def _line(value: str, limit: int, empty: str, problems: dict[str, str], name: str) -> str:
    clean = (value or "").strip()
    if not clean:
        problems[name] = empty
    elif len(clean) > limit or not clean.isprintable():
        problems[name] = _("At most %(n)d characters on one line.", n=limit)
    return clean


def clean_entry(data: JournalInput) -> dict[str, object]:
    """The entry's values, checked; raises ``JournalError`` naming every field that is wrong."""
    problems: dict[str, str] = {}
    values: dict[str, object] = {
        "system_name": _line(data.system_name, MAX_LINE, _("Give the AI system's name."), problems, "system_name"),
        "responsible_unit": _line(data.responsible_unit, MAX_LINE, _("Give the unit responsible for its use."),
                                  problems, "responsible_unit"),
        "decision_number": _line(data.decision_number, MAX_NUMBER, _("Give the number of the council's decision."),
                                 problems, "decision_number"),
    }
    scenario = (data.scenario or "").strip()
    if not scenario:
        problems["scenario"] = _("Describe the approved scenario of use.")
    elif len(scenario) > MAX_TEXT:
        problems["scenario"] = _("At most %(n)d characters.", n=MAX_TEXT)
    values["scenario"] = scenario
    note = (data.note or "").strip()
    if len(note) > MAX_TEXT:
        problems["note"] = _("At most %(n)d characters.", n=MAX_TEXT)
    values["note"] = note or None
    try:
        decided = date.fromisoformat((data.decision_date or "").strip())
    except ValueError:
        problems["decision_date"] = _("Give the date of the council's decision (YYYY-MM-DD).")
    else:
        values["decision_date"] = decided
    if problems:
        raise JournalError(problems)
    return values


def add_entry(session: Session, actor: Actor, data: JournalInput, *, now: datetime) -> UsageJournalEntry:
    """A new journal entry; audits ``journal.entry_added``. Raises ``JournalError``."""
    values = clean_entry(data)
    entry = UsageJournalEntry(**values, created_at=now, created_by=actor.label, updated_at=now,  # type: ignore[arg-type]
                              updated_by=actor.label)
    session.add(entry)
    session.flush()
    audit.record(session, actor, "journal.entry_added", now=now, subject=f"journal:{entry.id}",
                 payload=_payload(entry))
    return entry


def edit_entry(session: Session, actor: Actor, entry_id: int, data: JournalInput, *,
               now: datetime) -> UsageJournalEntry:
    """Change an entry; audits ``journal.entry_changed`` with the old and new values.
    Raises ``NotFound`` or ``JournalError``."""
    entry = get_entry(session, entry_id)
    values = clean_entry(data)
    old = _payload(entry)
    for name, value in values.items():
        setattr(entry, name, value)
    entry.updated_at, entry.updated_by = now, actor.label
    session.flush()
    audit.record(session, actor, "journal.entry_changed", now=now, subject=f"journal:{entry.id}",
                 payload={"old": old, "new": _payload(entry)})
    return entry


def get_entry(session: Session, entry_id: int) -> UsageJournalEntry:
    entry = session.get(UsageJournalEntry, entry_id)
    if entry is None:
        raise NotFound(_("There is no such journal entry."))
    return entry


def list_entries(session: Session) -> list[UsageJournalEntry]:
    """Every entry, the latest council decision first."""
    return list(session.execute(select(UsageJournalEntry).order_by(
        UsageJournalEntry.decision_date.desc(), UsageJournalEntry.id.desc())).scalars())


def _payload(entry: UsageJournalEntry) -> dict[str, object]:
    return {name: (getattr(entry, name).isoformat() if name == "decision_date" else getattr(entry, name))
            for name in FIELDS}


def journal_csv(entries: list[UsageJournalEntry]) -> str:
    """The journal for Excel: UTF-8 with a byte-order mark, translated headers, formula-like
    cells quoted as text (the same rule as the teacher's export)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([_("AI system"), _("Approved scenario"), _("Responsible unit"), _("Decision number"),
                     _("Decision date"), _("Note"), _("Last changed"), _("Changed by")])
    for entry in entries:
        writer.writerow([csv_cell(cell) for cell in (
            entry.system_name, entry.scenario, entry.responsible_unit, entry.decision_number,
            entry.decision_date.isoformat(), entry.note or "", entry.updated_at.strftime("%Y-%m-%d %H:%M UTC"),
            entry.updated_by)])
    return out.getvalue()
