"""Stamping and reading AI provenance in DOCX, PPTX and XLSX (attribution/opc.py), on samples the
tests generate (opc_samples.py) and check with python-docx, python-pptx, openpyxl and exiftool."""

from __future__ import annotations

import hashlib
import json
import re
import struct
import subprocess
import zipfile
from datetime import date
from pathlib import Path

import docx
import openpyxl
import pptx
import pytest
from lxml import etree

from attribution import opc
from attribution.opc import inspect_opc, main_part_kind, stamp_opc
from attribution.provenance import (
    LANGUAGES,
    Limits,
    Provenance,
    StampError,
    UnsupportedFile,
    ai_use_slide,
    atomic_output,
    label_line,
    sniff,
)
from tests.unit.attribution import opc_samples
from tests.unit.attribution.opc_samples import (
    AUTHOR,
    DOC_TITLE,
    KEYWORDS,
    MAKERS,
    make_docx,
    make_pptx,
    make_xlsx,
    read_members,
    zip_bytes,
)

KINDS = ("docx", "pptx", "xlsx")
LIMITS = Limits()
PROVENANCE = Provenance(
    service="ChatGPT", model="GPT-4o", model_version="2024-08-06", generation_date=date(2025, 3, 14),
    responsible="Дана Ержанқызы (d.yerzhankyzy@school.kz)", tasks=("құрылымды жоспарлау", "грамматиканы тексеру"))
OTHER = Provenance(service="Claude", model="Claude Sonnet", model_version="4.5", generation_date=date(2025, 9, 1))
# What a stamp may rewrite or add in each generated sample; every other member must be copied raw.
CHANGED = {
    "docx": {"docProps/core.xml", "docProps/custom.xml", "word/document.xml"},
    "pptx": {"docProps/core.xml", "docProps/custom.xml", "ppt/presentation.xml", "ppt/_rels/presentation.xml.rels",
             "[Content_Types].xml"},
    "xlsx": {"docProps/core.xml", "docProps/custom.xml", "xl/worksheets/sheet1.xml", "xl/worksheets/sheet2.xml",
             "xl/worksheets/sheet3.xml"},
}
ADDED = {"docx": set(), "pptx": {"ppt/slides/slide4.xml", "ppt/slides/_rels/slide4.xml.rels"}, "xlsx": set()}


def stamp(src: Path, dest: Path, provenance: Provenance = PROVENANCE, lang: str = "kk",
          limits: Limits = LIMITS) -> Path:
    with atomic_output(dest) as out:
        stamp_opc(src, out, provenance, lang, limits)
    return dest


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def raw_bytes(path: Path, info: zipfile.ZipInfo) -> bytes:
    """A member's stored (compressed) bytes, read past its local header."""
    with open(path, "rb") as handle:
        handle.seek(info.header_offset)
        name_length, extra_length = struct.unpack("<2H", handle.read(30)[26:30])
        handle.seek(info.header_offset + 30 + name_length + extra_length)
        return handle.read(info.compress_size)


def label_paragraphs(path: Path) -> list[str]:
    prefixes = tuple(label_line(OTHER, lang).split(OTHER.service)[0] for lang in LANGUAGES)
    return [p.text for p in docx.Document(str(path)).paragraphs if p.text.startswith(prefixes)]


def slide_texts(slide: pptx.slide.Slide) -> list[str]:
    return [shape.text_frame.text for shape in slide.shapes if shape.has_text_frame]


def table_rows(slide: pptx.slide.Slide) -> list[tuple[str, str]]:
    tables = [shape.table for shape in slide.shapes if shape.has_table]
    assert len(tables) == 1
    return [(row.cells[0].text, row.cells[1].text) for row in tables[0].rows]


def cell_values(path: Path) -> dict[str, list[list[object]]]:
    workbook = openpyxl.load_workbook(path)
    return {sheet.title: [[cell.value for cell in row] for row in sheet.iter_rows()] for sheet in workbook}


