"""A teacher launched from the LMS sets up an assignment with the keyboard only, meets the error
summary, saves, and reads the table of submissions, in Debian's chromium at a phone's 360 px;
axe-core checks both pages (no serious or critical violation)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import select

from attribution.models import Assignment
from plugin.kernel.users import Course
from tests.e2e.checks import ARTIFACTS
from tests.e2e.checks import fits as _fits
from tests.e2e.checks import serious_violations as _serious
from tests.e2e.checks import tab_to as _tab_to
from tests.factories_work import make_assignment, person, publish_test_notice, submit


def test_a_teacher_sets_up_an_assignment_by_keyboard_and_reads_the_table(en_page, app, platform, live_server):
    page = en_page
    page.goto(platform.base_url + "/start?role=teacher&user=teacher-e2e&locale=en")
    page.wait_for_url("**/lti/launch")
    runtime = app.extensions["adal.runtime"]
    with runtime.session() as session:  # the course the launch made; an assignment and two students' work
        course = session.execute(select(Course).where(Course.issuer == platform.issuer)).scalar_one()
        assignment = make_assignment(session, course, configured=False, title="Synthetic essay")
        publish_test_notice(session)
        _a, aru = person(session, course, "student-e2e-1", "Аружан Тестова")
        _b, bolat = person(session, course, "student-e2e-2", "Bolat Exampleuly")
        assignment.configured_at = datetime(2026, 9, 1, tzinfo=UTC)  # open for the two submissions below
        submit(session, aru, assignment, ai_used=True, tasks=("ideas", "language"),
               drafts_url="https://drafts.example.test/history")
        submit(session, bolat, assignment)
        assignment.configured_at = None  # the teacher's first launch: not set up yet
        session.commit()
        assignment_id = assignment.id

    page.goto(f"{live_server}/a/{assignment_id}/setup")
    page.get_by_role("heading", level=1, name="Assignment settings").wait_for()
    _fits(page)
    assert _serious(page) == []

    # an empty title: the form comes back with the summary focused and the field marked
    _tab_to(page, "title")
    page.keyboard.press("Control+A")
    page.keyboard.press("Backspace")
    page.keyboard.press("Enter")
    page.wait_for_selector("#error-summary")
    assert page.evaluate("document.activeElement.id") == "error-summary"
    assert page.get_attribute("#title", "aria-invalid") == "true"
    assert page.get_attribute("#title", "aria-describedby") == "title-error"
    assert _serious(page) == []
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "teacher-setup-errors-360.png"), full_page=True)

    _tab_to(page, "title")
    page.keyboard.type("Эссе: менің ойым")
    _tab_to(page, "due_date")
    page.keyboard.type("10102030")  # the same day and month: whatever order the browser's date field uses
    _tab_to(page, "due_time")
    page.keyboard.type("1830")
    _tab_to(page, "late_policy")
    page.keyboard.press("ArrowDown")  # → refuse late work
    _tab_to(page, "task_trainer")
    page.keyboard.press("ArrowDown")  # → not allowed
    _tab_to(page, "custom_title_1")
    page.keyboard.type("Сызбалар салу")
    _tab_to(page, "custom_allowed_1")
    page.keyboard.press("ArrowDown")  # → not allowed
    _tab_to(page, "drafts_required")
    page.keyboard.press("Space")
    _tab_to(page, "save")
    page.keyboard.press("Enter")

    page.wait_for_url(f"**/a/{assignment_id}/submissions")
    assert "The assignment settings are saved." in page.inner_text("main")
    with runtime.session() as session:
        saved = session.get(Assignment, assignment_id)
    assert saved.title == "Эссе: менің ойым"
    assert saved.due_at == datetime(2030, 10, 10, 13, 30, tzinfo=UTC)  # 18:30 in Almaty
    assert saved.late_policy == "refuse" and saved.drafts_required
    assert [(r["code"], r["allowed"]) for r in json.loads(saved.task_policy)] == [
        ("ideas", True), ("language", True), ("trainer", False), ("refactoring", True), ("custom1", False)]

    table = page.get_by_role("region", name="Latest version of each student's work")
    assert table.get_attribute("tabindex") == "0"
    rows = page.locator("table.submissions tbody tr")
    assert rows.count() == 2
    assert "Аружан Тестова" in rows.nth(1).inner_text()
    drafts = rows.nth(1).get_by_role("link", name="drafts")
    assert drafts.get_attribute("rel") == "noopener noreferrer" and drafts.get_attribute("target") == "_blank"
    assert "Adal cannot list who has not submitted" in page.inner_text("main")  # this LMS offers no roster
    _fits(page)  # the table scrolls inside its region; the page itself does not
    assert _serious(page) == []
    page.screenshot(path=str(ARTIFACTS / "teacher-submissions-360.png"), full_page=True)

    # the student's name opens the submission; the keyboard reaches it from the table
    _tab_to(page, "submissions-region")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.get_by_role("heading", level=1, name="Bolat Exampleuly: version 1").wait_for()
    _fits(page)
    assert _serious(page) == []
    page.screenshot(path=str(ARTIFACTS / "teacher-submission-360.png"), full_page=True)
