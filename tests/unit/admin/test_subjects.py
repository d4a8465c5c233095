"""Data-subject requests: the export holds the person's rows and files and nobody else's; erasure
deletes what it may, keeps a sanction record within its period, refuses while something is held
or open; every table that links to a person has a policy."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import timedelta

import pytest
from sqlalchemy import select

from appeals.models import Case
from attribution.models import Submission
from evidence.models import Flag
from plugin.admin.holds import add_hold
from plugin.admin.retention import remove_unreferenced_files
from plugin.admin.subjects import USER_LINKS, ErasureBlocked, erase_subject, export_subject, unhandled_links, user_links
from plugin.kernel.audit import AuditEntry
from plugin.kernel.errors import NotFound
from plugin.kernel.notices import Acknowledgement
from plugin.kernel.runtime import runtime_of
from plugin.kernel.users import Actor, Membership, User
from plugin.migrations import load_all_models
from tests.unit.admin.retention_world import NOW, RECENT, case, counts, file_shas, hand_in, student

ADMIN = Actor.system("admin:tester")


def test_every_link_to_a_person_has_a_policy():
    """A new table with a foreign key to user_account must say what export and erasure do with it
    (plugin/admin/subjects.py USER_LINKS); until it does, this fails and erasure refuses to run."""
    load_all_models()
    assert unhandled_links() == []
    assert {(table.name, column) for table, column in user_links()} <= set(USER_LINKS)
    assert all(link.erase in ("delete", "set_null", "case", "with_case") for link in USER_LINKS.values())


def test_export_holds_the_persons_rows_and_files_and_no_one_elses(db_session):
    s = db_session
    me, other = student(s), student(s)
    mine = hand_in(s, me, when=RECENT)
    theirs = hand_in(s, other, when=RECENT)
    my_case = case(s, mine, me, state="closed", sanction=1,
                   statement=b"my statement file " + me.user.display_name.encode())
    before = counts(s)

    export = export_subject(s, ADMIN, me.user.id, now=NOW)
    archive = zipfile.ZipFile(io.BytesIO(export.to_zip()))
    names = set(archive.namelist())
    assert {"README.txt", "data.json"} <= names
    readme = archive.read("README.txt").decode()
    assert "kk:" in readme and "ru:" in readme and "en:" in readme
    data = json.loads(archive.read("data.json"))
    assert data["user"]["display_name"] == me.user.display_name
    assert [row["id"] for row in data["tables"]["submission"]] == [mine.id]
    assert [row["id"] for row in data["tables"]["integrity_case"]] == [my_case.id]
    assert "case_statement" in data["tables"] and "submission_file" in data["tables"]
    assert data["tables"]["flag"][0]["created_by"] == "(another person)"  # the flagging teacher's label
    # every file named in the rows is in the archive and hashes to its name
    expected = file_shas(s, mine) | {data["tables"]["case_statement"][0]["sha256"]}
    assert {f["sha256"] for f in data["files"]} == expected
    for sha in expected:
        assert hashlib.sha256(archive.read(f"files/{sha}")).hexdigest() == sha
    text = archive.read("data.json").decode()
    assert other.user.display_name not in text
    assert not file_shas(s, theirs) & names
    assert all(row["student_id"] == me.user.id for row in data["tables"]["submission"])
    assert any(entry["action"] == "submission.created" or entry["subject"] == f"submission:{mine.id}"
               for entry in data["audit"])
    # the export is audited, with counts only
    after = counts(s)
    assert after["audit_entry"] == before["audit_entry"] + 1
    entry = s.execute(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).scalar_one()
    assert (entry.action, entry.subject) == ("subject.exported", f"user:{me.user.id}")
    assert me.user.display_name not in entry.payload


def test_unknown_person_is_refused_and_nothing_changes(db_session):
    student(db_session)
    before = counts(db_session)
    with pytest.raises(NotFound):
        export_subject(db_session, ADMIN, 987654, now=NOW)
    with pytest.raises(NotFound):
        erase_subject(db_session, ADMIN, 987654, now=NOW, dry_run=False)
    assert counts(db_session) == before


def test_erasure_is_refused_while_a_case_is_open_or_the_person_is_held(db_session):
    s = db_session
    me = student(s)
    open_case = case(s, hand_in(s, me, when=RECENT), me, state="deliberation")
    before = counts(s)
    with pytest.raises(ErasureBlocked) as refused:
        erase_subject(s, ADMIN, me.user.id, now=NOW, dry_run=False)
    assert open_case.number in str(refused.value) and "still open" in str(refused.value)
    assert counts(s) == before

    other = student(s)
    hand_in(s, other, when=RECENT)
    add_hold(s, ADMIN, "user", other.user.id, reason="Complaint", now=NOW)
    before = counts(s)
    with pytest.raises(ErasureBlocked) as held:
        erase_subject(s, ADMIN, other.user.id, now=NOW, dry_run=False)
    assert "legal hold" in str(held.value)
    assert counts(s) == before


def test_erasure_deletes_the_person_their_work_and_files(db_session):
    s = db_session
    files = runtime_of(s).files
    me, other = student(s), student(s)
    mine = hand_in(s, me, when=RECENT)
    not_mine = hand_in(s, other, when=RECENT)
    my_files = file_shas(s, mine)
    user_id, mine_id, theirs_id = me.user.id, mine.id, not_mine.id
    dismissed = case(s, mine, me, state="not_responsible", decided=NOW - timedelta(days=2))
    dismissed_id = dismissed.id
    s.add(Flag(submission_id=theirs_id, course_id=other.course.id, state="open", created_by=f"user:{user_id}",
               created_by_user=user_id, created_at=RECENT))  # I flagged someone's work (as a teacher would)
    s.flush()

    before = counts(s)
    preview = erase_subject(s, ADMIN, user_id, now=NOW, dry_run=True)
    assert counts(s) == before and all(files.exists(sha) for sha in my_files)
    result = erase_subject(s, ADMIN, user_id, now=NOW, dry_run=False)
    assert result.deleted == preview.deleted and result.files == preview.files
    remove_unreferenced_files(s, files, result.files)

    assert result.account_deleted and s.get(User, user_id) is None
    assert s.get(Submission, mine_id) is None and s.get(Case, dismissed_id) is None
    assert result.anonymised_cases == 1
    assert not any(files.exists(sha) for sha in my_files)
    for model, column in ((Membership, Membership.user_id), (Acknowledgement, Acknowledgement.user_id)):
        assert s.execute(select(model).where(column == user_id)).first() is None
    # someone else's submission stays; the flag I raised on it stays, without my name on it
    assert s.get(Submission, theirs_id) is not None
    assert s.execute(select(Flag.created_by_user).where(Flag.submission_id == theirs_id)).scalar_one() is None
    mine_audit = s.execute(select(AuditEntry).where(AuditEntry.actor == f"user:{user_id}")).scalars().all()
    assert mine_audit and all(entry.payload is None for entry in mine_audit)
    last = s.execute(select(AuditEntry).where(AuditEntry.action == "subject.erased")).scalar_one()
    assert last.subject == f"user:{user_id}"


def test_erasure_keeps_a_sanction_within_its_period_and_says_so(db_session):
    s = db_session
    me = student(s)
    mine = hand_in(s, me, when=RECENT)
    sanctioned = case(s, mine, me, state="closed", sanction=2, decided=NOW - timedelta(days=60))
    other_work = hand_in(s, me, when=RECENT)
    user_id, case_id, case_number, kept_id, gone_id = me.user.id, sanctioned.id, sanctioned.number, mine.id, \
        other_work.id
    result = erase_subject(s, ADMIN, user_id, now=NOW, dry_run=False)
    assert s.get(Case, case_id) is not None and s.get(Submission, kept_id) is not None
    assert s.get(Submission, gone_id) is None
    assert not result.account_deleted and s.get(User, user_id) is not None
    assert any(case_number in line for line in result.kept)
    assert any("integrity_case" in line for line in result.kept)  # why the account stays
