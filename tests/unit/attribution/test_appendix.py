"""The disclosed copy: statement, drafts link and C.2 table appended to a DOCX, PDF or PPTX, the
AI provenance stamped, the original untouched, and nothing left behind on a refusal."""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
import subprocess
import time
import zipfile
from datetime import date
from pathlib import Path

import docx
import pptx
import pytest
from docx.enum.style import WD_STYLE_TYPE
from lxml import etree
from pypdf import PdfReader, PdfWriter

from attribution.appendix import NO_VERSION, NoCopyForKind, make_disclosed_copy
from attribution.provenance import Limits, StampError
from attribution.stamping import inspect_file
from attribution.statements import (
    HEADINGS,
    Disclosure,
    UseRow,
    checked_sentence,
    sentence_74,
    short_attribution,
    table_rows,
)
from tests.unit.attribution.opc_samples import (
    DOCX_PARAGRAPHS,
    PPTX_SLIDES,
    make_docx,
    make_pptx,
    make_xlsx,
    noise,
    tiny_png,
)
from tests.unit.attribution.pdf_samples import Builder, encrypted, sample_pdf

AUTHOR = "Дана Ерланқызы"
DRAFTS = "https://drafts.example.org/essay/history?rev=3&view=all"
SCRIPT = "<script>alert(1)</script> & <b>қалың</b>"
DISCLOSURE = Disclosure(
    ai_used=True,
    tasks=("ideas", "language", "other"),
    service="ChatGPT",
    model="GPT-4o",
    model_version="2024-08-06",
    dates=(date(2025, 3, 4), date(2025, 3, 1)),
    other_text="дереккөздер тізімін ресімдеу",
    rows=(
        UseRow("Идеялар", "Қазақ хандығы туралы эссе жоспарын ұсын", "1. Кіріспе 2. Құрылуы 3. Қасым хан",
               "Жоспарды өзгертіп, Әбілқайыр хандығын қостым", "https://drafts.example.org/essay#plan"),
        UseRow("Тілдік түзету", SCRIPT, "Өңделген мәтін: «Ғұмыр, Үміт, Һижра, Іңкәр, Өнер»", "Қабылдадым",
               "2-бет, 3-абзац"),
    ),
    checked=True,
)
NO_AI = Disclosure(ai_used=False, rows=DISCLOSURE.rows)
KAZAKH_10K = ("Қазақ хандығы 1465 жылы Керей мен Жәнібек сұлтандардың басшылығымен құрылды; ол Әбілқайыр "
              "хандығындағы дағдарыстан кейін күшейді. Үйсін, Қоңырат, Арғын руларының өкілдері "
              "жиналып, Қасым ханның қасқа жолын қабылдады. ") * 50
KAZAKH_10K = KAZAKH_10K[:10_000]
LONG = Disclosure(ai_used=True, tasks=("ideas",), service="Gemini", model="1.5 Pro", model_version="002",
                  dates=(date(2025, 2, 10),), rows=(UseRow("Идеялар", KAZAKH_10K, KAZAKH_10K[::-1], "Қысқарттым"),),
                  checked=True)


# -- helpers ---------------------------------------------------------------------------------------
def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def flat(text: str) -> str:
    return " ".join(text.split())


def sentences(disclosure: Disclosure, lang: str) -> list[str]:
    found = [short_attribution(disclosure, lang), sentence_74(disclosure, lang), checked_sentence(disclosure, lang)]
    return [s for s in found if s]


def make_pdf(path: Path) -> Path:
    path.write_bytes(sample_pdf(pages=2, title="Kazakh Khanate essay"))
    return path


MAKERS = {"docx": make_docx, "pdf": make_pdf, "pptx": make_pptx}


def original(tmp_path: Path, kind: str, name: str = "essay") -> Path:
    folder = tmp_path / "in"
    folder.mkdir(exist_ok=True)
    return MAKERS[kind](folder / f"{name}.{kind}")


