"""`adal stamp --jobs`, `--visible-band` and `adal export-pdf` as a user runs them."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

from PIL import Image

from attribution.stamping import inspect_file
from tests.unit.attribution.opc_samples import make_docx, make_pptx, make_xlsx
from tests.unit.attribution.pdf_samples import sample_pdf

ADAL = str(Path(sys.executable).parent / "adal")
ARGS = ["--service", "ChatGPT", "--model", "GPT-4o", "--model-version", "2024-08-06", "--date", "2026-11-20",
        "--responsible", "А. Тестова", "--task", "тілдік түзету"]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADAL_")}
    env["ADAL_LANG"] = "en"
    env.update(extra)
    return env


def _run(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([ADAL, *args], cwd=cwd, env=_env(**env), capture_output=True, text=True, timeout=180)


def _inspect(path: Path) -> dict[str, object]:
    done = _run(path.parent, "inspect", "--json", path.name)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _course(root: Path) -> Path:
    """A course folder: documents of every kind, pictures, and two broken files (early and late)."""
    course = root / "course"
    (course / "week1").mkdir(parents=True)
    (course / "week2").mkdir()
    for number in range(4):
        (course / "week1" / f"lecture{number}.pdf").write_bytes(sample_pdf(pages=2, title=f"Lecture {number}"))
        make_docx(course / "week2" / f"essay{number}.docx")
        Image.new("RGB", (160, 90), (40 * number, 90, 160)).save(course / "week1" / f"slide{number}.png")
    make_pptx(course / "week2" / "talk.pptx")
    make_xlsx(course / "marks.xlsx")
    (course / "a-broken.pdf").write_bytes(b"")
    (course / "week2" / "z-broken.docx").write_bytes(b"PK\x03\x04 a zip that is not one")
    return course


def _outputs(out: Path) -> list[Path]:
    return sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())


def test_jobs_give_the_same_outputs_summary_and_failures_as_one_process(tmp_path):
    _course(tmp_path)
    results = {}
    for jobs in ("1", "3"):
        (tmp_path / f"out{jobs}").mkdir()
        results[jobs] = _run(tmp_path, "stamp", *ARGS, "--jobs", jobs, "--out-dir", f"out{jobs}", "course")
    one, three = results["1"], results["3"]
    assert one.returncode == three.returncode == 1, "two files failed"
    assert one.stdout == three.stdout == "Stamped 14, skipped 0 (not a kind Adal stamps), failed 2.\n"
    failures = [line for line in three.stderr.splitlines() if line]
    assert failures == [line for line in one.stderr.splitlines() if line], "failures in input order"
    assert failures[0] == "FAILED: a-broken.pdf is empty (0 bytes)"
    assert failures[1].startswith("FAILED: z-broken.docx")
    assert _outputs(tmp_path / "out1") == _outputs(tmp_path / "out3")
    assert len(_outputs(tmp_path / "out3")) == 14
    for relative in _outputs(tmp_path / "out1"):  # read back in this process: 28 `adal inspect` runs are slow
        first, second = inspect_file(tmp_path / "out1" / relative), inspect_file(tmp_path / "out3" / relative)
        assert second.has_ai_provenance, relative
        assert asdict(second) == asdict(first), relative
        assert second.fields["ResponsibleContact"] == "А. Тестова"


def test_the_progress_bar_shows_with_jobs_on_a_terminal(tmp_path):
    _course(tmp_path)
    (tmp_path / "out").mkdir()
    controller, terminal = pty.openpty()
    try:
        process = subprocess.Popen([ADAL, "stamp", *ARGS, "--jobs", "2", "--out-dir", "out", "course"], cwd=tmp_path,
                                   env=_env(COLUMNS="100"), stdout=subprocess.PIPE, stderr=terminal, text=True)
        os.close(terminal)
        shown = b""
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # the terminal closed: the process is done with it
                break
            if not chunk:
                break
            shown += chunk
        stdout, _ = process.communicate(timeout=120)
    finally:
        os.close(controller)
    text = shown.decode()
    assert "Stamping" in text and "100%" in text, text
    assert "FAILED: a-broken.pdf is empty (0 bytes)" in text
    assert stdout == "Stamped 14, skipped 0 (not a kind Adal stamps), failed 2.\n"


def test_visible_band_needs_synthetic(tmp_path):
    Image.new("RGB", (200, 100)).save(tmp_path / "poster.png")
    done = _run(tmp_path, "stamp", *ARGS, "--visible-band", "poster.png")
    assert done.returncode == 2 and "--visible-band draws the synthetic-media label: add --synthetic." in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["poster.png"]


def test_visible_band_writes_a_labelled_copy_beside_the_output(tmp_path):
    Image.new("RGB", (300, 150), (10, 120, 200)).save(tmp_path / "poster.png")
    Image.new("RGB", (32, 32)).save(tmp_path / "icon.png")
    (tmp_path / "report.pdf").write_bytes(sample_pdf())
    done = _run(tmp_path, "stamp", *ARGS, "--synthetic", "--visible-band", "--lang", "en", "poster.png", "icon.png",
                "report.pdf")
    assert done.returncode == 1, "the tiny icon cannot take a readable band"
    assert "FAILED: icon.png is 32 px wide; a visible band needs at least 128 px" in done.stderr
    assert done.stdout.splitlines() == ["Stamped 2, skipped 0 (not a kind Adal stamps), failed 1.",
                                        "1 labelled copy with a visible band."]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "icon.png", "poster.ai-stamped.labelled.png", "poster.ai-stamped.png", "poster.png",
        "report.ai-stamped.pdf", "report.pdf"]
    labelled = tmp_path / "poster.ai-stamped.labelled.png"
    shown = json.loads(subprocess.run(["exiftool", "-j", "-G1", str(labelled)], capture_output=True, text=True,
                                      check=True).stdout)[0]
    assert shown["XMP-adal:SyntheticLabel"].startswith("SYNTHETIC IMAGE, made with AI: ChatGPT, GPT-4o 2024-08-06")
    assert shown["XMP-adal:Model"] == "GPT-4o"
    with Image.open(tmp_path / "poster.png") as source, Image.open(labelled) as copy, \
            Image.open(tmp_path / "poster.ai-stamped.png") as plain:
        assert copy.width == 300 and copy.height > 150
        assert copy.crop((0, 0, 300, 150)).tobytes() == source.tobytes()
        assert plain.tobytes() == source.tobytes(), "the metadata-only copy keeps every pixel"


def test_export_pdf_keeps_the_provenance(tmp_path):
    make_docx(tmp_path / "essay.docx")
    assert _run(tmp_path, "stamp", *ARGS, "essay.docx").returncode == 0
    done = _run(tmp_path, "export-pdf", "essay.ai-stamped.docx")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Wrote essay.ai-stamped.pdf with the AI provenance of essay.ai-stamped.docx.\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["essay.ai-stamped.docx", "essay.ai-stamped.pdf",
                                                          "essay.docx"]
    docx, pdf = _inspect(tmp_path / "essay.ai-stamped.docx"), _inspect(tmp_path / "essay.ai-stamped.pdf")
    assert pdf["kind"] == "pdf" and pdf["fields"] == docx["fields"] and len(pdf["fields"]) == 8
    read = subprocess.run(["exiftool", "-j", "-G1", "essay.ai-stamped.docx", "essay.ai-stamped.pdf"], cwd=tmp_path,
                          capture_output=True, text=True, check=True)
    docx_tags, pdf_tags = json.loads(read.stdout)
    for name, value in docx["fields"].items():
        assert docx_tags[f"XML:{name}"] == value
        assert pdf_tags[f"PDF:{name}"] == value and pdf_tags[f"XMP-adal:{name.replace('-', '')}"] == value
    text = subprocess.run(["pdftotext", "essay.ai-stamped.pdf", "-"], cwd=tmp_path, capture_output=True, text=True,
                          check=True).stdout
    assert docx["visible_label"] in " ".join(text.split())
    again = _run(tmp_path, "export-pdf", "essay.ai-stamped.docx", "-o", "copy.pdf")
    assert again.returncode == 0 and _inspect(tmp_path / "copy.pdf")["fields"] == docx["fields"]


def test_export_pdf_refuses_a_docx_without_provenance(tmp_path):
    make_docx(tmp_path / "plain.docx")
    done = _run(tmp_path, "export-pdf", "plain.docx")
    assert done.returncode == 1
    assert done.stderr.strip() == ("Error: plain.docx carries no complete Adal provenance to keep "
                                   "(no AI-Generated: Yes field); stamp it first with `adal stamp`.")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain.docx"]


def test_export_pdf_names_the_package_when_libreoffice_is_missing(tmp_path):
    make_docx(tmp_path / "essay.docx")
    assert _run(tmp_path, "stamp", *ARGS, "essay.docx").returncode == 0
    done = _run(tmp_path, "export-pdf", "essay.ai-stamped.docx", PATH=str(tmp_path / "empty-path"))
    assert done.returncode == 1
    assert "install the Debian package libreoffice-writer-nogui" in done.stderr
    assert not (tmp_path / "essay.ai-stamped.pdf").exists()
