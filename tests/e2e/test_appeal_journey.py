"""A case's whole life in a real browser, from the demo LMS of `adal demo` (a real process): the
teacher flags a submission on their own check (a note, no detector), the commission decides
level 1, the student appeals within the window, a panel of members who did not decide lowers the
sanction to level 0, the student downloads the written decision on the appeal (its text checked),
and the LMS's gradebook shows that nothing was posted while the appeal was open nor after a
level-0 outcome (level 0 changes no grade). axe-core checks the student's appeal pages."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from docx import Document
from pypdf import PdfReader

from tests.e2e.checks import ARTIFACTS
from tests.e2e.checks import serious_violations as _serious

TITLE = "Апелляция эссесі"
STUDENT = "Айгерім Демоқызы"
DECIDERS = ("commission-asel", "commission-kanat", "commission-gulnar")  # two members, then the chair
PANEL = ("commission-olga", "commission-ruslan", "commission-madina")  # did not decide: they hear the appeal


def _as(page, demo_url: str, person: str) -> None:
    """Launch from the demo LMS as ``person`` (a new launch replaces the browser's Adal session)."""
    page.goto(f"{demo_url}/demo/start?person={person}")
    page.wait_for_url("**/lti/launch")


def _open_link(page, demo_url: str, column: int) -> None:
    page.goto(demo_url + "/demo/?lang=en")
    page.locator("tr", has_text=TITLE).get_by_role("link").nth(column).click()


def _essay(path: Path) -> None:
    document = Document()
    document.add_paragraph("My essay on rivers, written for the appeal journey.")
    buffer = io.BytesIO()
    document.save(buffer)
    path.write_bytes(buffer.getvalue())


def _case_page(page, demo_url: str, person: str, case_url: str) -> None:
    _as(page, demo_url, person)
    page.goto(case_url)


def test_flag_decision_appeal_modified_to_level_0_and_the_written_decision(en_page, demo_url, tmp_path):
    page = en_page
    ARTIFACTS.mkdir(exist_ok=True)
    # -- the teacher places and sets up the assignment; the student hands in an essay
    page.goto(demo_url + "/demo/?lang=en")
    page.get_by_role("link", name="Open the picker as the teacher").click()
    page.get_by_label("Title").fill(TITLE)
    page.get_by_role("button", name="Add to the course").click()
    page.wait_for_url("**/demo/")
    _open_link(page, demo_url, 1)
    page.wait_for_url(lambda url: url.endswith("/setup"))
    page.get_by_label("Date", exact=True).fill((datetime.now(UTC) + timedelta(days=3)).date().isoformat())
    page.get_by_role("button", name="Save settings").click()
    page.wait_for_url(lambda url: "/submissions" in url)
    _open_link(page, demo_url, 0)
    page.wait_for_load_state()
    if "/notice" in page.url:
        page.get_by_role("button", name="I have read the notice").click()
        page.wait_for_url(lambda url: "/notice" not in url)
    essay = tmp_path / "rivers.docx"
    _essay(essay)
    page.get_by_label("Your work (files)").set_input_files(str(essay))
    page.get_by_label("Language of your work").select_option("en")
    page.get_by_role("button", name="Submit").click()
    page.wait_for_url(lambda url: "/s/" in url)
    page.goto(demo_url + "/demo/gradebook?lang=en")
    posted_before = page.locator("tr", has_text=STUDENT).last.inner_text()
    assert "PendingManual" in posted_before

    # -- the teacher flags it on their own check (no detector at all) and refers it
    _open_link(page, demo_url, 1)
    page.wait_for_url(lambda url: "/submissions" in url)
    page.get_by_role("link", name=STUDENT).first.click()
    page.get_by_role("link", name="Flag this submission").click()
    page.get_by_role("checkbox", name="The oral defence did not confirm authorship").check()
    page.locator("#desc_failed_defence").fill("She could not explain the method of paragraph 2.")
    page.locator("#flag_save").click()
    page.locator("#ev_note_description").fill("Oral questions on 3 November went unanswered.")
    page.locator("#ev_note_save").click()
    page.wait_for_url("**#referral-title")
    page.get_by_role("button", name="Refer to the commission").click()
    page.wait_for_load_state()
    assert "Referred to the integrity commission on" in page.inner_text("main")

    # -- the secretary opens the case and notifies the student, who accepts
    _as(page, demo_url, "commission-yerzhan")
    page.goto(demo_url + "/commission")
    page.get_by_role("link", name=re.compile(r"Open a case \(flag \d+\)")).first.click()
    page.get_by_label("Allegation").fill("The essay is not her own work.")
    page.get_by_label("Rule").fill("S 7.3")
    page.get_by_label("Level 2: medium").check()
    page.locator("#open_save").click()
    page.wait_for_url("**/commission/cases/*")
    case_url = page.url.split("#")[0]
    case_id = int(case_url.rsplit("/", 1)[-1])
    page.locator("#notify").click()
    page.wait_for_url("**#steps-title")
    _case_page(page, demo_url, "student-aigerim", f"{demo_url}/cases/{case_id}")
    page.get_by_label("I accept the allegation").check()
    page.get_by_role("button", name="Send my answer").click()
    page.wait_for_url("**#answer-title")
    _case_page(page, demo_url, "commission-yerzhan", case_url)
    page.locator("#deliberate").click()
    page.wait_for_url("**#votes-title")

    # -- three members find her responsible, citing the teacher's note, and choose level 1
    for person in DECIDERS:
        _case_page(page, demo_url, person, case_url)
        page.get_by_label("Responsible", exact=True).check()
        page.locator("input[name=cited]").first.check()
        page.locator("#vote_reasons").fill("The oral questions went unanswered.")
        page.locator("#vote_finding_save").click()
        page.wait_for_url("**#votes-title")
    page.get_by_label("The commission's reasons").fill("On the balance of probabilities the essay is not hers.")
    page.locator("#finding_save").click()
    page.wait_for_url("**#decision-title")
    for person in DECIDERS:
        _case_page(page, demo_url, person, case_url)
        page.get_by_label("Level 1: The task is resubmitted; points are deducted").check()
        page.locator("#level_reasons").fill("A first offence.")
        page.locator("#vote_sanction_save").click()
        page.wait_for_url("**#sanction-title")
    page.get_by_label("Reasons for the sanction").fill("A first offence: the essay is written again.")
    page.locator("#sanction_save").click()
    page.wait_for_url("**#decision-title")
    _case_page(page, demo_url, "commission-yerzhan", case_url)
    page.locator("#issue").click()
    page.wait_for_url("**#decision-title")

    # -- the student appeals within the window (first forgetting the grounds: nothing is stored)
    _case_page(page, demo_url, "student-aigerim", f"{demo_url}/cases/{case_id}")
    main = page.inner_text("main")
    assert "you may appeal to the commission by" in main and "cannot be made heavier" in main
    assert _serious(page) == []
    page.get_by_label("Your statement", exact=True).last.fill("Level 1 is too heavy: I disclosed the editing tool.")
    page.get_by_role("button", name="Send my appeal").click()
    page.locator("#appeal_grounds-error").wait_for()
    page.get_by_label("The sanction is disproportionate").check()
    page.get_by_label("Your statement", exact=True).last.fill("Level 1 is too heavy: I disclosed the editing tool.")
    page.get_by_role("button", name="Send my appeal").click()
    page.wait_for_url("**#appeal-title")
    assert "The sanction is paused" in page.inner_text("main")
    assert _serious(page) == []
    page.screenshot(path=str(ARTIFACTS / "student-appeal-open-360.png"), full_page=True)

    # -- the secretary convenes a panel of members who did not decide; they lower it to level 0
    _case_page(page, demo_url, "commission-yerzhan", case_url)
    candidates = page.locator("input[name=panel]")
    assert candidates.count() == len(PANEL) + 1  # the three members and the secretary; no decider
    for name in ("Ольга Тестова", "Руслан Примеров", "Мадина Үлгіқызы"):
        page.get_by_label(name, exact=True).check()
    page.get_by_label("Presides").select_option(label="Ольга Тестова")
    page.locator("#convene_save").click()
    page.wait_for_url("**#appeal-title")
    for person in PANEL:
        _case_page(page, demo_url, person, case_url)
        page.get_by_label("Lower the sanction: Level 0").check()
        page.locator("#appeal_reasons").fill("The use was disclosed in part; a warning suffices.")
        page.locator("#vote_appeal_save").click()
        page.wait_for_url("**#appeal-title")
    _case_page(page, demo_url, PANEL[0], case_url)
    page.locator("#appeal_outcome_reasons").fill("A first offence with a partial disclosure: level 0, a warning.")
    page.locator("#decide_appeal_save").click()
    page.wait_for_url("**#effects-title")
    assert "A warning is on record" in page.inner_text("main")

    # -- the student reads the final outcome and downloads the written decision on the appeal
    _case_page(page, demo_url, "student-aigerim", f"{demo_url}/cases/{case_id}")
    main = page.inner_text("main")
    assert "Modified: the sanction is lowered" in main and "This decision is final." in main
    assert _serious(page) == []
    page.screenshot(path=str(ARTIFACTS / "student-appeal-decided-360.png"), full_page=True)
    with page.expect_download() as download:
        page.locator("a[href$='/documents/appeal.pdf']").click()
    pdf = tmp_path / "appeal.pdf"
    download.value.save_as(pdf)
    text = " ".join((p.extract_text() or "") for p in PdfReader(str(pdf)).pages)
    text = " ".join(text.split())
    number = page.locator("h1").inner_text().rsplit(" ", 1)[-1]
    assert number in text
    assert "A first offence with a partial disclosure: level 0, a warning." in text
    assert "The sanction is disproportionate" in text
    assert "final" in text.lower()

    # -- the LMS: nothing was posted for the case (level 0 changes no grade), the submission stays pending
    page.goto(demo_url + "/demo/gradebook?lang=en")
    after = page.locator("tr", has_text=STUDENT).last.inner_text()
    assert after == posted_before
