"""What a final decision does outside the case (S 7.7), and only once it is final: the appeal
window passed with no appeal, the appeal was withdrawn, or its outcome was recorded. While an
appeal may still come or is open, nothing here runs (``EffectsNotDue``).

- level 0: a warning is recorded (the attribution is fixed through the teacher's request);
- level 1: the assignment is reopened for the student with a new due date, and points are
  deducted from every grade Adal posts for it afterwards;
- level 2: a zero is posted to the LMS gradebook through the grade port;
- level 3: the referral to the institution's disciplinary procedure is recorded.

``apply_effects`` records them in the caller's transaction (one row per kind: applying twice does
nothing twice); ``send_effects`` talks to the LMS after the commit, as ``attribution.gradebook``
does for grades.
"""

from __future__ import annotations

import json
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlmodel import Session

from appeals.cases import calendar_of
from appeals.models import Case, CaseEffect
from appeals.workflow import FINAL, State
from attribution.gradebook import push_to_gradebook
from attribution.models import Assignment, GradeAdjustment, Submission
from attribution.teaching import reopen_for_student
from plugin.kernel import audit
from plugin.kernel.errors import InvalidInput
from plugin.kernel.runtime import Runtime
from plugin.kernel.settings import get_setting
from plugin.kernel.users import Actor


class EffectsNotDue(InvalidInput):
    """The decision is not final yet: an appeal may still come, or is open."""


def apply_effects(session: Session, case: Case, *, now: datetime) -> list[CaseEffect]:
    """Record the final decision's effects. Raises ``EffectsNotDue`` unless the case is final;
    returns the effects added now (none when they were already applied or there is no sanction)."""
    if case.state not in {s.value for s in FINAL} or case.final_at is None:
        raise EffectsNotDue(_("The decision is not final yet: it takes effect only after the appeal window "
                              "or the appeal."))
    level = case.final_sanction_level
    if level is None or case.state == State.WITHDRAWN.value:
        return []
    done = set(session.execute(select(CaseEffect.kind).where(CaseEffect.case_id == case.id)).scalars())
    submission = session.get(Submission, case.submission_id)
    assignment = session.get(Assignment, submission.assignment_id) if submission else None
    if submission is None or assignment is None:  # the work is gone (retention): nothing left to act on
        return []
    source = f"case:{case.id}"
    reason = _("Academic integrity commission, decision %(number)s", number=case.number)
    added: list[CaseEffect] = []

    def add(kind: str, detail: dict[str, object], lms_status: str | None = None) -> None:
        if kind in done:
            return
        row = CaseEffect(case_id=case.id, kind=kind, detail=json.dumps(detail, sort_keys=True), applied_at=now,
                         lms_status=lms_status)
        session.add(row)
        added.append(row)

    if level == 0:
        add("warning", {"submission": submission.id})
    elif level == 1:
        if "reopen" not in done:
            due = calendar_of(session).deadline(now, get_setting(session, "sanctions.resubmit_working_days"))
            reopen_for_student(session, Actor.system(f"case:{case.number}"), assignment.id, case.student_id, due,
                               reason, now=now)
            add("reopen", {"assignment": assignment.id, "due_at": due.isoformat()})
        percent = get_setting(session, "sanctions.level1_deduction_percent")
        points = round(float(assignment.score_maximum) * percent / 100, 2)
        if "deduction" not in done and points > 0:
            session.add(GradeAdjustment(assignment_id=assignment.id, student_id=case.student_id, kind="deduction",
                                        points=points, reason=reason, source=source, created_at=now))
            add("deduction", {"percent": percent, "points": points})
    elif level == 2:
        if "zero_grade" not in done:
            session.add(GradeAdjustment(assignment_id=assignment.id, student_id=case.student_id, kind="zero",
                                        reason=reason, source=source, created_at=now))
            add("zero_grade", {"assignment": assignment.id}, lms_status="pending")
    else:
        add("referral", {"procedure": "disciplinary"})
    session.flush()
    if added:
        audit.record(session, "system:effects", "case.effects", now=now, subject=f"case:{case.id}",
                     payload={"sanction_level": level, "effects": [row.kind for row in added]})
    return added


def unsent_cases(session: Session) -> list[int]:
    """Cases with an effect the LMS has not accepted yet (waiting, or refused last time)."""
    return list(session.execute(select(CaseEffect.case_id).where(CaseEffect.lms_status.in_(("pending", "failed")))
                                .distinct().order_by(CaseEffect.case_id)).scalars())


def send_effects(runtime: Runtime, case_id: int, *, now: datetime) -> dict[str, str]:
    """After the commit: post what the LMS must hear (the zero of level 2) through the grade port,
    and keep the outcome on the effect (``posted``, ``failed`` to send again, ``off`` when the link
    has no gradebook). Returns {kind: status}."""
    with runtime.session() as session:
        pending = session.execute(select(CaseEffect).where(CaseEffect.case_id == case_id,
                                                           CaseEffect.lms_status.in_(("pending", "failed")))).scalars()
        targets = [(row.id, row.kind) for row in pending]
        case = session.get(Case, case_id)
        latest = None
        if case is not None and targets:
            submission = session.get(Submission, case.submission_id)
            if submission is not None:
                latest = session.execute(select(Submission.id).where(
                    Submission.assignment_id == submission.assignment_id,
                    Submission.student_id == submission.student_id).order_by(Submission.id.desc())).scalars().first()
        session.commit()
    results: dict[str, str] = {}
    for effect_id, kind in targets:
        status = push_to_gradebook(runtime, latest, now=now) if latest is not None else "off"
        with runtime.session() as session:
            session.execute(update(CaseEffect).where(CaseEffect.id == effect_id).values(lms_status=status))
            session.commit()
        results[kind] = status
    return results
