"""The teacher's suspicion flag (S 7.6ә) and the rule at its heart: a detector's score is a
signal, never proof, and never the sole ground (S 2.10б, 3.3ә, 6.11). A flag whose only evidence
items are detector signals stays "signal only: needs the teacher's own check" and cannot be
referred to the commission until a non-detector item is attached.

Services take the session and the actor, check permission, change rows, audit, never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlmodel import Session

from attribution.models import Assignment, Submission
from evidence.models import (
    GROUNDS,
    CoursePolicy,
    DraftRequest,
    EvidenceItem,
    Flag,
    FlagGround,
    OralDefence,
    Signal,
)
from plugin.kernel import audit
from plugin.kernel.errors import InvalidInput, NotFound, NotPermitted
from plugin.kernel.users import Actor, Role

MAX_TEXT = 5000


class NotReferable(NotPermitted):
    """The flag cannot go to the commission yet; the message says why."""


# -- who may ---------------------------------------------------------------------------------------
def may_flag(session: Session, actor: Actor, course_id: int) -> bool:
    """Teachers of the course; teaching assistants unless the course withholds flagging from them."""
    if not actor.has(Role.TEACHER) or actor.course_id != course_id:
        return False
    if not actor.is_ta:
        return True
    policy = session.get(CoursePolicy, course_id)
    return policy is None or policy.ta_may_flag


def submission_in_course(session: Session, actor: Actor, submission_id: int) -> tuple[Submission, Assignment]:
    """A submission of the actor's current course, for staff; ``NotFound`` otherwise."""
    submission = session.get(Submission, submission_id)
    assignment = session.get(Assignment, submission.assignment_id) if submission else None
    if submission is None or assignment is None or actor.course_id is None or assignment.course_id != actor.course_id:
        raise NotFound(_("There is no such submission."))
    return submission, assignment


def _own_flag(session: Session, actor: Actor, flag_id: int) -> Flag:
    flag = session.get(Flag, flag_id)
    if flag is None or flag.course_id != actor.course_id or not actor.has(Role.TEACHER):
        raise NotFound(_("There is no such flag."))
    if not may_flag(session, actor, flag.course_id):
        raise NotPermitted(_("This course does not let teaching assistants flag work."))
    return flag


# -- the rule --------------------------------------------------------------------------------------
def flag_items(session: Session, flag_id: int) -> list[EvidenceItem]:
    grounds = select(FlagGround.id).where(FlagGround.flag_id == flag_id)
    return list(session.execute(select(EvidenceItem).where(EvidenceItem.ground_id.in_(grounds))
                                .order_by(EvidenceItem.id)).scalars())


def referable(items: Sequence[EvidenceItem]) -> bool:
    """Pure: at least one evidence item is not a detector signal."""
    return any(not item.is_detector for item in items)


def referral_problem(session: Session, flag: Flag) -> str | None:
    """Why ``flag`` cannot be referred now, or ``None``."""
    if flag.state != "open":
        return _("Only an open flag can be referred.")
    items = flag_items(session, flag.id or 0)
    if not items:
        return _("Add evidence first: a flag needs at least one evidence item.")
    if not referable(items):
        return _("A detector score is a signal, not proof, and never the only ground. Check the work yourself "
                 "and attach your own evidence (drafts asked for, an oral defence record, matching sources, a "
                 "comparison with earlier work) before referring it to the commission.")
    return None


# -- verbs ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GroundInput:
    ground: str
    description: str