def custom_properties(path: Path) -> list[tuple[str, str, str]]:
    """(fmtid, pid, name) of each custom property."""
    root = etree.fromstring(read_members(path.read_bytes())["docProps/custom.xml"])
    return [(p.get("fmtid"), p.get("pid"), p.get("name")) for p in root.iter(f"{{{opc.CUSTOM_NS}}}property")]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("opc")


@pytest.fixture(scope="module")
def sources(workdir: Path) -> dict[str, Path]:
    return {kind: maker(workdir / f"sample.{kind}") for kind, maker in MAKERS.items()}


@pytest.fixture(scope="module")
def source_hashes(sources: dict[str, Path]) -> dict[str, str]:
    return {kind: sha256(path) for kind, path in sources.items()}


@pytest.fixture(scope="module")
def stamped(workdir: Path, sources: dict[str, Path], source_hashes: dict[str, str]) -> dict[tuple[str, str], Path]:
    return {(kind, lang): stamp(sources[kind], workdir / f"stamped-{lang}.{kind}", lang=lang)
            for kind in KINDS for lang in LANGUAGES}


@pytest.fixture(scope="module")
def bare_docx(workdir: Path) -> Path:
    """A DOCX with neither custom nor core properties (no parts, relationships or overrides)."""
    members = read_members(make_docx(workdir / "bare-source.docx").read_bytes())
    for name in ("docProps/custom.xml", "docProps/core.xml"):
        del members[name]
    members["_rels/.rels"] = re.sub(rb'<Relationship [^>]*(core-properties|custom-properties)"[^>]*/>', b"",
                                    members["_rels/.rels"])
    members["[Content_Types].xml"] = re.sub(rb'<Override PartName="/docProps/(core|custom).xml"[^>]*/>', b"",
                                            members["[Content_Types].xml"])
    path = workdir / "bare.docx"
    path.write_bytes(zip_bytes(members))
    return path


@pytest.fixture(scope="module")
def exif(stamped: dict[tuple[str, str], Path], bare_docx: Path, workdir: Path) -> dict[str, dict[str, object]]:
    """exiftool's reading of the kk outputs and of the stamped bare DOCX, in one run."""
    bare = stamp(bare_docx, workdir / "bare-stamped.docx")
    paths = {kind: stamped[kind, "kk"] for kind in KINDS} | {"bare": bare}
    result = subprocess.run(["exiftool", "-j", "-G1", *map(str, paths.values())], capture_output=True, text=True,
                            check=True, timeout=60)
    by_file = {Path(entry["SourceFile"]).name: entry for entry in json.loads(result.stdout)}
    return {kind: by_file[path.name] for kind, path in paths.items()}


# -- reading back ---------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_main_part_kind_reads_the_package(kind: str, sources: dict[str, Path]) -> None:
    assert main_part_kind(sources[kind]) == kind
    assert main_part_kind(sources[kind], Limits()) == kind
    assert sniff(sources[kind]) == kind


@pytest.mark.parametrize("kind", KINDS)
def test_inspect_reads_every_field_back(kind: str, stamped: dict[tuple[str, str], Path]) -> None:
    report = inspect_opc(stamped[kind, "kk"], LIMITS)
    assert report.kind == kind
    assert report.fields == PROVENANCE.fields()
    assert list(report.fields) == ["CreatorTool", "AI-Generated", "Service", "Model", "ModelVersion",
                                   "GenerationDate", "ResponsibleContact", "Tasks"]
    assert report.has_ai_provenance
    assert report.c2pa_manifest is False
    if kind == "pptx":
        assert report.visible_label.startswith("ЖИ қолдану: Құрал: ChatGPT; Модель: GPT-4o 2024-08-06; ")
        assert "Тапсырмалар: құрылымды жоспарлау; грамматиканы тексеру" in report.visible_label
        assert "«ЖИ қолдану» slide: slide 4 of 4" in report.notes
    else:
        assert report.visible_label == label_line(PROVENANCE, "kk")
    assert (f"keywords: {KEYWORDS}; AI-Generated; AI-Service: ChatGPT; AI-Model: GPT-4o 2024-08-06"
            in report.notes)


