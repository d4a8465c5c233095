"""Assignments: created when a teacher places Adal in a course (LTI Deep Linking)."""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlmodel import Session

from attribution.models import Assignment
from plugin.kernel import audit
from plugin.kernel.errors import InvalidInput, NotFound, NotPermitted
from plugin.kernel.users import Actor, Role


def create_assignment(session: Session, actor: Actor, *, title: str, score_maximum: float, now: datetime) -> Assignment:
    """A new assignment in the actor's course; audits ``assignment.created``.

    Raises ``NotPermitted`` unless the actor teaches the course, ``InvalidInput`` for an empty
    title or a maximum score outside 1 to 1000.
    """
    if not actor.has(Role.TEACHER) or actor.course_id is None:
        raise NotPermitted(_("Only a teacher of this course can add an assignment."))
    title = title.strip()
    if not title or len(title) > 300:
        raise InvalidInput(_("Give the assignment a title (at most 300 characters)."))
    if not 1 <= score_maximum <= 1000:
        raise InvalidInput(_("The maximum score must be between 1 and 1000."))
    assignment = Assignment(course_id=actor.course_id, title=title, score_maximum=score_maximum,
                            created_by=actor.label, created_at=now)
    session.add(assignment)
    session.flush()
    audit.record(session, actor, "assignment.created", now=now, subject=f"assignment:{assignment.id}",
                 payload={"title": title, "score_maximum": score_maximum, "course_id": actor.course_id})
    return assignment


def bind_assignment_link(session: Session, actor: Actor, *, assignment_id: int, resource_link_id: str,
                         line_item_url: str | None, now: datetime) -> Assignment:
    """Remember which LMS link (and gradebook column) an assignment was placed as.

    Raises ``NotFound`` when the assignment is not in the actor's course (ids are not guessable
    across courses). Audits ``assignment.linked`` the first time only.
    """
    assignment = session.get(Assignment, assignment_id)
    if assignment is None or assignment.course_id != actor.course_id:
        raise NotFound(_("This assignment does not belong to this course."))
    if assignment.resource_link_id != resource_link_id or assignment.line_item_url != line_item_url:
        first = assignment.resource_link_id is None
        assignment.resource_link_id, assignment.line_item_url = resource_link_id, line_item_url
        if first:
            audit.record(session, actor, "assignment.linked", now=now, subject=f"assignment:{assignment.id}",
                         payload={"resource_link_id": resource_link_id})
    return assignment