def copy(tmp_path: Path, src: Path, disclosure: Disclosure = DISCLOSURE, *, lang: str = "kk",
         drafts_url: str | None = DRAFTS, **kwargs: object) -> Path:
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    dest = out / f"copy{src.suffix}"
    before = sha256(src)
    kind = make_disclosed_copy(src, dest, disclosure, lang=lang, author=AUTHOR, drafts_url=drafts_url, **kwargs)
    assert kind == src.suffix[1:]
    assert sha256(src) == before  # the original is only read
    assert [p.name for p in out.iterdir()] == [dest.name]  # no temporary file or folder left beside it
    return dest


def docx_texts(path: Path) -> tuple[list[str], list[list[list[str]]], list[str]]:
    document = docx.Document(str(path))
    paragraphs = [p.text for p in document.paragraphs]
    tables = [[[cell.text for cell in row.cells] for row in table.rows] for table in document.tables]
    links = [link.address for p in document.paragraphs for link in p.hyperlinks]
    links += [link.address for t in document.tables for row in t.rows for cell in row.cells
              for p in cell.paragraphs for link in p.hyperlinks]
    return paragraphs, tables, links


def pdftotext(path: Path) -> str:
    result = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True,
                            timeout=60)
    return result.stdout.decode()


def pdf_columns(path: Path, header: tuple[str, ...]) -> list[str]:
    """The text of each body column of the C.2 table, whitespace removed, in reading order over all
    the pages it runs to (the repeated header row left out). Columns are found from the header
    row's words (poppler's word boxes), so that text wrapped inside narrow cells is compared as a
    whole and never mixed with the next column."""
    result = subprocess.run(["pdftotext", "-bbox", "-enc", "UTF-8", str(path), "-"], capture_output=True,
                            check=True, timeout=60)
    root = etree.fromstring(result.stdout, etree.XMLParser(recover=True))
    namespace = "{http://www.w3.org/1999/xhtml}"
    pages = [[(float(w.get("xMin")), float(w.get("yMin")), w.text or "") for w in page.iter(f"{namespace}word")]
             for page in root.iter(f"{namespace}page")]
    first_words = [text.split()[0] for text in header]
    headers = [re.sub(r"\s+", "", text) for text in header]
    columns = [""] * len(header)
    found = False
    for words in pages:
        row = None
        for top in (y for x, y, text in words if text == first_words[0]):
            line = {text: x for x, y, text in words if abs(y - top) < 1}
            if all(word in line for word in first_words):
                row = top, [line[word] - 1 for word in first_words]
                break
        if row is None:
            continue
        found = True
        top, starts = row
        page_columns = [""] * len(header)
        for x, y, text in sorted(words, key=lambda w: (round(w[1]), w[0])):
            index = max((i for i, start in enumerate(starts) if x >= start), default=None)
            if y >= top and index is not None:
                page_columns[index] += text
        for index, text in enumerate(page_columns):
            assert text.startswith(headers[index])
            columns[index] += text[len(headers[index]):]
    assert found, "no C.2 table header found in the PDF"
    return columns


def pdf_links(path: Path) -> list[str]:
    links = []
    for page in PdfReader(path).pages:
        for annot in page.get("/Annots") or []:
            action = annot.get_object().get("/A")
            if action is not None and "/URI" in action:
                links.append(str(action["/URI"]))
    return links


def slides(path: Path) -> list[tuple[str, list[str], list[list[list[str]]], list[str]]]:
    """Per slide: title, other texts, tables (as cell texts), hyperlink addresses."""
    out = []
    for slide in pptx.Presentation(str(path)).slides:
        title = slide.shapes.title.text_frame.text if slide.shapes.title is not None else ""
        texts, tables, links = [], [], []
        for shape in slide.shapes:
            frames = []
            if shape.has_text_frame and shape != slide.shapes.title:
                texts.append(shape.text_frame.text)
                frames.append(shape.text_frame)
            if shape.has_table:
                tables.append([[cell.text_frame.text for cell in row.cells] for row in shape.table.rows])
                frames += [cell.text_frame for row in shape.table.rows for cell in row.cells]
            links += [run.hyperlink.address for frame in frames for p in frame.paragraphs for run in p.runs
                      if run.hyperlink.address]
        out.append((title, texts, tables, links))
    return out


