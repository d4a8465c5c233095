"""Synthetic data for the retention and data-subject tests: students, submissions with files (through
``submit_work``, so the blobs are really stored), and commission cases in chosen states. Names and
texts are invented."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlmodel import Session, SQLModel

from appeals.models import Case, CaseStatement, Commission
from attribution.models import Assignment, Submission, SubmissionFile
from evidence.models import Flag
from plugin.kernel.audit import AuditEntry
from plugin.kernel.notices import current_version
from plugin.kernel.runtime import runtime_of
from plugin.kernel.users import Actor, Course, Role, User
from tests.factories_work import make_assignment, person, publish_test_notice, submit

OLD = datetime(2024, 10, 1, 9, 0, tzinfo=UTC)  # term 2024-2025/1, which ended on 1 February 2025
RECENT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # term 2025-2026/2, which ends on 1 September 2026
NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)  # more than a year after OLD's term, less after RECENT's


@dataclass
class Student:
    user: User
    actor: Actor
    course: Course
    assignment: Assignment


def student(s: Session, tag: str | None = None, *, course: Course | None = None) -> Student:
    tag = tag or uuid.uuid4().hex[:8]
    from tests.factories import make_course

    course = course or make_course(s, f"course-{tag}", f"Synthetic course {tag}")
    if current_version(s) is None:
        publish_test_notice(s, now=OLD - timedelta(days=60))
    user, actor = person(s, course, f"student-{tag}", f"Сынақ Оқушы {tag}")
    return Student(user, actor, course, make_assignment(s, course, title=f"Essay {tag}"))


def hand_in(s: Session, who: Student, *, when: datetime = OLD, content: bytes | None = None) -> Submission:
    content = content or f"Synthetic essay {uuid.uuid4().hex}\n".encode()
    return submit(s, who.actor, who.assignment, now=when, content=content)


def file_shas(s: Session, submission: Submission) -> set[str]:
    return set(s.execute(select(SubmissionFile.sha256).where(SubmissionFile.submission_id == submission.id))
               .scalars())


def commission(s: Session) -> Commission:
    found = s.execute(select(Commission).where(Commission.name == "Retention test commission")).scalar_one_or_none()
    if found is None:
        found = Commission(name="Retention test commission", scope="institution", created_at=OLD)
        s.add(found)
        s.flush()
    return found


def case(s: Session, submission: Submission, who: Student, *, state: str, decided: datetime = OLD + timedelta(days=30),
         sanction: int | None = None, statement: bytes | None = None) -> Case:
    """A case in ``state`` ("deliberation", "closed" or "not_responsible"), its flag referred."""
    at = decided - timedelta(days=20)
    flag = Flag(submission_id=submission.id, course_id=who.course.id, state="referred", created_by="user:999",
                created_at=at, referred_at=at)
    s.add(flag)
    s.flush()
    values: dict = dict(number=f"T-{uuid.uuid4().hex[:10]}", commission_id=commission(s).id, flag_id=flag.id,
                        submission_id=submission.id, student_id=who.user.id, course_id=who.course.id, state=state,
                        incident_level=2, allegation="Synthetic allegation", rule="Synthetic rule 4.2", opened_at=at,
                        notified_at=at, response_due_at=at + timedelta(days=5))
    if state == "closed":
        values.update(finding="responsible", reasons="Synthetic reasons", decided_at=decided, sanction_level=sanction,
                      sanction_code="resubmission", issued_at=decided, appeal_due_at=decided + timedelta(days=14),
                      final_at=decided + timedelta(days=14), final_sanction_level=sanction)
    elif state == "not_responsible":
        values.update(finding="not_responsible", reasons="Synthetic reasons", decided_at=decided, final_at=decided)
    found = Case(**values)
    s.add(found)
    s.flush()
    if statement is not None:
        blob = runtime_of(s).files.put_bytes(statement)
        s.add(CaseStatement(case_id=found.id, text="My synthetic statement", sha256=blob.sha256, name="st.txt",
                            at=at + timedelta(days=2)))
        s.flush()
    return found


def counts(s: Session) -> dict[str, int]:
    """Rows in every table, and the audit log's length: "nothing changed" compares these."""
    out = {name: s.execute(select(func.count()).select_from(table)).scalar_one()
           for name, table in SQLModel.metadata.tables.items()}
    out["audit_payloads"] = s.execute(select(func.count()).select_from(AuditEntry)
                                      .where(AuditEntry.payload.is_not(None))).scalar_one()
    return out


__all__ = ["NOW", "OLD", "RECENT", "Role", "Student", "case", "counts", "file_shas", "hand_in", "student"]
