"""The integrity commission's pages (blueprint ``commission``): the case queue, opening a case
from a referred flag, and the case page with the one form for each step the transition table
allows the person's part in the case.

Commission roles are never LMS roles: a person is a member when ``appeals.cases.membership``
finds them, whatever course (or none) they launched from. ``require_commission`` admits members
of any commission; a case of another commission answers 404, as one that does not exist.

Thin views: parse the form, call one service, redirect. A refused step comes back as the case
page with the message (400, or 403 when the person may not take it); a step taken on a page
that someone else's step made stale gets the 409 conflict page. Either way the request boundary
rolls the transaction back, so nothing changed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, time
from functools import wraps
from typing import Any, TypeVar

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from appeals.appeal import cast_appeal_vote, convene_panel, decide_appeal
from appeals.cases import (
    MAX_TEXT,
    RESPONSE_WORKING_DAYS,
    CaseConflict,
    calendar_of,
    cast_vote,
    declare_conflict,
    issue_decision,
    notify_student,
    open_case,
    open_deliberation,
    record_finding,
    record_sanction,
    recused_users,
    rule_on_objection,
    schedule_hearing,
    withdraw_case,
)
from appeals.effects import send_effects
from appeals.models import Case, CaseObjection, CaseStatement, Commission, CommissionMember
from appeals.queue import (
    APPEAL_GROUND_TITLES,
    APPEAL_OUTCOME_TITLES,
    DOCUMENT_TITLES,
    EFFECT_TITLES,
    EVENT_TITLES,
    FINDING_TITLES,
    INCIDENT_HINTS,
    INCIDENT_TITLES,
    LMS_STATUS_TITLES,
    MEMBER_ROLE_TITLES,
    PARTY_TITLES,
    RECUSAL_TITLES,
    SANCTION_HINTS,
    SANCTION_TITLES,
    STATE_TITLES,
    VOTE_TITLES,
    QueueFilters,
    case_file,
    case_queue,
    commission_memberships,
    evidence_file,
    flags_without_case,
    member_case,
    next_parties,
    sanction_title,
)
from appeals.timeline import build_timeline
from appeals.workflow import State
from attribution.teaching import parse_local
from evidence.flags import flag_items
from evidence.models import Flag, Signal
from plugin.kernel.clock import now_utc
from plugin.kernel.errors import InvalidInput, NotFound, NotPermitted
from plugin.kernel.settings import get_setting
from plugin.kernel.users import Course, Role
from plugin.kernel.web import current_actor, db, runtime, send_stored_file

bp = Blueprint("commission", __name__, template_folder="templates", url_prefix="/commission")
FLASH = "commission"
#: What the access-matrix test reads: these pages admit commission members, whatever their LMS role.
COMMISSION_ROLES = (Role.COMMISSION_MEMBER, Role.COMMISSION_SECRETARY, Role.COMMISSION_CHAIR)
F = TypeVar("F", bound=Callable[..., Any])


def require_commission() -> Callable[[F], F]:
    """Admit only a member of a commission (403 for anyone else, anonymous included); keeps the
    actor in ``g.actor`` and their memberships in ``g.commission_members`` / ``g.commissions``."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            actor = current_actor()
            if actor is None or actor.user_id is None:
                abort(403)
            found = commission_memberships(db(), actor.user_id)
            if not found:
                abort(403)
            g.actor = actor
            g.commissions = found
            g.commission_members = [member for member, _commission in found]
            return view(*args, **kwargs)

        wrapped.adal_roles = COMMISSION_ROLES  # type: ignore[attr-defined]  # read by the access-matrix test
        return wrapped  # type: ignore[return-value]

    return decorator


@bp.app_context_processor
def _commission_titles() -> dict[str, object]:
    return {"case_state_titles": STATE_TITLES, "party_titles": PARTY_TITLES, "member_role_titles": MEMBER_ROLE_TITLES,
            "recusal_titles": RECUSAL_TITLES, "vote_titles": VOTE_TITLES, "finding_titles": FINDING_TITLES,
            "incident_titles": INCIDENT_TITLES, "incident_hints": INCIDENT_HINTS, "sanction_titles": SANCTION_TITLES,
            "sanction_hints": SANCTION_HINTS, "sanction_title": sanction_title, "next_parties": next_parties,
            "event_titles": EVENT_TITLES, "appeal_ground_titles": APPEAL_GROUND_TITLES,
            "appeal_outcome_titles": APPEAL_OUTCOME_TITLES, "effect_titles": EFFECT_TITLES,
            "lms_status_titles": LMS_STATUS_TITLES, "document_titles": DOCUMENT_TITLES}