def exiftool(path: Path) -> dict[str, object]:
    if shutil.which("exiftool") is None:  # a missing tool fails the run (scripts/setup installs it)
        pytest.fail("exiftool is missing: apt-get install libimage-exiftool-perl (scripts/setup does)")
    result = subprocess.run(["exiftool", "-j", "-G1", str(path)], capture_output=True, check=True, timeout=30)
    return json.loads(result.stdout)[0]


@pytest.fixture(autouse=True)
def _require_pdftotext() -> None:
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext is missing: apt-get install poppler-utils (scripts/setup --test does)")


# -- DOCX ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_docx_copy_ends_with_the_statement_the_link_and_the_table(tmp_path: Path, lang: str) -> None:
    dest = copy(tmp_path, original(tmp_path, "docx"), lang=lang)
    paragraphs, tables, links = docx_texts(dest)
    document = docx.Document(str(dest))

    for text in DOCX_PARAGRAPHS:  # the student's own content is all there, in its order
        assert text in paragraphs
    assert [paragraphs.index(t) for t in DOCX_PARAGRAPHS] == sorted(paragraphs.index(t) for t in DOCX_PARAGRAPHS)
    start = paragraphs.index(HEADINGS["statement"][lang])
    assert start > paragraphs.index(DOCX_PARAGRAPHS[-1])
    heading = document.paragraphs[start]
    assert heading.style.name == "Heading 1"
    assert heading.paragraph_format.page_break_before is True
    assert paragraphs[start + 1:start + 4] == sentences(DISCLOSURE, lang)
    assert paragraphs[start + 4] == HEADINGS["drafts"][lang]
    assert paragraphs[start + 5] == DRAFTS
    assert paragraphs[start + 6] == HEADINGS["table"][lang]
    assert DRAFTS in links and "https://drafts.example.org/essay#plan" in links

    assert tables[-1] == [list(row) for row in table_rows(DISCLOSURE, lang)]
    header = document.tables[-1].rows[0]
    assert all(run.bold for cell in header.cells for run in cell.paragraphs[0].runs)
    assert header._tr.trPr is not None and header._tr.trPr.find(docx.oxml.ns.qn("w:tblHeader")) is not None
    assert not any(run.bold for cell in document.tables[-1].rows[1].cells for run in cell.paragraphs[0].runs)
    language = document.paragraphs[start + 1].runs[0]._r.rPr.find(docx.oxml.ns.qn("w:lang"))
    assert language.get(docx.oxml.ns.qn("w:val")) == {"kk": "kk-KZ", "ru": "ru-RU"}[lang]


def test_docx_without_heading_styles_gets_bold_headings(tmp_path: Path) -> None:
    src = original(tmp_path, "docx")
    document = docx.Document(str(src))
    for style in list(document.styles):
        if style.type == WD_STYLE_TYPE.PARAGRAPH and style.name.startswith("Heading"):
            style.element.getparent().remove(style.element)
    for style in list(document.styles):  # and no Table Grid either: borders are drawn by hand
        if style.name == "Table Grid":
            style.element.getparent().remove(style.element)
    document.save(str(src))

    dest = copy(tmp_path, src)
    result = docx.Document(str(dest))
    heading = next(p for p in result.paragraphs if p.text == HEADINGS["statement"]["kk"])
    assert not heading.style.name.startswith("Heading")
    assert all(run.bold for run in heading.runs)
    assert result.tables[-1]._tbl.tblPr.find(docx.oxml.ns.qn("w:tblBorders")) is not None


