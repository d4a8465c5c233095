"""DOCX → PDF with LibreOffice keeps Adal's provenance (S 6.3б): every field, read back by exiftool
and by our inspect, equals the DOCX's; the visible label is in the PDF's text."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from attribution.export import ConverterMissing, NoProvenance, default_pdf_output, export_pdf
from attribution.provenance import FIELD_NAMES, Provenance, StampError, UnsupportedFile, label_line
from attribution.stamping import inspect_file, stamp_file
from tests.unit.attribution.opc_samples import make_docx
from tests.unit.attribution.pdf_samples import sample_pdf

PROVENANCE = Provenance(service="ChatGPT", model="GPT-4o", model_version="1.50",
                        generation_date=dt.date(2026, 11, 20), responsible="Айгүл Сәрсенова",
                        tasks=("жоспар құру", "тілдік түзету; қысқарту"))


@pytest.fixture(scope="module", autouse=True)
def soffice() -> None:
    if shutil.which("soffice") is None:
        pytest.fail("LibreOffice is missing: apt-get install libreoffice-writer-nogui (scripts/setup --test does)")


@pytest.fixture(autouse=True)
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Temporary files (LibreOffice's profile too) go to a directory of their own, emptied after."""
    directory = tmp_path / "tmpdir"
    directory.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(directory))
    yield directory
    assert list(directory.iterdir()) == []


def stamped_docx(folder: Path, lang: str = "kk", name: str = "essay.docx") -> Path:
    plain = make_docx(folder / f"plain-{name}")
    dest = folder / name
    stamp_file(plain, dest, PROVENANCE, lang=lang)
    plain.unlink()
    return dest


def exiftool_json(path: Path) -> dict[str, object]:
    done = subprocess.run(["exiftool", "-j", "-G1", str(path)], capture_output=True, check=True)
    return json.loads(done.stdout, parse_float=str, parse_int=str)[0]


def pdf_text(path: Path) -> str:
    done = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True)
    return " ".join(done.stdout.decode().split())


def test_every_field_survives_the_export(tmp_path: Path) -> None:
    docx = stamped_docx(tmp_path)
    before = docx.read_bytes()
    pdf = tmp_path / "essay.pdf"
    returned = export_pdf(docx, pdf)
    assert docx.read_bytes() == before, "the DOCX is not changed"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["essay.docx", "essay.pdf", "tmpdir"]

    source, result = inspect_file(docx), inspect_file(pdf)
    assert source.fields == PROVENANCE.fields()
    assert result.fields == source.fields == returned.fields
    assert result.kind == "pdf" and result.has_ai_provenance
    assert (result.ai_system_used, result.ai_system_version_used) == ("GPT-4o", "1.50")

    # exiftool, independently: the DOCX's custom properties (XML:*) against the PDF's Info (PDF:*)
    # and XMP (XMP-adal:*), field by field
    docx_tags, pdf_tags = exiftool_json(docx), exiftool_json(pdf)
    for name in FIELD_NAMES:
        expected = docx_tags[f"XML:{name}"]
        assert pdf_tags[f"PDF:{name}"] == expected, name
        assert pdf_tags[f"XMP-adal:{name.replace('-', '')}"] == expected, name

    label = label_line(PROVENANCE, "kk")
    assert source.visible_label == label
    assert label in pdf_text(pdf), "the label line is converted with the text"
    assert result.visible_label == label


def test_the_label_language_is_kept(tmp_path: Path) -> None:
    docx = stamped_docx(tmp_path, lang="ru")
    result = export_pdf(docx, tmp_path / "essay.pdf")
    assert result.visible_label == label_line(PROVENANCE, "ru")
    assert label_line(PROVENANCE, "ru") in pdf_text(tmp_path / "essay.pdf")


def test_an_unstamped_docx_is_refused(tmp_path: Path) -> None:
    docx = make_docx(tmp_path / "plain.docx")
    with pytest.raises(NoProvenance, match="no AI-Generated: Yes") as refused:
        export_pdf(docx, tmp_path / "plain.pdf")
    assert refused.value.reason == "no AI-Generated: Yes field"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain.docx", "tmpdir"]


def test_only_docx_is_converted(tmp_path: Path) -> None:
    pdf = tmp_path / "a.pdf"
    pdf.write_bytes(sample_pdf())
    with pytest.raises(UnsupportedFile, match="export-pdf converts DOCX files"):
        export_pdf(pdf, tmp_path / "b.pdf")
    assert not (tmp_path / "b.pdf").exists()