@pytest.mark.parametrize("kind", KINDS)
def test_inspect_of_an_unstamped_file_finds_nothing(kind: str, sources: dict[str, Path]) -> None:
    report = inspect_opc(sources[kind], LIMITS)
    assert report.kind == kind
    assert report.fields == {}
    assert report.visible_label is None
    assert not report.has_ai_provenance
    assert report.notes == [f"keywords: {KEYWORDS}"]


@pytest.mark.parametrize("kind", KINDS)
def test_exiftool_shows_the_properties_and_keywords(kind: str, exif: dict[str, dict[str, object]]) -> None:
    tags = exif[kind]
    for name, value in PROVENANCE.fields().items():
        assert str(tags[f"XML:{name}"]) == value, name
    assert tags["XML:AI-Generated"] == "Yes"
    assert tags["XML:Course"] == "Қазақстан тарихы 101"  # the existing custom property is kept
    assert tags["XML:Keywords"] == f"{KEYWORDS}; AI-Generated; AI-Service: ChatGPT; AI-Model: GPT-4o 2024-08-06"
    assert tags["XMP-dc:Creator"] == f"{AUTHOR}; {PROVENANCE.responsible}"
    assert tags["File:FileType"] == kind.upper()


# -- the visible label ----------------------------------------------------------------------------
def test_docx_label_goes_under_the_title(stamped: dict[tuple[str, str], Path], sources: dict[str, Path]) -> None:
    before = [p.text for p in docx.Document(str(sources["docx"])).paragraphs]
    document = docx.Document(str(stamped["docx", "kk"]))
    after = [p.text for p in document.paragraphs]
    assert after[0] == DOC_TITLE
    assert document.paragraphs[0].style.name == "Title"
    assert after[1] == label_line(PROVENANCE, "kk")
    assert after[:1] + after[2:] == before  # every original paragraph, in order
    assert len(document.inline_shapes) == 1
    assert document.core_properties.title == DOC_TITLE
    assert document.core_properties.author == f"{AUTHOR}; {PROVENANCE.responsible}"


def test_pptx_gets_the_ai_use_slide_at_the_end(stamped: dict[tuple[str, str], Path],
                                               sources: dict[str, Path]) -> None:
    before = pptx.Presentation(str(sources["pptx"]))
    after = pptx.Presentation(str(stamped["pptx", "kk"]))
    assert len(after.slides) == len(before.slides) + 1
    for old, new in zip(before.slides, after.slides, strict=False):
        assert slide_texts(new) == slide_texts(old)
    last = after.slides[-1]
    expected = ai_use_slide(PROVENANCE, "kk")
    assert last.shapes.title.text == "ЖИ қолдану" == expected.title
    assert table_rows(last) == list(expected.rows)
    assert table_rows(last)[0] == ("Құрал", "ChatGPT")
    assert last.slide_layout.name == "Title Only"


def test_xlsx_label_is_in_every_sheet_header(stamped: dict[tuple[str, str], Path], sources: dict[str, Path]) -> None:
    workbook = openpyxl.load_workbook(stamped["xlsx", "kk"])
    label = label_line(PROVENANCE, "kk")
    for sheet in workbook:
        assert sheet.oddHeader.center.text == label
        assert sheet.oddHeader.center.size == 8
    first = workbook["Бағалар"]
    assert first.oddHeader.left.text == "Мектеп №7 && лицей"  # the existing header, & still escaped
    assert first.oddHeader.right.text == "Бет &P"
    assert cell_values(stamped["xlsx", "kk"]) == cell_values(sources["xlsx"])
    assert list(opc_samples.XLSX_SHEETS) == workbook.sheetnames