def flag_suspicion(session: Session, actor: Actor, submission_id: int, grounds: Sequence[GroundInput], *,
                   now: datetime) -> Flag:
    """Open a flag on a submission with its grounds; audits ``flag.opened``.

    Raises ``NotFound`` outside the actor's course, ``NotPermitted`` for someone who may not flag,
    ``InvalidInput`` without a ground or with an unknown ground or an empty description.
    """
    submission, assignment = submission_in_course(session, actor, submission_id)
    if not may_flag(session, actor, assignment.course_id):
        raise NotPermitted(_("Only a teacher of this course can flag work (this course does not let teaching "
                             "assistants flag)."))
    if not grounds:
        raise InvalidInput(_("Choose at least one ground."))
    for item in grounds:
        _check_ground(item)
    flag = Flag(submission_id=submission.id, course_id=assignment.course_id, created_by=actor.label,
                created_by_user=actor.user_id, created_at=now)
    session.add(flag)
    session.flush()
    for item in grounds:
        session.add(FlagGround(flag_id=flag.id, ground=item.ground, description=item.description.strip()))
    session.flush()
    audit.record(session, actor, "flag.opened", now=now, subject=f"flag:{flag.id}",
                 payload={"submission": submission.id, "grounds": [g.ground for g in grounds]})
    return flag


def _check_ground(item: GroundInput) -> None:
    if item.ground not in GROUNDS:
        raise InvalidInput(_("Choose grounds from the list."))
    if not item.description.strip() or len(item.description) > MAX_TEXT:
        raise InvalidInput(_("Describe each ground in your own words (at most %(n)d characters).", n=MAX_TEXT))


def add_ground(session: Session, actor: Actor, flag_id: int, ground: GroundInput, *, now: datetime) -> FlagGround:
    flag = _own_flag(session, actor, flag_id)
    if flag.state != "open":
        raise InvalidInput(_("This flag is no longer open."))
    _check_ground(ground)
    row = FlagGround(flag_id=flag.id, ground=ground.ground, description=ground.description.strip())
    session.add(row)
    session.flush()
    audit.record(session, actor, "flag.ground_added", now=now, subject=f"flag:{flag.id}",
                 payload={"ground": ground.ground})
    return row


def attach_evidence(session: Session, actor: Actor, ground_id: int, *, kind: str, description: str, now: datetime,
                    sha256: str | None = None, name: str | None = None, signal_id: int | None = None,
                    defence_id: int | None = None, draft_request_id: int | None = None) -> EvidenceItem:
    """Attach one evidence item to a ground; audits ``flag.evidence_added``.

    A signal, defence or draft request must belong to the flag's submission (``NotFound``
    otherwise). Detector signals are marked as such, whatever the description says.
    """
    ground = session.get(FlagGround, ground_id)
    if ground is None:
        raise NotFound(_("There is no such ground."))
    flag = _own_flag(session, actor, ground.flag_id)
    if flag.state != "open":
        raise InvalidInput(_("This flag is no longer open."))
    if not description.strip() or len(description) > MAX_TEXT:
        raise InvalidInput(_("Describe the evidence (at most %(n)d characters).", n=MAX_TEXT))
    is_detector = False
    if kind == "signal":
        signal = session.get(Signal, signal_id) if signal_id is not None else None
        if signal is None or signal.submission_id != flag.submission_id:
            raise NotFound(_("There is no such signal for this submission."))
        is_detector = signal.kind == "detector"
    elif kind == "defence":
        defence = session.get(OralDefence, defence_id) if defence_id is not None else None
        if defence is None or defence.submission_id != flag.submission_id or defence.recorded_at is None:
            raise NotFound(_("There is no recorded oral defence for this submission."))
    elif kind == "draft_request":
        request = session.get(DraftRequest, draft_request_id) if draft_request_id is not None else None
        if request is None or request.submission_id != flag.submission_id:
            raise NotFound(_("There is no such request for drafts for this submission."))
    elif kind == "file":
        if not sha256 or not name:
            raise InvalidInput(_("Attach a file."))
    elif kind != "note":
        raise InvalidInput(_("Choose a kind of evidence from the list."))
    item = EvidenceItem(ground_id=ground.id, kind=kind, is_detector=is_detector, description=description.strip(),
                        sha256=sha256 if kind == "file" else None, name=name if kind == "file" else None,
                        signal_id=signal_id if kind == "signal" else None,
                        defence_id=defence_id if kind == "defence" else None,
                        draft_request_id=draft_request_id if kind == "draft_request" else None,
                        added_by=actor.label, added_at=now)
    session.add(item)
    session.flush()
    audit.record(session, actor, "flag.evidence_added", now=now, subject=f"flag:{flag.id}",
                 payload={"ground": ground.id, "kind": kind, "detector": is_detector, "sha256": item.sha256})
    return item


