"""Reminders of a commission case (S 4.5ә, 7.12): what each person must know or do, in the tool
and by e-mail when the installation has a mail server. ``adal reminders run`` (cron) calls
``run_reminders``.

Who gets what:

* the student: the case was notified (respond by ...), the response is due within 2 working days,
  a hearing was scheduled, and again the day before it, the decision was issued (appeal until ...),
  the appeal window closes within 2 working days, the appeal's outcome was recorded (and a
  finding of not responsible);
* the commission's secretary and chair (not recused): the response deadline passed without an
  answer, an appeal was filed (convene a panel), votes have been pending for 2 working days;
* each member of an appeal panel: the panel was convened (vote).

Every reminder has a stable key (``case:12:appeal_window_closing``); a person gets one reminder
per key (``plugin.kernel.notifications``), so running twice creates nothing and sends nothing
twice. Reminders are stored as a code and parameters and rendered in the reader's language when
shown; e-mails go in the recipient's ``locale`` (Kazakh when unknown), only when SMTP is
configured, the institution collects e-mail addresses (``privacy.collect_email``) and the person
has one. A send that fails is logged and retried on the next run; ``emailed_at`` is set only
after the server accepted the message. Reminders are not part of the case record: they write no
audit entry (the steps they point at have theirs).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, tuple_
from sqlmodel import Session

from appeals.calendar import Calendar
from appeals.cases import calendar_of
from appeals.models import Appeal, AppealPanelMember, Case, CaseRecusal, CommissionMember
from appeals.workflow import State
from plugin.kernel.audit import AuditEntry
from plugin.kernel.clock import ensure_utc, iso
from plugin.kernel.i18n import DEFAULT_LANGUAGE, normalise
from plugin.kernel.notifications import Notification, remind
from plugin.kernel.ports import MailMessage, MailPort
from plugin.kernel.settings import get_setting
from plugin.kernel.users import User

log = logging.getLogger("adal.reminders")

SOON_WORKING_DAYS = 2  # "due within 2 working days"
VOTES_PENDING_WORKING_DAYS = 2  # the secretary hears about votes still open after this long
RECENT_DAYS = 14  # news of a closed case, and e-mails not yet sent, older than this are not sent
STAFF_ROLES = ("secretary", "chair")

#: message code -> (subject, text). Parameters ending in ``_at`` are instants (ISO), shown in the
#: institution's time zone; ``number`` is the case number, ``place`` the hearing's place.
MESSAGES: dict[str, tuple[Any, Any]] = {
    "case_notified": (
        _l("Case %(number)s: the commission told you the allegation"),
        _l("The integrity commission has told you the allegation in case %(number)s and the evidence. Read them, "
           "then accept or contest the allegation by %(due_at)s."),
    ),
    "response_due_soon": (
        _l("Case %(number)s: respond by %(due_at)s"),
        _l("Your response in case %(number)s is due by %(due_at)s. If you do not respond, the commission "
           "considers the case without your answer."),
    ),
    "hearing_scheduled": (
        _l("Case %(number)s: your hearing is on %(when_at)s"),
        _l("The commission has set your hearing in case %(number)s for %(when_at)s, at: %(place)s."),
    ),
    "hearing_day_before": (
        _l("Case %(number)s: your hearing is soon, on %(when_at)s"),
        _l("A reminder: your hearing in case %(number)s is on %(when_at)s, at: %(place)s."),
    ),
    "decision_issued": (
        _l("Case %(number)s: the decision is issued"),
        _l("The commission's decision in case %(number)s is issued. Read it in Adal. If you disagree, you may "
           "appeal until %(due_at)s."),
    ),
    "decision_not_responsible": (
        _l("Case %(number)s: found not responsible"),
        _l("The commission found you not responsible in case %(number)s. The case is closed."),
    ),
    "appeal_window_closing": (
        _l("Case %(number)s: the time to appeal ends on %(due_at)s"),
        _l("The time to appeal the decision in case %(number)s ends on %(due_at)s. After that the decision is "
           "final."),
    ),
    "appeal_decided": (
        _l("Case %(number)s: the appeal's outcome"),
        _l("The appeal panel has decided your appeal in case %(number)s. Read the outcome in Adal: it is final."),
    ),
    "response_deadline_passed": (
        _l("Case %(number)s: the response deadline passed"),
        _l("The student did not respond in case %(number)s by %(due_at)s. The case goes on to deliberation "
           "without the student's answer."),
    ),
    "appeal_filed": (
        _l("Case %(number)s: an appeal was filed"),
        _l("The student appealed the decision in case %(number)s. Convene an appeal panel without the members who "
           "decided the case."),
    ),
    "votes_pending_finding": (
        _l("Case %(number)s: votes on the finding are pending"),
        _l("The members' votes on the finding in case %(number)s have been open since %(since_at)s."),
    ),
    "votes_pending_sanction": (
        _l("Case %(number)s: votes on the sanction are pending"),
        _l("The members' votes on the sanction in case %(number)s have been open since %(since_at)s."),
    ),
    "votes_pending_appeal": (
        _l("Case %(number)s: the appeal panel's votes are pending"),
        _l("The appeal panel's votes in case %(number)s have been open since %(since_at)s."),
    ),
    "panel_convened": (
        _l("Case %(number)s: you are on the appeal panel"),
        _l("You were drawn for the appeal panel in case %(number)s. Read the case and the appeal, then vote with "
           "your reasons."),
    ),
}
#: The audit actions that put a case into a voting stage (when the votes opened).
_STAGE_ENTERED = {
    State.DELIBERATION: ("case.deliberate", "case.no_response"),
    State.SANCTIONING: ("case.find_responsible",),
    State.APPEAL_REVIEW: ("case.convene_panel",),
}
_STAGE_MESSAGE = {State.DELIBERATION: "votes_pending_finding", State.SANCTIONING: "votes_pending_sanction",
                  State.APPEAL_REVIEW: "votes_pending_appeal"}
_WATCHED = (State.NOTIFIED, State.HEARING, State.ISSUED, State.NOT_RESPONSIBLE, State.APPEAL_DECIDED,
            State.DELIBERATION, State.SANCTIONING, State.APPEALED, State.APPEAL_REVIEW)


@dataclass(frozen=True)
class Due:
    """A reminder due to one person."""

    user_id: int
    key: str
    message: str
    params: dict[str, str]
    link: str


def _student_link(case: Case) -> str:
    return f"/cases/{case.id}"


def _staff_link(case: Case) -> str:
    return f"/commission/cases/{case.id}"


def _soon(cal: Calendar, now: datetime, moment: datetime) -> bool:
    return now <= moment and cal.working_days_between(now, moment) <= SOON_WORKING_DAYS


def for_student(case: Case, *, now: datetime, cal: Calendar) -> list[Due]:
    """The reminders due to the case's student at ``now`` (pure, given the calendar)."""
    state = State(case.state)
    found: list[tuple[str, dict[str, str]]] = []
    number = {"number": case.number}
    recent = now - timedelta(days=RECENT_DAYS)
    if state is State.NOTIFIED and case.response_due_at is not None and now <= case.response_due_at:
        found.append(("case_notified", {**number, "due_at": iso(case.response_due_at)}))
        if _soon(cal, now, case.response_due_at):
            found.append(("response_due_soon", {**number, "due_at": iso(case.response_due_at)}))
    if state is State.HEARING and case.hearing_at is not None and now < case.hearing_at:
        params = {**number, "when_at": iso(case.hearing_at), "place": case.hearing_place or ""}
        found.append(("hearing_scheduled", params))
        if cal.local_date(now) >= cal.local_date(case.hearing_at) - timedelta(days=1):
            found.append(("hearing_day_before", params))
    if state is State.ISSUED and case.appeal_due_at is not None and now <= case.appeal_due_at:
        found.append(("decision_issued", {**number, "due_at": iso(case.appeal_due_at)}))
        if _soon(cal, now, case.appeal_due_at):
            found.append(("appeal_window_closing", {**number, "due_at": iso(case.appeal_due_at)}))
    if state is State.NOT_RESPONSIBLE and case.final_at is not None and case.final_at >= recent:
        found.append(("decision_not_responsible", number))
    if state is State.APPEAL_DECIDED and case.final_at is not None and case.final_at >= recent:
        found.append(("appeal_decided", number))
    return [Due(user_id=case.student_id, key=f"case:{case.id}:{code}", message=code, params=params,
                link=_student_link(case)) for code, params in found]


