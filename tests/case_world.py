"""A commission case's world for service tests: a course, a student's submission, a referred flag
with a detector signal and a non-detector note, and a commission of seven synthetic people (plus
the teacher who flagged, as a member). Shared by the case, appeal and document tests."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from appeals.cases import (
    cast_vote,
    issue_decision,
    notify_student,
    open_case,
    open_deliberation,
    record_finding,
    record_sanction,
    respond,
)
from appeals.models import Case, Commission, CommissionMember
from attribution.submissions import Upload, submit_work
from evidence.flags import GroundInput, attach_evidence, flag_suspicion, refer_flag
from evidence.models import FlagGround, Signal
from plugin.kernel.users import Actor, Role
from tests.factories import T0, enrol, make_course, make_user
from tests.work_samples import acknowledged, actor_for, disclosure, docx_bytes, make_assignment, publish_test_notice

# T0 is Tuesday 1 September 2026, 09:00 UTC (15:00 in Almaty)
NAMES = ("Төраға Сынақұлы", "Хатшы Үлгіқызы", "Мүше Бір", "Мүше Екі", "Мүше Үш", "Мүше Төрт", "Мүше Бес")


def build_world(s, tmp_path: Path) -> dict:
    course = make_course(s)
    student_user, teacher_user = make_user(s), make_user(s, "teacher-001", "Бақыт Үлгіұлы")
    enrol(s, student_user, course)
    enrol(s, teacher_user, course, Role.TEACHER)
    publish_test_notice(s)
    student = acknowledged(s, actor_for(student_user, course))
    assignment = make_assignment(s, course)
    path = tmp_path / "w.docx"
    path.write_bytes(docx_bytes())
    submission, _ = submit_work(s, student, assignment.id, disclosure(), [Upload("w.docx", path)],
                                statement_lang="kk", now=T0)
    teacher = actor_for(teacher_user, course, Role.TEACHER)
    flag = flag_suspicion(s, teacher, submission.id, [GroundInput("failed_defence", "Could not explain it")], now=T0)
    ground = s.execute(select(FlagGround).where(FlagGround.flag_id == flag.id)).scalar_one()
    signal = Signal(submission_id=submission.id, kind="detector", source="manual", vendor="GPTZero", product="x",
                    model_version="1", score=97, scanned_at=T0, created_by="t", created_at=T0)
    s.add(signal)
    s.flush()
    detector_item = attach_evidence(s, teacher, ground.id, kind="signal", signal_id=signal.id, description="score",
                                    now=T0)
    note_item = attach_evidence(s, teacher, ground.id, kind="note", description="Oral questions unanswered", now=T0)
    refer_flag(s, teacher, flag.id, now=T0)
    commission = Commission(name="Академиялық адалдық комиссиясы", scope="institution", created_at=T0)
    s.add(commission)
    s.flush()
    people = []
    for index, name in enumerate(NAMES):
        user = make_user(s, f"commission-{index}", name)
        role = "chair" if index == 0 else "secretary" if index == 1 else "member"
        s.add(CommissionMember(commission_id=commission.id, user_id=user.id, role=role, added_at=T0))
        people.append(Actor.for_user(user, frozenset()))
    s.add(CommissionMember(commission_id=commission.id, user_id=teacher_user.id, role="member", added_at=T0))
    s.flush()
    return {"s": s, "student": student, "teacher": teacher, "flag": flag, "commission": commission,
            "chair": people[0], "secretary": people[1], "members": people[2:], "detector": detector_item,
            "note": note_item, "submission": submission}


def open_for(w) -> Case:
    return open_case(w["s"], w["secretary"], w["flag"].id, commission_id=w["commission"].id,
                     allegation="Substantial undisclosed AI text", rule="S 7.3а", incident_level=2, now=T0)


def to_deliberation(w) -> Case:
    case = open_for(w)
    notify_student(w["s"], w["secretary"], case.id, expected_version=case.version, now=T0)
    respond(w["s"], w["student"], case.id, accept=True, statement="", expected_version=case.version,
            now=T0 + timedelta(days=1))
    return open_deliberation(w["s"], w["secretary"], case.id, expected_version=case.version, now=T0 + timedelta(days=2))


def to_issued(w, *, level: int = 1, voters: int = 4) -> Case:
    """Decided (responsible, ``level`` by every voter) and issued on day 4, by the chair and the
    first ``voters - 1`` members."""
    s = w["s"]
    case = to_deliberation(w)
    deciding = [w["chair"], *w["members"][: voters - 1]]
    for member in deciding:
        cast_vote(s, member, case.id, question="finding", vote="responsible", reasons="The defence failed",
                  cited=[w["note"].id], now=T0 + timedelta(days=3))
    record_finding(s, w["chair"], case.id, reasons="On the balance of probabilities", expected_version=case.version,
                   now=T0 + timedelta(days=3))
    for member in deciding:
        cast_vote(s, member, case.id, question="sanction", vote="level", sanction_level=level, reasons="First offence",
                  now=T0 + timedelta(days=3))
    record_sanction(s, w["chair"], case.id, reasons="Proportionate", expected_version=case.version,
                    now=T0 + timedelta(days=3))
    return issue_decision(s, w["secretary"], case.id, expected_version=case.version, now=T0 + timedelta(days=4))

