"""Retention per data category: a dry run lists exactly what a run deletes and changes nothing; a run
deletes rows and files, keeps cases' figures anonymously, and a second run finds nothing; open
cases, legal holds and shared files are kept."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from appeals.appeal import close_appeal_window
from appeals.models import Case, CaseStatement
from attribution.models import Submission
from evidence.models import DraftRequest, DraftUpload, Flag
from plugin.admin.holds import add_hold, release_hold
from plugin.admin.retention import CATEGORIES, remove_unreferenced_files, run_retention, term_end
from plugin.kernel.audit import AuditEntry
from plugin.kernel.db import metadata
from plugin.kernel.errors import InvalidInput, NotFound
from plugin.kernel.notices import Acknowledgement
from plugin.kernel.retention_records import AnonymisedCase, AnonymisedSubmissionCount, LegalHold
from plugin.kernel.runtime import runtime_of
from plugin.kernel.settings import RETENTION_CATEGORIES, get_setting, set_setting
from plugin.kernel.users import Actor
from tests.case_world import T0, build_world, to_issued
from tests.factories_work import publish_test_notice
from tests.unit.admin.retention_world import NOW, OLD, RECENT, case, counts, file_shas, hand_in, student

ADMIN = Actor.system("admin:tester")


def _run(s, *, dry_run: bool, now=NOW):
    report = run_retention(s, ADMIN, now=now, dry_run=dry_run)
    if not dry_run:
        remove_unreferenced_files(s, runtime_of(s).files, report.files)
    return report


def test_every_category_has_a_handler_and_a_period():
    assert [c.key for c in CATEGORIES] == ["cases_sanctioned", "cases_not_responsible", "drafts", "signals",
                                           "submissions", "notices", "audit"]
    assert set(RETENTION_CATEGORIES) == {c.key for c in CATEGORIES}


def test_term_end_follows_term_of():
    assert term_end("2024-2025/1", "Asia/Almaty").isoformat() == "2025-02-01T00:00:00+05:00"
    assert term_end("2025-2026/2", "Asia/Almaty").isoformat() == "2026-09-01T00:00:00+05:00"
    assert term_end("spring", "Asia/Almaty") is None


def test_dry_run_lists_what_a_run_deletes_and_changes_nothing(db_session):
    s = db_session
    files = runtime_of(s).files
    old_one, recent_one = student(s), student(s)
    expired = hand_in(s, old_one)
    kept = hand_in(s, recent_one, when=RECENT)
    expired_files, kept_files = file_shas(s, expired), file_shas(s, kept)
    expired_id, kept_id, course_id = expired.id, kept.id, old_one.course.id
    assert expired_files and all(files.exists(sha) for sha in expired_files | kept_files)
    before = counts(s)

    preview = _run(s, dry_run=True)
    assert counts(s) == before  # nothing written, not even an audit entry
    assert all(files.exists(sha) for sha in expired_files)
    assert preview.categories["submissions"].rows["submission"] == 1
    assert preview.categories["submissions"].files == len(expired_files)
    assert set(preview.files) == expired_files

    done = _run(s, dry_run=False)
    assert done.as_dict() == preview.as_dict()  # the preview was exact
    assert s.get(Submission, expired_id) is None and s.get(Submission, kept_id) is not None
    assert not any(files.exists(sha) for sha in expired_files)
    assert all(files.exists(sha) for sha in kept_files)
    tally = s.execute(select(AnonymisedSubmissionCount).where(
        AnonymisedSubmissionCount.course_id == course_id)).scalar_one()
    assert (tally.term, tally.language, tally.count) == ("2024-2025/1", "kk", 1)
    entry = s.execute(select(AuditEntry).where(AuditEntry.action == "retention.run")).scalars().all()[-1]
    assert json.loads(entry.payload)["categories"]["submissions"]["rows"]["submission"] == 1

    after = counts(s)
    again = _run(s, dry_run=False)
    assert not again.changed and counts(s) == after  # idempotent: nothing more, not even an audit entry


def test_cases_are_kept_as_figures_after_their_period_and_open_ones_stay(db_session):
    s = db_session
    files = runtime_of(s).files
    a, b, c = student(s), student(s), student(s)
    sanctioned = case(s, hand_in(s, a), a, state="closed", sanction=1, decided=OLD - timedelta(days=2000),
                      statement=b"statement for the sanctioned case " + a.user.display_name.encode())
    recent_sanction = case(s, hand_in(s, b), b, state="closed", sanction=2)
    still_open = case(s, hand_in(s, c), c, state="deliberation")
    statement_sha = s.execute(select(CaseStatement.sha256).where(CaseStatement.case_id == sanctioned.id)).scalar_one()
    gone_submission, gone_flag, gone_case, course_id = (sanctioned.submission_id, sanctioned.flag_id, sanctioned.id,
                                                        a.course.id)
    kept_cases = [(k.id, k.submission_id) for k in (recent_sanction, still_open)]

    report = _run(s, dry_run=False)
    assert report.categories["cases_sanctioned"].anonymised == 1
    assert report.categories["cases_sanctioned"].rows["case_statement"] == 1
    assert s.get(Case, gone_case) is None and s.get(Flag, gone_flag) is None
    assert s.get(Submission, gone_submission) is None  # its own period had passed too, once the case went
    assert not files.exists(statement_sha)
    figures = s.execute(select(AnonymisedCase)).scalars().all()
    assert len(figures) == 1
    row = figures[0]
    assert (row.course_id, row.incident_level, row.finding, row.sanction_level, row.final_sanction_level,
            row.state, row.term, row.submission_language) == (course_id, 2, "responsible", 1, 1, "closed",
                                                               "2024-2025/1", "kk")
    assert not {"student_id", "allegation", "reasons"} & set(AnonymisedCase.__table__.columns.keys())
    # a sanction within its 5 years, and an open case, keep their case and their submission
    for case_id, submission_id in kept_cases:
        assert s.get(Case, case_id) is not None and s.get(Submission, submission_id) is not None
    assert report.categories["submissions"].kept_open == 2


def test_not_responsible_cases_go_once_the_appeal_window_passed(db_session):
    s = db_session
    a, b = student(s), student(s)
    long_ago = case(s, hand_in(s, a, when=RECENT), a, state="not_responsible", decided=NOW - timedelta(days=30))
    just_now = case(s, hand_in(s, b, when=RECENT), b, state="not_responsible", decided=NOW - timedelta(days=3))
    gone, kept, submission_id = long_ago.id, just_now.id, long_ago.submission_id
    report = _run(s, dry_run=False)
    assert s.get(Case, gone) is None and s.get(Case, kept) is not None  # 10 working days not over
    assert report.categories["cases_not_responsible"].anonymised == 1
    # its submission is still within its own period: only the case went
    assert s.get(Submission, submission_id) is not None


def test_legal_holds_keep_a_case_a_person_and_a_course_until_released(db_session):
    s = db_session
    a, b, c = student(s), student(s), student(s)
    held_case = case(s, hand_in(s, a), a, state="not_responsible")
    held_person, held_course = hand_in(s, b), hand_in(s, c)
    holds = [add_hold(s, ADMIN, "case", held_case.id, reason="Court request 12/2026", now=NOW),
             add_hold(s, ADMIN, "user", b.user.id, reason="Complaint under review", now=NOW),
             add_hold(s, ADMIN, "course", c.course.id, reason="Accreditation audit", now=NOW)]
    case_id, person_id, course_id = held_case.id, held_person.id, held_course.id
    hold_ids = [hold.id for hold in holds]

    report = _run(s, dry_run=False)
    assert s.get(Case, case_id) is not None
    assert s.get(Submission, person_id) is not None and s.get(Submission, course_id) is not None
    assert report.categories["cases_not_responsible"].kept_held == 1
    assert report.categories["submissions"].kept_held == 2
    assert report.categories["submissions"].kept_open == 1  # the held case still needs its submission

    for hold_id in hold_ids:
        release_hold(s, ADMIN, hold_id, now=NOW)
    _run(s, dry_run=False)
    assert s.get(Case, case_id) is None
    assert s.get(Submission, person_id) is None and s.get(Submission, course_id) is None
    assert s.get(LegalHold, hold_ids[0]).released_by == ADMIN.label  # released, still listed


def test_a_file_shared_with_a_kept_submission_stays(db_session):
    s = db_session
    files = runtime_of(s).files
    a, b = student(s), student(s)
    same = b"The very same synthetic bytes, handed in twice " + a.user.display_name.encode()
    old_copy, new_copy = hand_in(s, a, content=same), hand_in(s, b, when=RECENT, content=same)
    shared = file_shas(s, old_copy) & file_shas(s, new_copy)
    assert shared
    old_id = old_copy.id
    report = _run(s, dry_run=False)
    assert s.get(Submission, old_id) is None
    assert not shared & set(report.files)
    assert all(files.exists(sha) for sha in shared)


def test_acknowledgements_outlive_their_version_by_the_period(db_session):
    s = db_session
    a = student(s)
    user_id = a.user.id
    hand_in(s, a)  # acknowledges version 1
    publish_test_notice(s, 2, now=NOW - timedelta(days=400))
    hand_in(s, a, when=NOW - timedelta(days=300))  # acknowledges version 2
    set_setting(s, ADMIN, "retention.days", {**get_setting(s, "retention.days"), "notices": 365}, now=NOW)
    _run(s, dry_run=False)
    versions = set(s.execute(select(Acknowledgement.version).where(Acknowledgement.user_id == user_id)).scalars())
    assert versions == {2}  # version 1 stopped being current 400 days ago; version 2 is current


def test_audit_payloads_are_erased_to_their_hash_after_the_period(db_session):
    s = db_session
    a = student(s)
    hand_in(s, a)
    set_setting(s, ADMIN, "retention.days", {**get_setting(s, "retention.days"), "audit": 365}, now=NOW)
    old_entries = s.execute(select(AuditEntry.seq).where(AuditEntry.at <= NOW - timedelta(days=365))).scalars().all()
    assert old_entries
    report = _run(s, dry_run=False)
    assert report.categories["audit"].audit_erased >= len(old_entries)
    for seq in old_entries:
        entry = s.get(AuditEntry, seq)
        assert entry.payload is None and entry.erased_at == NOW and len(entry.payload_hash) == 64
    erasures = s.execute(select(AuditEntry).where(AuditEntry.action == "audit.payload_erased")).scalars().all()
    assert {int(e.subject.split(":")[1]) for e in erasures} >= set(old_entries)
    assert not _run(s, dry_run=False).categories["audit"].audit_erased  # erasure records are not erased again


def test_a_held_case_keeps_its_audit_history(db_session):
    s = db_session
    a = student(s)
    held = case(s, hand_in(s, a), a, state="not_responsible")
    held_id = held.id
    from plugin.kernel import audit

    audit.record(s, ADMIN, "case.note", now=OLD, subject=f"case:{held.id}", payload={"note": "synthetic"})
    add_hold(s, ADMIN, "case", held.id, reason="Dispute", now=NOW)
    set_setting(s, ADMIN, "retention.days", {**get_setting(s, "retention.days"), "audit": 30}, now=NOW)
    _run(s, dry_run=False)
    kept = s.execute(select(AuditEntry).where(AuditEntry.subject == f"case:{held_id}")).scalars().all()
    assert kept and all(entry.payload is not None for entry in kept)


@pytest.mark.parametrize(("kind", "ident"), [("case", 987654), ("user", 987654), ("course", 987654)])
def test_a_hold_on_nothing_is_refused_and_changes_nothing(db_session, kind, ident):
    before = counts(db_session)
    with pytest.raises(NotFound):
        add_hold(db_session, ADMIN, kind, ident, reason="Synthetic", now=NOW)
    assert counts(db_session) == before


def test_bad_holds_are_refused(db_session):
    s = db_session
    a = student(s)
    before = counts(s)
    with pytest.raises(InvalidInput):
        add_hold(s, ADMIN, "user", a.user.id, reason="   ", now=NOW)
    with pytest.raises(InvalidInput):
        add_hold(s, ADMIN, "planet", a.user.id, reason="Synthetic", now=NOW)
    with pytest.raises(NotFound):
        release_hold(s, ADMIN, 987654, now=NOW)
    assert counts(s) == before
    hold = add_hold(s, ADMIN, "user", a.user.id, reason="Synthetic", now=NOW)
    release_hold(s, ADMIN, hold.id, now=NOW)
    after = counts(s)
    with pytest.raises(InvalidInput):
        release_hold(s, ADMIN, hold.id, now=NOW)
    assert counts(s) == after
    actions = s.execute(select(AuditEntry.action).where(AuditEntry.subject == f"hold:{hold.id}")
                        .order_by(AuditEntry.seq)).scalars().all()
    assert actions == ["hold.added", "hold.released"]


def test_drafts_go_after_their_own_period_and_the_work_stays(db_session):
    s = db_session
    files = runtime_of(s).files
    a = student(s)
    work = hand_in(s, a, when=RECENT)
    blob = files.put_bytes(b"draft notes, synthetic " + a.user.display_name.encode())
    request = DraftRequest(submission_id=work.id, message="Show your drafts", due_at=RECENT + timedelta(days=7),
                           requested_by="user:999", requested_at=RECENT, answered_at=RECENT + timedelta(days=2))
    s.add(request)
    s.flush()
    upload = DraftUpload(request_id=request.id, name="draft1.txt", kind="txt", size=10, sha256=blob.sha256)
    s.add(upload)
    s.flush()
    upload_id, work_id = upload.id, work.id
    set_setting(s, ADMIN, "retention.days", {**get_setting(s, "retention.days"), "drafts": 30}, now=NOW)
    report = _run(s, dry_run=False)
    assert report.categories["drafts"].rows == {"draft_upload": 1} and report.categories["drafts"].files == 1
    assert s.get(DraftUpload, upload_id) is None and not files.exists(blob.sha256)
    assert s.get(Submission, work_id) is not None and s.get(DraftRequest, request.id) is not None


def test_a_case_made_through_the_services_goes_whole_after_five_years(db_session, tmp_path):
    """The commission's own path (votes, issue, the window closing, the effects) and then retention:
    every row hanging off the case goes, the figures stay."""
    s = db_session
    w = build_world(s, tmp_path)
    issued = to_issued(w, level=1)
    closed = close_appeal_window(s, issued.id, now=issued.appeal_due_at + timedelta(hours=1))
    assert closed is not None and closed.state == "closed"
    case_id, submission_id = closed.id, closed.submission_id
    later = T0 + timedelta(days=365 * 6)
    kept = _run(s, dry_run=False, now=T0 + timedelta(days=365 * 4))
    assert s.get(Case, case_id) is not None and kept.categories["submissions"].kept_open >= 1
    gone = _run(s, dry_run=False, now=later)
    assert gone.categories["cases_sanctioned"].anonymised == 1
    assert s.get(Case, case_id) is None and s.get(Submission, submission_id) is None
    for table in metadata().tables.values():
        if "case_id" in table.c:
            assert s.execute(select(func.count()).select_from(table).where(table.c.case_id == case_id)) \
                .scalar_one() == 0, table.name
        if "source" in table.c:
            assert s.execute(select(func.count()).select_from(table).where(table.c.source == f"case:{case_id}")) \
                .scalar_one() == 0, table.name
    figures = s.execute(select(AnonymisedCase)).scalar_one()
    assert (figures.final_sanction_level, figures.appealed, figures.state) == (1, False, "closed")
