"""The commission case, end to end at the service level, and each rule tried to be broken:
quorum, reasons, non-detector evidence, recusal, deadlines, optimistic locking, who sees what."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from appeals.cases import (
    CaseConflict,
    case_for,
    cast_vote,
    declare_conflict,
    issue_decision,
    notify_student,
    object_to_member,
    open_case,
    open_deliberation,
    prior_cases,
    record_finding,
    record_sanction,
    respond,
    rule_on_objection,
    schedule_hearing,
    tally,
)
from evidence.flags import GroundInput, flag_suspicion
from plugin.kernel.audit import AuditEntry
from plugin.kernel.errors import InvalidInput, NotFound, NotPermitted
from plugin.kernel.users import Actor, Role
from tests.case_world import open_for, to_deliberation
from tests.factories import T0, make_course, make_user


def test_the_full_path_to_an_issued_decision(world):
    w = world
    case = to_deliberation(w)
    voters = [w["chair"], *w["members"][:3]]
    for member in voters:
        cast_vote(w["s"], member, case.id, question="finding", vote="responsible", reasons="The defence failed",
                  cited=[w["note"].id], now=T0 + timedelta(days=3))
    record_finding(w["s"], w["chair"], case.id, reasons="On the balance of probabilities",
                   expected_version=case.version, now=T0 + timedelta(days=3))
    assert case.state == "sanctioning" and case.finding == "responsible"
    for member, level in zip(voters, (1, 1, 1, 0), strict=True):
        cast_vote(w["s"], member, case.id, question="sanction", vote="level", sanction_level=level,
                  reasons="First offence", now=T0 + timedelta(days=3))
    record_sanction(w["s"], w["chair"], case.id, reasons="Resubmission", expected_version=case.version,
                    now=T0 + timedelta(days=3))
    issue_decision(w["s"], w["secretary"], case.id, expected_version=case.version, now=T0 + timedelta(days=4))
    assert (case.state, case.sanction_level, case.sanction_code) == ("issued", 1, "resubmission")
    actions = w["s"].execute(select(AuditEntry.action).where(AuditEntry.subject == f"case:{case.id}")).scalars().all()
    assert actions[0] == "case.opened" and actions[-2:] == ["case.issue", "case.decision_written"]
    assert actions.count("case.vote") == 8


def test_the_teacher_who_flagged_is_recused_and_cannot_vote(world):
    w = world
    case = to_deliberation(w)
    with pytest.raises(NotPermitted, match="recused"):
        cast_vote(w["s"], Actor.for_user(w["s"].get(__import__("plugin.kernel.users", fromlist=["User"]).User,
                                                     w["teacher"].user_id), frozenset()),
                  case.id, question="finding", vote="responsible", reasons="x", cited=[w["note"].id], now=T0)


def test_no_finding_without_quorum_or_reasons(world):
    w = world
    case = to_deliberation(w)
    cast_vote(w["s"], w["chair"], case.id, question="finding", vote="responsible", reasons="x", cited=[w["note"].id],
              now=T0)
    with pytest.raises(InvalidInput, match="quorum"):
        record_finding(w["s"], w["chair"], case.id, reasons="r", expected_version=case.version, now=T0)
    for member in w["members"][:2]:
        cast_vote(w["s"], member, case.id, question="finding", vote="responsible", reasons="x", cited=[w["note"].id],
                  now=T0)
    with pytest.raises(InvalidInput, match="reasons"):
        record_finding(w["s"], w["chair"], case.id, reasons="  ", expected_version=case.version, now=T0)
    assert tally(w["s"], case, "finding").quorate


def test_a_responsible_vote_citing_only_the_detector_is_refused(world):
    w = world
    case = to_deliberation(w)
    with pytest.raises(InvalidInput, match="not a detector"):
        cast_vote(w["s"], w["chair"], case.id, question="finding", vote="responsible", reasons="97 %",
                  cited=[w["detector"].id], now=T0)
    with pytest.raises(InvalidInput, match="not a detector"):
        cast_vote(w["s"], w["chair"], case.id, question="finding", vote="responsible", reasons="obvious", cited=[],
                  now=T0)


def test_without_a_majority_for_responsibility_the_finding_is_not_responsible(world):
    w = world
    case = to_deliberation(w)
    votes = (("responsible", [w["note"].id]), ("not_responsible", []), ("not_responsible", []))
    for member, (vote, cited) in zip([w["chair"], *w["members"][:2]], votes, strict=True):
        cast_vote(w["s"], member, case.id, question="finding", vote=vote, reasons="considered", cited=cited, now=T0)
    record_finding(w["s"], w["chair"], case.id, reasons="Not proven", expected_version=case.version, now=T0)
    assert (case.state, case.finding, case.sanction_level) == ("not_responsible", "not_responsible", None)


def test_two_members_at_once_one_wins_the_other_gets_a_conflict(world):
    w = world
    case = open_for(w)
    seen = case.version
    notify_student(w["s"], w["secretary"], case.id, expected_version=seen, now=T0)
    with pytest.raises(CaseConflict):
        notify_student(w["s"], w["chair"], case.id, expected_version=seen, now=T0)


def test_a_late_response_and_a_late_objection_are_refused_naming_the_date(world):
    w = world
    case = open_for(w)
    notify_student(w["s"], w["secretary"], case.id, expected_version=case.version, now=T0)
    # 5 working days from Tuesday 1 Sep 2026: Tuesday 8 Sep, end of day in Almaty
    assert case.response_due_at.isoformat().startswith("2026-09-08T18:59:59")
    with pytest.raises(InvalidInput, match=r"08\.09\.2026"):
        respond(w["s"], w["student"], case.id, accept=False, statement="No", expected_version=case.version,
                now=T0 + timedelta(days=8))
    with pytest.raises(InvalidInput, match="until"):
        object_to_member(w["s"], w["student"], case.id, member_user_id=w["members"][0].user_id, grounds="bias",
                         now=T0 + timedelta(days=8))


def test_objection_upheld_recuses_the_member(world):
    w = world
    case = open_for(w)
    notify_student(w["s"], w["secretary"], case.id, expected_version=case.version, now=T0)
    objection = object_to_member(w["s"], w["student"], case.id, member_user_id=w["members"][0].user_id,
                                 grounds="Supervises my sister", now=T0 + timedelta(hours=1))
    with pytest.raises(NotPermitted):
        rule_on_objection(w["s"], w["secretary"], objection.id, uphold=True, reasons="x", now=T0)
    rule_on_objection(w["s"], w["chair"], objection.id, uphold=True, reasons="A real conflict", now=T0)
    respond(w["s"], w["student"], case.id, accept=True, statement="", expected_version=case.version, now=T0)
    open_deliberation(w["s"], w["secretary"], case.id, expected_version=case.version, now=T0)
    with pytest.raises(NotPermitted, match="recused"):
        cast_vote(w["s"], w["members"][0], case.id, question="finding", vote="abstain", reasons="x", now=T0)
    declare_conflict(w["s"], w["members"][1], case.id, note="My former student", now=T0)
    with pytest.raises(NotPermitted, match="recused"):
        cast_vote(w["s"], w["members"][1], case.id, question="finding", vote="abstain", reasons="x", now=T0)


def test_a_hearing_needs_two_working_days_notice(world):
    w = world
    case = open_for(w)
    notify_student(w["s"], w["secretary"], case.id, expected_version=case.version, now=T0)
    respond(w["s"], w["student"], case.id, accept=False, statement="I wrote it myself", expected_version=case.version,
            now=T0 + timedelta(hours=2))
    with pytest.raises(InvalidInput, match="working days"):
        schedule_hearing(w["s"], w["secretary"], case.id, when=T0 + timedelta(days=1), place="Room 1",
                         support_person=None, expected_version=case.version, now=T0 + timedelta(hours=3))
    schedule_hearing(w["s"], w["secretary"], case.id, when=T0 + timedelta(days=2), place="Room 1",
                     support_person="Ата-ана", expected_version=case.version, now=T0 + timedelta(hours=3))
    assert case.state == "hearing_scheduled"


def test_prior_cases_are_shown_only_at_the_sanction_stage(world):
    w = world
    case = to_deliberation(w)
    with pytest.raises(NotPermitted, match="sanction"):
        prior_cases(w["s"], w["chair"], case.id)


def test_who_sees_a_case(world):
    w = world
    case = open_for(w)
    assert case_for(w["s"], w["student"], case.id).id == case.id
    assert case_for(w["s"], w["members"][2], case.id).id == case.id
    assert case_for(w["s"], w["teacher"], case.id).id == case.id
    other = make_user(w["s"], "student-009", "Басқа Студент")
    with pytest.raises(NotFound):
        case_for(w["s"], Actor.for_user(other, frozenset({Role.STUDENT}), course_id=w["teacher"].course_id), case.id)
    outsider_course = make_course(w["s"], "course-303", "Басқа курс")
    with pytest.raises(NotFound):
        case_for(w["s"], Actor.for_user(other, frozenset({Role.TEACHER}), course_id=outsider_course.id), case.id)


def test_only_the_secretary_or_chair_opens_and_not_for_an_unreferred_flag(world):
    w = world
    with pytest.raises(NotPermitted):
        open_case(w["s"], w["members"][0], w["flag"].id, commission_id=w["commission"].id, allegation="a", rule="r",
                  incident_level=2, now=T0)
    open_flag = flag_suspicion(w["s"], w["teacher"], w["submission"].id, [GroundInput("other", "x")], now=T0)
    with pytest.raises(NotFound):
        open_case(w["s"], w["secretary"], open_flag.id, commission_id=w["commission"].id, allegation="a", rule="r",
                  incident_level=2, now=T0)


def test_case_numbers_follow_the_highest_even_after_retention_deleted_one(world):
    w = world
    first = open_for(w)
    assert first.number == f"{T0.year}-0001"
    first.number = f"{T0.year}-0041"  # as if cases 1 to 40 had been deleted under retention
    w["s"].flush()
    from appeals.cases import _next_number

    assert _next_number(w["s"], T0) == f"{T0.year}-0042"
    first.number = f"{T0.year}-10000"  # past 9999 the number grows longer and still counts on
    w["s"].flush()
    assert _next_number(w["s"], T0) == f"{T0.year}-10001"
    assert _next_number(w["s"], T0.replace(year=T0.year + 1)) == f"{T0.year + 1}-0001"
