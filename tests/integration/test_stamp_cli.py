"""`adal stamp` and `adal inspect` as a user runs them: nothing but the requested output is
written, bad input gets one clear line and a non-zero exit, names that look like options work."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfWriter

ADAL = str(Path(sys.executable).parent / "adal")
ARGS = ["--service", "ChatGPT", "--model", "GPT-4o", "--model-version", "2024-08-06", "--date", "2026-11-20",
        "--responsible", "А. Тестова", "--task", "тілдік түзету"]


def _pdf(path: Path) -> Path:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    with open(path, "wb") as handle:
        writer.write(handle)
    return path


def _docx(path: Path) -> Path:
    from docx import Document

    document = Document()
    document.add_heading("Эссе: жасанды интеллект", level=0)
    document.add_paragraph("Бірінші абзац.")
    document.save(path)
    return path


def _run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADAL_")}
    env["ADAL_LANG"] = "en"
    return subprocess.run([ADAL, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_stamp_then_inspect_writes_only_the_output(tmp_path):
    src = _pdf(tmp_path / "report.pdf")
    before = _sha(src)
    done = _run(tmp_path, "stamp", *ARGS, "report.pdf")
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.ai-stamped.pdf", "report.pdf"]
    assert _sha(src) == before, "the original is never modified"
    shown = _run(tmp_path, "inspect", "--json", "report.ai-stamped.pdf")
    report = json.loads(shown.stdout)
    assert report["has_ai_provenance"] is True
    assert report["fields"]["Model"] == "GPT-4o" and report["fields"]["ResponsibleContact"] == "А. Тестова"
    plain = _run(tmp_path, "inspect", "report.pdf")
    assert plain.returncode == 0 and "carries no AI provenance" in plain.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.ai-stamped.pdf", "report.pdf"]


def test_out_dir_and_output_options(tmp_path):
    _pdf(tmp_path / "a.pdf")
    _docx(tmp_path / "b.docx")
    (tmp_path / "out").mkdir()
    done = _run(tmp_path, "stamp", *ARGS, "--lang", "ru", "--out-dir", "out", "a.pdf", "b.docx")
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.pdf", "b.docx"]
    single = _run(tmp_path, "stamp", *ARGS, "-o", "c.pdf", "a.pdf")
    assert single.returncode == 0 and (tmp_path / "c.pdf").exists()
    refused = _run(tmp_path, "stamp", *ARGS, "-o", "d.pdf", "a.pdf", "b.docx")
    assert refused.returncode != 0 and "one input" in refused.stderr
    assert not (tmp_path / "d.pdf").exists()


@pytest.mark.parametrize("name", ["-o", "-@", "--help", "-"])
def test_a_file_named_like_an_option_is_an_ordinary_file(tmp_path, name):
    _pdf(tmp_path / name)
    done = _run(tmp_path, "stamp", *ARGS, "-o", "out.pdf", "--", name)
    assert done.returncode == 0, done.stderr
    assert json.loads(_run(tmp_path, "inspect", "--json", "out.pdf").stdout)["has_ai_provenance"]


def test_a_file_without_extension_is_typed_by_content(tmp_path):
    _pdf(tmp_path / "scan")
    done = _run(tmp_path, "stamp", *ARGS, "scan")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "scan.ai-stamped.pdf").exists()


@pytest.mark.parametrize(("make", "says"), [
    (lambda p: (p / "empty.pdf").write_bytes(b""), "empty"),
    (lambda p: _pdf(p / "really-a-pdf.docx"), "content is PDF"),
    (lambda p: (p / "notes.pdf").write_text("just text, not a PDF"), "not a PDF"),
    (lambda p: None, "no such file"),
])
def test_bad_input_gets_one_line_and_no_output(tmp_path, make, says):
    make(tmp_path)
    name = next((p.name for p in tmp_path.iterdir()), "missing.pdf")
    before = sorted(p.name for p in tmp_path.iterdir())
    done = _run(tmp_path, "stamp", *ARGS, name)
    assert done.returncode == 1
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and says in lines[0], done.stderr
    assert "Traceback" not in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before, "no output and no temporary file"


def test_one_bad_file_does_not_stop_the_others_but_the_exit_says_so(tmp_path):
    _pdf(tmp_path / "good.pdf")
    (tmp_path / "bad.pdf").write_bytes(b"")
    done = _run(tmp_path, "stamp", *ARGS, "good.pdf", "bad.pdf")
    assert done.returncode == 1
    assert (tmp_path / "good.ai-stamped.pdf").exists() and not (tmp_path / "bad.ai-stamped.pdf").exists()


def test_bad_fields_are_refused_before_any_file_is_read(tmp_path):
    _pdf(tmp_path / "a.pdf")
    done = _run(tmp_path, "stamp", "--service", "x\ny", "--model", "m", "--model-version", "1", "--date",
                "2026-11-20", "a.pdf")
    assert done.returncode != 0 and "--service" in done.stderr
    bad_date = _run(tmp_path, "stamp", "--service", "s", "--model", "m", "--model-version", "1", "--date",
                    "20.11.2026", "a.pdf")
    assert bad_date.returncode != 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.pdf"]


def _png(path: Path) -> Path:
    from PIL import Image

    Image.new("RGB", (8, 8), (200, 30, 30)).save(path)
    return path


def test_images_are_stamped_with_one_exiftool_and_can_be_marked_synthetic(tmp_path):
    _png(tmp_path / "poster.png")
    _pdf(tmp_path / "report.pdf")
    done = _run(tmp_path, "stamp", *ARGS, "--synthetic", "--lang", "en", "poster.png", "report.pdf")
    assert done.returncode == 0, done.stderr
    report = json.loads(_run(tmp_path, "inspect", "--json", "poster.ai-stamped.png").stdout)
    assert report["has_ai_provenance"] is True
    assert report["digital_source_type"].endswith("trainedAlgorithmicMedia")
    assert report["fields"]["SyntheticLabel"].startswith("SYNTHETIC IMAGE, made with AI: ChatGPT")
    shown = subprocess.run(["exiftool", "-j", "-G1", str(tmp_path / "poster.ai-stamped.png")],
                           capture_output=True, text=True, check=True)
    assert json.loads(shown.stdout)[0]["XMP-adal:Model"] == "GPT-4o"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["poster.ai-stamped.png", "poster.png",
                                                          "report.ai-stamped.pdf", "report.pdf"]


def test_directories_are_stamped_recursively_into_the_out_dir_with_a_summary(tmp_path):
    course = tmp_path / "course"
    (course / "week1").mkdir(parents=True)
    _pdf(course / "week1" / "lecture.pdf")
    _docx(course / "syllabus.docx")
    (course / "notes.txt").write_text("not a kind Adal stamps")
    (course / "week1" / "broken.pdf").write_bytes(b"")
    no_out_dir = _run(tmp_path, "stamp", *ARGS, "course")
    assert no_out_dir.returncode != 0 and "--out-dir" in no_out_dir.stderr
    (tmp_path / "out").mkdir()
    done = _run(tmp_path, "stamp", *ARGS, "--out-dir", "out", "course")
    assert done.returncode == 1, "one file failed"
    assert "Stamped 2, skipped 1 (not a kind Adal stamps), failed 1." in done.stdout
    assert [line for line in done.stderr.splitlines() if line] == ["FAILED: broken.pdf is empty (0 bytes)"]
    written = sorted(str(p.relative_to(tmp_path / "out")) for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert written == ["course/syllabus.docx", "course/week1/lecture.pdf"]
    assert json.loads(_run(tmp_path, "inspect", "--json", "out/course/week1/lecture.pdf").stdout)["has_ai_provenance"]


def test_a_directory_with_nothing_to_stamp_says_so(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("nothing to stamp here")
    (tmp_path / "out").mkdir()
    done = _run(tmp_path, "stamp", *ARGS, "--out-dir", "out", "empty")
    assert done.returncode != 0 and "Nothing to stamp" in done.stderr
    assert list((tmp_path / "out").iterdir()) == []