def test_missing_libreoffice_names_the_package(tmp_path: Path) -> None:
    docx = stamped_docx(tmp_path)
    with pytest.raises(ConverterMissing, match="apt-get install libreoffice-writer-nogui"):
        export_pdf(docx, tmp_path / "essay.pdf", soffice=str(tmp_path / "no-soffice-here"))
    assert not (tmp_path / "essay.pdf").exists()


def test_a_hanging_converter_is_stopped_with_what_it_started(tmp_path: Path) -> None:
    """A stand-in for a LibreOffice that hangs (and, like soffice, starts another process)."""
    docx = stamped_docx(tmp_path)
    child_pid = tmp_path / "child.pid"
    hanging = tmp_path / "hanging-soffice"
    hanging.write_text(f"#!/bin/sh\nsleep 300 &\necho $! > '{child_pid}'\nwait\n")
    hanging.chmod(0o755)
    with pytest.raises(StampError, match="LibreOffice took more than 2 s; stopped"):
        export_pdf(docx, tmp_path / "essay.pdf", soffice=str(hanging), timeout=2)
    assert not (tmp_path / "essay.pdf").exists()
    pid = int(child_pid.read_text())
    status = Path(f"/proc/{pid}/status")
    alive = status.exists() and not re.search(r"^State:\s+Z", status.read_text(), re.MULTILINE)
    assert not alive, "the converter's own children are stopped too"


def test_concurrent_exports_do_not_collide(tmp_path: Path) -> None:
    docs = [stamped_docx(tmp_path, name=f"essay{number}.docx") for number in range(3)]
    errors: list[BaseException] = []

    def export(docx: Path) -> None:
        try:
            export_pdf(docx, default_pdf_output(docx))
        except BaseException as exc:  # reported below, in the test's own thread
            errors.append(exc)

    threads = [threading.Thread(target=export, args=(docx,)) for docx in docs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert errors == []
    for docx in docs:
        assert inspect_file(default_pdf_output(docx)).fields == PROVENANCE.fields()


def test_images_linked_by_url_are_not_fetched(tmp_path: Path) -> None:
    """LibreOffice would GET a linked image while converting: a document telling its author where
    and when it was opened, or reaching into the school's network. A loopback server counts."""
    requests: list[str] = []

    class Recorder(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append(self.path)
            self.send_error(404)

        def do_OPTIONS(self) -> None:
            requests.append(self.path)
            self.send_error(404)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        plain = make_docx(tmp_path / "plain.docx")  # it has one embedded picture: make it a link
        with zipfile.ZipFile(plain) as archive:
            members = {info.filename: archive.read(info) for info in archive.infolist()}
        rels = members["word/_rels/document.xml.rels"].decode()
        url = f"http://127.0.0.1:{server.server_address[1]}/tracker.png"
        rels, count = re.subn(r'Target="media/([^"]+)"', f'Target="{url}" TargetMode="External"', rels)
        assert count == 1
        members["word/_rels/document.xml.rels"] = rels.encode()
        members["word/document.xml"] = members["word/document.xml"].replace(b"r:embed=", b"r:link=")
        linked = tmp_path / "linked.docx"
        with zipfile.ZipFile(linked, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in members.items():
                archive.writestr(name, data)
        stamped = tmp_path / "stamped.docx"
        stamp_file(linked, stamped, PROVENANCE)
        result = export_pdf(stamped, tmp_path / "stamped.pdf")
    finally:
        server.shutdown()
        server.server_close()
    assert result.fields == PROVENANCE.fields()
    assert requests == []


def test_the_original_is_never_the_output(tmp_path: Path) -> None:
    docx = stamped_docx(tmp_path)
    with pytest.raises(StampError, match="overwrite the original"):
        export_pdf(docx, docx)
    link = tmp_path / "same.pdf"
    os.link(docx, link)
    with pytest.raises(StampError, match="overwrite the original"):
        export_pdf(docx, link)


def test_default_output() -> None:
    assert default_pdf_output(Path("w/essay.ai-stamped.docx")) == Path("w/essay.ai-stamped.pdf")
    assert default_pdf_output(Path("scan")) == Path("scan.pdf")