# -- PDF -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_pdf_copy_appends_pages_that_extract_in_kazakh_and_russian(tmp_path: Path, lang: str) -> None:
    src = original(tmp_path, "pdf")
    dest = copy(tmp_path, src, lang=lang)

    data = dest.read_bytes()
    assert data.startswith(src.read_bytes())  # incremental: the student's bytes stay a prefix
    reader = PdfReader(dest)
    assert len(reader.pages) == 3
    assert "Kazakh Khanate essay" in reader.pages[0].extract_text()  # the student's pages come first
    appended = flat(" ".join(page.extract_text() for page in reader.pages[2:]))
    text = flat(pdftotext(dest))
    for needle in [HEADINGS["statement"][lang], *sentences(DISCLOSURE, lang), HEADINGS["drafts"][lang], DRAFTS,
                   HEADINGS["table"][lang]]:
        assert flat(needle) in text
    rows = table_rows(DISCLOSURE, lang)
    columns = pdf_columns(dest, rows[0])
    assert columns == ["".join(re.sub(r"\s+", "", cell) for cell in column) for column in zip(*rows[1:], strict=True)]
    # pypdf agrees (a second, independent text extraction): the Kazakh letters map back to Unicode
    assert flat(short_attribution(DISCLOSURE, lang)) in appended
    assert "Ғұмыр, Үміт, Һижра, Іңкәр, Өнер" in appended
    assert DRAFTS in pdf_links(dest)
    assert "https://drafts.example.org/essay#plan" in pdf_links(dest)


def test_pdf_appendix_pages_are_a4_and_the_originals_untouched(tmp_path: Path) -> None:
    src = original(tmp_path, "pdf")
    dest = copy(tmp_path, src)
    before, after = PdfReader(src), PdfReader(dest)
    for old, new in zip(before.pages, after.pages, strict=False):
        assert old.get_contents().get_data() == new.get_contents().get_data()
    [box] = [tuple(round(float(v)) for v in page.mediabox) for page in after.pages[2:]]
    assert box == (0, 0, 595, 842)
    fonts = [font.get_object() for font in after.pages[2]["/Resources"]["/Font"].values()]
    assert fonts and all(font["/BaseFont"].endswith(("DejaVuSans", "DejaVuSans-Bold")) for font in fonts)
    # embedded (a subset), with a ToUnicode map: what makes the Kazakh letters extract
    assert all("/FontFile2" in font["/FontDescriptor"] and "/ToUnicode" in font for font in fonts)


