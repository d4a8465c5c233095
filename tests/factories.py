"""Synthetic people and courses for tests. Names are invented; no real personal data."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session

from plugin.kernel.users import Course, Role, User, ensure_course, ensure_membership, ensure_user

T0 = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
ISSUER = "https://lms.example.test"


def make_user(session: Session, subject: str = "student-001", name: str = "Aigerim Testova") -> User:
    return ensure_user(session, issuer=ISSUER, subject=subject, display_name=name, now=T0)


def make_course(session: Session, context_id: str = "course-101", title: str = "Synthetic Course 101") -> Course:
    return ensure_course(session, issuer=ISSUER, context_id=context_id, title=title, now=T0)


def enrol(session: Session, user: User, course: Course, role: Role = Role.STUDENT, is_ta: bool = False) -> None:
    ensure_membership(session, user=user, course=course, role=role, now=T0, is_ta=is_ta)
