"""Ports through which domains reach the LMS and mail without importing ``lti``.

``lti`` implements the LMS ports and the app factory wires them in (DESIGN.md: imports point one
way). A domain asks ``ports.grades`` etc.; when nothing is wired, ``PortNotConfigured`` says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


class PortNotConfigured(RuntimeError):
    """The installation has no implementation of this port (no LMS service, no SMTP)."""


@dataclass(frozen=True)
class ScoreUpdate:
    """A score for one learner on one line item (LTI AGS vocabulary)."""

    line_item_url: str
    user_subject: str
    score_given: float | None
    score_maximum: float
    activity_progress: str  # Initialized | Started | InProgress | Submitted | Completed
    grading_progress: str  # FullyGraded | Pending | PendingManual | Failed | NotReady
    timestamp: datetime
    comment: str | None = None


@dataclass(frozen=True)
class RosterMember:
    user_subject: str
    name: str | None
    roles: tuple[str, ...]
    status: str = "Active"


@dataclass(frozen=True)
class MailMessage:
    to: str
    subject: str
    body_text: str
    idempotency_key: str
    language: str | None = None  # the language the text is in (kk, ru, en), for Content-Language


class GradePort(Protocol):
    def publish_score(self, course_id: int, update: ScoreUpdate) -> None: ...


class RosterPort(Protocol):
    def list_members(self, course_id: int) -> list[RosterMember]: ...


class MailPort(Protocol):
    def send(self, message: MailMessage) -> None: ...


@dataclass
class Ports:
    grades_impl: GradePort | None = None
    roster_impl: RosterPort | None = None
    mail_impl: MailPort | None = None

    @property
    def grades(self) -> GradePort:
        if self.grades_impl is None:
            raise PortNotConfigured("no LMS grade service is configured")
        return self.grades_impl

    @property
    def roster(self) -> RosterPort:
        if self.roster_impl is None:
            raise PortNotConfigured("no LMS roster service is configured")
        return self.roster_impl

    @property
    def mail(self) -> MailPort:
        if self.mail_impl is None:
            raise PortNotConfigured("no mail server is configured")
        return self.mail_impl
