"""A student launched from the LMS finds the link to their case on the receipt, opens the case,
reads every piece of evidence (the detector's score with its caveat), downloads the teacher's
file, and contests the allegation with a statement and a file of their own. In Debian's chromium
at a phone's 360 px; axe-core checks the case page before and after (no serious or critical
violation)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from appeals.models import Case, CaseStatement
from plugin.kernel.users import Actor, Course, Role, User
from tests.e2e.checks import ARTIFACTS
from tests.e2e.checks import fits as _fits
from tests.e2e.checks import serious_violations as _serious
from tests.integration.test_student_case_pages import ALLEGATION, EVIDENCE_FILE, RULE, build_world, make_case

CAVEAT = "This is a probabilistic signal from an automated detector, not proof."








def test_a_student_reads_the_evidence_and_contests_with_a_statement_and_a_file(en_page, app, platform, live_server,
                                                                               tmp_path):
    page = en_page
    page.goto(platform.base_url + "/start?role=student&user=student-case-e2e&name=Аружан%20Тестова&locale=en")
    page.wait_for_url("**/lti/launch")
    runtime = app.extensions["adal.runtime"]
    with runtime.session() as session:
        course = session.execute(select(Course).where(Course.issuer == platform.issuer)).scalar_one()
        user = session.execute(select(User).where(User.subject == "student-case-e2e")).scalar_one()
        student = Actor.for_user(user, frozenset({Role.STUDENT}), course_id=course.id)
    world = build_world(runtime, student=student, course_id=course.id)
    case = make_case(runtime, world)

    # 1. the receipt links to the case
    page.goto(f"{live_server}/s/{world['submission']}")
    page.get_by_role("link", name=f"Open your case {case['number']}").click()
    page.get_by_role("heading", level=1, name=f"Case {case['number']}").wait_for()

    # 2. the allegation, the rule and every piece of evidence, the detector with its caveat
    main = page.inner_text("main")
    assert ALLEGATION in main and RULE in main
    for text in ("She could not explain the method of paragraph 2.", "In class she could not explain paragraph 2.",
                 "Why did you choose this structure?", "Send your drafts and notes.", "Her September essay."):
        assert text in main, text
    assert CAVEAT in page.locator(".signal-card").inner_text()
    assert "Мүше Бірінші" in main and "Dana Synthetic" not in main
    assert "support person" in main
    with page.expect_download() as download:
        page.get_by_role("link", name="Download september-essay.txt").click()
    assert Path(download.value.path()).read_bytes() == EVIDENCE_FILE
    _fits(page)
    assert _serious(page) == []
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "student-case-360.png"), full_page=True)

    # 3. contest, first forgetting the statement: the error is at the field and nothing is stored
    page.get_by_label("I contest the allegation").check()
    page.get_by_role("button", name="Send my answer").click()
    page.locator("#statement-error").wait_for()
    assert page.locator("#statement").get_attribute("aria-invalid") == "true"
    assert _serious(page) == []
    with runtime.session() as session:
        assert session.get(Case, case["case"]).state == "notified"
    notes = tmp_path / "october-notes.txt"
    notes.write_text("Менің қазандағы жоспарым: үш бөлім, әр бөлімге бір мысал.\n", encoding="utf-8")
    page.get_by_label("I contest the allegation").check()
    page.get_by_label("Your statement").fill("I wrote the essay myself. My plan from October is attached.")
    page.locator("#files").set_input_files(str(notes))
    page.get_by_role("button", name="Send my answer").click()
    page.wait_for_url(f"**/cases/{case['case']}#answer-title")
    main = page.inner_text("main")
    assert "you contested the allegation" in main.lower() and "october-notes.txt" in main
    assert "You contested the allegation on" in main
    _fits(page)
    assert _serious(page) == []
    with runtime.session() as session:
        row = session.get(Case, case["case"])
        assert row.state == "contested"
        statement = session.execute(select(CaseStatement).where(CaseStatement.case_id == row.id)).scalar_one()
        assert statement.name == "october-notes.txt"
        assert runtime.files.read(statement.sha256) == notes.read_bytes()

    # 4. my cases says who acts next
    page.get_by_role("link", name="All my cases").click()
    assert "You contested the allegation" in page.inner_text("main")
    assert "The commission's secretary: sets the date and place of your hearing" in page.inner_text("main")
    _fits(page)
    assert _serious(page) == []
