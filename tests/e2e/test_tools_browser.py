"""A teacher launched from the LMS marks a file on the staff page, receives the download, and
checks it on the inspect page, in Debian's chromium at phone width."""

from __future__ import annotations

import io

from attribution.stamping import inspect_file
from tests.e2e.checks import fits as _fits


def _docx(path):
    from docx import Document

    document = Document()
    document.add_heading("Сабақ жоспары", level=0)
    document.add_paragraph("Бірінші абзац.")
    buffer = io.BytesIO()
    document.save(buffer)
    path.write_bytes(buffer.getvalue())
    return path




def test_a_teacher_marks_a_file_downloads_it_and_inspects_it(en_page, platform, tmp_path):
    page = en_page
    source = _docx(tmp_path / "lesson plan.docx")
    original = source.read_bytes()
    platform.placed_links.append({"title": "Adal", "custom": {"adal_view": "home"}})  # the course-level link
    page.goto(platform.base_url + "/start?role=teacher&user=teacher-browser&locale=en&link=0")
    page.get_by_role("heading", level=1, name="Hello, Aigerim Testova").wait_for(timeout=15000)
    page.get_by_role("link", name="Mark AI-made files").click()
    page.get_by_role("heading", level=1, name="Mark AI-made files").wait_for()
    _fits(page)
    page.get_by_label("Files").set_input_files(str(source))
    page.get_by_label("AI service").fill("ChatGPT")
    page.get_by_label("Model", exact=True).fill("GPT-4o")
    page.get_by_label("Model version").fill("2024-08-06")
    page.get_by_label("Date of generation").fill("2026-01-15")
    page.get_by_label("Responsible person (optional)").fill("А. Тестова")
    page.get_by_label("Language of the label").select_option("kk")
    with page.expect_download() as info:
        page.get_by_role("button", name="Mark and download").click()
    download = info.value
    assert download.suggested_filename == "lesson_plan.ai-stamped.docx"
    saved = tmp_path / "downloaded" / download.suggested_filename
    download.save_as(saved)
    report = inspect_file(saved)
    assert report.has_ai_provenance
    assert (report.fields["Service"], report.fields["Model"], report.fields["ResponsibleContact"]) == (
        "ChatGPT", "GPT-4o", "А. Тестова")
    assert report.visible_label.startswith("ЖИ көмегімен жасалған материалдар бар: ChatGPT")
    assert source.read_bytes() == original

    page.get_by_role("link", name="Check a file's AI provenance").click()
    page.get_by_label("File", exact=True).set_input_files(str(saved))
    page.get_by_role("button", name="Check", exact=True).click()
    page.get_by_role("heading", level=2, name="What lesson_plan.ai-stamped.docx carries").wait_for()
    found = page.inner_text("main")
    assert "ChatGPT" in found and "GPT-4o" in found and "15.01.2026" in found and "А. Тестова" in found
    assert "No Adal or AI provenance found" not in found
    _fits(page)
