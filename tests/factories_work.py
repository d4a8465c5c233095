"""Synthetic assignments, notices and submissions for tests of handing in work and of the
teacher's pages. Names and texts are invented; no real personal data.

Every helper takes a session and flushes; the caller commits (or the rolled-back ``db_session``
fixture throws everything away).
"""

from __future__ import annotations

import json
import secrets
import tempfile
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

from flask.testing import FlaskClient
from sqlmodel import Session

from attribution.models import Assignment, Submission
from attribution.statements import STANDARD_TASKS, UseRow
from attribution.submissions import SubmissionInput, Upload, submit_work
from plugin.kernel.notices import acknowledge_notice, current_version, publish_notice
from plugin.kernel.ports import RosterMember
from plugin.kernel.users import Actor, Course, Role, User
from tests.factories import T0, enrol, make_user

_NOTICE = """version = {version}
date = 2026-08-15
change_summary = "{summary}"

[notice]
purpose = "{word} purpose: synthetic test text."
legal_basis = "{word} legal basis: synthetic test text."
system = "{word} system: Adal, test build."
data_categories = "{word} data categories: synthetic test text."
storage = "{word} storage: synthetic test text."
recipients = "{word} recipients: synthetic test text."
cross_border = "{word} cross-border transfer: none."
human_involvement = "{word} human involvement: teachers decide."
risks_limits = "{word} risks and limits: synthetic test text."
rights_appeal = "{word} rights and appeal: synthetic test text."
contact = "{word} contact: integrity@school.example.test"

[adapted]
minors = "{word} for learners: synthetic test text."
parents = "{word} for parents: synthetic test text."
"""
_WORDS = {"kk": ("Сынақ", "Алғашқы нұсқа"), "ru": ("Тест", "Первая версия"), "en": ("Test", "First version")}


def notice_toml(lang: str, version: int = 1) -> str:
    """A complete notice file (every S B.1 field and the adapted texts) with synthetic content."""
    word, summary = _WORDS[lang]
    return _NOTICE.format(version=version, word=word, summary=summary)


def publish_test_notice(session: Session, version: int = 1, *, now: datetime = T0) -> int:
    """Publish ``version`` in kk and ru, which makes it the current notice; returns the version."""
    for lang in ("kk", "ru"):
        publish_notice(session, Actor.system("test"), notice_toml(lang, version), lang=lang, require_adapted=True,
                       now=now)
    return version


def person(session: Session, course: Course, subject: str, name: str, role: Role = Role.STUDENT, *,
           is_ta: bool = False) -> tuple[User, Actor]:
    """A user enrolled in ``course`` and the actor a launch would give them there."""
    user = make_user(session, subject=subject, name=name)
    enrol(session, user, course, role, is_ta=is_ta)
    return user, Actor.for_user(user, frozenset({role}), course_id=course.id, is_ta=is_ta)


def make_assignment(session: Session, course: Course, *, configured: bool = True, title: str = "Synthetic essay",
                    score_maximum: float = 10, due_at: datetime | None = None, late_policy: str = "mark",
                    not_allowed: Sequence[str] = (), custom: Sequence[tuple[str, bool]] = (),
                    line_item_url: str | None = None, drafts_required: bool = False) -> Assignment:
    """An assignment in ``course``; when ``configured``, every S 7.2 use is allowed except
    ``not_allowed`` (codes), plus the teacher's ``custom`` (title, allowed) categories."""
    policy = [{"code": code, "allowed": code not in not_allowed} for code in STANDARD_TASKS]
    policy += [{"code": f"custom{i}", "title": title_, "allowed": allowed}
               for i, (title_, allowed) in enumerate(custom, 1)]
    assignment = Assignment(course_id=course.id, title=title, score_maximum=score_maximum, created_by="system:test",
                            created_at=T0, configured_at=T0 if configured else None, due_at=due_at,
                            late_policy=late_policy, task_policy=json.dumps(policy) if configured else "[]",
                            line_item_url=line_item_url, resource_link_id=f"rl-{secrets.token_hex(4)}",
                            drafts_required=drafts_required)
    session.add(assignment)
    session.flush()
    return assignment


def submit(session: Session, actor: Actor, assignment: Assignment, *, now: datetime = T0 + timedelta(days=1),
           ai_used: bool = False, tasks: Sequence[str] = ("ideas",), service: str = "ChatGPT",
           model: str = "GPT-4o", model_version: str = "2024-08-06", other_text: str = "",
           drafts_url: str = "", rows: Sequence[UseRow] = (), content: bytes = b"My own synthetic essay.\n",
           name: str = "essay.txt", lang: str = "kk") -> Submission:
    """Hand in one text file as ``actor`` (acknowledging the current notice first) through
    ``submit_work``; with ``ai_used``, a complete disclosure of ``tasks``."""
    version = current_version(session)
    if version is None:
        version = publish_test_notice(session)
    acknowledge_notice(session, actor, version=version, now=now)
    data = SubmissionInput(
        idempotency_key=secrets.token_urlsafe(18), ai_used=ai_used, language="kk",
        tasks=tuple(tasks) if ai_used else (), other_text=other_text if ai_used else "",
        service=service if ai_used else "", model=model if ai_used else "",
        model_version=model_version if ai_used else "",
        dates=(now.date() - timedelta(days=1),) if ai_used else (), drafts_url=drafts_url,
        rows=tuple(rows) if ai_used else (), checked=ai_used)
    with tempfile.TemporaryDirectory(prefix="adal-test-upload-") as folder:
        path = Path(folder) / "upload"
        path.write_bytes(content)
        submission, _created = submit_work(session, actor, assignment.id or 0, data, [Upload(name, path)],
                                           statement_lang=lang, now=now)
    return submission


class FakeRoster:
    """The roster port as an LMS answers it (a fake, not a mock): fixed members, or a refusal.
    Install it with ``runtime.ports.roster_impl = FakeRoster(...)``."""

    def __init__(self, members: Sequence[RosterMember] = (), refusal: Exception | None = None) -> None:
        self.members, self.refusal = list(members), refusal
        self.calls: list[int] = []

    def list_members(self, course_id: int) -> list[RosterMember]:
        self.calls.append(course_id)
        if self.refusal is not None:
            raise self.refusal
        return list(self.members)


def login(client: FlaskClient, actor: Actor) -> None:
    """Put ``actor`` into the test client's session, as a verified LTI launch does."""
    with client.session_transaction() as session:
        session["actor"] = {"label": actor.label, "user_id": actor.user_id, "roles": sorted(actor.roles),
                            "course_id": actor.course_id, "is_ta": actor.is_ta, "locale": actor.locale}