def for_staff(case: Case, staff: Iterable[int], *, now: datetime, cal: Calendar,
              stage_since: datetime | None) -> list[Due]:
    """The reminders due to the commission's secretary and chair (``staff``: their user ids, the
    recused left out) at ``now``. ``stage_since``: when the case's voting stage opened."""
    state = State(case.state)
    found: list[tuple[str, str, dict[str, str]]] = []
    number = {"number": case.number}
    if (state in (State.NOTIFIED, State.DELIBERATION) and case.response_due_at is not None
            and case.responded_at is None and now > case.response_due_at):
        found.append(("response_deadline_passed", "response_deadline_passed",
                      {**number, "due_at": iso(case.response_due_at)}))
    if state is State.APPEALED:
        found.append(("appeal_filed", "appeal_filed", number))
    if state in _STAGE_MESSAGE and stage_since is not None and \
            cal.working_days_between(stage_since, now) >= VOTES_PENDING_WORKING_DAYS:
        code = _STAGE_MESSAGE[state]
        found.append((code, code, {**number, "since_at": iso(stage_since)}))
    return [Due(user_id=user_id, key=f"case:{case.id}:{key}", message=code, params=params, link=_staff_link(case))
            for key, code, params in found for user_id in sorted(set(staff))]


def due_reminders(session: Session, *, now: datetime) -> list[Due]:
    """Every reminder due at ``now``, whether or not it exists already."""
    now = ensure_utc(now)
    cal = calendar_of(session)
    cases = list(session.execute(select(Case).where(Case.state.in_([s.value for s in _WATCHED]))  # type: ignore[attr-defined]
                                 .order_by(Case.id)).scalars())
    if not cases:
        return []
    ids = [c.id for c in cases]
    commissions = {c.commission_id for c in cases}
    staff_of: dict[int, set[int]] = {}
    for commission_id, user_id in session.execute(
            select(CommissionMember.commission_id, CommissionMember.user_id).where(
                CommissionMember.commission_id.in_(commissions), CommissionMember.active.is_(True),  # type: ignore[attr-defined]
                CommissionMember.role.in_(STAFF_ROLES))).all():  # type: ignore[attr-defined]
        staff_of.setdefault(commission_id, set()).add(user_id)
    recused: dict[int, set[int]] = {}
    for case_id, user_id in session.execute(select(CaseRecusal.case_id, CaseRecusal.user_id)
                                            .where(CaseRecusal.case_id.in_(ids))).all():  # type: ignore[attr-defined]
        recused.setdefault(case_id, set()).add(user_id)
    voting = [c for c in cases if State(c.state) in _STAGE_ENTERED]
    since = _stage_openings(session, voting)
    panels: dict[int, set[int]] = {}
    reviewed = [c.id for c in cases if c.state == State.APPEAL_REVIEW.value]
    if reviewed:
        for case_id, user_id in session.execute(
                select(Appeal.case_id, AppealPanelMember.user_id).join(Appeal, Appeal.id == AppealPanelMember.appeal_id)
                .where(Appeal.case_id.in_(reviewed))).all():  # type: ignore[attr-defined]
            panels.setdefault(case_id, set()).add(user_id)
    due: list[Due] = []
    for case in cases:
        due += for_student(case, now=now, cal=cal)
        staff = staff_of.get(case.commission_id, set()) - recused.get(case.id or 0, set())
        due += for_staff(case, staff, now=now, cal=cal, stage_since=since.get(case.id or 0))
        for user_id in sorted(panels.get(case.id or 0, set()) - recused.get(case.id or 0, set())):
            due.append(Due(user_id=user_id, key=f"case:{case.id}:panel_convened", message="panel_convened",
                           params={"number": case.number}, link=_staff_link(case)))
    return due


