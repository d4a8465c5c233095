"""From a validated launch to the Adal user, course, membership and ``Actor``."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session

from attribution.assignments import bind_assignment_link
from attribution.submissions import assignment_for_link
from lti import claims as c
from lti.deep_linking import ASSIGNMENT_PARAMETER
from lti.launch import Launch
from lti.services import record_context_services
from lti.urls import acceptable_platform_url
from plugin.kernel import audit
from plugin.kernel.errors import NotFound
from plugin.kernel.i18n import normalise
from plugin.kernel.settings import get_setting
from plugin.kernel.users import Actor, Role, User, upsert_course, upsert_membership, upsert_user

log = logging.getLogger("adal.lti")


@dataclass(frozen=True)
class Arrival:
    actor: Actor
    course_title: str | None
    display_name: str
    locale: str | None
    return_url: str | None = None  # where the LMS asked to send the person back
    assignment_id: int | None = None  # the assignment a resource link opens


HOME_VIEW = "home"  # custom parameter adal_view=home: a course-level link (Canvas course navigation)


def _launched_assignment(session: Session, actor: Actor, body: dict, *, now: datetime) -> int | None:
    """The assignment a resource-link launch opens: the one Adal placed by deep linking (its
    custom parameter names it; the LMS's link is remembered), else the one made for this link on
    its first launch (a tool added by hand). ``None`` for course-level links and other messages."""
    custom = body.get(c.CUSTOM) or {}
    link = body.get(c.RESOURCE_LINK) or {}
    if (actor.course_id is None or body.get(c.MESSAGE_TYPE) != "LtiResourceLinkRequest" or not link.get("id")
            or custom.get("adal_view") == HOME_VIEW):
        return None
    endpoint = body.get(c.AGS_ENDPOINT) or {}
    line_item = endpoint.get("lineitem") if isinstance(endpoint, dict) else None
    line_item = line_item if isinstance(line_item, str) else None
    raw = custom.get(ASSIGNMENT_PARAMETER)
    if isinstance(raw, str) and raw.isdecimal():
        try:
            return bind_assignment_link(session, actor, assignment_id=int(raw), resource_link_id=str(link["id"]),
                                        line_item_url=line_item, now=now).id
        except NotFound:
            log.warning("launch named assignment %s, which is not in course %s", raw, actor.course_id)
            return None
    title = str(link.get("title") or body.get(c.CONTEXT, {}).get("title") or "")
    return assignment_for_link(session, actor, resource_link_id=str(link["id"]), title=title,
                               line_item_url=line_item, now=now).id


def enter_launch(session: Session, launch: Launch, *, now: datetime) -> Arrival:
    """Create or refresh the user, course and memberships a launch speaks of; audit ``lti.launch``.

    Upserts, one statement each: this runs on every launch.
    """
    body = launch.claims
    issuer = launch.platform.issuer
    name = body.get("name") or " ".join(p for p in (body.get("given_name"), body.get("family_name")) if p)
    name = (name or body["sub"])[:200]
    presentation = body.get(c.LAUNCH_PRESENTATION, {})
    locale = normalise(presentation.get("locale") if isinstance(presentation.get("locale"), str) else None) \
        or normalise(body.get("locale"))
    user_id = upsert_user(session, issuer=issuer, subject=body["sub"], display_name=name, now=now, locale=locale)
    if isinstance(body.get("email"), str) and get_setting(session, "privacy.collect_email"):
        session.execute(update(User).where(User.id == user_id).values(email=body["email"][:254]))
    roles, is_ta = c.map_roles(body.get(c.ROLES, []))
    course_id, title = None, None
    context = body.get(c.CONTEXT)
    if context:
        title = str(context.get("title") or context.get("label") or context["id"])[:300]
        course_id = upsert_course(session, issuer=issuer, context_id=context["id"], title=title, now=now,
                                  label=str(context["label"])[:100] if context.get("label") else None)
        for role in sorted(roles):
            upsert_membership(session, user_id=user_id, course_id=course_id, role=role, now=now,
                              is_ta=is_ta and role is Role.TEACHER)
        record_context_services(session, platform_id=launch.platform.id or 0, course_id=course_id, claims=body,
                                now=now)
    actor = Actor(label=f"user:{user_id}", user_id=user_id, roles=roles, course_id=course_id, is_ta=is_ta,
                  locale=locale)
    assignment_id = _launched_assignment(session, actor, body, now=now)
    audit.record(session, actor, "lti.launch", now=now, subject=f"course:{course_id}" if course_id else None,
                 payload={"platform": launch.platform.id, "message_type": launch.message_type,
                          "roles": sorted(roles), "deployment_id": body[c.DEPLOYMENT_ID]})
    back = presentation.get("return_url") if isinstance(presentation, dict) else None
    return Arrival(actor=actor, course_title=title, display_name=name, locale=locale,
                   return_url=back if isinstance(back, str) and acceptable_platform_url(back) else None,
                   assignment_id=assignment_id)