@pytest.mark.parametrize("lang", ["ru", "en"])
@pytest.mark.parametrize("kind", KINDS)
def test_labels_in_russian_and_english(kind: str, lang: str, stamped: dict[tuple[str, str], Path]) -> None:
    path = stamped[kind, lang]
    report = inspect_opc(path, LIMITS)
    assert report.fields == PROVENANCE.fields()
    if kind == "docx":
        assert docx.Document(str(path)).paragraphs[1].text == label_line(PROVENANCE, lang)
        assert report.visible_label == label_line(PROVENANCE, lang)
    elif kind == "pptx":
        last = pptx.Presentation(str(path)).slides[-1]
        expected = ai_use_slide(PROVENANCE, lang)
        assert last.shapes.title.text == expected.title == {"ru": "Использование ИИ", "en": "Use of AI"}[lang]
        assert table_rows(last) == list(expected.rows)
        assert report.visible_label.startswith(f"{expected.title}: {expected.rows[0][0]}: ChatGPT")
    else:
        for sheet in openpyxl.load_workbook(path):
            assert sheet.oddHeader.center.text == label_line(PROVENANCE, lang)
        assert report.visible_label == label_line(PROVENANCE, lang)


# -- what is kept ---------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_unchanged_members_are_copied_raw(kind: str, stamped: dict[tuple[str, str], Path],
                                          sources: dict[str, Path]) -> None:
    source, output = sources[kind], stamped[kind, "kk"]
    with zipfile.ZipFile(source) as before, zipfile.ZipFile(output) as after:
        assert after.testzip() is None  # every CRC matches
        old = {info.filename: info for info in before.infolist()}
        new = {info.filename: info for info in after.infolist()}
        assert set(new) - set(old) == ADDED[kind]
        assert set(old) <= set(new)
        changed = set()
        for name, info in old.items():
            if raw_bytes(source, info) != raw_bytes(output, new[name]):
                changed.add(name)
                continue
            copy = new[name]
            assert (copy.compress_type, copy.CRC, copy.compress_size, copy.file_size) == (
                info.compress_type, info.CRC, info.compress_size, info.file_size), name
        assert changed == CHANGED[kind]
        assert [info.filename for info in after.infolist()][: len(old)] == list(old)  # same order


@pytest.mark.parametrize("kind", KINDS)
def test_custom_properties_keep_the_existing_ones(kind: str, stamped: dict[tuple[str, str], Path]) -> None:
    properties = custom_properties(stamped[kind, "kk"])
    fmtid = "{D5CDD505-2E9C-101B-9397-08002B2CF9AE}"
    names = [name for _, _, name in properties]
    assert names[0] == "Course"
    assert names[-8:] == list(PROVENANCE.fields())
    pids = [int(pid) for _, pid, _ in properties]
    assert len(set(pids)) == len(pids) and min(pids) >= 2
    assert all(f == fmtid for f, _, name in properties if name in PROVENANCE.fields())


def test_source_files_are_never_modified(stamped: dict[tuple[str, str], Path], sources: dict[str, Path],
                                         source_hashes: dict[str, str]) -> None:
    assert len(stamped) == 9
    assert {kind: sha256(path) for kind, path in sources.items()} == source_hashes


@pytest.mark.parametrize("kind", KINDS)
def test_stamping_twice_changes_nothing(kind: str, stamped: dict[tuple[str, str], Path], workdir: Path) -> None:
    once = stamped[kind, "kk"]
    twice = stamp(once, workdir / f"twice.{kind}")
    assert twice.read_bytes() == once.read_bytes()
    assert inspect_opc(twice, LIMITS).fields == PROVENANCE.fields()


