"""The suspicion flag: a detector score alone can never be referred, whatever the ground says;
any non-detector evidence item makes the flag referable. Who may flag, and IDOR probes."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from attribution.submissions import Upload, submit_work
from evidence.flags import (
    GroundInput,
    NotReferable,
    attach_evidence,
    close_flag,
    flag_suspicion,
    refer_flag,
    referable,
    set_course_policy,
)
from evidence.models import EvidenceItem, Flag, OralDefence, Signal
from plugin.kernel.audit import AuditEntry
from plugin.kernel.errors import InvalidInput, NotFound, NotPermitted
from plugin.kernel.users import Role
from tests.factories import T0, enrol, make_course, make_user
from tests.work_samples import acknowledged, actor_for, disclosure, docx_bytes, make_assignment, publish_test_notice


@pytest.fixture
def world(db_session, tmp_path: Path):
    course = make_course(db_session)
    student_user, teacher_user = make_user(db_session), make_user(db_session, "teacher-001", "Бақыт Үлгіұлы")
    ta_user = make_user(db_session, "ta-001", "Дана Көмекшіқызы")
    enrol(db_session, student_user, course)
    enrol(db_session, teacher_user, course, Role.TEACHER)
    enrol(db_session, ta_user, course, Role.TEACHER, is_ta=True)
    publish_test_notice(db_session)
    student = acknowledged(db_session, actor_for(student_user, course))
    assignment = make_assignment(db_session, course)
    path = tmp_path / "w.docx"
    path.write_bytes(docx_bytes())
    submission, _ = submit_work(db_session, student, assignment.id, disclosure(), [Upload("w.docx", path)],
                                statement_lang="kk", now=T0)
    teacher = actor_for(teacher_user, course, Role.TEACHER)
    from plugin.kernel.users import Actor

    ta = Actor.for_user(ta_user, frozenset({Role.TEACHER}), course_id=course.id, is_ta=True)
    return db_session, course, submission, teacher, ta, student


def _detector(session, submission_id: int, score: float = 91.0) -> Signal:
    signal = Signal(submission_id=submission_id, kind="detector", source="manual", vendor="GPTZero",
                    product="AI detector", model_version="2026-01", score=score, scanned_at=T0, created_by="test",
                    created_at=T0)
    session.add(signal)
    session.flush()
    return signal


def test_referable_is_true_only_with_a_non_detector_item():
    detector = EvidenceItem(ground_id=1, kind="signal", is_detector=True, description="x", added_by="t", added_at=T0)
    note = EvidenceItem(ground_id=1, kind="note", is_detector=False, description="x", added_by="t", added_at=T0)
    assert not referable([])
    assert not referable([detector, detector])
    assert referable([detector, note])


@pytest.mark.parametrize("ground", ["detector_signal", "level_mismatch", "matching_sources", "other"])
def test_a_flag_with_only_detector_evidence_cannot_be_referred_whatever_its_ground_says(world, ground):
    session, _course, submission, teacher, _ta, _student = world
    flag = flag_suspicion(session, teacher, submission.id, [GroundInput(ground, "The style differs from earlier "
                                                                                "essays; the detector is sure.")],
                          now=T0)
    signal = _detector(session, submission.id, 99.0)
    ground_id = session.execute(select(Flag).where(Flag.id == flag.id)).scalar_one().id
    from evidence.models import FlagGround

    ground_row = session.execute(select(FlagGround).where(FlagGround.flag_id == ground_id)).scalar_one()
    attach_evidence(session, teacher, ground_row.id, kind="signal", signal_id=signal.id,
                    description="This is definitely not a detector result, trust me", now=T0)
    with pytest.raises(NotReferable, match="signal, not proof"):
        refer_flag(session, teacher, flag.id, now=T0)
    assert session.get(Flag, flag.id).state == "open"
    # The teacher's own check: an oral defence record makes it referable.
    defence = OralDefence(submission_id=submission.id, scheduled_for=T0, place="Room 12", scheduled_by="t",
                          scheduled_at=T0, questions="Explain paragraph 2", answers_summary="Could not",
                          conclusion="not_confirmed", recorded_by="t", recorded_at=T0 + timedelta(days=1))
    session.add(defence)
    session.flush()
    attach_evidence(session, teacher, ground_row.id, kind="defence", defence_id=defence.id,
                    description="Oral defence record", now=T0)
    refer_flag(session, teacher, flag.id, now=T0 + timedelta(days=2))
    assert session.get(Flag, flag.id).state == "referred"
    actions = session.execute(select(AuditEntry.action).where(AuditEntry.subject == f"flag:{flag.id}")).scalars().all()
    assert actions == ["flag.opened", "flag.evidence_added", "flag.evidence_added", "flag.referred"]


def test_a_flag_without_evidence_is_not_referable_and_a_closed_one_stays_closed(world):
    session, _course, submission, teacher, _ta, _student = world
    flag = flag_suspicion(session, teacher, submission.id, [GroundInput("missing_drafts", "No drafts")], now=T0)
    with pytest.raises(NotReferable, match="Add evidence"):
        refer_flag(session, teacher, flag.id, now=T0)
    close_flag(session, teacher, flag.id, outcome="closed_informal", note="Talked; attribution fixed.", now=T0)
    with pytest.raises(NotReferable, match="open"):
        refer_flag(session, teacher, flag.id, now=T0)


def test_the_database_refuses_a_detector_marker_on_anything_but_a_signal(world):
    session, _course, submission, teacher, _ta, _student = world
    flag = flag_suspicion(session, teacher, submission.id, [GroundInput("other", "x")], now=T0)
    from sqlalchemy.exc import IntegrityError

    from evidence.models import FlagGround

    ground = session.execute(select(FlagGround).where(FlagGround.flag_id == flag.id)).scalar_one()
    with pytest.raises(IntegrityError), session.begin_nested():
        session.add(EvidenceItem(ground_id=ground.id, kind="note", is_detector=True, description="x", added_by="t",
                                 added_at=T0))
    session.get(Flag, flag.id).state = "referred"  # referred without a time
    with pytest.raises(IntegrityError), session.begin_nested():
        session.flush()


def test_who_may_flag(world):
    session, _course, submission, teacher, ta, student = world
    assert flag_suspicion(session, ta, submission.id, [GroundInput("other", "x")], now=T0).id
    set_course_policy(session, teacher, ta_may_flag=False, now=T0)
    with pytest.raises(NotPermitted):
        flag_suspicion(session, ta, submission.id, [GroundInput("other", "x")], now=T0)
    with pytest.raises(NotPermitted):
        set_course_policy(session, ta, ta_may_flag=True, now=T0)
    with pytest.raises(NotPermitted):  # a student of the course
        flag_suspicion(session, student, submission.id, [GroundInput("other", "x")], now=T0)
    other = make_course(session, "course-202", "Another course")
    outsider = actor_for(make_user(session, "teacher-002", "Сынақ Мұғалім"), other, Role.TEACHER)
    with pytest.raises(NotFound):
        flag_suspicion(session, outsider, submission.id, [GroundInput("other", "x")], now=T0)
    with pytest.raises(InvalidInput):
        flag_suspicion(session, teacher, submission.id, [], now=T0)
    with pytest.raises(InvalidInput):
        flag_suspicion(session, teacher, submission.id, [GroundInput("made_up", "x")], now=T0)


def test_evidence_from_another_submission_is_not_found(world, tmp_path):
    session, course, submission, teacher, _ta, _student = world
    flag = flag_suspicion(session, teacher, submission.id, [GroundInput("other", "x")], now=T0)
    from evidence.models import FlagGround

    ground = session.execute(select(FlagGround).where(FlagGround.flag_id == flag.id)).scalar_one()
    classmate = make_user(session, "student-002", "Тимур Сынақов")
    enrol(session, classmate, course)
    peer = acknowledged(session, actor_for(classmate, course))
    path = tmp_path / "p.docx"
    path.write_bytes(docx_bytes("басқа"))
    assignment_id = submission.assignment_id
    theirs, _ = submit_work(session, peer, assignment_id, disclosure("p" * 24), [Upload("p.docx", path)],
                            statement_lang="kk", now=T0)
    foreign = _detector(session, theirs.id)
    with pytest.raises(NotFound):
        attach_evidence(session, teacher, ground.id, kind="signal", signal_id=foreign.id, description="x", now=T0)
