"""The usage journal (S 8.4): add, edit, refuse bad input without changing anything, CSV export
with formula-like cells kept as text."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from plugin.admin.journal import JournalError, JournalInput, add_entry, edit_entry, journal_csv, list_entries
from plugin.admin.models import UsageJournalEntry
from plugin.kernel.audit import AuditEntry
from plugin.kernel.errors import NotFound
from plugin.kernel.users import Actor
from tests.factories import T0

ADMIN = Actor.system("admin:alice")
GOOD = JournalInput(system_name="Сынақ-GPT 4.1", scenario="Мұғалімдер тапсырма жобасын дайындау үшін.",
                    responsible_unit="Оқу-әдістемелік бөлім", decision_number="7/3", decision_date="2026-08-28",
                    note="")


def _state(session) -> tuple[int, int]:
    return (session.execute(select(func.count()).select_from(UsageJournalEntry)).scalar_one(),
            session.execute(select(func.count()).select_from(AuditEntry)).scalar_one())


def test_add_and_edit_are_audited(db_session):
    entry = add_entry(db_session, ADMIN, GOOD, now=T0)
    assert entry.decision_date == date(2026, 8, 28) and entry.note is None and entry.created_by == "system:admin:alice"
    changed = edit_entry(db_session, ADMIN, entry.id, JournalInput(**{**GOOD.__dict__, "decision_number": "8/1"}),
                         now=T0 + timedelta(days=1))
    assert changed.decision_number == "8/1" and changed.updated_at == T0 + timedelta(days=1)
    actions = db_session.execute(select(AuditEntry.action, AuditEntry.payload).where(
        AuditEntry.subject == f"journal:{entry.id}").order_by(AuditEntry.seq)).all()
    assert [a for a, _p in actions] == ["journal.entry_added", "journal.entry_changed"]
    assert '"7/3"' in actions[1][1] and '"8/1"' in actions[1][1]


@pytest.mark.parametrize(("field", "value"), [
    ("system_name", ""), ("system_name", "x" * 201), ("system_name", "two\nlines"), ("scenario", "  "),
    ("responsible_unit", ""), ("decision_number", ""), ("decision_date", "28.08.2026"), ("decision_date", ""),
    ("note", "n" * 5001),
])
def test_bad_input_names_the_field_and_changes_nothing(db_session, field, value):
    entry = add_entry(db_session, ADMIN, GOOD, now=T0)
    before = _state(db_session)
    bad = JournalInput(**{**GOOD.__dict__, field: value})
    with pytest.raises(JournalError) as refused:
        add_entry(db_session, ADMIN, bad, now=T0)
    assert list(refused.value.problems) == [field]
    with pytest.raises(JournalError):
        edit_entry(db_session, ADMIN, entry.id, bad, now=T0)
    db_session.refresh(entry)
    assert entry.system_name == GOOD.system_name and _state(db_session) == before


def test_editing_an_unknown_entry_is_not_found(db_session):
    with pytest.raises(NotFound):
        edit_entry(db_session, ADMIN, 999_999, GOOD, now=T0)


def test_csv_keeps_formulas_as_text(db_session):
    add_entry(db_session, ADMIN, JournalInput(**{**GOOD.__dict__, "system_name": "=HYPERLINK(\"x\")",
                                                 "note": "+cmd", "decision_date": "2026-09-01"}), now=T0)
    add_entry(db_session, ADMIN, GOOD, now=T0)
    body = journal_csv(list_entries(db_session))
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert rows[0][0] == "AI system" and len(rows) == 3
    assert rows[1][0] == "'=HYPERLINK(\"x\")" and rows[1][5] == "'+cmd"  # the latest decision first
    assert rows[2][0] == "Сынақ-GPT 4.1" and rows[2][3] == "7/3" and rows[2][4] == "2026-08-28"