def test_a_certified_pdf_gets_no_copy(tmp_path: Path) -> None:
    b = Builder()
    b.set(1, b"<< /Type /Catalog /Pages 2 0 R /Perms << /DocMDP 4 0 R >> >>")
    b.set(2, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
    b.set(3, b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>")
    b.set(4, b"<< /Type /Sig /Reference [<< /TransformMethod /DocMDP /TransformParams << /P 3 >> >>] >>")
    src = tmp_path / "certified.pdf"
    src.write_bytes(b.build(root=1))
    dest = tmp_path / "copy.pdf"
    with pytest.raises(NoCopyForKind, match="certified"):
        make_disclosed_copy(src, dest, DISCLOSURE, lang="kk", author=AUTHOR, drafts_url=None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["certified.pdf"]


# -- PPTX ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_pptx_copy_adds_statement_and_table_slides_then_the_ai_use_slide(tmp_path: Path, lang: str) -> None:
    dest = copy(tmp_path, original(tmp_path, "pptx"), lang=lang)
    found = slides(dest)

    assert [title for title, *_ in found[:3]] == [title for title, _ in PPTX_SLIDES]
    title, texts, tables, links = found[3]
    assert title == HEADINGS["statement"][lang]
    assert tables == []
    body = "\n".join(texts)
    for sentence in sentences(DISCLOSURE, lang):
        assert sentence in body
    assert HEADINGS["drafts"][lang] in body and DRAFTS in body
    assert links == [DRAFTS]

    title, texts, tables, links = found[4]
    assert title == HEADINGS["table"][lang]
    assert tables == [[list(row) for row in table_rows(DISCLOSURE, lang)]]  # a real table shape
    assert links == ["https://drafts.example.org/essay#plan"]
    assert found[5][0] == {"kk": "ЖИ қолдану", "ru": "Использование ИИ"}[lang]  # C.4, added by the stamp
    assert len(found) == 6


def test_pptx_without_rows_gets_only_the_statement_slide(tmp_path: Path) -> None:
    disclosure = Disclosure(**{**DISCLOSURE.__dict__, "rows": ()})
    dest = copy(tmp_path, original(tmp_path, "pptx"), disclosure, drafts_url=None)
    titles = [title for title, *_ in slides(dest)]
    assert titles[3:] == [HEADINGS["statement"]["kk"], "ЖИ қолдану"]
    assert HEADINGS["drafts"]["kk"] not in "\n".join(slides(dest)[3][1])


def test_pptx_without_a_title_only_layout_uses_the_blank_one(tmp_path: Path) -> None:
    src = original(tmp_path, "pptx")
    presentation = pptx.Presentation(str(src))
    for layout in list(presentation.slide_layouts):
        if layout._element.get("type") == "titleOnly":
            presentation.slide_layouts.remove(layout)
    presentation.save(str(src))

    dest = copy(tmp_path, src, drafts_url=None)
    statement = pptx.Presentation(str(dest)).slides[3]
    assert statement.slide_layout._element.get("type") == "blank"
    assert next(shape.text_frame.text for shape in statement.shapes) == HEADINGS["statement"]["kk"]
    assert not list(statement.placeholders)  # no empty "click to add" boxes


# -- provenance ------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["docx", "pdf", "pptx"])
def test_the_ai_fields_read_back_with_adal_and_exiftool(tmp_path: Path, kind: str) -> None:
    dest = copy(tmp_path, original(tmp_path, kind))
    expected = {
        "AI-Generated": "Yes", "Service": "ChatGPT", "Model": "GPT-4o", "ModelVersion": "2024-08-06",
        "GenerationDate": "2025-03-01",  # the first date of use
        "ResponsibleContact": AUTHOR,
        "Tasks": "идея генерациясы; тілдік түзету; дереккөздер тізімін ресімдеу",
    }
    report = inspect_file(dest)
    assert {name: report.fields.get(name) for name in expected} == expected
    assert report.visible_label is not None and "ChatGPT" in report.visible_label

    tags = exiftool(dest)
    group = "PDF" if kind == "pdf" else "XML"  # PDF Info keys; OOXML custom properties
    for name, value in expected.items():
        assert tags[f"{group}:{name}"] == value
    if kind == "pdf":
        assert tags["XMP-adal:AIGenerated"] == "Yes"
        assert tags["XMP-iptcExt:AISystemUsed"] == "GPT-4o"


def test_a_missing_version_and_missing_dates(tmp_path: Path) -> None:
    disclosure = Disclosure(**{**DISCLOSURE.__dict__, "model_version": "", "dates": ()})
    src = original(tmp_path, "docx")
    with pytest.raises(StampError, match="no date of use"):
        make_disclosed_copy(src, tmp_path / "x.docx", disclosure, lang="kk", author=AUTHOR, drafts_url=None)
    assert not (tmp_path / "x.docx").exists()

    dest = copy(tmp_path, src, disclosure, today=date(2025, 5, 20))
    fields = inspect_file(dest).fields
    assert fields["ModelVersion"] == NO_VERSION
    assert fields["GenerationDate"] == "2025-05-20"


@pytest.mark.parametrize("kind", ["docx", "pdf", "pptx"])
def test_no_ai_gets_the_sentence_and_no_provenance(tmp_path: Path, kind: str) -> None:
    dest = copy(tmp_path, original(tmp_path, kind), NO_AI)
    sentence = short_attribution(NO_AI, "kk")
    if kind == "docx":
        paragraphs, tables, _ = docx_texts(dest)
        assert paragraphs[-3:] == [sentence, HEADINGS["drafts"]["kk"], DRAFTS]
        assert HEADINGS["table"]["kk"] not in paragraphs and tables == []
    elif kind == "pdf":
        text = flat(pdftotext(dest))
        assert flat(sentence) in text and DRAFTS in text
        assert HEADINGS["table"]["kk"] not in text
    else:
        found = slides(dest)
        assert [title for title, *_ in found[3:]] == [HEADINGS["statement"]["kk"]]  # no C.4 slide
        assert sentence in "\n".join(found[3][1])
    report = inspect_file(dest)
    assert not report.has_ai_provenance
    assert report.fields == {} and report.visible_label is None
    tags = exiftool(dest)
    assert not [key for key in tags if key.endswith(("AI-Generated", "AIGenerated", "DigitalSourceType"))]


# -- bad input -------------------------------------------------------------------------------------
def _truncated_docx(folder: Path) -> Path:
    data = make_docx(folder / "whole.docx").read_bytes()
    (folder / "whole.docx").unlink()
    path = folder / "truncated.docx"
    path.write_bytes(data[: len(data) // 2])
    return path


def _garbage_docx(folder: Path) -> Path:
    path = folder / "garbage.docx"
    path.write_bytes(b"PK\x03\x04" + noise(5000))
    return path


def _text_named_pdf(folder: Path) -> Path:
    path = folder / "notes.pdf"
    path.write_text("Бұл PDF емес, жай мәтін.\n" * 20, encoding="utf-8")
    return path


def _encrypted_pdf(folder: Path) -> Path:
    path = folder / "locked.pdf"
    path.write_bytes(encrypted()[2][1])
    return path


def _docx_named_pptx(folder: Path) -> Path:
    path = folder / "slides.pptx"
    path.write_bytes(make_docx(folder / "doc.docx").read_bytes())
    (folder / "doc.docx").unlink()
    return path


@pytest.mark.parametrize("make", [_truncated_docx, _garbage_docx, _text_named_pdf, _encrypted_pdf, _docx_named_pptx])
def test_a_damaged_or_mislabelled_file_is_refused_and_nothing_is_written(tmp_path: Path, make) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    src = make(folder)
    before = sha256(src)
    out = tmp_path / "out"
    out.mkdir()
    dest = out / f"copy{src.suffix}"
    with pytest.raises(StampError) as caught:
        make_disclosed_copy(src, dest, DISCLOSURE, lang="kk", author=AUTHOR, drafts_url=DRAFTS)
    assert not isinstance(caught.value, NoCopyForKind)  # a bad file, not a kind without copies
    assert "\n" not in str(caught.value) and src.name in str(caught.value)
    assert list(out.iterdir()) == []
    assert sha256(src) == before


def _odt(folder: Path) -> Path:
    path = folder / "essay.odt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        archive.writestr("content.xml", "<office:document-content/>")
    return path


def _code_zip(folder: Path) -> Path:
    path = folder / "code.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("main.py", "print('сәлем')\n")
    return path


def _png(folder: Path) -> Path:
    path = folder / "diagram.png"
    path.write_bytes(tiny_png())
    return path


def _text(folder: Path) -> Path:
    path = folder / "notes.txt"
    path.write_text("Жоспар: кіріспе, негізгі бөлім, қорытынды.\n", encoding="utf-8")
    return path


def _xlsx(folder: Path) -> Path:
    return make_xlsx(folder / "grades.xlsx")


@pytest.mark.parametrize("make", [_xlsx, _png, _odt, _text, _code_zip])
def test_other_kinds_get_no_copy(tmp_path: Path, make) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    src = make(folder)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(NoCopyForKind, match="DOCX, PDF and PPTX"):
        make_disclosed_copy(src, out / f"copy{src.suffix}", DISCLOSURE, lang="kk", author=AUTHOR, drafts_url=None)
    assert list(out.iterdir()) == []


@pytest.mark.parametrize(("changes", "message"), [
    ({"lang": "de"}, "language must be one of"),
    ({"drafts_url": "javascript:alert(1)"}, "http:// or https://"),
    ({"drafts_url": "data:text/html,<b>x</b>"}, "http:// or https://"),
    ({"disclosure": Disclosure(ai_used=True, model="GPT-4o", dates=(date(2025, 1, 1),))}, "no AI service"),
    ({"disclosure": Disclosure(ai_used=True, service="S" * 201, model="M", dates=(date(2025, 1, 1),))},
     "longer than 200"),
    ({"author": "А" * 201}, "author's name is longer"),
])
def test_bad_arguments_are_refused_before_anything_is_written(tmp_path: Path, changes: dict, message: str) -> None:
    src = original(tmp_path, "docx")
    arguments = {"disclosure": DISCLOSURE, "lang": "kk", "author": AUTHOR, "drafts_url": DRAFTS, **changes}
    disclosure = arguments.pop("disclosure")
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(StampError, match=message):
        make_disclosed_copy(src, out / "copy.docx", disclosure, **arguments)
    assert list(out.iterdir()) == []


def test_a_refusal_by_the_stamper_after_the_appendix_leaves_nothing(tmp_path: Path) -> None:
    src = original(tmp_path, "pdf")
    out = tmp_path / "out"
    out.mkdir()
    # The original passes the size limit; the copy, with its embedded font, does not.
    limits = Limits(max_file_bytes=src.stat().st_size + 1024)
    for disclosure in (DISCLOSURE, NO_AI):
        with pytest.raises(StampError, match=src.name):
            make_disclosed_copy(src, out / "copy.pdf", disclosure, lang="kk", author=AUTHOR, drafts_url=None,
                                limits=limits)
        assert list(out.iterdir()) == []


def test_the_copy_never_overwrites_the_original(tmp_path: Path) -> None:
    src = original(tmp_path, "docx")
    before = sha256(src)
    with pytest.raises(StampError, match="overwrite the original"):
        make_disclosed_copy(src, src, DISCLOSURE, lang="kk", author=AUTHOR, drafts_url=None)
    assert sha256(src) == before


# -- long and hostile text -------------------------------------------------------------------------
def test_a_long_kazakh_prompt_and_answer_flow_onto_more_pdf_pages(tmp_path: Path) -> None:
    src = original(tmp_path, "pdf")
    dest = copy(tmp_path, src, LONG)
    reader = PdfReader(dest)
    assert len(reader.pages) >= 2 + 4  # at 8 pt in a quarter of an A4 line, 10,000 characters need pages
    columns = pdf_columns(dest, table_rows(LONG, "kk")[0])
    # The cells are cut between rows, page after page: nothing lost, nothing repeated.
    assert columns[1] == re.sub(r"\s+", "", KAZAKH_10K)
    assert columns[2] == re.sub(r"\s+", "", KAZAKH_10K[::-1])
    assert columns[3] == "Қысқарттым"


def test_a_long_kazakh_answer_in_docx_stays_whole(tmp_path: Path) -> None:
    dest = copy(tmp_path, original(tmp_path, "docx"), LONG)
    _, tables, _ = docx_texts(dest)
    assert tables[-1][1][1] == KAZAKH_10K  # Word paginates a long row itself
    assert tables[-1][1][2] == KAZAKH_10K[::-1]


def test_a_long_kazakh_answer_in_pptx_runs_over_several_table_slides(tmp_path: Path) -> None:
    dest = copy(tmp_path, original(tmp_path, "pptx"), LONG)
    found = slides(dest)
    table_slides = [(title, tables[0]) for title, _, tables, _ in found if tables and title.startswith(
        HEADINGS["table"]["kk"])]
    assert len(table_slides) > 1
    assert table_slides[0][0] == f"{HEADINGS['table']['kk']} (1/{len(table_slides)})"
    header = list(table_rows(LONG, "kk")[0])
    assert all(table[0] == header for _, table in table_slides)  # the header row on every slide
    prompt = " ".join(row[1] for _, table in table_slides for row in table[1:] if row[1])
    answer = " ".join(row[2] for _, table in table_slides for row in table[1:] if row[2])
    assert flat(prompt) == flat(KAZAKH_10K)  # nothing lost or repeated in the cutting
    assert flat(answer) == flat(KAZAKH_10K[::-1])
    assert found[-1][0] == "ЖИ қолдану"


@pytest.mark.parametrize("kind", ["docx", "pdf", "pptx"])
def test_markup_and_control_characters_are_literal_text(tmp_path: Path, kind: str) -> None:
    rows = (UseRow("Тексеру", SCRIPT + "\x00\x07", "жауап\r\nекінші жол", "&amp; &lt;", "javascript:alert(1)"),)
    disclosure = Disclosure(**{**DISCLOSURE.__dict__, "rows": rows, "other_text": "<i>басқа</i>"})
    dest = copy(tmp_path, original(tmp_path, kind), disclosure)
    if kind == "docx":
        paragraphs, tables, links = docx_texts(dest)
        assert tables[-1][1] == ["Тексеру", SCRIPT, "жауап\nекінші жол", "&amp; &lt;", "javascript:alert(1)"]
        assert "<i>басқа</i>" in "\n".join(paragraphs)
    elif kind == "pdf":
        assert "<i>басқа</i>" in flat(pdftotext(dest))
        columns = pdf_columns(dest, table_rows(disclosure, "kk")[0])
        expected = ["Тексеру", SCRIPT, "жауап\nекінші жол", "&amp; &lt;", "javascript:alert(1)"]
        assert columns == [re.sub(r"\s+", "", text) for text in expected]
        links = pdf_links(dest)
    else:
        found = slides(dest)
        assert found[4][2][0][1] == ["Тексеру", SCRIPT, "жауап\nекінші жол", "&amp; &lt;", "javascript:alert(1)"]
        links = [link for *_, slide_links in found for link in slide_links]
    assert "javascript:alert(1)" not in links  # shown, never made a link


# -- speed -----------------------------------------------------------------------------------------
def _two_megabyte_docx(path: Path) -> Path:
    document = docx.Document()
    document.add_heading("Қазақ хандығының құрылуы", 0)
    for n in range(300):
        document.add_paragraph(f"{n}. {KAZAKH_10K[:600]}")
    for seed in range(4):  # photographs compress badly: noise stands in for them
        document.add_picture(io.BytesIO(_noise_png(seed)))
    document.save(str(path))
    return path


def _noise_png(seed: int) -> bytes:
    from PIL import Image

    return _png_bytes(Image.frombytes("RGB", (420, 400), noise(420 * 400 * 3, seed)))


def _png_bytes(image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _two_megabyte_pdf(path: Path) -> Path:
    writer = PdfWriter()
    for _ in range(40):
        writer.add_blank_page(595, 842)
    writer.add_attachment("data.bin", noise(2 * 1024 * 1024))  # stands in for scanned pages
    with open(path, "wb") as handle:
        writer.write(handle)
    return path


@pytest.mark.parametrize("kind", ["docx", "pdf"])
def test_a_two_megabyte_file_is_copied_quickly(tmp_path: Path, kind: str) -> None:
    src = (_two_megabyte_docx if kind == "docx" else _two_megabyte_pdf)(tmp_path / f"big.{kind}")
    assert 1.8 * 1024 * 1024 < src.stat().st_size < 3 * 1024 * 1024
    dest = tmp_path / f"copy.{kind}"
    started = time.perf_counter()
    make_disclosed_copy(src, dest, DISCLOSURE, lang="kk", author=AUTHOR, drafts_url=DRAFTS)
    elapsed = time.perf_counter() - started
    assert inspect_file(dest).has_ai_provenance
    assert elapsed < 2.0, f"{kind}: {elapsed:.2f} s"