def _page(template: str, status: int = 200, **context: Any) -> Response:
    return Response(render_template(f"appeals/{template}", **context), status=status, mimetype="text/html")


def _openers() -> list[tuple[CommissionMember, Commission]]:
    """The person's commissions in which they may open cases (secretary or chair)."""
    return [(m, c) for m, c in g.commissions if m.role in ("secretary", "chair")]


# -- the queue ----------------------------------------------------------------------------------------
def _queue_filters(args: MultiDict[str, str]) -> tuple[QueueFilters, dict[str, str], dict[str, str]]:
    """The filters from the query string; a value that cannot be one is reported and ignored."""
    values = {key: args.get(key, "").strip() for key in ("state", "course", "due_by", "overdue", "commission")}
    errors: dict[str, str] = {}
    state = values["state"] or None
    if state is not None and state not in {s.value for s in State}:
        errors["state"], state = _("Choose a state from the list."), None
    course_id = int(values["course"]) if values["course"].isdecimal() else None
    if values["course"] and course_id is None:
        errors["course"] = _("Choose a course from the list.")
    commission_id = int(values["commission"]) if values["commission"].isdecimal() else None
    if values["commission"] and commission_id not in {c.id for _m, c in g.commissions}:
        errors["commission"], commission_id = _("Choose one of your commissions."), None
    due_by = None
    if values["due_by"]:
        try:
            day = date.fromisoformat(values["due_by"])
        except ValueError:
            errors["due_by"] = _("Give the date as a calendar date.")
        else:
            due_by = calendar_of(db()).end_of_day(day)
    filters = QueueFilters(state=state, course_id=course_id, due_by=due_by, overdue=values["overdue"] == "1",
                           commission_id=commission_id)
    return filters, values, errors


