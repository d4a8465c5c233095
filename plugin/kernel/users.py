"""People, courses and memberships, and the ``Actor`` that views hand to services."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, CheckConstraint, Column, ForeignKey, Integer, String, UniqueConstraint
from sqlmodel import Field, Session, SQLModel, select

from plugin.kernel.clock import UTCDateTime
from plugin.kernel.db import upsert


class Role(StrEnum):
    """Roles Adal knows. Student and teacher come from the LMS; the commission roles are granted
    inside Adal, never by an LMS role; admin is the console's own login with a second factor."""

    STUDENT = "student"
    TEACHER = "teacher"
    COMMISSION_MEMBER = "commission_member"
    COMMISSION_SECRETARY = "commission_secretary"
    COMMISSION_CHAIR = "commission_chair"
    ADMIN = "admin"


COURSE_ROLES = (Role.STUDENT, Role.TEACHER)

ROLE_TITLES = {
    Role.STUDENT: _l("student"),
    Role.TEACHER: _l("teacher"),
    Role.COMMISSION_MEMBER: _l("commission member"),
    Role.COMMISSION_SECRETARY: _l("commission secretary"),
    Role.COMMISSION_CHAIR: _l("commission chair"),
    Role.ADMIN: _l("administrator"),
}


def _in(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{value!s}'" for value in values)
    return f"{column} IN ({quoted})"


class User(SQLModel, table=True):
    __tablename__ = "user_account"
    __table_args__ = (UniqueConstraint("issuer", "subject"),)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    # The LMS identity (iss + sub). Both null for people who exist only inside Adal (admins).
    issuer: str | None = Field(default=None, sa_column=Column(String(255), nullable=True))
    subject: str | None = Field(default=None, sa_column=Column(String(255), nullable=True))
    display_name: str = Field(sa_column=Column(String(200), nullable=False))
    # Optional personal data stays empty unless the institution turned its collection on.
    email: str | None = Field(default=None, sa_column=Column(String(254), nullable=True))
    locale: str | None = Field(default=None, sa_column=Column(String(16), nullable=True))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class Course(SQLModel, table=True):
    __tablename__ = "course"
    __table_args__ = (UniqueConstraint("issuer", "context_id"),)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    issuer: str = Field(sa_column=Column(String(255), nullable=False))
    context_id: str = Field(sa_column=Column(String(255), nullable=False))
    title: str = Field(sa_column=Column(String(300), nullable=False))
    label: str | None = Field(default=None, sa_column=Column(String(100), nullable=True))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class Membership(SQLModel, table=True):
    __tablename__ = "membership"
    __table_args__ = (
        UniqueConstraint("user_id", "course_id", "role"),
        CheckConstraint(_in("role", tuple(COURSE_ROLES)), name="role_is_course_role"),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    user_id: int = Field(
        sa_column=Column(Integer, ForeignKey("user_account.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    course_id: int = Field(
        sa_column=Column(Integer, ForeignKey("course.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    role: str = Field(sa_column=Column(String(20), nullable=False))
    # Canvas TAs arrive as Instructor + TeachingAssistant: teachers, with the marker kept so a
    # course can withhold flagging from them.
    is_ta: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, default=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


@dataclass(frozen=True)
class Actor:
    """Who is acting, as a service sees them: identity, roles in the current context, locale."""

    label: str
    user_id: int | None = None
    roles: frozenset[Role] = field(default_factory=frozenset)
    course_id: int | None = None
    is_ta: bool = False
    locale: str | None = None

    def has(self, *roles: Role) -> bool:
        return any(role in self.roles for role in roles)

    @classmethod
    def system(cls, label: str) -> Actor:
        """An actor for the CLI and scheduled jobs; it holds no role a web user could hold."""
        return cls(label=f"system:{label}")

    @classmethod
    def for_user(cls, user: User, roles: frozenset[Role], **kwargs: object) -> Actor:
        if user.id is None:
            raise ValueError("user must be flushed before acting")
        return cls(label=f"user:{user.id}", user_id=user.id, roles=roles, **kwargs)  # type: ignore[arg-type]


def upsert_user(session: Session, *, issuer: str, subject: str, display_name: str, now: datetime,
                locale: str | None = None) -> int:
    """Create the user known by (issuer, subject) or refresh its name (and locale, when given);
    one statement. Returns the id. Writes no audit entry: a launch audits itself."""
    values = {"issuer": issuer, "subject": subject, "display_name": display_name, "locale": locale,
              "created_at": now}
    update = ("display_name", "locale") if locale else ("display_name",)
    return upsert(session, User.__table__, values, keys=("issuer", "subject"), update=update)


def upsert_course(session: Session, *, issuer: str, context_id: str, title: str, now: datetime,
                  label: str | None = None) -> int:
    """Create the course known by (issuer, context id) or refresh its title; returns the id."""
    values = {"issuer": issuer, "context_id": context_id, "title": title, "label": label, "created_at": now}
    update = ("title", "label") if label else ("title",)
    return upsert(session, Course.__table__, values, keys=("issuer", "context_id"), update=update)


def upsert_membership(session: Session, *, user_id: int, course_id: int, role: Role, now: datetime,
                      is_ta: bool = False) -> int:
    """Record that the user holds ``role`` (student or teacher) in the course; returns the id.

    Raises ``ValueError`` for a role that is not a course role.
    """
    if role not in COURSE_ROLES:
        raise ValueError(f"{role} is not a course role")
    values = {"user_id": user_id, "course_id": course_id, "role": Role(role).value, "is_ta": is_ta,
              "created_at": now}
    return upsert(session, Membership.__table__, values, keys=("user_id", "course_id", "role"), update=("is_ta",))


def ensure_user(session: Session, *, issuer: str, subject: str, display_name: str, now: datetime,
                locale: str | None = None) -> User:
    """``upsert_user``, returning the refreshed ``User``."""
    user_id = upsert_user(session, issuer=issuer, subject=subject, display_name=display_name, now=now, locale=locale)
    return session.get(User, user_id, populate_existing=True)  # type: ignore[return-value]


def ensure_course(session: Session, *, issuer: str, context_id: str, title: str, now: datetime,
                  label: str | None = None) -> Course:
    """``upsert_course``, returning the refreshed ``Course``."""
    course_id = upsert_course(session, issuer=issuer, context_id=context_id, title=title, now=now, label=label)
    return session.get(Course, course_id, populate_existing=True)  # type: ignore[return-value]


def ensure_membership(session: Session, *, user: User, course: Course, role: Role, now: datetime,
                      is_ta: bool = False) -> Membership:
    """``upsert_membership``, returning the refreshed ``Membership``."""
    if user.id is None or course.id is None:
        raise ValueError("user and course must be flushed first")
    member_id = upsert_membership(session, user_id=user.id, course_id=course.id, role=role, now=now, is_ta=is_ta)
    return session.get(Membership, member_id, populate_existing=True)  # type: ignore[return-value]


def course_roles(session: Session, user_id: int, course_id: int) -> frozenset[Role]:
    rows = session.exec(
        select(Membership.role).where(Membership.user_id == user_id, Membership.course_id == course_id)
    ).all()
    return frozenset(Role(r) for r in rows)
