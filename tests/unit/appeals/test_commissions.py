"""Commissions and their members: one chair, removal that keeps history, people found (or made)
by their LMS identity, and bad input that changes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from appeals.cases import membership
from appeals.commissions import (
    UnknownPerson,
    add_member,
    create_commission,
    list_commissions,
    remove_member,
    seats_of,
)
from appeals.models import Commission, CommissionMember
from plugin.kernel.audit import AuditEntry
from plugin.kernel.errors import InvalidInput, NotFound
from plugin.kernel.users import Actor, User
from tests.factories import ISSUER, T0, make_user

CLI = Actor.system("cli:test")
NAME = "Сынақ комиссиясы"


def _audit_count(s) -> int:
    return s.execute(select(func.count()).select_from(AuditEntry)).scalar_one()


def _seat(s, subject: str, role: str, name: str | None = None):
    return add_member(s, CLI, NAME, issuer=ISSUER, subject=subject, role=role, display_name=name, now=T0)


@pytest.fixture
def commission(db_session):
    return create_commission(db_session, CLI, NAME, scope="Сынақ факультеті", now=T0)


def test_a_commission_is_created_once_and_audited(db_session, commission):
    s = db_session
    assert (commission.name, commission.scope) == (NAME, "Сынақ факультеті")
    entry = s.execute(select(AuditEntry).where(AuditEntry.action == "commission.created")).scalar_one()
    assert entry.subject == f"commission:{commission.id}" and entry.actor == "system:cli:test"
    before = _audit_count(s)
    with pytest.raises(InvalidInput, match="exists already"):
        create_commission(s, CLI, f"  {NAME} ", now=T0)
    for bad in ("", "   ", "x" * 201, "two\nlines"):
        with pytest.raises(InvalidInput):
            create_commission(s, CLI, bad, now=T0)
    with pytest.raises(InvalidInput, match="serves"):
        create_commission(s, CLI, "Басқа", scope=" ", now=T0)
    assert s.execute(select(func.count()).select_from(Commission)).scalar_one() == 1
    assert _audit_count(s) == before


def test_only_one_chair_and_the_refusal_changes_nothing(db_session, commission):
    s = db_session
    make_user(s, "chair-1", "Төраға Сынақұлы")
    make_user(s, "chair-2", "Төраға Үлгіұлы")
    _seat(s, "chair-1", "chair")
    before = _audit_count(s)
    with pytest.raises(InvalidInput, match="already has a chair, Төраға Сынақұлы"):
        _seat(s, "chair-2", "chair")
    with pytest.raises(InvalidInput, match="already has a chair"):  # not even by creating a new person
        _seat(s, "chair-3", "chair", "Жаңа Демо")
    assert s.execute(select(User).where(User.subject == "chair-3")).first() is None
    assert _audit_count(s) == before
    assert [(seat.user.subject, seat.member.role) for seat in list_commissions(s)[0].active] == [("chair-1", "chair")]
    # the chair changes by removing the present one first
    remove_member(s, CLI, NAME, issuer=ISSUER, subject="chair-1", now=T0)
    _seat(s, "chair-2", "chair")
    assert [seat.user.subject for seat in list_commissions(s)[0].active] == ["chair-2"]


def test_removal_deactivates_and_keeps_the_row_and_the_record(db_session, commission):
    s = db_session
    user = make_user(s, "member-1", "Мүше Демоқызы")
    added = _seat(s, "member-1", "secretary")
    removed = remove_member(s, CLI, NAME, issuer=ISSUER, subject="member-1", now=T0)
    assert removed.member.id == added.member.id and removed.member.active is False
    row = s.execute(select(CommissionMember).where(CommissionMember.user_id == user.id)).scalar_one()
    assert (row.role, row.active) == ("secretary", False)
    assert membership(s, Actor.for_user(user, frozenset()), commission.id) is None  # can no longer act
    assert seats_of(s, user.id) == []
    actions = s.execute(select(AuditEntry.action, AuditEntry.payload).where(
        AuditEntry.subject == f"commission:{commission.id}").order_by(AuditEntry.seq)).all()
    assert [a for a, _p in actions] == ["commission.created", "commission.member_added", "commission.member_removed"]
    assert f'"user":{user.id}' in actions[-1][1] and '"role":"secretary"' in actions[-1][1]
    listing = list_commissions(s)[0]
    assert [(seat.user.subject, seat.member.active) for seat in listing.seats] == [("member-1", False)]
    with pytest.raises(NotFound, match="not an active member"):
        remove_member(s, CLI, NAME, issuer=ISSUER, subject="member-1", now=T0)
    # seated again: the same row, with the new role
    again = _seat(s, "member-1", "member")
    assert again.member.id == added.member.id and (again.member.role, again.member.active) == ("member", True)
    assert membership(s, Actor.for_user(user, frozenset()), commission.id) is not None


def test_an_unknown_person_needs_a_name_and_is_then_created(db_session, commission):
    s = db_session
    before = _audit_count(s)
    with pytest.raises(UnknownPerson, match="has opened Adal yet"):
        _seat(s, "never-launched", "member")
    with pytest.raises(UnknownPerson):
        _seat(s, "never-launched", "member", "   ")
    assert s.execute(select(User).where(User.subject == "never-launched")).first() is None
    assert _audit_count(s) == before
    seat = _seat(s, "never-launched", "member", "  Әсел Сынаққызы ")
    assert (seat.user.issuer, seat.user.subject, seat.user.display_name) == (ISSUER, "never-launched",
                                                                            "Әсел Сынаққызы")
    with pytest.raises(NotFound, match="known to Adal"):
        remove_member(s, CLI, NAME, issuer=ISSUER, subject="nobody", now=T0)
    with pytest.raises(NotFound, match="known to Adal"):  # the same subject at another LMS is someone else
        remove_member(s, CLI, NAME, issuer="https://other.example.test", subject="never-launched", now=T0)


def test_a_known_person_keeps_the_name_their_lms_sent(db_session, commission):
    s = db_session
    make_user(s, "teacher-7", "Бақыт Үлгіұлы")
    seat = _seat(s, "teacher-7", "member", "A Different Name")
    assert seat.user.display_name == "Бақыт Үлгіұлы"


def test_bad_input_is_refused_with_a_clear_message(db_session, commission):
    s = db_session
    make_user(s, "m-1", "Мүше Бір")
    _seat(s, "m-1", "member")
    before = _audit_count(s)
    with pytest.raises(InvalidInput, match="already on Сынақ комиссиясы as member"):
        _seat(s, "m-1", "secretary")
    with pytest.raises(InvalidInput, match="chair, secretary or member"):
        _seat(s, "m-1", "president")
    with pytest.raises(NotFound, match="no commission named Басқа"):
        add_member(s, CLI, "Басқа", issuer=ISSUER, subject="m-1", role="member", now=T0)
    with pytest.raises(NotFound, match="no commission named"):
        remove_member(s, CLI, "Басқа", issuer=ISSUER, subject="m-1", now=T0)
    for issuer, subject in (("", "m-1"), (ISSUER, " "), (ISSUER, "x" * 256), (ISSUER, "a\tb")):
        with pytest.raises(InvalidInput, match="LMS identity"):
            add_member(s, CLI, NAME, issuer=issuer, subject=subject, role="member", display_name="X", now=T0)
    with pytest.raises(InvalidInput, match="name is one line"):
        _seat(s, "new-1", "member", "x" * 201)
    assert _audit_count(s) == before
    assert len(list_commissions(s)[0].seats) == 1


def test_listing_orders_roles_and_says_what_is_missing(db_session, commission):
    s = db_session
    _seat(s, "m-2", "member", "Мүше Екі")
    listing = list_commissions(s)[0]
    assert listing.problems() == ["It has no chair.", "It has no secretary, so no case can be opened.",
                                  "It has 1 active member, fewer than the quorum of 3."]
    _seat(s, "m-1", "member", "Мүше Бір")
    _seat(s, "sec", "secretary", "Хатшы Үлгіқызы")
    _seat(s, "chair", "chair", "Төраға Сынақұлы")
    listing = list_commissions(s)[0]
    assert [(seat.member.role, seat.user.display_name) for seat in listing.seats] == [
        ("chair", "Төраға Сынақұлы"), ("secretary", "Хатшы Үлгіқызы"), ("member", "Мүше Бір"),
        ("member", "Мүше Екі")]
    assert listing.problems() == []
    other = create_commission(s, CLI, "Басқа комиссия", now=T0)
    add_member(s, CLI, other.name, issuer=ISSUER, subject="m-1", role="chair", now=T0)
    user_id = listing.seats[2].user.id
    assert seats_of(s, user_id) == [("Басқа комиссия", "chair"), (NAME, "member")]
    assert [found.commission.name for found in list_commissions(s)] == ["Басқа комиссия", NAME]


def test_the_database_itself_refuses_a_second_active_chair(db_session):
    """Whatever code writes the rows: a partial unique index allows one active chair."""
    from sqlalchemy.exc import IntegrityError

    from tests.factories import T0, make_user

    commission = Commission(name="Сынақ комиссиясы", scope="test", created_at=T0)
    db_session.add(commission)
    db_session.flush()
    first = make_user(db_session, "chair-1", "Бірінші Төраға")
    second = make_user(db_session, "chair-2", "Екінші Төраға")
    db_session.add(CommissionMember(commission_id=commission.id, user_id=first.id, role="chair", added_at=T0))
    db_session.flush()
    with pytest.raises(IntegrityError), db_session.begin_nested():
        db_session.add(CommissionMember(commission_id=commission.id, user_id=second.id, role="chair", added_at=T0))
    db_session.add(CommissionMember(commission_id=commission.id, user_id=second.id, role="chair", active=False,
                                    added_at=T0))
    db_session.flush()  # an inactive former chair is history, not a second chair