def _cursor(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdecimal() else None


@bp.get("")
@require_commission()
def queue() -> Response:
    session = db()
    filters, values, errors = _queue_filters(request.args)
    page = case_queue(session, [m.commission_id for m in g.commission_members], filters, now=now_utc(),
                      older_than=_cursor(request.args.get("older")), newer_than=_cursor(request.args.get("newer")))
    waiting, waiting_count = flags_without_case(session) if _openers() else ([], 0)
    kept = {key: value for key, value in values.items() if value and key not in errors}
    return _page("commission_queue.html", 400 if errors else 200, page=page, filters=filters, values=values,
                 errors=errors, kept=kept, waiting=waiting, waiting_count=waiting_count,
                 commissions=[c for _m, c in g.commissions], states=list(State))


# -- opening a case ---------------------------------------------------------------------------------
def _waiting_flag(flag_id: int) -> Flag:
    flag = db().get(Flag, flag_id)
    if flag is None or flag.state != "referred" or db().execute(
            select(Case.id).where(Case.flag_id == flag_id)).first() is not None:
        raise NotFound(_("There is no referred flag with this number."))
    return flag


def _open_page(flag: Flag, *, values: dict[str, str], errors: dict[str, str], status: int = 200) -> Response:
    session = db()
    course = session.get(Course, flag.course_id)
    return _page("commission_open.html", status, flag=flag, course=course, evidence=evidence_file(session, flag),
                 openers=_openers(), values=values, errors=errors, max_text=MAX_TEXT)


@bp.route("/flags/<int:flag_id>/open", methods=["GET", "POST"])
@require_commission()
def open_from_flag(flag_id: int) -> Response:
    openers = _openers()
    if not openers:
        raise NotPermitted(_("Only the commission's secretary (or its chair) can open a case."))
    flag = _waiting_flag(flag_id)
    if request.method == "GET":
        return _open_page(flag, values={}, errors={})
    form = request.form
    values = {key: form.get(key, "") for key in ("commission", "allegation", "rule", "incident_level")}
    errors: dict[str, str] = {}
    commission_id = (openers[0][1].id if len(openers) == 1 else
                     int(values["commission"]) if values["commission"].isdecimal() else None)
    if commission_id not in {c.id for _m, c in openers}:
        errors["commission"] = _("Choose the commission that will hear the case.")
    level = int(values["incident_level"]) if values["incident_level"] in ("1", "2", "3") else None
    if level is None:
        errors["incident_level"] = _("Choose the incident level (1, 2 or 3).")
    if not errors:
        assert commission_id is not None and level is not None
        try:
            case = open_case(db(), g.actor, flag_id, commission_id=commission_id, allegation=values["allegation"],
                             rule=values["rule"], incident_level=level, now=now_utc())
        except (InvalidInput, NotPermitted) as exc:
            db().rollback()
            return _open_page(flag, values=values, errors={"allegation": str(exc)}, status=exc.status)
        flash(_("Case %(number)s is open. Members who teach the course or flagged the work are recused. Notify the "
                "student next.", number=case.number), FLASH)
        return redirect(url_for(".case", case_id=case.id), code=303)
    return _open_page(flag, values=values, errors=errors, status=400)


# -- the case page ----------------------------------------------------------------------------------
#: Each form's errors are shown beside its first field; the summary links there.
ERROR_ANCHORS = {"convene": "convene-title", "vote_appeal": "appeal_vote_upheld",
                 "decide_appeal": "appeal_outcome_reasons", "vote_finding": "vote_finding_responsible",
                 "vote_sanction": "vote_level_0",
                 "finding": "finding_reasons", "sanction": "sanction_reasons", "withdraw": "withdraw_note",
                 "conflict": "conflict_note", "hearing": "hearing_date"}


def _case_page(case_id: int, *, errors: dict[str, str] | None = None, values: MultiDict[str, str] | None = None,
               status: int = 200) -> Response:
    session = db()
    case, me = member_case(session, g.actor, case_id)
    found = case_file(session, g.actor, case, me)
    cal = calendar_of(session)
    anchors = dict(ERROR_ANCHORS)
    anchors.update({f"rule_{o.id}": f"rule_{o.id}_reasons" for o in found.objections})
    return _page("case_page.html", status, file=found, case=case, errors=errors or {},
                 # the case file has loaded the appeal already; a recused member is shown no timeline
                 timeline=None if found.my_recusal else build_timeline(case, found.appeal, now=now_utc(),
                                                                      audience="staff"),
                 values=values if values is not None else MultiDict(), anchors=anchors, max_text=MAX_TEXT,
                 response_due=cal.deadline(now_utc(), RESPONSE_WORKING_DAYS), response_days=RESPONSE_WORKING_DAYS,
                 zone=cal.zone,
                 quorum=get_setting(session, "commission.quorum"))


@bp.get("/cases/<int:case_id>")
@require_commission()
def case(case_id: int) -> Response:
    return _case_page(case_id)


def _expected_version() -> int:
    raw = request.form.get("expected_version", "")
    if not raw.isdecimal():
        raise InvalidInput(_("The form is incomplete. Reload the case page and try again."))
    return int(raw)


def _conflict_page(case: Case, message: str) -> Response:
    return _page("case_conflict.html", 409, case=case, message=message)


def _step(case_id: int, form: str, act: Callable[[Case, int], object], *, done: str, anchor: str) -> Response:
    """Take one step on a case: ``act(case, expected_version)`` calls one service. A refusal
    shows the case page again with the message (nothing changed); a stale page, the 409 page."""
    session = db()
    case, _me = member_case(session, g.actor, case_id)
    try:
        act(case, _expected_version())
    except CaseConflict as exc:
        session.rollback()
        return _conflict_page(case, str(exc))
    except (InvalidInput, NotPermitted) as exc:
        session.rollback()
        return _case_page(case_id, errors={form: str(exc)}, values=request.form, status=exc.status)
    flash(done, FLASH)
    return redirect(url_for(".case", case_id=case_id, _anchor=anchor), code=303)


def _same_version(case: Case, expected: int) -> None:
    """For steps whose service takes no version (a vote, a declared conflict, a ruling): the page
    they were taken on must still be current, as for every other step."""
    if case.version != expected:
        raise CaseConflict(_("Someone else changed this case a moment ago. Reload the page to see the change, "
                             "then try again."))


@bp.post("/cases/<int:case_id>/notify")
@require_commission()
def notify(case_id: int) -> Response:
    return _step(case_id, "notify", lambda case, version: notify_student(
        db(), g.actor, case.id, expected_version=version, now=now_utc()),
        done=_("The student is notified: they see the allegation, the rule, the evidence and the deadline."),
        anchor="steps-title")


@bp.post("/cases/<int:case_id>/hearing")
@require_commission()
def hearing(case_id: int) -> Response:
    form = request.form

    def act(case: Case, version: int) -> object:
        try:
            when = parse_local(form.get("hearing_date", ""), form.get("hearing_time", ""), str(calendar_of(db()).zone),
                               default_time=time(0, 0))
        except ValueError:
            when = None
        if when is None or not form.get("hearing_time", "").strip():
            raise InvalidInput(_("Give the date and the time of the hearing."))
        return schedule_hearing(db(), g.actor, case.id, when=when, place=form.get("hearing_place", ""),
                                support_person=form.get("support_person", ""), expected_version=version, now=now_utc())

    return _step(case_id, "hearing", act, done=_("The hearing is scheduled; the student sees when and where."),
                 anchor="hearing-title")


@bp.post("/cases/<int:case_id>/deliberate")
@require_commission()
def deliberate(case_id: int) -> Response:
    return _step(case_id, "deliberate", lambda case, version: open_deliberation(
        db(), g.actor, case.id, expected_version=version, now=now_utc()),
        done=_("Deliberation is open: the members can vote."), anchor="votes-title")


@bp.post("/cases/<int:case_id>/vote")
@require_commission()
def vote(case_id: int) -> Response:
    form = request.form
    question = form.get("question", "")
    if question not in ("finding", "sanction"):
        raise InvalidInput(_("Unknown question."))

    def act(case: Case, version: int) -> object:
        _same_version(case, version)
        if question == "finding":
            cited = form.getlist("cited")
            if not all(raw.isdecimal() for raw in cited):
                raise InvalidInput(_("Cite evidence of this case only."))
            return cast_vote(db(), g.actor, case.id, question="finding", vote=form.get("vote", ""),
                             reasons=form.get("vote_reasons", ""), cited=[int(raw) for raw in cited], now=now_utc())
        raw = form.get("level", "")
        return cast_vote(db(), g.actor, case.id, question="sanction", vote="level",
                         sanction_level=int(raw) if raw in ("0", "1", "2", "3") else None,
                         reasons=form.get("level_reasons", ""), now=now_utc())

    return _step(case_id, f"vote_{question}", act,
                 done=_("Your vote is recorded. You can change it until the chair closes the vote."),
                 anchor="votes-title" if question == "finding" else "sanction-title")


@bp.post("/cases/<int:case_id>/finding")
@require_commission()
def finding(case_id: int) -> Response:
    return _step(case_id, "finding", lambda case, version: record_finding(
        db(), g.actor, case.id, reasons=request.form.get("finding_reasons", ""), expected_version=version,
        now=now_utc()), done=_("The finding is recorded."), anchor="decision-title")


@bp.post("/cases/<int:case_id>/sanction")
@require_commission()
def sanction(case_id: int) -> Response:
    return _step(case_id, "sanction", lambda case, version: record_sanction(
        db(), g.actor, case.id, reasons=request.form.get("sanction_reasons", ""), expected_version=version,
        now=now_utc()), done=_("The sanction is recorded. The secretary issues the decision."),
        anchor="decision-title")


@bp.post("/cases/<int:case_id>/issue")
@require_commission()
def issue(case_id: int) -> Response:
    return _step(case_id, "issue", lambda case, version: issue_decision(
        db(), g.actor, case.id, expected_version=version, now=now_utc()),
        done=_("The decision is issued to the student; the time to appeal starts now."), anchor="decision-title")


@bp.post("/cases/<int:case_id>/withdraw")
@require_commission()
def withdraw(case_id: int) -> Response:
    return _step(case_id, "withdraw", lambda case, version: withdraw_case(
        db(), g.actor, case.id, note=request.form.get("withdraw_note", ""), expected_version=version,
        now=now_utc()), done=_("The case is withdrawn."), anchor="decision-title")


@bp.post("/cases/<int:case_id>/conflict")
@require_commission()
def conflict(case_id: int) -> Response:
    def act(case: Case, version: int) -> object:
        _same_version(case, version)
        return declare_conflict(db(), g.actor, case.id, note=request.form.get("conflict_note", ""), now=now_utc())

    return _step(case_id, "conflict", act, done=_("Your conflict of interest is recorded: you are recused from this "
                                                  "case."), anchor="recusals-title")


@bp.post("/cases/<int:case_id>/objections/<int:objection_id>")
@require_commission()
def rule(case_id: int, objection_id: int) -> Response:
    objection = db().get(CaseObjection, objection_id)
    if objection is None or objection.case_id != case_id:
        raise NotFound(_("There is no such objection."))
    ruling = request.form.get(f"rule_{objection_id}_ruling", "")

    def act(case: Case, version: int) -> object:
        _same_version(case, version)
        if ruling not in ("upheld", "rejected"):
            raise InvalidInput(_("Choose whether the objection is upheld or rejected."))
        return rule_on_objection(db(), g.actor, objection_id, uphold=ruling == "upheld",
                                 reasons=request.form.get(f"rule_{objection_id}_reasons", ""), now=now_utc())

    return _step(case_id, f"rule_{objection_id}", act, done=_("The ruling on the objection is recorded."),
                 anchor="objections-title")


# -- the appeal ------------------------------------------------------------------------------------------
@bp.post("/cases/<int:case_id>/convene")
@require_commission()
def convene(case_id: int) -> Response:
    form = request.form

    def act(case: Case, version: int) -> object:
        chosen = form.getlist("panel")
        presiding = form.get("presiding", "")
        if not all(raw.isdecimal() for raw in chosen) or not presiding.isdecimal():
            raise InvalidInput(_("Choose the members of the panel and who presides."))
        return convene_panel(db(), g.actor, case.id, members=[int(raw) for raw in chosen], presiding=int(presiding),
                             expected_version=version, now=now_utc())

    return _step(case_id, "convene", act, done=_("The appeal panel is convened: its members can vote."),
                 anchor="appeal-title")


@bp.post("/cases/<int:case_id>/appeal-vote")
@require_commission()
def appeal_vote(case_id: int) -> Response:
    raw = request.form.get("appeal_vote", "")
    vote, _sep, level = raw.partition(":")

    def act(case: Case, version: int) -> object:
        _same_version(case, version)
        return cast_appeal_vote(db(), g.actor, case.id, vote=vote, reasons=request.form.get("appeal_reasons", ""),
                                sanction_level=int(level) if level.isdecimal() else None, now=now_utc())

    return _step(case_id, "vote_appeal", act,
                 done=_("Your vote is recorded. You can change it until the vote is closed."), anchor="appeal-title")


@bp.post("/cases/<int:case_id>/appeal-decision")
@require_commission()
def appeal_decision(case_id: int) -> Response:
    response = _step(case_id, "decide_appeal", lambda case, version: decide_appeal(
        db(), g.actor, case.id, reasons=request.form.get("appeal_outcome_reasons", ""), expected_version=version,
        now=now_utc()), done=_("The outcome of the appeal is recorded; the decision is final."), anchor="effects-title")
    if response.status_code == 303:
        db().commit()  # the decision stands before the LMS hears of it
        send_effects(runtime(), case_id, now=now_utc())
    return response


# -- files of the case ---------------------------------------------------------------------------------
def _unrecused_case(case_id: int) -> Case:
    """A case of the person's commission from which they are not recused (they see its files)."""
    session = db()
    case, me = member_case(session, g.actor, case_id)
    if me.user_id in recused_users(session, case.id or 0):
        raise NotFound(_("There is no such file."))
    return case


def _download(sha256: str | None, name: str | None) -> Response:
    return send_stored_file(sha256, name)


@bp.get("/cases/<int:case_id>/evidence/<int:item_id>")
@require_commission()
def evidence_download(case_id: int, item_id: int) -> Response:
    case = _unrecused_case(case_id)
    item = next((i for i in flag_items(db(), case.flag_id) if i.id == item_id and i.kind == "file"), None)
    if item is None:
        raise NotFound(_("There is no such file."))
    return _download(item.sha256, item.name)


@bp.get("/cases/<int:case_id>/statements/<int:statement_id>")
@require_commission()
def statement_download(case_id: int, statement_id: int) -> Response:
    case = _unrecused_case(case_id)
    statement = db().get(CaseStatement, statement_id)
    if statement is None or statement.case_id != case.id or not statement.sha256:
        raise NotFound(_("There is no such file."))
    return _download(statement.sha256, statement.name)


@bp.get("/cases/<int:case_id>/signals/<int:signal_id>/report")
@require_commission()
def signal_report(case_id: int, signal_id: int) -> Response:
    case = _unrecused_case(case_id)
    if not any(i.signal_id == signal_id for i in flag_items(db(), case.flag_id)):
        raise NotFound(_("There is no such file."))
    signal = db().get(Signal, signal_id)
    if signal is None or not signal.report_sha256:
        raise NotFound(_("There is no such file."))
    return _download(signal.report_sha256, signal.report_name or "report.json")
