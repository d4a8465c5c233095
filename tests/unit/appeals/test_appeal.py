"""The appeal (S 7.12) at the service level, and each of its rules tried to be broken: no appeal
after the window; no panel member who decided the case or is recused; no sanction increase; no
effect in the LMS before the decision is final; effects applied once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from appeals.appeal import (
    appeal_of,
    cast_appeal_vote,
    convene_panel,
    decide_appeal,
    deciders,
    file_appeal,
    panel_candidates,
    run_deadlines,
    withdraw_appeal,
)
from appeals.cases import declare_conflict
from appeals.effects import EffectsNotDue, apply_effects
from appeals.models import Appeal, CaseEffect, CaseStatement, CaseVote, DecisionDocument
from attribution.gradebook import adjusted_grade
from attribution.models import GradeAdjustment, Reopening, Submission
from plugin.kernel.audit import AuditEntry
from plugin.kernel.errors import InvalidInput, NotFound, NotPermitted
from plugin.kernel.users import Actor
from tests.case_world import to_issued
from tests.factories import T0, make_user

DAY5 = T0 + timedelta(days=5)


def _counts(s) -> tuple[int, ...]:
    return tuple(s.execute(select(func.count()).select_from(model)).scalar_one()
                 for model in (Appeal, CaseVote, CaseEffect, CaseStatement, GradeAdjustment, Reopening, AuditEntry))


def _file(w, case, **overrides):
    values = {"grounds": ["disproportionate"], "statement": "The sanction is too heavy for a first offence",
              "expected_version": case.version, "now": DAY5}
    values.update(overrides)
    return file_appeal(w["s"], w["student"], case.id, **values)


def _panel(w, case) -> list[Actor]:
    """Members who did not decide: the default first decision is by the chair and members 0-2."""
    return [*w["members"][3:], w["secretary"]]


def _convene(w, case):
    panel = _panel(w, case)
    return convene_panel(w["s"], w["secretary"], case.id, members=[a.user_id for a in panel],
                         presiding=panel[0].user_id, expected_version=case.version, now=DAY5 + timedelta(hours=1))


def test_appeal_modified_to_level_0_is_final_with_the_lower_sanction(world):
    w = world
    case = to_issued(w, level=1)
    assert case.appeal_due_at is not None and case.final_at is None
    appeal = _file(w, case, grounds=["disproportionate", "procedure"])
    assert case.state == "appealed" and appeal.original_sanction_level == 1
    _convene(w, case)
    assert case.state == "appeal_review"
    for member in _panel(w, case):
        cast_appeal_vote(w["s"], member, case.id, vote="modified", sanction_level=0, reasons="A warning suffices",
                         now=DAY5 + timedelta(hours=2))
    decide_appeal(w["s"], _panel(w, case)[0], case.id, reasons="First offence, disclosed in part",
                  expected_version=case.version, now=DAY5 + timedelta(hours=3))
    assert (case.state, case.sanction_level, case.final_sanction_level) == ("appeal_decided", 1, 0)
    assert (appeal.outcome, appeal.new_sanction_level) == ("modified", 0)
    kinds = set(w["s"].execute(select(CaseEffect.kind).where(CaseEffect.case_id == case.id)).scalars())
    assert kinds == {"warning"}  # level 0: no reopening, no deduction, nothing posted
    assert w["s"].execute(select(func.count()).select_from(GradeAdjustment)).scalar_one() == 0
    documents = set(w["s"].execute(select(DecisionDocument.kind).where(DecisionDocument.case_id == case.id)).scalars())
    assert documents == {"decision", "appeal"}


def test_no_appeal_after_the_window_and_nothing_changes(world):
    w = world
    case = to_issued(w)
    before, version = _counts(w["s"]), case.version
    with pytest.raises(InvalidInput, match="ended on") as refused:
        _file(w, case, now=case.appeal_due_at + timedelta(seconds=1))
    assert case.appeal_due_at.astimezone().strftime("%Y") in str(refused.value)
    w["s"].refresh(case)
    assert (case.state, case.version, _counts(w["s"])) == ("issued", version, before)


def test_an_appeal_needs_grounds_and_a_statement_and_only_the_student_files_it(world):
    w = world
    case = to_issued(w)
    before = _counts(w["s"])
    for bad in ({"grounds": []}, {"grounds": ["because"]}, {"statement": "   "}):
        with pytest.raises(InvalidInput):
            _file(w, case, **bad)
    other = Actor.for_user(make_user(w["s"], "student-999", "Басқа Студент"), frozenset())
    with pytest.raises(NotFound):
        file_appeal(w["s"], other, case.id, grounds=["bias"], statement="x", expected_version=case.version, now=DAY5)
    assert _counts(w["s"]) == before and case.state == "issued"


def test_no_panel_member_who_decided_or_is_recused(world):
    w = world
    case = to_issued(w)
    _file(w, case)
    decided = deciders(w["s"], case)
    assert {w["chair"].user_id, *(m.user_id for m in w["members"][:3])} <= decided
    candidates = {m.user_id for m in panel_candidates(w["s"], case)}
    assert not candidates & decided and w["teacher"].user_id not in candidates  # the teacher who flagged is recused
    before, version = _counts(w["s"]), case.version
    for bad_member in (w["chair"], w["members"][0], w["teacher"]):
        members = [bad_member.user_id, *(a.user_id for a in _panel(w, case)[:2])]
        with pytest.raises(InvalidInput, match="cannot sit on the appeal panel"):
            convene_panel(w["s"], w["secretary"], case.id, members=members, presiding=members[1],
                          expected_version=case.version, now=DAY5)
    with pytest.raises(InvalidInput, match="at least"):
        convene_panel(w["s"], w["secretary"], case.id, members=[w["members"][3].user_id],
                      presiding=w["members"][3].user_id, expected_version=case.version, now=DAY5)
    panel = [a.user_id for a in _panel(w, case)]
    with pytest.raises(InvalidInput, match="presides"):
        convene_panel(w["s"], w["secretary"], case.id, members=panel, presiding=w["chair"].user_id,
                      expected_version=case.version, now=DAY5)
    assert (case.state, case.version, _counts(w["s"])) == ("appealed", version, before)


def test_a_member_recused_after_convening_no_longer_counts_or_votes(world):
    w = world
    case = to_issued(w)
    _file(w, case)
    _convene(w, case)
    leaving = _panel(w, case)[1]
    declare_conflict(w["s"], leaving, case.id, note="Related to the student", now=DAY5)
    with pytest.raises(NotPermitted):
        cast_appeal_vote(w["s"], leaving, case.id, vote="overturned", reasons="x", now=DAY5)


def test_the_sanction_never_increases_on_appeal(world):
    w = world
    case = to_issued(w, level=1)
    _file(w, case)
    _convene(w, case)
    member = _panel(w, case)[0]
    for level in (1, 2, 3):
        with pytest.raises(InvalidInput, match="only be lowered"):
            cast_appeal_vote(w["s"], member, case.id, vote="modified", sanction_level=level, reasons="Harsher",
                             now=DAY5)
    assert w["s"].execute(select(func.count()).select_from(CaseVote).where(CaseVote.question == "appeal")
                          ).scalar_one() == 0
    appeal = appeal_of(w["s"], case)
    # and the database refuses it whatever code writes the row
    nested = w["s"].begin_nested()
    appeal.outcome, appeal.outcome_reasons, appeal.decided_at, appeal.new_sanction_level = "modified", "x", DAY5, 2
    with pytest.raises(IntegrityError):
        w["s"].flush()
    nested.rollback()
    nested = w["s"].begin_nested()
    case.final_at, case.final_sanction_level = DAY5, 3
    with pytest.raises(IntegrityError):
        w["s"].flush()
    nested.rollback()
    w["s"].expire_all()


def test_no_effect_in_the_lms_before_the_decision_is_final(world):
    w = world
    case = to_issued(w, level=2)
    with pytest.raises(EffectsNotDue):
        apply_effects(w["s"], case, now=DAY5)
    _file(w, case)
    with pytest.raises(EffectsNotDue):
        apply_effects(w["s"], case, now=DAY5)
    # the window passes while the appeal is open: nothing becomes final, nothing takes effect
    assert run_deadlines(w["s"], now=case.appeal_due_at + timedelta(days=30)) == []
    w["s"].refresh(case)
    assert case.state == "appealed" and case.final_at is None
    assert w["s"].execute(select(func.count()).select_from(CaseEffect)).scalar_one() == 0
    assert w["s"].execute(select(func.count()).select_from(GradeAdjustment)).scalar_one() == 0
    submission = w["s"].get(Submission, case.submission_id)
    assert adjusted_grade(w["s"], submission) == (None, None)


def test_when_the_window_passes_level_1_takes_effect_once(world):
    w = world
    case = to_issued(w, level=1)
    assert run_deadlines(w["s"], now=case.appeal_due_at - timedelta(minutes=1)) == []
    after = case.appeal_due_at + timedelta(minutes=1)
    assert run_deadlines(w["s"], now=after) == [(case.id, "window_closed")]
    w["s"].refresh(case)
    assert (case.state, case.final_sanction_level) == ("closed", 1)
    kinds = set(w["s"].execute(select(CaseEffect.kind).where(CaseEffect.case_id == case.id)).scalars())
    assert kinds == {"reopen", "deduction"}
    reopening = w["s"].execute(select(Reopening).where(Reopening.student_id == case.student_id)).scalar_one()
    assert reopening.due_at > after and case.number in reopening.reason
    before = _counts(w["s"])
    assert run_deadlines(w["s"], now=after + timedelta(days=1)) == []  # twice: nothing twice
    assert apply_effects(w["s"], case, now=after) == [] and _counts(w["s"]) == before
    # the deduction comes off the teacher's grade: 20 % of 100 points by default
    submission = w["s"].get(Submission, case.submission_id)
    submission.grade, submission.feedback = 85.0, "Good structure"
    grade, comment = adjusted_grade(w["s"], submission)
    assert grade == 65.0 and "Good structure" in comment and case.number in comment


def test_level_2_posts_a_zero_whatever_the_grade(world):
    w = world
    case = to_issued(w, level=2)
    run_deadlines(w["s"], now=case.appeal_due_at + timedelta(minutes=1))
    effect = w["s"].execute(select(CaseEffect).where(CaseEffect.case_id == case.id)).scalar_one()
    assert (effect.kind, effect.lms_status) == ("zero_grade", "pending")
    submission = w["s"].get(Submission, case.submission_id)
    submission.grade = 90.0
    assert adjusted_grade(w["s"], submission)[0] == 0.0


def test_level_3_records_the_referral(world):
    w = world
    case = to_issued(w, level=3)
    run_deadlines(w["s"], now=case.appeal_due_at + timedelta(minutes=1))
    kinds = set(w["s"].execute(select(CaseEffect.kind).where(CaseEffect.case_id == case.id)).scalars())
    assert kinds == {"referral"}


def test_overturned_leaves_no_sanction_no_effect_and_no_prior_case(world):
    w = world
    case = to_issued(w, level=2)
    _file(w, case, grounds=["new_evidence"])
    _convene(w, case)
    panel = _panel(w, case)
    for member in panel:
        cast_appeal_vote(w["s"], member, case.id, vote="overturned", reasons="The drafts explain it", now=DAY5)
    with pytest.raises(NotPermitted):  # only the presiding member closes the vote
        decide_appeal(w["s"], panel[1], case.id, reasons="x", expected_version=case.version, now=DAY5)
    decide_appeal(w["s"], panel[0], case.id, reasons="New evidence", expected_version=case.version, now=DAY5)
    assert (case.state, case.final_sanction_level) == ("appeal_decided", None)
    assert w["s"].execute(select(func.count()).select_from(CaseEffect)).scalar_one() == 0
    assert w["s"].execute(select(func.count()).select_from(GradeAdjustment)).scalar_one() == 0


def test_no_quorum_or_no_majority_decides_nothing(world):
    w = world
    case = to_issued(w, level=2)
    _file(w, case)
    _convene(w, case)
    panel = _panel(w, case)
    cast_appeal_vote(w["s"], panel[0], case.id, vote="upheld", reasons="Sound", now=DAY5)
    with pytest.raises(InvalidInput, match="quorum"):
        decide_appeal(w["s"], panel[0], case.id, reasons="x", expected_version=case.version, now=DAY5)
    cast_appeal_vote(w["s"], panel[1], case.id, vote="overturned", reasons="Unsound", now=DAY5)
    cast_appeal_vote(w["s"], panel[2], case.id, vote="modified", sanction_level=1, reasons="Too heavy", now=DAY5)
    with pytest.raises(InvalidInput, match="majority"):
        decide_appeal(w["s"], panel[0], case.id, reasons="x", expected_version=case.version, now=DAY5)
    assert case.state == "appeal_review" and case.final_at is None


def test_a_member_off_the_panel_cannot_vote(world):
    w = world
    case = to_issued(w)
    _file(w, case)
    _convene(w, case)
    with pytest.raises(NotPermitted):
        cast_appeal_vote(w["s"], w["chair"], case.id, vote="upheld", reasons="I decided it", now=DAY5)


def test_withdrawing_the_appeal_makes_the_first_decision_final(world):
    w = world
    case = to_issued(w, level=1)
    appeal = _file(w, case)
    withdraw_appeal(w["s"], w["student"], case.id, expected_version=case.version, now=DAY5 + timedelta(hours=1))
    assert (case.state, case.final_sanction_level, appeal.withdrawn_at is not None) == ("closed", 1, True)
    assert {"reopen", "deduction"} == set(w["s"].execute(select(CaseEffect.kind)).scalars())
