"""The integrity commission in Debian's chromium at a phone's 360 px. Its members launch from the
LMS as mentors (an LMS role with no integrity workflow: commission seats are Adal's own), reach
the queue from the arrival page, and take a case from a referred flag to an issued decision: the
secretary opens and notifies, the members vote citing evidence (a vote citing only the detector
is refused first), the chair records the finding and, after the sanction votes, the sanction,
and the secretary issues it. axe-core finds no serious or critical violation on the queue and on
the case page at each stage."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from appeals.cases import respond
from appeals.models import Case, Commission, CommissionMember
from evidence.flags import GroundInput, attach_evidence, flag_suspicion, refer_flag
from evidence.models import FlagGround, Signal
from plugin.kernel.clock import now_utc
from plugin.kernel.users import Role, ensure_user
from tests.e2e.checks import ARTIFACTS
from tests.e2e.checks import fits as _fits
from tests.e2e.checks import serious_violations as _serious
from tests.e2e.checks import tab_to as _tab_to
from tests.factories import T0, make_course
from tests.factories_work import make_assignment, person, publish_test_notice, submit
from tests.lti_platform import TestPlatform

SEATS = (("chair-e2e", "Төраға Сынақұлы", "chair"), ("secretary-e2e", "Хатшы Үлгіқызы", "secretary"),
         ("member-e2e-1", "Мүше Бір", "member"), ("member-e2e-2", "Мүше Екі", "member"))










def _checked(page) -> None:
    _fits(page)
    assert _serious(page) == []


@pytest.fixture
def world(app, platform) -> dict:
    """A course with a teacher's referred flag (a detector score and a note of the teacher's own
    check) and a commission of four whose people exist under the LMS's identities."""
    runtime = app.extensions["adal.runtime"]
    with runtime.session() as session:
        course = make_course(session)
        _t, teacher = person(session, course, "teacher-e2e", "Dana Synthetic", Role.TEACHER)
        publish_test_notice(session)
        _s, student = person(session, course, "student-e2e", "Аружан Тестова")
        assignment = make_assignment(session, course, title="Synthetic essay")
        submission = submit(session, student, assignment, content=b"My synthetic essay about rivers.\n")
        flag = flag_suspicion(session, teacher, submission.id, [GroundInput("failed_defence", "Could not explain")],
                              now=T0)
        ground = session.execute(select(FlagGround).where(FlagGround.flag_id == flag.id)).scalar_one()
        signal = Signal(submission_id=submission.id, kind="detector", source="manual", vendor="GPTZero",
                        product="AI detector", model_version="2026-01-base", score=97, scanned_at=T0, created_by="t",
                        created_at=T0)
        session.add(signal)
        session.flush()
        attach_evidence(session, teacher, ground.id, kind="signal", signal_id=signal.id, description="The score",
                        now=T0)
        note = attach_evidence(session, teacher, ground.id, kind="note",
                               description="In class she could not explain the method of paragraph 2.", now=T0)
        refer_flag(session, teacher, flag.id, now=T0)
        commission = Commission(name="Академиялық адалдық комиссиясы", scope="institution", created_at=T0)
        session.add(commission)
        session.flush()
        for subject, name, role in SEATS:
            user = ensure_user(session, issuer=platform.issuer, subject=subject, display_name=name, now=T0)
            session.add(CommissionMember(commission_id=commission.id, user_id=user.id, role=role, added_at=T0))
        session.commit()
        return {"flag": flag.id, "note": note.id, "student": student}


def _member(browser, platform: TestPlatform, subject: str):
    """A phone of one commission member, launched from the LMS as a mentor, on the queue."""
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="en-GB")
    page = context.new_page()
    name = next(name for seat, name, _role in SEATS if seat == subject)
    page.goto(platform.base_url + "/start?" + urlencode({"role": "mentor", "user": subject, "name": name,
                                                           "locale": "en", "course": "commission-room"}))
    page.wait_for_url("**/lti/launch")
    page.get_by_role("link", name="Open the commission's cases").click()
    page.get_by_role("heading", level=1, name="Integrity commission: cases").wait_for()
    return page


def _case_state(app, case_id: int) -> str:
    with app.extensions["adal.runtime"].session() as session:
        return session.get(Case, case_id).state


def _vote(page, reasons: str, *, cite: str) -> None:
    page.get_by_label("Responsible", exact=True).check()
    page.get_by_role("checkbox", name=cite).check()
    page.locator("#vote_reasons").fill(reasons)
    page.locator("#vote_finding_save").click()


