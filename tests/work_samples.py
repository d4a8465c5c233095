"""Synthetic notices, assignments, files and disclosures for submission tests (no real people)."""

from __future__ import annotations

import io
from datetime import date, datetime
from pathlib import Path

from sqlmodel import Session

from attribution.models import Assignment
from attribution.statements import UseRow
from attribution.submissions import AssignmentSettings, SubmissionInput, configure_assignment
from plugin.kernel.notices import acknowledge_notice
from plugin.kernel.users import Actor, Course, Role, User
from tests.factories import T0
from tests.factories_work import publish_test_notice  # noqa: F401  (one notice fixture for all tests)

DEMO_NOTICES = Path(__file__).resolve().parent.parent / "plugin" / "demo" / "notices"


def notice_text(lang: str = "kk", version: int = 1) -> str:
    text = (DEMO_NOTICES / f"notice.{lang}.toml").read_text(encoding="utf-8")
    return text.replace("version = 1", f"version = {version}", 1)


def actor_for(user: User, course: Course, *roles: Role) -> Actor:
    return Actor.for_user(user, frozenset(roles or (Role.STUDENT,)), course_id=course.id)


def make_assignment(session: Session, course: Course, teacher: Actor | None = None, *, configured: bool = True,
                    now: datetime = T0, **settings: object) -> Assignment:
    assignment = Assignment(course_id=course.id, title="Эссе 1", score_maximum=100, created_by="test",
                            created_at=now)
    session.add(assignment)
    session.flush()
    if configured:
        teacher = teacher or Actor(label="user:teacher", roles=frozenset({Role.TEACHER}), course_id=course.id)
        values = {"title": "Эссе 1", "allowed": {"ideas": True, "language": True, "trainer": False,
                                                  "refactoring": True}}
        values.update(settings)
        configure_assignment(session, teacher, assignment.id, AssignmentSettings(**values), now=now)
    return assignment


def acknowledged(session: Session, actor: Actor, version: int = 1, *, now: datetime = T0) -> Actor:
    acknowledge_notice(session, actor, version=version, now=now)
    return actor


def docx_bytes(text: str = "Менің эссем. Бірінші абзац.") -> bytes:
    from docx import Document

    document = Document()
    document.add_heading("Эссе", level=1)
    document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def pdf_bytes() -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def disclosure(key: str = "k" * 24, **changes: object) -> SubmissionInput:
    values: dict[str, object] = {
        "idempotency_key": key, "ai_used": True, "language": "kk", "tasks": ("language", "ideas"),
        "service": "ChatGPT", "model": "GPT-4o", "model_version": "2024-08", "dates": (date(2026, 8, 30),),
        "drafts_url": "https://docs.example.test/history/1",
        "rows": (UseRow("тілдік түзету", "Мәтінді түзет", "Түзетілген мәтін", "Өзім қайта жаздым",
                        "https://docs.example.test/frag/1"),),
        "checked": True,
    }
    values.update(changes)
    return SubmissionInput(**values)  # type: ignore[arg-type]
