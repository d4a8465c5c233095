"""Drafts asked for and sent, in Debian's chromium at a phone's 360 px: the teacher, launched from
the LMS, asks for drafts on the submission page; the student, launched in their own browser,
sees the request on the receipt with its deadline and uploads a draft; the teacher sees it and
downloads it. axe-core checks the student's page (no serious or critical violation)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from evidence.models import DraftRequest, DraftUpload
from plugin.kernel.users import Actor, Course, Role, User
from tests.e2e.checks import ARTIFACTS
from tests.e2e.checks import fits as _fits
from tests.e2e.checks import serious_violations as _serious
from tests.factories_work import make_assignment, publish_test_notice, submit

DRAFT = b"Plan of the essay: three parts, then the conclusion.\n"




@pytest.fixture
def phones(browser) -> Iterator[tuple[object, object]]:
    """Two phones set to English: the teacher's and the student's (separate cookies)."""
    contexts = [browser.new_context(viewport={"width": 360, "height": 740}, locale="en-GB") for _ in range(2)]
    yield contexts[0].new_page(), contexts[1].new_page()
    for context in contexts:
        context.close()






def test_the_teacher_asks_for_drafts_and_the_student_sends_one(phones, app, platform, live_server, tmp_path):
    teacher_page, student_page = phones
    for page, role, user in ((teacher_page, "teacher", "teacher-e2e"), (student_page, "student", "student-e2e")):
        page.goto(platform.base_url + f"/start?role={role}&user={user}&name=Aruzhan%20Testova&locale=en")
        page.wait_for_url("**/lti/launch")
    runtime = app.extensions["adal.runtime"]
    with runtime.session() as session:  # the student's work, handed in earlier
        course = session.execute(select(Course).where(Course.issuer == platform.issuer)).scalar_one()
        user = session.execute(select(User).where(User.subject == "student-e2e")).scalar_one()
        publish_test_notice(session)
        assignment = make_assignment(session, course, title="Synthetic essay")
        student = Actor.for_user(user, frozenset({Role.STUDENT}), course_id=course.id)
        work = submit(session, student, assignment, now=datetime.now(UTC) - timedelta(days=1))
        session.commit()
        work_id = work.id

    # The teacher asks for drafts from the submission page.
    page = teacher_page
    page.goto(f"{live_server}/s/{work_id}/review")
    page.get_by_role("heading", level=2, name="Drafts and oral defence").wait_for()
    page.locator("summary", has_text="Ask for drafts").click()
    due = (datetime.now(UTC) + timedelta(days=10)).astimezone(ZoneInfo("Asia/Almaty")).date()
    page.locator("#dr-message").fill("Send the plan you wrote before the essay.")
    page.locator("#dr-due_at").fill(due.isoformat())
    page.locator("#dr-due_time").fill("18:00")
    page.locator("#dr-message").locator("xpath=ancestor::form").get_by_role("button", name="Ask for drafts").click()
    page.wait_for_url(f"**/s/{work_id}/review#process")
    shown = due.strftime("%d.%m.%Y")
    assert f"The student is asked for drafts by {shown} 18:00 (Asia/Almaty)." in page.inner_text("main")
    assert "waiting for the student" in page.inner_text("#process")

    # The student sees it on the receipt, with what is asked and by when, and uploads a draft.
    page = student_page
    page.goto(f"{live_server}/s/{work_id}")
    asks = page.get_by_role("region", name="What your teacher asks of you")
    asks.wait_for()
    assert "Send the plan you wrote before the essay." in asks.inner_text()
    assert f"{shown} 18:00" in asks.inner_text()
    _fits(page)
    assert _serious(page) == []
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "student-drafts-request-360.png"), full_page=True)
    draft = tmp_path / "plan.txt"
    draft.write_bytes(DRAFT)
    asks.get_by_label("Your drafts (files)").set_input_files(str(draft))
    asks.get_by_label("Note for your teacher (optional)").fill("The rest is in my notebook.")
    asks.get_by_role("button", name="Send my drafts").click()
    page.wait_for_url(f"**/s/{work_id}#asks")
    text = page.inner_text("#asks")
    assert "Your drafts were sent to your teacher." in text and "You sent your answer on" in text
    assert "plan.txt" in text
    _fits(page)
    assert _serious(page) == []

    with runtime.session() as session:
        request = session.execute(select(DraftRequest)).scalar_one()
        upload = session.execute(select(DraftUpload)).scalar_one()
    assert request.answered_at is not None and request.answer_note == "The rest is in my notebook."
    assert (upload.name, upload.size) == ("plan.txt", len(DRAFT))

    # The teacher sees the answer and downloads the draft.
    page = teacher_page
    page.goto(f"{live_server}/s/{work_id}/review")
    section = page.locator("#process")
    assert "answered" in section.inner_text() and "The rest is in my notebook." in section.inner_text()
    _fits(page)
    assert _serious(page, "#process") == []  # this part of the page; the rest is other features'
    page.screenshot(path=str(ARTIFACTS / "teacher-process-360.png"), full_page=True)
    with page.expect_download() as download:
        section.get_by_role("link", name="plan.txt").click()
    assert Path(download.value.path()).read_bytes() == DRAFT