@pytest.mark.parametrize("kind", KINDS)
def test_restamping_replaces_the_earlier_stamp(kind: str, stamped: dict[tuple[str, str], Path],
                                               workdir: Path) -> None:
    again = stamp(stamped[kind, "kk"], workdir / f"restamped.{kind}", OTHER, "en")
    report = inspect_opc(again, LIMITS)
    assert report.fields == OTHER.fields()  # ResponsibleContact and Tasks of the first stamp are gone
    names = [name for _, _, name in custom_properties(again)]
    existing = ["Course"] if kind == "xlsx" else ["Course", "Reviewed"]
    assert names == [*existing, *OTHER.fields()]
    keywords = next(note for note in report.notes if note.startswith("keywords: "))
    assert keywords == f"keywords: {KEYWORDS}; AI-Generated; AI-Service: Claude; AI-Model: Claude Sonnet 4.5"
    if kind == "docx":
        assert label_paragraphs(again) == [label_line(OTHER, "en")]
        assert docx.Document(str(again)).paragraphs[1].text == label_line(OTHER, "en")
    elif kind == "pptx":
        slides = pptx.Presentation(str(again)).slides
        assert len(slides) == 4
        assert [slide.shapes.title.text for slide in slides][-1] == "Use of AI"
        assert table_rows(slides[-1])[1] == ("Model", "Claude Sonnet 4.5")
    else:
        for sheet in openpyxl.load_workbook(again):
            assert sheet.oddHeader.center.text == label_line(OTHER, "en")


# -- other shapes of documents --------------------------------------------------------------------
def test_docx_opening_with_a_heading_gets_the_label_under_it(workdir: Path) -> None:
    members = read_members(make_docx(workdir / "heading-source.docx").read_bytes())
    members["word/document.xml"] = members["word/document.xml"].replace(b'w:val="Title"', b'w:val="Heading1"')
    source = workdir / "heading.docx"
    source.write_bytes(zip_bytes(members))
    paragraphs = [p.text for p in docx.Document(str(stamp(source, workdir / "heading-out.docx"))).paragraphs]
    assert paragraphs[:2] == [DOC_TITLE, label_line(PROVENANCE, "kk")]


def test_docx_without_a_title_gets_the_label_first(workdir: Path) -> None:
    source = make_docx(workdir / "untitled.docx", title=False)
    paragraphs = [p.text for p in docx.Document(str(stamp(source, workdir / "untitled-out.docx"))).paragraphs]
    assert paragraphs[0] == label_line(PROVENANCE, "kk")
    assert paragraphs[1] == opc_samples.DOCX_PARAGRAPHS[0]


def test_docx_label_goes_after_title_and_subtitle(workdir: Path) -> None:
    source = make_docx(workdir / "subtitled.docx", subtitle=True)
    paragraphs = [p.text for p in docx.Document(str(stamp(source, workdir / "subtitled-out.docx"))).paragraphs]
    assert paragraphs[:3] == [DOC_TITLE, "Реферат", label_line(PROVENANCE, "kk")]


def test_docx_without_properties_parts_gets_them(bare_docx: Path, workdir: Path,
                                                 exif: dict[str, dict[str, object]]) -> None:
    output = workdir / "bare-stamped.docx"
    members = read_members(output.read_bytes())
    assert b"/docProps/custom.xml" in members["[Content_Types].xml"]
    assert b"/docProps/core.xml" in members["[Content_Types].xml"]
    assert b'Target="docProps/custom.xml"' in members["_rels/.rels"]
    assert b'Target="docProps/core.xml"' in members["_rels/.rels"]
    document = docx.Document(str(output))
    assert document.core_properties.keywords == "AI-Generated; AI-Service: ChatGPT; AI-Model: GPT-4o 2024-08-06"
    assert document.core_properties.author == PROVENANCE.responsible
    assert inspect_opc(output, LIMITS).fields == PROVENANCE.fields()
    assert exif["bare"]["XML:AI-Generated"] == "Yes"
    assert exif["bare"]["XML:Tasks"] == "құрылымды жоспарлау; грамматиканы тексеру"
    assert [int(pid) for _, pid, _ in custom_properties(output)] == list(range(2, 10))


def test_pptx_without_slides_gets_its_first_slide(workdir: Path) -> None:
    output = stamp(make_pptx(workdir / "empty.pptx", slides=False), workdir / "empty-out.pptx")
    slides = pptx.Presentation(str(output)).slides
    assert len(slides) == 1
    assert slides[0].shapes.title.text == "ЖИ қолдану"
    assert inspect_opc(output, LIMITS).notes[0] == "«ЖИ қолдану» slide: slide 1 of 1"