def test_a_case_from_a_referred_flag_to_an_issued_decision(browser, app, platform, live_server, world):
    secretary = _member(browser, platform, "secretary-e2e")
    _checked(secretary)
    # 1. the secretary opens a case from the referred flag
    secretary.get_by_role("link", name=f"Open a case (flag {world['flag']})").click()
    secretary.get_by_role("heading", level=1, name=f"Open a case from flag {world['flag']}").wait_for()
    assert "This is a probabilistic signal from an automated detector, not proof." in secretary.inner_text("main")
    _checked(secretary)
    secretary.locator("#open_save").click()  # nothing filled in: the summary says what is missing
    summary = secretary.locator("#error-summary")
    assert "Choose the incident level (1, 2 or 3)." in summary.inner_text()
    assert secretary.evaluate("document.activeElement.id") == "error-summary"
    _checked(secretary)
    secretary.get_by_label("Allegation").fill("The essay was generated and handed in as her own work.")
    secretary.get_by_label("Rule").fill("S 7.3: a ready answer generated instead of one's own work")
    secretary.get_by_label("Level 2: medium").check()
    secretary.locator("#open_save").click()
    secretary.wait_for_url("**/commission/cases/*")
    case_id = int(secretary.url.rsplit("/", 1)[-1])
    assert "is open." in secretary.inner_text("main")
    _checked(secretary)
    # 2. the secretary notifies the student by keyboard; the student accepts (on the student's own
    # pages; a service here)
    _tab_to(secretary, "notify")
    secretary.keyboard.press("Enter")
    secretary.wait_for_url(f"**/commission/cases/{case_id}#steps-title")
    assert _case_state(app, case_id) == "notified"
    with app.extensions["adal.runtime"].session() as session:
        case = session.get(Case, case_id)
        respond(session, world["student"], case_id, accept=True, statement="I accept.", expected_version=case.version,
                now=now_utc())
        session.commit()
    secretary.reload()
    secretary.get_by_role("button", name="Open the deliberation").click()
    secretary.wait_for_url(f"**/commission/cases/{case_id}#votes-title")
    assert _case_state(app, case_id) == "deliberation"

    # 3. the members vote; a vote citing only the detector is refused with the reason
    chair = _member(browser, platform, "chair-e2e")
    members = [_member(browser, platform, subject) for subject in ("member-e2e-1", "member-e2e-2")]
    first = members[0]
    first.goto(f"{live_server}/commission/cases/{case_id}")
    _checked(first)
    _vote(first, "97 % says the detector.", cite="Evidence 1: Signal, The score detector signal: not proof")
    assert ("A finding of responsibility must cite at least one piece of evidence that is not a detector score."
            in first.locator("#error-summary").inner_text())
    _checked(first)
    first.get_by_role("checkbox", name="Evidence 1: Signal, The score detector signal: not proof").uncheck()
    _vote(first, "She could not explain her own method.", cite="Evidence 2: Note, In class she could not explain "
                                                              "the method of paragraph 2.")
    first.wait_for_url(f"**/commission/cases/{case_id}#votes-title")
    for voter in (members[1], chair):
        voter.goto(f"{live_server}/commission/cases/{case_id}")
        _vote(voter, "The oral questions went unanswered.", cite="Evidence 2: Note, In class she could not explain "
                                                                  "the method of paragraph 2.")
        voter.wait_for_url(f"**/commission/cases/{case_id}#votes-title")
    text = chair.inner_text("main")
    assert "3 of the 4 members who may take part have voted; the quorum is 3." in text
    assert "She could not explain her own method." not in text  # another member's reasons, before the finding

    # 4. the chair records the finding; the earlier-cases panel appears for the sanction
    chair.get_by_label("The commission's reasons").fill("On the balance of probabilities the essay is not her work.")
    chair.locator("#finding_save").click()
    chair.wait_for_url(f"**/commission/cases/{case_id}#decision-title")
    assert _case_state(app, case_id) == "sanctioning"
    assert "She could not explain her own method." in chair.inner_text("main")  # every vote, once decided
    panel = chair.locator("#prior-cases")
    assert "Repeat offences make the sanction harsher (S 7.7); the commission decides." in panel.inner_text()
    _checked(chair)
    for voter in (chair, *members):
        voter.goto(f"{live_server}/commission/cases/{case_id}")
        voter.get_by_label("Level 1: The task is resubmitted; points are deducted").check()
        voter.locator("#level_reasons").fill("A first offence.")
        voter.locator("#vote_sanction_save").click()
        voter.wait_for_url(f"**/commission/cases/{case_id}#sanction-title")
    chair.get_by_label("Reasons for the sanction").fill("A first offence: the essay is written again.")
    chair.locator("#sanction_save").click()
    chair.wait_for_url(f"**/commission/cases/{case_id}#decision-title")
    assert _case_state(app, case_id) == "decided"
    _checked(chair)

    # 5. the secretary issues the decision
    secretary.goto(f"{live_server}/commission/cases/{case_id}")
    secretary.get_by_role("button", name="Issue the decision").click()
    secretary.wait_for_url(f"**/commission/cases/{case_id}#decision-title")
    assert _case_state(app, case_id) == "issued"
    decision = secretary.locator("#decision").inner_text()
    assert "Responsible" in decision and "Level 1: The task is resubmitted; points are deducted" in decision
    _checked(secretary)
    ARTIFACTS.mkdir(exist_ok=True)
    secretary.screenshot(path=str(ARTIFACTS / "commission-case-issued-360.png"), full_page=True)
    secretary.goto(f"{live_server}/commission")
    assert "Decision issued" in secretary.inner_text("main")
    _checked(secretary)
    for page in (secretary, chair, *members):
        page.context.close()


def test_a_mentor_who_holds_no_seat_is_refused(browser, platform, live_server, world):
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="en-GB")
    page = context.new_page()
    page.goto(platform.base_url + "/start?role=mentor&user=someone-else&locale=en&course=commission-room")
    page.wait_for_url("**/lti/launch")
    assert page.get_by_role("link", name="Open the commission's cases").count() == 0
    response = page.goto(f"{live_server}/commission")
    assert response.status == 403
    context.close()