def refer_flag(session: Session, actor: Actor, flag_id: int, *, now: datetime) -> Flag:
    """Refer the flag to the commission; audits ``flag.referred``.

    Raises ``NotReferable`` (with the reason) when the flag is not open, has no evidence, or
    only detector evidence.
    """
    flag = _own_flag(session, actor, flag_id)
    problem = referral_problem(session, flag)
    if problem is not None:
        raise NotReferable(problem)
    flag.state, flag.referred_at = "referred", now
    session.flush()
    audit.record(session, actor, "flag.referred", now=now, subject=f"flag:{flag.id}",
                 payload={"submission": flag.submission_id,
                          "evidence": [(i.kind, i.is_detector) for i in flag_items(session, flag.id or 0)]})
    return flag


def close_flag(session: Session, actor: Actor, flag_id: int, *, outcome: str, note: str, now: datetime) -> Flag:
    """Close an open flag without referral: ``closed_informal`` (a talk, perhaps a request to fix
    the attribution: S 9.4 level 1, not a sanction) or ``withdrawn``. Audits ``flag.closed``."""
    flag = _own_flag(session, actor, flag_id)
    if flag.state != "open":
        raise InvalidInput(_("This flag is no longer open."))
    if outcome not in ("closed_informal", "withdrawn"):
        raise InvalidInput(_("Choose how the flag ends."))
    if not note.strip() or len(note) > MAX_TEXT:
        raise InvalidInput(_("Write a short note on why (at most %(n)d characters).", n=MAX_TEXT))
    flag.state, flag.closed_note = outcome, note.strip()
    session.flush()
    audit.record(session, actor, "flag.closed", now=now, subject=f"flag:{flag.id}", payload={"outcome": outcome})
    return flag


def flags_of_submission(session: Session, submission_id: int) -> list[Flag]:
    return list(session.execute(select(Flag).where(Flag.submission_id == submission_id)
                                .order_by(Flag.created_at)).scalars())


def set_course_policy(session: Session, actor: Actor, *, ta_may_flag: bool, now: datetime) -> CoursePolicy:
    """A teacher (not a TA) decides whether TAs of the course may flag; audits ``course.policy``."""
    if not actor.has(Role.TEACHER) or actor.is_ta or actor.course_id is None:
        raise NotPermitted(_("Only a teacher of the course (not a teaching assistant) can change this."))
    policy = session.get(CoursePolicy, actor.course_id)
    if policy is None:
        policy = CoursePolicy(course_id=actor.course_id, ta_may_flag=ta_may_flag, updated_by=actor.label,
                              updated_at=now)
        session.add(policy)
    else:
        policy.ta_may_flag, policy.updated_by, policy.updated_at = ta_may_flag, actor.label, now
    session.flush()
    audit.record(session, actor, "course.policy", now=now, subject=f"course:{actor.course_id}",
                 payload={"ta_may_flag": ta_may_flag})
    return policy


# -- reading, for the pages -------------------------------------------------------------------------
GROUND_TITLES = {
    "level_mismatch": _l("The work does not match the student's level or earlier work"),
    "missing_drafts": _l("Drafts are missing"),
    "failed_defence": _l("The oral defence did not confirm authorship"),
    "matching_sources": _l("Matching sources"),
    "detector_signal": _l("A detector signal"),
    "other": _l("Other"),
}
GROUND_HINTS = {
    "level_mismatch": _l("What differs, compared with which earlier work or with what you know of the student's "
                         "level."),
    "missing_drafts": _l("Which drafts were asked for, and when; what the student answered."),
    "failed_defence": _l("What the student could not explain about their own work."),
    "matching_sources": _l("Which passages match which sources (a similarity report, a book, a web page)."),
    "detector_signal": _l("Which detector and what it reported. A detector signal alone can never be referred: "
                          "add evidence of your own check."),
    "other": _l("What makes you doubt that the work is the student's own."),
}
STATE_TITLES = {
    "open": _l("open"),
    "referred": _l("referred to the commission"),
    "closed_informal": _l("closed after an informal talk"),
    "withdrawn": _l("withdrawn"),
}
EVIDENCE_KIND_TITLES = {
    "file": _l("File"),
    "signal": _l("Signal"),
    "defence": _l("Oral defence record"),
    "draft_request": _l("Request for drafts"),
    "note": _l("Note"),
}