def _stage_openings(session: Session, cases: list[Case]) -> dict[int, datetime]:
    """When each case entered its present voting stage: the latest audit entry that moved it there."""
    if not cases:
        return {}
    actions = {action for state in _STAGE_ENTERED.values() for action in state}
    rows = session.execute(select(AuditEntry.subject, AuditEntry.action, func.max(AuditEntry.at))
                           .where(AuditEntry.subject.in_([f"case:{c.id}" for c in cases]),  # type: ignore[union-attr]
                                  AuditEntry.action.in_(actions))  # type: ignore[attr-defined]
                           .group_by(AuditEntry.subject, AuditEntry.action)).all()
    latest: dict[tuple[str, str], datetime] = {(subject, action): at for subject, action, at in rows}
    found = {}
    for case in cases:
        moments = [latest[(f"case:{case.id}", action)] for action in _STAGE_ENTERED[State(case.state)]
                   if (f"case:{case.id}", action) in latest]
        if moments:
            found[case.id or 0] = max(moments)
    return found


def create_reminders(session: Session, *, now: datetime) -> list[Notification]:
    """Store the reminders due at ``now`` that nobody has yet; returns the new ones. Never commits."""
    due = due_reminders(session, now=now)
    if not due:
        return []
    existing: set[tuple[int, str]] = set()
    pairs = [(d.user_id, d.key) for d in due]
    for start in range(0, len(pairs), 500):
        chunk = pairs[start:start + 500]
        existing |= {(u, k) for u, k in session.execute(
            select(Notification.user_id, Notification.key)
            .where(tuple_(Notification.user_id, Notification.key).in_(chunk))).all()}
    created = []
    for item in due:
        if (item.user_id, item.key) in existing:
            continue
        row = remind(session, user_id=item.user_id, key=item.key, message=item.message, params=item.params,
                     link=item.link, now=now)
        if row is not None:
            created.append(row)
            existing.add((item.user_id, item.key))
    session.flush()
    return created


