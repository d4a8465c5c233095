"""A teacher launched from the LMS enters a detector score by hand, flags the work on that score,
finds the referral blocked with the reason, attaches a note of their own check and a file, and
refers the flag; the student's receipt then says the work was referred. In Debian's chromium at
a phone's 360 px; axe-core checks the submission page and the flag page (no serious or critical
violation)."""

from __future__ import annotations

from sqlalchemy import select

from evidence.models import EvidenceItem, Flag, Signal
from plugin.kernel.users import Course
from tests.e2e.checks import ARTIFACTS
from tests.e2e.checks import fits as _fits
from tests.e2e.checks import serious_violations as _serious
from tests.factories_work import login, make_assignment, person, publish_test_notice, submit

CAVEAT = "This is a probabilistic signal from an automated detector, not proof."








def test_a_teacher_flags_on_a_detector_score_is_stopped_then_refers_with_own_evidence(en_page, app, platform,
                                                                                     live_server, tmp_path):
    page = en_page
    page.goto(platform.base_url + "/start?role=teacher&user=teacher-flag-e2e&locale=en")
    page.wait_for_url("**/lti/launch")
    runtime = app.extensions["adal.runtime"]
    with runtime.session() as session:
        course = session.execute(select(Course).where(Course.issuer == platform.issuer)).scalar_one()
        assignment = make_assignment(session, course, title="Synthetic essay")
        publish_test_notice(session)
        _user, student = person(session, course, "student-flag-e2e", "Аружан Тестова")
        submission_id = submit(session, student, assignment, ai_used=True, tasks=("ideas",)).id
        session.commit()

    # 1. a detector score, entered by hand from the vendor's screen
    page.goto(f"{live_server}/s/{submission_id}/review")
    page.get_by_role("heading", level=1, name="Аружан Тестова: version 1").wait_for()
    page.get_by_text("Enter a signal by hand").click()
    page.get_by_label("AI detector", exact=True).check()
    page.get_by_label("Vendor", exact=True).fill("GPTZero")
    page.get_by_label("Product", exact=True).fill("AI detector")
    page.locator("#signal_model_version").fill("2026-01-base")
    page.get_by_label("Score, in per cent").fill("97")
    page.locator("#signal_date").fill("2026-10-01")
    page.locator("#signal_save").click()
    page.wait_for_url(f"**/s/{submission_id}/review#signals-title")
    card = page.locator(".signal-card")
    assert card.count() == 1
    assert CAVEAT in card.inner_text() and "2026-01-base" in card.inner_text()
    _fits(page)
    assert _serious(page) == []

    # 2. a flag on that score alone
    page.get_by_role("link", name="Flag this submission").click()
    page.get_by_role("checkbox", name="A detector signal").check()
    page.locator("#desc_detector_signal").fill("GPTZero gives 97 %. The style is unlike her earlier essays.")
    page.locator("#flag_save").click()
    page.get_by_role("heading", level=1, name="Suspicion flag: Аружан Тестова, version 1").wait_for()
    flag_url = page.url
    page.locator("#ev_signal").select_option(index=1)
    page.locator("#ev_signal_description").fill("The detector's score, for the record.")
    page.locator("#ev_signal_save").click()
    page.wait_for_url("**#referral-title")

    # 3. referral is blocked, and the page says why
    reason = page.locator("#refer-reason")
    assert "Signal only: needs the teacher's own check." in reason.inner_text()
    assert "A detector score is a signal, not proof" in reason.inner_text()
    refer = page.get_by_role("button", name="Refer to the commission")
    assert refer.is_disabled()
    assert refer.get_attribute("aria-describedby") == "refer-reason"
    assert CAVEAT in page.inner_text("main")
    _fits(page)
    assert _serious(page) == []
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "flag-signal-only-360.png"), full_page=True)
    with runtime.session() as session:
        assert session.execute(select(Flag.state)).scalar_one() == "open"

    # 4. the teacher's own check: a note and a file
    page.locator("#ev_note_description").fill("In class she could not explain the method of paragraph 2.")
    page.locator("#ev_note_save").click()
    page.wait_for_url("**#referral-title")
    earlier = tmp_path / "september-essay.txt"
    earlier.write_text("Менің қыркүйектегі эссем: қысқа сөйлемдер.\n", encoding="utf-8")
    page.locator("#ev_file").set_input_files(str(earlier))
    page.locator("#ev_file_description").fill("Her September essay, for comparison.")
    page.locator("#ev_file_save").click()
    page.wait_for_url("**#referral-title")
    assert "september-essay.txt" in page.inner_text("main")
    assert "This flag has evidence beyond detector signals and can be referred." in page.inner_text("#refer-reason")
    assert not refer.is_disabled()
    assert _serious(page) == []

    # 5. referred
    refer.click()
    page.wait_for_url(flag_url)
    assert "Referred to the integrity commission on" in page.inner_text("main")
    _fits(page)
    assert _serious(page) == []
    page.screenshot(path=str(ARTIFACTS / "flag-referred-360.png"), full_page=True)
    with runtime.session() as session:
        flag = session.execute(select(Flag)).scalar_one()
        assert flag.state == "referred" and flag.referred_at is not None
        kinds = sorted((item.kind, item.is_detector) for item in session.execute(select(EvidenceItem)).scalars())
        assert kinds == [("file", False), ("note", False), ("signal", True)]
        assert session.execute(select(Signal.score)).scalar_one() == 97

    # 6. the student's receipt now says so, in their own browser session
    student_page = page.context.browser.new_context(viewport={"width": 360, "height": 740}, locale="en-GB")
    try:
        tab = student_page.new_page()
        tab.goto(f"{live_server}/?lang=en")
        cookie = _session_for(app, live_server, student)
        student_page.add_cookies([cookie])
        tab.goto(f"{live_server}/s/{submission_id}")
        text = tab.inner_text("main")
        assert "your work was referred to the integrity commission" in text
        assert "in class she could not explain" not in text.lower()
        assert _serious(tab) == []
    finally:
        student_page.close()


def _session_for(app, live_server: str, actor) -> dict:
    """A session cookie for ``actor``, made by a test client of the same app (as a launch would)."""
    client = app.test_client()
    login(client, actor)
    client.get("/?lang=en")
    cookie = client.get_cookie(app.config.get("SESSION_COOKIE_NAME", "session"))
    return {"name": cookie.key, "value": cookie.value, "url": live_server}