@dataclass(frozen=True)
class FlagStatus:
    """Where a flag stands on the way to the commission. ``signal_only``: open, with evidence, all
    of it detector signals (S 3.3ә: "signal only: needs the teacher's own check")."""

    flag: Flag
    problem: str | None
    signal_only: bool
    items: tuple[EvidenceItem, ...]


def flag_status(session: Session, flag: Flag) -> FlagStatus:
    items = tuple(flag_items(session, flag.id or 0))
    signal_only = flag.state == "open" and bool(items) and not referable(items)
    return FlagStatus(flag=flag, problem=referral_problem(session, flag), signal_only=signal_only, items=items)


def visible_flag(session: Session, actor: Actor, flag_id: int) -> tuple[Flag, Submission, Assignment]:
    """A flag of the actor's course with its submission, for someone who may flag there.
    ``NotFound`` outside the course (or for no such flag), ``NotPermitted`` for a teaching
    assistant when the course withholds flagging."""
    flag = _own_flag(session, actor, flag_id)
    submission, assignment = submission_in_course(session, actor, flag.submission_id)
    return flag, submission, assignment


def flag_grounds(session: Session, flag_id: int) -> list[tuple[FlagGround, list[EvidenceItem]]]:
    """The flag's grounds in the order they were given, each with its evidence items."""
    grounds = list(session.execute(select(FlagGround).where(FlagGround.flag_id == flag_id)
                                   .order_by(FlagGround.id)).scalars())
    items = flag_items(session, flag_id)
    return [(ground, [item for item in items if item.ground_id == ground.id]) for ground in grounds]


def recorded_defences(session: Session, submission_id: int) -> list[OralDefence]:
    """Oral defences of the submission whose record is kept (only those can be evidence)."""
    return list(session.execute(select(OralDefence).where(OralDefence.submission_id == submission_id,
                                                          OralDefence.recorded_at.is_not(None))
                                .order_by(OralDefence.scheduled_for, OralDefence.id)).scalars())


def draft_requests_of(session: Session, submission_id: int) -> list[DraftRequest]:
    return list(session.execute(select(DraftRequest).where(DraftRequest.submission_id == submission_id)
                                .order_by(DraftRequest.requested_at, DraftRequest.id)).scalars())


def evidence_file(session: Session, actor: Actor, flag_id: int, item_id: int) -> EvidenceItem:
    """A file evidence item of a flag the actor may see; ``NotFound`` otherwise."""
    flag = _own_flag(session, actor, flag_id)
    item = session.get(EvidenceItem, item_id)
    ground = session.get(FlagGround, item.ground_id) if item is not None else None
    if item is None or ground is None or ground.flag_id != flag.id or item.kind != "file" or not item.sha256:
        raise NotFound(_("There is no such file."))
    return item


def referred_flags(session: Session, actor: Actor, submission: Submission, course_id: int) -> list[Flag]:
    """The flags on ``submission`` that went to the commission, for its student or a teacher of the
    course: an open, closed or withdrawn flag is the teacher's working note, never the student's
    worry (only a referral starts anything the student must answer)."""
    own = actor.user_id is not None and actor.user_id == submission.student_id
    teaches = actor.has(Role.TEACHER) and actor.course_id == course_id
    if not (own or teaches):
        return []
    return list(session.execute(select(Flag).where(Flag.submission_id == submission.id, Flag.state == "referred")
                                .order_by(Flag.referred_at, Flag.id)).scalars())


def ta_may_flag(session: Session, course_id: int) -> bool:
    policy = session.get(CoursePolicy, course_id)
    return policy is None or policy.ta_may_flag
