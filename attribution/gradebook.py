"""What the LMS gradebook hears about a submission, through the grade port (LTI AGS in ``lti``).

Called after the request's transaction committed: the port opens its own sessions and talks to
the LMS over the network, and neither may happen while our write is still open (on SQLite it
would wait for our own lock). A failure never undoes the submission or the grade; it is kept
in ``Submission.lms_status`` so the teacher sees it and can send it again.
"""

from __future__ import annotations

import logging
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlmodel import Session

from attribution.models import Assignment, GradeAdjustment, Submission
from plugin.kernel.errors import AdalError
from plugin.kernel.ports import PortNotConfigured, ScoreUpdate
from plugin.kernel.runtime import Runtime
from plugin.kernel.users import User

log = logging.getLogger("adal.gradebook")

POSTED, FAILED, OFF = "posted", "failed", "off"


def adjusted_grade(session: Session, submission: Submission) -> tuple[float | None, str | None]:
    """The grade and comment Adal posts for a submission, after a final commission decision's
    adjustments for that student and assignment: a zero (level 2) replaces any grade; points
    deducted (level 1) come off the teacher's grade, never below zero."""
    adjustments = session.execute(select(GradeAdjustment).where(
        GradeAdjustment.assignment_id == submission.assignment_id,
        GradeAdjustment.student_id == submission.student_id).order_by(GradeAdjustment.id)).scalars().all()
    zero = next((a for a in adjustments if a.kind == "zero"), None)
    if zero is not None:
        return 0.0, zero.reason
    if submission.grade is None:
        return None, None
    deducted = sum(float(a.points or 0) for a in adjustments if a.kind == "deduction")
    if not deducted:
        return submission.grade, submission.feedback
    notes = [a.reason for a in adjustments if a.kind == "deduction"]
    note = _("%(points)s points deducted: %(reasons)s", points=f"{deducted:g}", reasons="; ".join(notes))
    comment = f"{submission.feedback}\n\n{note}" if submission.feedback else note
    return max(0.0, float(submission.grade) - deducted), comment


def push_to_gradebook(runtime: Runtime, submission_id: int, *, now: datetime) -> str:
    """Send the submission's state to the LMS: ``Submitted``/``PendingManual`` until it is graded,
    then the grade and feedback (``Completed``/``FullyGraded``). Returns the new ``lms_status``:
    ``off`` when the link has no gradebook column or the installation no grade service."""
    with runtime.session() as session:
        submission = session.get(Submission, submission_id)
        if submission is None:
            return OFF
        assignment = session.get(Assignment, submission.assignment_id)
        student = session.get(User, submission.student_id)
        if assignment is None or student is None or not assignment.line_item_url or not student.subject:
            status = OFF
        else:
            given, comment = adjusted_grade(session, submission)
            graded = given is not None
            score = ScoreUpdate(line_item_url=assignment.line_item_url, user_subject=student.subject,
                                score_given=given, score_maximum=float(assignment.score_maximum),
                                activity_progress="Completed" if graded else "Submitted",
                                grading_progress="FullyGraded" if graded else "PendingManual",
                                timestamp=now, comment=comment if graded else None)
            session.commit()  # end the read: the port opens sessions of its own, which SQLite would make wait
            try:
                runtime.ports.grades.publish_score(assignment.course_id, score)
                status = POSTED
            except PortNotConfigured:
                status = OFF
            except AdalError as exc:  # the LMS refused or did not answer: kept for the teacher
                # service_not_offered: no launch in this course offered AGS, nothing to retry
                status = OFF if getattr(exc, "code", None) == "service_not_offered" else FAILED
                log.warning("gradebook update for submission %s: %s", submission_id, exc)
        session.execute(update(Submission).where(Submission.id == submission_id).values(lms_status=status))
        session.commit()
    return status
