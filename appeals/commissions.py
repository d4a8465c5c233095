"""Commissions and their members (S 7.6б; U 6.6), managed with `adal commission` until the admin
console exists.

People are found by their LMS identity (issuer + subject), the only identity Adal has for them.
A commission has exactly one chair; cases can be opened once it also has a secretary. A member
who leaves is deactivated, never deleted: votes and recusals in earlier cases keep pointing at
them, and the audit log keeps who was added and removed, when and by whom.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import current_app, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select
from sqlmodel import Session

from appeals.models import MEMBER_ROLES, Commission, CommissionMember
from plugin.kernel import audit
from plugin.kernel.errors import InvalidInput, NotFound
from plugin.kernel.settings import get_setting
from plugin.kernel.users import Actor, User, ensure_user
from plugin.kernel.web import current_actor, db

MAX_NAME = 200  # the columns' length
MAX_IDENTITY = 255
_ROLE_ORDER = {role: index for index, role in enumerate(MEMBER_ROLES)}


class UnknownPerson(NotFound):
    """No user with this LMS identity: they never opened Adal, and no name was given to create them."""


@dataclass(frozen=True)
class Seat:
    """One membership row with its person, as listed."""

    member: CommissionMember
    user: User


@dataclass(frozen=True)
class CommissionListing:
    commission: Commission
    seats: list[Seat]  # active ones first (chair, secretaries, members), then former members
    quorum: int

    @property
    def active(self) -> list[Seat]:
        return [seat for seat in self.seats if seat.member.active]

    def problems(self) -> list[str]:
        """What stops the commission from taking cases; empty when it can."""
        roles = [seat.member.role for seat in self.active]
        found = []
        if "chair" not in roles:
            found.append(_("It has no chair."))
        if "secretary" not in roles:
            found.append(_("It has no secretary, so no case can be opened."))
        if len(roles) < self.quorum:
            found.append(ngettext("It has %(num)d active member, fewer than the quorum of %(quorum)d.",
                                  "It has %(num)d active members, fewer than the quorum of %(quorum)d.",
                                  len(roles), quorum=self.quorum))
        return found


def _text(value: str, *, limit: int, empty: str, too_long: str) -> str:
    clean = (value or "").strip()
    if not clean:
        raise InvalidInput(empty)
    if len(clean) > limit or not clean.isprintable():
        raise InvalidInput(too_long)
    return clean


def _name(name: str) -> str:
    return _text(name, limit=MAX_NAME, empty=_("Give the commission's name."),
                 too_long=_("A commission's name is one line of at most %(n)d characters.", n=MAX_NAME))


def _identity(issuer: str, subject: str) -> tuple[str, str]:
    problem = _("A person's LMS identity is its issuer (the LMS's address) and subject (the user id it sends), "
                "each one line of at most %(n)d characters.", n=MAX_IDENTITY)
    return (_text(issuer, limit=MAX_IDENTITY, empty=problem, too_long=problem),
            _text(subject, limit=MAX_IDENTITY, empty=problem, too_long=problem))


def commission_named(session: Session, name: str, *, for_update: bool = False) -> Commission:
    """The commission called ``name``; ``NotFound`` otherwise. ``for_update`` locks its row
    (PostgreSQL), so that two membership changes of one commission take turns (one chair)."""
    query = select(Commission).where(Commission.name == (name or "").strip())
    if for_update:
        query = query.with_for_update()
    found = session.execute(query).scalar_one_or_none()
    if found is None:
        raise NotFound(_("There is no commission named %(name)s.", name=(name or "").strip()))
    return found


def _person(session: Session, issuer: str, subject: str) -> User | None:
    return session.execute(select(User).where(User.issuer == issuer, User.subject == subject)).scalar_one_or_none()


def role_title(role: str) -> str:
    return {"chair": _("chair"), "secretary": _("secretary"), "member": _("member")}[role]


def create_commission(session: Session, actor: Actor, name: str, *, scope: str = "institution",
                      now: datetime) -> Commission:
    """A new commission without members; audits ``commission.created``.

    ``scope`` says what it serves: the institution or a faculty. Raises ``InvalidInput`` for an
    empty or overlong name or scope, or a name already taken.
    """
    clean = _name(name)
    clean_scope = _text(scope, limit=MAX_NAME, empty=_("Say what the commission serves: the institution or a "
                                                       "faculty."),
                        too_long=_("The scope is one line of at most %(n)d characters.", n=MAX_NAME))
    if session.execute(select(Commission.id).where(Commission.name == clean)).first() is not None:
        raise InvalidInput(_("A commission named %(name)s exists already.", name=clean))
    commission = Commission(name=clean, scope=clean_scope, created_at=now)
    session.add(commission)
    session.flush()
    audit.record(session, actor, "commission.created", now=now, subject=f"commission:{commission.id}",
                 payload={"name": clean, "scope": clean_scope})
    return commission


def add_member(session: Session, actor: Actor, commission_name: str, *, issuer: str, subject: str, role: str,
               now: datetime, display_name: str | None = None) -> Seat:
    """Seat the person known by (issuer, subject) on the commission with ``role``; audits
    ``commission.member_added``.

    Someone who never opened Adal is created from ``display_name`` (their LMS launch later
    refreshes it); the name of someone Adal knows is left as their LMS sent it. A former member
    is seated again in the same row. Raises ``NotFound`` for an unknown commission,
    ``UnknownPerson`` when the person is unknown and no name was given, ``InvalidInput`` for a
    bad role or identity, a second chair, or someone already seated.
    """
    if role not in MEMBER_ROLES:
        raise InvalidInput(_("The role is chair, secretary or member."))
    issuer, subject = _identity(issuer, subject)
    commission = commission_named(session, commission_name, for_update=True)
    user = _person(session, issuer, subject)
    if user is None and not (display_name or "").strip():
        raise UnknownPerson(_("No one with the LMS identity %(subject)s at %(issuer)s has opened Adal yet: give "
                              "their name so that Adal can create them.", subject=subject, issuer=issuer))
    seat = None
    if user is not None:
        seat = session.execute(select(CommissionMember).where(
            CommissionMember.commission_id == commission.id, CommissionMember.user_id == user.id)).scalar_one_or_none()
        if seat is not None and seat.active:
            raise InvalidInput(_("%(person)s is already on %(commission)s as %(role)s. To change the role, remove "
                                 "them and add them again.", person=user.display_name, commission=commission.name,
                                 role=role_title(seat.role)))
    if role == "chair":
        chair = session.execute(select(User).join(CommissionMember, CommissionMember.user_id == User.id).where(
            CommissionMember.commission_id == commission.id, CommissionMember.role == "chair",
            CommissionMember.active.is_(True))).scalar_one_or_none()
        if chair is not None:
            raise InvalidInput(_("%(commission)s already has a chair, %(person)s; a commission has exactly one. "
                                 "Remove the present chair first.", commission=commission.name,
                                 person=chair.display_name))
    if user is None:
        name = _text(display_name or "", limit=MAX_NAME, empty="",
                     too_long=_("A person's name is one line of at most %(n)d characters.", n=MAX_NAME))
        user = ensure_user(session, issuer=issuer, subject=subject, display_name=name, now=now)
    if seat is None:
        seat = CommissionMember(commission_id=commission.id, user_id=user.id, role=role, active=True, added_at=now)
        session.add(seat)
    else:
        seat.role, seat.active, seat.added_at = role, True, now
    session.flush()
    audit.record(session, actor, "commission.member_added", now=now, subject=f"commission:{commission.id}",
                 payload={"user": user.id, "role": role})
    return Seat(member=seat, user=user)


def remove_member(session: Session, actor: Actor, commission_name: str, *, issuer: str, subject: str,
                  now: datetime) -> Seat:
    """Deactivate the person's seat (the row stays, for the cases they took part in); audits
    ``commission.member_removed``. From then on they cannot act in the commission's cases.

    Raises ``NotFound`` for an unknown commission or person, or someone not an active member.
    """
    issuer, subject = _identity(issuer, subject)
    commission = commission_named(session, commission_name, for_update=True)
    user = _person(session, issuer, subject)
    if user is None:
        raise NotFound(_("No one with the LMS identity %(subject)s at %(issuer)s is known to Adal.",
                         subject=subject, issuer=issuer))
    seat = session.execute(select(CommissionMember).where(
        CommissionMember.commission_id == commission.id, CommissionMember.user_id == user.id,
        CommissionMember.active.is_(True))).scalar_one_or_none()
    if seat is None:
        raise NotFound(_("%(person)s is not an active member of %(commission)s.", person=user.display_name,
                         commission=commission.name))
    seat.active = False
    session.flush()
    audit.record(session, actor, "commission.member_removed", now=now, subject=f"commission:{commission.id}",
                 payload={"user": user.id, "role": seat.role})
    return Seat(member=seat, user=user)


def list_commissions(session: Session) -> list[CommissionListing]:
    """Every commission with its members, present and former, by name. A read: nothing is audited."""
    quorum = get_setting(session, "commission.quorum")
    rows = session.execute(select(CommissionMember, User).join(User, User.id == CommissionMember.user_id)).all()
    seats: dict[int, list[Seat]] = {}
    for member, user in rows:
        seats.setdefault(member.commission_id, []).append(Seat(member=member, user=user))
    listings = []
    for commission in session.execute(select(Commission).order_by(Commission.name)).scalars():
        ordered = sorted(seats.get(commission.id or 0, []), key=lambda s: (
            not s.member.active, _ROLE_ORDER[s.member.role], s.user.display_name, s.user.id))
        listings.append(CommissionListing(commission=commission, seats=ordered, quorum=quorum))
    return listings


def seats_of(session: Session, user_id: int) -> list[tuple[str, str]]:
    """(commission name, role) of each commission the user sits on now, by name."""
    rows = session.execute(select(Commission.name, CommissionMember.role)
                           .join(CommissionMember, CommissionMember.commission_id == Commission.id)
                           .where(CommissionMember.user_id == user_id, CommissionMember.active.is_(True))
                           .order_by(Commission.name)).all()
    return [(name, role) for name, role in rows]


def arrival_context() -> dict[str, object]:
    """Template values for the page an LTI launch lands on (a context processor the app factory
    installs; ``lti`` may not import ``appeals``). Both are functions, so that only a page that
    asks runs the query: ``my_commission_seats()`` and ``commission_queue_url()``, the latter
    ``None`` until the commission's pages are installed."""

    def my_commission_seats() -> list[tuple[str, str]]:
        actor = current_actor()
        if actor is None or actor.user_id is None:
            return []
        return seats_of(db(), actor.user_id)

    def commission_queue_url() -> str | None:
        return url_for("commission.queue") if "commission.queue" in current_app.view_functions else None

    return {"my_commission_seats": my_commission_seats, "commission_queue_url": commission_queue_url}