# -- rendering -----------------------------------------------------------------------------------------
def _shown(params: dict[str, Any], zone: ZoneInfo) -> dict[str, str]:
    shown = {}
    for name, value in params.items():
        if name.endswith("_at") and isinstance(value, str):
            moment = datetime.fromisoformat(value).astimezone(zone)
            shown[name] = moment.strftime("%d.%m.%Y %H:%M")
        else:
            shown[name] = str(value)
    return shown


def render(message: str, params: dict[str, Any], *, zone: str) -> tuple[str, str]:
    """(subject, text) of a reminder in the current language; an unknown code (a reminder from a
    later version, say) says only that there is something to see."""
    texts = MESSAGES.get(message)
    if texts is None:
        return _("A reminder from Adal"), _("Open Adal to see what needs your attention.")
    shown = _shown(params, ZoneInfo(zone))
    subject, text = texts
    return str(subject) % shown, str(text) % shown


@dataclass(frozen=True)
class ShownReminder:
    id: int
    subject: str
    text: str
    link: str
    created_at: datetime


def shown_reminders(rows: Iterable[Notification], *, zone: str) -> list[ShownReminder]:
    """Reminders as the reader sees them, in the request's language."""
    out = []
    for row in rows:
        subject, text = render(row.message, row.parameters, zone=zone)
        out.append(ShownReminder(id=row.id or 0, subject=subject, text=text, link=row.link, created_at=row.created_at))
    return out