def test_xlsx_header_codes_and_ampersands(workdir: Path) -> None:
    header = '&L&"Arial,Bold"Мектеп &&7&C&D&RБет &P из &N'
    source = make_xlsx(workdir / "codes.xlsx", header=header, different_first=True)
    provenance = Provenance(service="R&D Көмекші", model="Qwen", model_version="2.5", generation_date=date(2025, 1, 2))
    output = stamp(source, workdir / "codes-out.xlsx", provenance)
    xml = read_members(output.read_bytes())["xl/worksheets/sheet1.xml"].decode()
    label = label_line(provenance, "kk")
    expected = '&L&"Arial,Bold"Мектеп &&7&C&D\n&"-,Italic"&8' + label.replace("&", "&&") + "&RБет &P из &N"
    assert f"<oddHeader>{expected.replace('&', '&amp;')}</oddHeader>" in xml
    workbook = openpyxl.load_workbook(output)
    second = workbook["Сабақтар"]
    assert second.HeaderFooter.differentFirst
    assert second.firstHeader.center.text.startswith("Бірінші бет\n")  # what was there stays first
    assert second.firstHeader.center.text.endswith(label.replace("&", "&&"))
    assert inspect_opc(output, LIMITS).visible_label == label
    assert stamp(output, workdir / "codes-twice.xlsx", provenance).read_bytes() == output.read_bytes()


def test_xlsx_header_over_excels_limit_is_refused(workdir: Path) -> None:
    source = make_xlsx(workdir / "long-header.xlsx", header="&L" + "ұзын " * 30)
    dest = workdir / "long-header-out.xlsx"
    with pytest.raises(UnsupportedFile, match=r"over Excel's limit of 255"):
        stamp(source, dest)
    assert not dest.exists()
    assert not list(workdir.glob(".long-header-out.xlsx.*"))


def test_c2pa_part_is_reported(workdir: Path) -> None:
    members = read_members(make_docx(workdir / "c2pa-source.docx").read_bytes())
    members["[Content_Types].xml"] = members["[Content_Types].xml"].replace(
        b"</Types>", b'<Default Extension="c2pa" ContentType="application/c2pa"/></Types>')
    members["c2pa/manifest.c2pa"] = b"\x00\x01jumb"
    source = workdir / "c2pa.docx"
    source.write_bytes(zip_bytes(members))
    report = inspect_opc(stamp(source, workdir / "c2pa-out.docx"), LIMITS)
    assert report.c2pa_manifest is True
    assert "C2PA manifest part present (not verified): c2pa/manifest.c2pa" in report.notes
    assert read_members((workdir / "c2pa-out.docx").read_bytes())["c2pa/manifest.c2pa"] == b"\x00\x01jumb"


def test_zip64_records_are_written_when_needed(workdir: Path, sources: dict[str, Path],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(opc, "_ZIP64_LIMIT", 1)  # as if every size and offset were over 4 GiB
    output = stamp(sources["docx"], workdir / "zip64.docx")
    with zipfile.ZipFile(output) as archive:
        assert archive.testzip() is None
    assert b"PK\x06\x06" in output.read_bytes()
    monkeypatch.undo()
    assert docx.Document(str(output)).paragraphs[1].text == label_line(PROVENANCE, "kk")
    assert inspect_opc(output, LIMITS).fields == PROVENANCE.fields()


def test_bad_arguments_are_refused(sources: dict[str, Path], workdir: Path) -> None:
    with pytest.raises(StampError, match="--lang must be one of kk, ru, en"):
        stamp(sources["docx"], workdir / "bad-lang.docx", lang="de")
    bell = Provenance(service="ChatGPT", model="GPT-4o", model_version="1", generation_date=date(2025, 1, 1),
                      responsible="Дана\x07")
    with pytest.raises(StampError, match="control character"):
        stamp(sources["docx"], workdir / "bell.docx", bell)
    assert not (workdir / "bad-lang.docx").exists() and not (workdir / "bell.docx").exists()
