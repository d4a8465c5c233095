"""People, courses, memberships and the Actor; the database constraints behind them.

Runs in the rolled-back ``db_session``. Every test uses subjects and context ids of its own, so it
does not depend on what else is in the shared database.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel

from plugin.app import build_runtime
from plugin.config import Config
from plugin.kernel.runtime import Runtime
from plugin.kernel.users import (
    COURSE_ROLES,
    Actor,
    Course,
    Membership,
    Role,
    User,
    course_roles,
    ensure_course,
    ensure_membership,
    ensure_user,
)
from tests.factories import ISSUER, T0, enrol, make_course, make_user

LATER = T0 + timedelta(days=30)


@pytest.fixture
def tag() -> str:
    return uuid.uuid4().hex[:10]


def count(session: Session, model: type, **where: object) -> int:
    query = select(func.count()).select_from(model)
    for column, value in where.items():
        query = query.where(getattr(model, column) == value)
    return session.execute(query).scalar_one()


def refused(session: Session, row: SQLModel) -> None:
    """Insert ``row`` in a savepoint and expect the database to refuse it; the session stays usable."""
    savepoint = session.begin_nested()
    session.add(row)
    with pytest.raises(IntegrityError):
        session.flush()
    savepoint.rollback()


# -- the fixture itself (replaces the old smoke test) ---------------------------------------
def test_db_session_sees_what_it_committed(db_session: Session, tag: str) -> None:
    user = make_user(db_session, subject=f"student-{tag}")
    db_session.commit()
    assert user.id is not None
    assert db_session.execute(text("SELECT count(*) FROM user_account WHERE subject = :s"),
                              {"s": f"student-{tag}"}).scalar_one() == 1


@pytest.fixture
def fresh_runtime(config: Config) -> Iterator[Runtime]:
    runtime = build_runtime(config)
    yield runtime
    runtime.engine.dispose()


def test_commit_inside_an_outer_transaction_is_undone_by_its_rollback(fresh_runtime: Runtime, tag: str) -> None:
    """The contract ``db_session`` relies on: whatever a test commits, the outer rollback removes."""
    with fresh_runtime.engine.connect() as connection:
        outer = connection.begin()
        session = fresh_runtime.session(bind=connection, join_transaction_mode="create_savepoint")
        make_user(session, subject=f"student-{tag}")
        session.commit()
        session.close()
        outer.rollback()
    with fresh_runtime.session() as session:
        assert count(session, User, subject=f"student-{tag}") == 0


# -- ensure_user -----------------------------------------------------------------------------
def test_ensure_user_creates_then_updates_without_duplicating(db_session: Session, tag: str) -> None:
    first = ensure_user(db_session, issuer=ISSUER, subject=f"s-{tag}", display_name="Aigerim Testova", now=T0,
                        locale="kk")
    assert first.id is not None
    assert (first.display_name, first.locale, first.created_at, first.email) == ("Aigerim Testova", "kk", T0, None)
    again = ensure_user(db_session, issuer=ISSUER, subject=f"s-{tag}", display_name="Aigerim Testova-Nurova",
                        now=LATER, locale="ru")
    assert again.id == first.id
    assert (again.display_name, again.locale, again.created_at) == ("Aigerim Testova-Nurova", "ru", T0)
    kept = ensure_user(db_session, issuer=ISSUER, subject=f"s-{tag}", display_name="Aigerim Testova-Nurova",
                       now=LATER)
    assert kept.id == first.id and kept.locale == "ru"  # a launch without a locale keeps the known one
    assert count(db_session, User, subject=f"s-{tag}") == 1
    db_session.expire_all()
    stored = db_session.get(User, first.id)
    assert stored is not None and (stored.display_name, stored.locale) == ("Aigerim Testova-Nurova", "ru")


def test_same_subject_on_another_platform_is_another_user(db_session: Session, tag: str) -> None:
    a = ensure_user(db_session, issuer=ISSUER, subject=f"s-{tag}", display_name="Aigerim Testova", now=T0)
    b = ensure_user(db_session, issuer="https://canvas.example.test", subject=f"s-{tag}",
                    display_name="Daniyar Testov", now=T0)
    assert a.id != b.id
    assert count(db_session, User, subject=f"s-{tag}") == 2


def test_duplicate_identity_is_refused_by_the_database(db_session: Session, tag: str) -> None:
    ensure_user(db_session, issuer=ISSUER, subject=f"s-{tag}", display_name="Aigerim Testova", now=T0)
    refused(db_session, User(issuer=ISSUER, subject=f"s-{tag}", display_name="Impostor Testov", created_at=T0))
    assert count(db_session, User, subject=f"s-{tag}") == 1


def test_people_without_an_lms_identity_can_be_several(db_session: Session, tag: str) -> None:
    for name in (f"Admin One {tag}", f"Admin Two {tag}"):
        db_session.add(User(issuer=None, subject=None, display_name=name, created_at=T0))
    db_session.flush()
    found = db_session.execute(select(func.count()).select_from(User).where(
        User.display_name.in_([f"Admin One {tag}", f"Admin Two {tag}"]))).scalar_one()  # type: ignore[attr-defined]
    assert found == 2


# -- ensure_course ---------------------------------------------------------------------------
def test_ensure_course_creates_then_updates_without_duplicating(db_session: Session, tag: str) -> None:
    first = ensure_course(db_session, issuer=ISSUER, context_id=f"c-{tag}", title="Synthetic Course 101", now=T0,
                          label="SC101")
    again = ensure_course(db_session, issuer=ISSUER, context_id=f"c-{tag}", title="Synthetic Course 101 (2026)",
                          now=LATER)
    assert again.id == first.id
    assert (again.title, again.label, again.created_at) == ("Synthetic Course 101 (2026)", "SC101", T0)
    relabelled = ensure_course(db_session, issuer=ISSUER, context_id=f"c-{tag}", title="Synthetic Course 101 (2026)",
                               now=LATER, label="SC101-A")
    assert relabelled.id == first.id and relabelled.label == "SC101-A"
    assert count(db_session, Course, context_id=f"c-{tag}") == 1


def test_duplicate_course_is_refused_by_the_database(db_session: Session, tag: str) -> None:
    make_course(db_session, context_id=f"c-{tag}")
    refused(db_session, Course(issuer=ISSUER, context_id=f"c-{tag}", title="Copy", created_at=T0))
    assert count(db_session, Course, context_id=f"c-{tag}") == 1


# -- memberships -----------------------------------------------------------------------------
def test_ensure_membership_is_idempotent_and_updates_the_ta_marker(db_session: Session, tag: str) -> None:
    user, course = make_user(db_session, subject=f"s-{tag}"), make_course(db_session, context_id=f"c-{tag}")
    first = ensure_membership(db_session, user=user, course=course, role=Role.TEACHER, now=T0)
    assert (first.role, first.is_ta, first.created_at) == ("teacher", False, T0)
    again = ensure_membership(db_session, user=user, course=course, role=Role.TEACHER, now=LATER, is_ta=True)
    assert again.id == first.id and again.is_ta is True and again.created_at == T0
    assert count(db_session, Membership, user_id=user.id, course_id=course.id) == 1


def test_student_and_teacher_in_one_course_are_two_memberships(db_session: Session, tag: str) -> None:
    user, course = make_user(db_session, subject=f"s-{tag}"), make_course(db_session, context_id=f"c-{tag}")
    other = make_course(db_session, context_id=f"c2-{tag}")
    enrol(db_session, user, course, Role.STUDENT)
    enrol(db_session, user, course, Role.TEACHER, is_ta=True)
    assert count(db_session, Membership, user_id=user.id, course_id=course.id) == 2
    assert course_roles(db_session, user.id, course.id) == frozenset({Role.STUDENT, Role.TEACHER})  # type: ignore[arg-type]
    assert course_roles(db_session, user.id, other.id) == frozenset()  # type: ignore[arg-type]
    stranger = make_user(db_session, subject=f"s2-{tag}", name="Daniyar Testov")
    assert course_roles(db_session, stranger.id, course.id) == frozenset()  # type: ignore[arg-type]


@pytest.mark.parametrize("role", [r for r in Role if r not in COURSE_ROLES])
def test_ensure_membership_refuses_roles_granted_inside_adal(db_session: Session, tag: str, role: Role) -> None:
    user, course = make_user(db_session, subject=f"s-{tag}"), make_course(db_session, context_id=f"c-{tag}")
    with pytest.raises(ValueError, match="not a course role"):
        ensure_membership(db_session, user=user, course=course, role=role, now=T0)
    assert count(db_session, Membership, user_id=user.id) == 0


def test_database_refuses_a_membership_role_that_is_not_a_course_role(db_session: Session, tag: str) -> None:
    user, course = make_user(db_session, subject=f"s-{tag}"), make_course(db_session, context_id=f"c-{tag}")
    refused(db_session, Membership(user_id=user.id, course_id=course.id, role="admin", created_at=T0))
    savepoint = db_session.begin_nested()
    with pytest.raises(IntegrityError):
        db_session.execute(
            text("INSERT INTO membership (user_id, course_id, role, is_ta, created_at) "
                 "VALUES (:u, :c, 'commission_chair', false, :t)"),
            {"u": user.id, "c": course.id, "t": T0.replace(tzinfo=None)},
        )
    savepoint.rollback()
    assert count(db_session, Membership, user_id=user.id) == 0


def test_duplicate_membership_is_refused_by_the_database(db_session: Session, tag: str) -> None:
    user, course = make_user(db_session, subject=f"s-{tag}"), make_course(db_session, context_id=f"c-{tag}")
    enrol(db_session, user, course, Role.STUDENT)
    refused(db_session, Membership(user_id=user.id, course_id=course.id, role="student", created_at=T0))
    assert count(db_session, Membership, user_id=user.id) == 1


def test_membership_needs_an_existing_user(db_session: Session, tag: str) -> None:
    course = make_course(db_session, context_id=f"c-{tag}")
    refused(db_session, Membership(user_id=2_000_000_000, course_id=course.id, role="student", created_at=T0))


def test_deleting_a_user_deletes_their_memberships(db_session: Session, tag: str) -> None:
    user, course = make_user(db_session, subject=f"s-{tag}"), make_course(db_session, context_id=f"c-{tag}")
    enrol(db_session, user, course, Role.STUDENT)
    db_session.execute(text("DELETE FROM user_account WHERE id = :id"), {"id": user.id})
    assert count(db_session, Membership, user_id=user.id) == 0
    assert count(db_session, Course, context_id=f"c-{tag}") == 1


# -- Actor -----------------------------------------------------------------------------------
def test_actor_has() -> None:
    actor = Actor(label="user:1", roles=frozenset({Role.TEACHER, Role.COMMISSION_MEMBER}))
    assert actor.has(Role.TEACHER)
    assert actor.has(Role.STUDENT, Role.COMMISSION_MEMBER)
    assert not actor.has(Role.STUDENT)
    assert not actor.has(Role.ADMIN, Role.COMMISSION_CHAIR)
    assert not actor.has()


def test_system_actor_holds_no_role() -> None:
    actor = Actor.system("cli:root")
    assert actor.label == "system:cli:root"
    assert actor.user_id is None and actor.roles == frozenset()
    assert not any(actor.has(role) for role in Role)


def test_actor_for_user(db_session: Session, tag: str) -> None:
    user, course = make_user(db_session, subject=f"s-{tag}"), make_course(db_session, context_id=f"c-{tag}")
    enrol(db_session, user, course, Role.TEACHER, is_ta=True)
    roles = course_roles(db_session, user.id, course.id)  # type: ignore[arg-type]
    actor = Actor.for_user(user, roles, course_id=course.id, is_ta=True, locale="kk")
    assert actor.label == f"user:{user.id}"
    assert (actor.user_id, actor.course_id, actor.is_ta, actor.locale) == (user.id, course.id, True, "kk")
    assert actor.has(Role.TEACHER) and not actor.has(Role.STUDENT)


def test_actor_for_an_unsaved_user_is_refused() -> None:
    with pytest.raises(ValueError, match="flushed"):
        Actor.for_user(User(display_name="Aigerim Testova", created_at=T0), frozenset())


def test_actor_is_immutable() -> None:
    actor = Actor(label="user:1", roles=frozenset({Role.STUDENT}))
    with pytest.raises(dataclasses.FrozenInstanceError):
        actor.roles = frozenset({Role.ADMIN})  # type: ignore[misc]


def test_course_roles_are_student_and_teacher_only() -> None:
    assert set(COURSE_ROLES) == {Role.STUDENT, Role.TEACHER}
    assert Role.ADMIN.value == "admin"