# -- e-mail ---------------------------------------------------------------------------------------------
def language_of(user: User) -> str:
    return normalise(user.locale) or DEFAULT_LANGUAGE


def mail_for(notification: Notification, user: User, *, zone: str, base_url: str | None) -> MailMessage:
    """The e-mail of one reminder, in the person's language (needs an app context with Babel)."""
    language = language_of(user)
    with force_locale(language):
        subject, text = render(notification.message, notification.parameters, zone=zone)
        if base_url:
            where = _("Open it in Adal: %(url)s", url=base_url.rstrip("/") + notification.link)
            hint = _("If the page does not open, start Adal from your course in the LMS first.")
        else:
            where = _("Open Adal from your course in the LMS to see it.")
            hint = ""
        footer = _("This is an automatic reminder from Adal. You do not need to reply.")
        body = "\n\n".join(part for part in (text, where, hint, footer) if part) + "\n"
        subject = f"Adal: {subject}"
    assert user.email is not None
    return MailMessage(to=user.email, subject=subject, body_text=body, language=language,
                       idempotency_key=f"notification:{notification.id}:{notification.key}")


def pending_emails(session: Session, *, now: datetime) -> list[int]:
    """Reminders still to e-mail: not sent, not read in the tool, made in the last ``RECENT_DAYS``
    days, to a person with an address; none unless the institution collects addresses."""
    if not get_setting(session, "privacy.collect_email"):
        return []
    rows = session.execute(select(Notification.id).join(User, User.id == Notification.user_id).where(
        Notification.emailed_at.is_(None), Notification.read_at.is_(None),  # type: ignore[union-attr]
        Notification.created_at >= now - timedelta(days=RECENT_DAYS),
        User.email.is_not(None), User.email != "")  # type: ignore[union-attr]
        .order_by(Notification.id)).scalars()
    return list(rows)


def email_reminder(session: Session, notification_id: int, mail: MailPort, *, now: datetime,
                   base_url: str | None) -> bool:
    """Send one reminder and mark it sent. ``False`` when there is nothing to send any more (read
    or sent meanwhile, no address). Raises what the mail port raises; then nothing is marked."""
    row = session.get(Notification, notification_id)
    if row is None or row.emailed_at is not None or row.read_at is not None:
        return False
    user = session.get(User, row.user_id)
    if user is None or not user.email:
        return False
    mail.send(mail_for(row, user, zone=get_setting(session, "institution.timezone"), base_url=base_url))
    row.emailed_at = now
    session.flush()
    return True


@dataclass
class RunSummary:
    created: int = 0
    emailed: int = 0
    failed: int = 0
    mail_configured: bool = False
    failures: list[str] = field(default_factory=list)


def run_reminders(session: Session, *, now: datetime, mail: MailPort | None, base_url: str | None) -> RunSummary:
    """The job behind ``adal reminders run``: create what is due, then e-mail what is pending.
    Like the CLI commands it commits: the new reminders at once, then each sent e-mail on its own,
    so a failure leaves the rest sent and itself pending for the next run. Needs an app context
    (the e-mails are translated)."""
    summary = RunSummary(mail_configured=mail is not None)
    summary.created = len(create_reminders(session, now=now))
    session.commit()
    if mail is None:
        return summary
    for notification_id in pending_emails(session, now=now):
        try:
            if email_reminder(session, notification_id, mail, now=now, base_url=base_url):
                summary.emailed += 1
            session.commit()
        except Exception as exc:  # any failure of one send: logged, and retried on the next run
            session.rollback()
            summary.failed += 1
            summary.failures.append(f"{notification_id}: {exc}")
            log.warning("reminder %s not e-mailed (retried next run): %s", notification_id, exc)
    return summary

