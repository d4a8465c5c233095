"""From a validated launch to the Adal user, course, membership and ``Actor``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from lti import claims as c
from lti.launch import Launch
from plugin.kernel import audit
from plugin.kernel.i18n import normalise
from plugin.kernel.settings import get_setting
from plugin.kernel.users import Actor, Course, Role, ensure_course, ensure_membership, ensure_user


@dataclass(frozen=True)
class Arrival:
    actor: Actor
    course: Course | None
    display_name: str
    locale: str | None


def enter_launch(session: Session, launch: Launch, *, now: datetime) -> Arrival:
    """Create or refresh the user, course and memberships a launch speaks of; audit ``lti.launch``."""
    body = launch.claims
    issuer = launch.platform.issuer
    name = body.get("name") or " ".join(p for p in (body.get("given_name"), body.get("family_name")) if p)
    presentation = body.get(c.LAUNCH_PRESENTATION, {})
    locale = normalise(presentation.get("locale") if isinstance(presentation.get("locale"), str) else None) \
        or normalise(body.get("locale"))
    user = ensure_user(session, issuer=issuer, subject=body["sub"], display_name=(name or body["sub"])[:200],
                       now=now, locale=locale)
    if isinstance(body.get("email"), str) and get_setting(session, "privacy.collect_email"):
        user.email = body["email"][:254]
    roles, is_ta = c.map_roles(body.get(c.ROLES, []))
    course = None
    context = body.get(c.CONTEXT)
    if context:
        course = ensure_course(session, issuer=issuer, context_id=context["id"],
                               title=str(context.get("title") or context.get("label") or context["id"])[:300],
                               label=str(context["label"])[:100] if context.get("label") else None, now=now)
        for role in sorted(roles):
            ensure_membership(session, user=user, course=course, role=role, now=now,
                              is_ta=is_ta and role is Role.TEACHER)
    actor = Actor.for_user(user, roles, course_id=course.id if course else None, is_ta=is_ta, locale=locale)
    audit.record(session, actor, "lti.launch", now=now, subject=f"course:{course.id}" if course else None,
                 payload={"platform": launch.platform.id, "message_type": launch.message_type,
                          "roles": sorted(roles), "deployment_id": body[c.DEPLOYMENT_ID]})
    return Arrival(actor=actor, course=course, display_name=user.display_name, locale=locale)
