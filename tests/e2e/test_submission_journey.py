"""The whole hand-in in a real browser, from the demo LMS of `adal demo` (a real process): the
teacher places and sets up an assignment, a student on a 360 px phone reads the notice, declares
AI use (one use the assignment does not allow), hands in a DOCX, downloads the receipt and the
copy (the statement read back by python-docx, the metadata by exiftool), and the teacher sees
it in the table and grades it into the LMS's gradebook. axe-core checks the student's pages."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

from docx import Document

from tests.e2e.checks import ARTIFACTS
from tests.e2e.checks import serious_violations as _serious

TITLE = "Эссе: ЖИ және білім"


def _essay(path: Path) -> bytes:
    document = Document()
    document.add_heading("Жасанды интеллект және білім", level=1)
    document.add_paragraph("Менің эссем. Бұл мәтінді өзім жаздым.")
    buffer = io.BytesIO()
    document.save(buffer)
    path.write_bytes(buffer.getvalue())
    return buffer.getvalue()


def _open_link(page, demo_url: str, column: int) -> None:
    page.goto(demo_url + "/demo/?lang=en")
    row = page.locator("tr", has_text=TITLE)
    row.get_by_role("link").nth(column).click()


def test_a_student_hands_in_work_with_the_disclosure_and_the_teacher_grades_it(en_page, demo_url, tmp_path):
    page = en_page
    ARTIFACTS.mkdir(exist_ok=True)
    # The teacher places the assignment with the LMS's picker (deep linking) ...
    page.goto(demo_url + "/demo/?lang=en")
    page.get_by_role("link", name="Open the picker as the teacher").click()
    page.get_by_label("Title").fill(TITLE)
    page.get_by_role("button", name="Add to the course").click()
    page.wait_for_url("**/demo/")
    # ... opens it: the first launch asks for its settings.
    _open_link(page, demo_url, 1)
    page.wait_for_url(lambda url: url.endswith("/setup"))
    tomorrow = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    page.get_by_label("Date", exact=True).fill(tomorrow)
    page.locator("#task_trainer_no").check()
    page.get_by_label("Drafts are required").check()
    page.get_by_role("button", name="Save settings").click()
    page.wait_for_url(lambda url: "/submissions" in url)

    # The student: notice first, then the form.
    _open_link(page, demo_url, 0)
    page.wait_for_url(lambda url: "/notice" in url)
    assert "Purpose of processing" in page.inner_text("main")
    page.get_by_role("button", name="I have read the notice").click()
    page.wait_for_url(lambda url: "/a/" in url and "/notice" not in url)
    assert page.get_by_role("heading", level=1).inner_text() == TITLE
    assert _serious(page) == []
    essay = tmp_path / "Эссе.docx"
    original = _essay(essay)
    page.get_by_label("Your work (files)").set_input_files(str(essay))
    page.get_by_label("Language of your work").select_option("kk")  # the page is in English, the essay is not
    warning = page.locator("[data-policy-warning]")
    page.get_by_label("AI used").check()
    page.get_by_label("Language correction and condensing the wording").check()
    assert warning.is_hidden()
    page.get_by_label("Solution trainers, then worked through on my own").check()
    assert warning.is_visible()  # told before submitting, not stopped
    page.get_by_label("AI tool or service").fill("ChatGPT")
    page.get_by_label("Model", exact=True).fill("GPT-4o")
    page.get_by_label("Date of use 1").fill((datetime.now(UTC) - timedelta(days=1)).date().isoformat())
    page.get_by_label("Link to your drafts or version history").fill("https://docs.example.test/history/7")
    page.get_by_label("I personally checked the final result").check()
    page.screenshot(path=str(ARTIFACTS / "submission-form-360.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "no sideways scrolling"
    page.get_by_role("button", name="Submit").click()
    page.wait_for_url(lambda url: "/s/" in url)
    receipt = page.inner_text("main")
    sha = hashlib.sha256(original).hexdigest()
    assert sha in receipt and "does not allow" in receipt and "GenAI ChatGPT" in receipt
    assert _serious(page) == []
    page.screenshot(path=str(ARTIFACTS / "receipt-360.png"), full_page=True)

    with page.expect_download() as download:
        page.get_by_role("link", name="Download the receipt").click()
    receipt_file = tmp_path / "receipt.txt"
    download.value.save_as(receipt_file)
    assert sha in receipt_file.read_text(encoding="utf-8")
    with page.expect_download() as download:
        page.get_by_role("link", name="Эссе.adal.docx").click()
    copy = tmp_path / "copy.docx"
    download.value.save_as(copy)
    text = "\n".join(p.text for p in Document(str(copy)).paragraphs)
    assert "GenAI ChatGPT пайдаланылды, модель GPT-4o" in text  # the statement, in the work's language
    assert "Автор қорытынды нәтижені жеке өзі тексергенін растайды." in text
    tags = json.loads(subprocess.run(["exiftool", "-j", "-G1", str(copy)], capture_output=True, check=True,
                                     text=True).stdout)[0]
    assert tags["XML:AI-Generated"] == "Yes" and tags["XML:Model"] == "GPT-4o"

    # The LMS heard of the submission at once: submitted, waiting for the teacher.
    page.goto(demo_url + "/demo/gradebook?lang=en")
    assert "PendingManual" in page.locator("tr", has_text="Айгерім Демоқызы").inner_text()

    # The teacher sees it and grades it; the LMS's gradebook gets the grade.
    _open_link(page, demo_url, 1)
    page.wait_for_url(lambda url: "/submissions" in url)
    table = page.inner_text("main")
    assert "Айгерім Демоқызы" in table and "ChatGPT" in table
    page.get_by_role("link", name="Айгерім Демоқызы").first.click()
    page.get_by_role("textbox", name="Grade").fill("87")
    page.get_by_label("Feedback (optional)").fill("Жақсы жұмыс.")
    page.get_by_role("button", name="Save the grade and send it to the LMS").click()
    page.goto(demo_url + "/demo/gradebook?lang=en")
    row = page.locator("tr", has_text="Айгерім Демоқызы").inner_text()
    assert "87" in row and "FullyGraded" in row
