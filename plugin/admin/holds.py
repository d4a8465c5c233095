"""Legal holds: keep a case, a person or a course out of retention and erasure (S 5.3в).

A hold is added with a reason and released, never deleted, so the record of why data outlived its
period stays. While a hold is active, ``adal retention run`` keeps everything about its subject and
``adal subject erase`` refuses.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlmodel import Session, select

from appeals.models import Case
from plugin.kernel import audit
from plugin.kernel.errors import InvalidInput, NotFound
from plugin.kernel.retention_records import HOLD_KINDS, LegalHold
from plugin.kernel.users import Actor, Course, User

MAX_REASON = 2000
KIND_TITLES = {"case": _l("case"), "user": _l("person"), "course": _l("course")}


def describe_subject(session: Session, kind: str, subject_id: int) -> str:
    """A short label of a hold's subject for lists: the case number, the person's or course's name."""
    if kind == "case":
        case = session.get(Case, subject_id)
        return _("case %(number)s", number=case.number) if case else _("case #%(id)d (deleted)", id=subject_id)
    if kind == "user":
        user = session.get(User, subject_id)
        return f"{user.display_name} (#{subject_id})" if user else _("person #%(id)d (deleted)", id=subject_id)
    course = session.get(Course, subject_id)
    return f"{course.title} (#{subject_id})" if course else _("course #%(id)d (deleted)", id=subject_id)


def add_hold(session: Session, actor: Actor, kind: str, subject_id: int, *, reason: str, now: datetime) -> LegalHold:
    """Put a case, a user or a course under a legal hold. Audits ``hold.added``.

    Raises ``InvalidInput`` for an unknown kind or an empty or overlong reason, ``NotFound`` when
    there is no such case, user or course; nothing is written then.
    """
    if kind not in HOLD_KINDS:
        raise InvalidInput(_("A hold is on a case, a person or a course."))
    reason = (reason or "").strip()
    if not reason or len(reason) > MAX_REASON:
        raise InvalidInput(_("Give the reason for the hold (at most %(n)d characters).", n=MAX_REASON))
    model = {"case": Case, "user": User, "course": Course}[kind]
    if isinstance(subject_id, bool) or not isinstance(subject_id, int) or session.get(model, subject_id) is None:
        raise NotFound({"case": _("There is no case #%(id)s.", id=subject_id),
                        "user": _("There is no person #%(id)s.", id=subject_id),
                        "course": _("There is no course #%(id)s.", id=subject_id)}[kind])
    hold = LegalHold(subject_kind=kind, subject_id=subject_id, reason=reason, created_by=actor.label, created_at=now)
    session.add(hold)
    session.flush()
    audit.record(session, actor, "hold.added", now=now, subject=f"hold:{hold.id}",
                 payload={"kind": kind, "id": subject_id, "reason": reason})
    return hold


def release_hold(session: Session, actor: Actor, hold_id: int, *, now: datetime) -> LegalHold:
    """Release an active hold (it stays listed as released). Audits ``hold.released``.

    Raises ``NotFound`` for no such hold, ``InvalidInput`` when it was already released.
    """
    hold = session.get(LegalHold, hold_id)
    if hold is None:
        raise NotFound(_("There is no legal hold #%(id)s.", id=hold_id))
    if hold.released_at is not None:
        raise InvalidInput(_("Legal hold #%(id)s was already released.", id=hold_id))
    hold.released_at, hold.released_by = now, actor.label
    session.flush()
    audit.record(session, actor, "hold.released", now=now, subject=f"hold:{hold.id}",
                 payload={"kind": hold.subject_kind, "id": hold.subject_id})
    return hold


def list_holds(session: Session, *, include_released: bool = False) -> Sequence[LegalHold]:
    query = select(LegalHold).order_by(LegalHold.id)
    if not include_released:
        query = query.where(LegalHold.released_at.is_(None))  # type: ignore[union-attr]
    return session.exec(query).all()


def active_holds(session: Session) -> dict[str, set[int]]:
    """Subjects under an active hold, by kind."""
    held: dict[str, set[int]] = {kind: set() for kind in HOLD_KINDS}
    for hold in list_holds(session):
        held[hold.subject_kind].add(hold.subject_id)
    return held
