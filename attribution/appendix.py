"""The disclosed copy of a submitted work: the student's DOCX, PDF or PPTX with the AI-use statement
appended (S C.1, 7.4ә, U 6.5, with the C.2 table when the student gave rows) and the C.3 provenance
stamped (S C.3, C.4). The original is only read; the copy appears at ``dest`` only when complete.

What a copy holds, in the language of the submission:

* **DOCX**: at the end, on a new page, a heading «ЖИ қолдану туралы ақпарат» (the document's own
  *Heading 1* style, bold text when it has none), the statement's sentences, the drafts link under
  its own heading, and the C.2 table (header row bold and repeated on every page). Then the stamp:
  custom properties and the visible C.3 line under the title.
* **PDF**: A4 appendix pages drawn with DejaVu Sans (embedded, so Kazakh letters show and extract),
  appended as an incremental update: the student's bytes stay a prefix of the copy, so their pages
  and any approval signature are untouched. Then the stamp (Info, XMP, the label on page 1). A
  certified PDF (DocMDP) gets no copy: adding pages would break its certification.
* **PPTX**: a slide with the statement and drafts link, then the C.2 table as real table shapes
  (on as many slides as the text needs, header row repeated), on the presentation's title-only or
  blank layout. Then the stamp, which adds the C.4 «ЖИ қолдану» slide.

**No AI used**: the copy gets the heading, the no-AI sentence and the drafts link (C.2 rows, if
any came with it, are left out), and **no AI provenance** (no metadata, no C.3 label, no C.4
slide): there is no AI content to mark, and a stamp would say the opposite of the disclosure. The
document's own metadata is left as it is.

Any other kind (XLSX, images, ODT, text, archives) raises ``NoCopyForKind``: the caller offers the
original alone. Anything else that goes wrong raises ``StampError`` with a one-line reason, and
nothing is left at ``dest`` or beside it.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

from attribution.provenance import (
    EXTENSIONS,
    LANGUAGES,
    HostileFile,
    Limits,
    Provenance,
    StampError,
    UnsupportedFile,
    check_extension,
    sniff,
)
from attribution.stamping import inspect_file, stamp_file

# The purpose words are the ones the C.1 sentence uses, so that the metadata, the C.4 slide and
# the statement name the tasks alike.
from attribution.statements import (
    HEADINGS,
    Disclosure,
    checked_sentence,
    purposes,
    sentence_74,
    short_attribution,
    table_rows,
)

COPY_KINDS = ("docx", "pdf", "pptx")

NO_VERSION = "—"
"""``ModelVersion`` when the student named no version: the field is required by S C.3, and a dash
reads as "not given" in every language."""

_MAX_TEXT = 2_000_000  # characters of statement and table together: bounds the work on a hostile form
_MAX_FIELD = 200  # service, model, version, responsible person (as ``Provenance`` allows)

# Everything XML 1.0 refuses (C0 controls but tab/newline/CR, lone surrogates, U+FFFE/U+FFFF).
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class NoCopyForKind(StampError):
    """Adal makes no disclosed copy of this file (its kind, or something like a certification,
    rules it out). Not an error in the submission: offer the original alone."""


# -- the content, once, for every format ----------------------------------------------------------
@dataclass(frozen=True)
class _Content:
    lang: str
    title: str
    sentences: tuple[str, ...]
    drafts_heading: str
    drafts_url: str | None
    table_heading: str
    rows: tuple[tuple[str, ...], ...]  # header first; empty without rows

    @property
    def size(self) -> int:
        texts = [self.title, *self.sentences, self.drafts_url or "", *(cell for row in self.rows for cell in row)]
        return sum(len(text) for text in texts)


def _clean(text: str) -> str:
    """Text as it can go into XML and PDF: line ends as ``\\n``, no characters XML forbids."""
    return _NOT_XML.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def _one_line(text: str | None) -> str:
    return " ".join(_clean(text or "").split())


def is_web_link(url: str) -> bool:
    """An absolute http(s) address: the only kind of link a copy makes clickable."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc) and not any(c.isspace() for c in url)


def _content(disclosure: Disclosure, lang: str, drafts_url: str | None) -> _Content:
    sentences = [short_attribution(disclosure, lang), sentence_74(disclosure, lang),
                 checked_sentence(disclosure, lang)]
    # A table of AI prompts and answers under "no AI was used" would contradict itself: left out.
    rows = table_rows(disclosure, lang) if disclosure.ai_used else []
    content = _Content(
        lang=lang,
        title=HEADINGS["statement"][lang],
        sentences=tuple(_clean(s) for s in sentences if s),
        drafts_heading=HEADINGS["drafts"][lang],
        drafts_url=drafts_url,
        table_heading=HEADINGS["table"][lang],
        rows=tuple(tuple(_clean(cell) for cell in row) for row in rows),
    )
    if content.size > _MAX_TEXT:
        raise StampError(f"the statement and its table are over {_MAX_TEXT:,} characters; shorten the prompts "
                         "and answers or give a link to them")
    return content


def _field(value: str | None, what: str, *, required: bool) -> str:
    value = _one_line(value)
    if required and not value:
        raise StampError(f"the disclosure gives no {what}")
    if len(value) > _MAX_FIELD:
        raise StampError(f"the {what} is longer than {_MAX_FIELD} characters")
    return value


def disclosure_provenance(disclosure: Disclosure, lang: str, author: str | None, today: date | None) -> Provenance:
    """The S C.3 fields of a disclosure that says AI was used. ``GenerationDate`` is the first date
    of use (``today`` when the student gave none); the tasks are named as the statement names them."""
    day = min(disclosure.dates) if disclosure.dates else today
    if day is None:
        raise StampError("the disclosure gives no date of use")
    tasks = tuple(_one_line(task) for task in purposes(disclosure, lang))
    return Provenance(
        service=_field(disclosure.service, "AI service", required=True),
        model=_field(disclosure.model, "AI model", required=True),
        model_version=_field(disclosure.model_version, "model version", required=False) or NO_VERSION,
        generation_date=day,
        responsible=_field(author, "author's name", required=False) or None,
        tasks=tuple(task for task in tasks if task),
    )


# -- the entry point ------------------------------------------------------------------------------
def copy_kind(src: Path, limits: Limits | None = None) -> str:
    """The kind of ``src`` ('docx', 'pdf' or 'pptx') when Adal makes a disclosed copy of it.

    Raises ``NoCopyForKind`` for any other kind; a file whose name says DOCX, PDF or PPTX but whose
    content is not (or is damaged) keeps ``sniff``'s own refusal, since it is a bad file, not
    another kind. Hostile and encrypted files keep theirs too."""
    src = Path(src)
    named = EXTENSIONS.get(src.suffix.lower())
    try:
        kind = sniff(src, limits or Limits())
    except UnsupportedFile:
        if named not in COPY_KINDS and src.is_file():
            raise NoCopyForKind(f"{src.name}: Adal makes a disclosed copy of DOCX, PDF and PPTX files only") from None
        raise
    check_extension(src, kind)
    if kind not in COPY_KINDS:
        raise NoCopyForKind(f"{src.name} is {kind.upper()}: Adal makes a disclosed copy of DOCX, PDF and PPTX "
                            "files only")
    return kind


def make_disclosed_copy(src: Path, dest: Path, disclosure: Disclosure, *, lang: str, author: str | None,
                        drafts_url: str | None, limits: Limits | None = None, today: date | None = None,
                        credentials: Any = None) -> str:
    """Write to ``dest`` a copy of ``src`` with the statement appended and, when AI was used, the
    provenance stamped; returns the kind ('docx', 'pdf' or 'pptx').

    ``lang`` is the submission's language (kk, ru or en); ``author`` the responsible person of the
    C.3 label; ``drafts_url`` an http(s) link to drafts or version history; ``today`` the
    ``GenerationDate`` when the disclosure has no dates; ``credentials`` go to ``stamp_file`` (a C2PA
    manifest over the copy, when AI was used and the kind allows). ``src`` is only read.

    Raises ``NoCopyForKind`` for files other than DOCX, PDF and PPTX (and certified PDFs), and
    ``StampError`` with a one-line reason for anything else; then nothing is written.
    """
    limits = limits or Limits()
    src, dest = Path(src), Path(dest)
    if lang not in LANGUAGES:
        raise StampError(f"the language must be one of {', '.join(LANGUAGES)}")
    if not src.exists():
        raise StampError(f"{src.name}: no such file")
    if dest.exists() and os.path.samefile(src, dest):
        raise StampError(f"{src.name}: the copy would overwrite the original; choose another name")
    if dest.is_dir():
        raise StampError(f"{dest}: is a directory, not a file name")
    if not dest.parent.is_dir():
        raise StampError(f"{dest.parent}: no such folder for the copy")
    if drafts_url is not None:
        drafts_url = drafts_url.strip() or None
    if drafts_url is not None and not is_web_link(drafts_url):
        raise StampError("the drafts link must be an http:// or https:// address")
    kind = copy_kind(src, limits)
    provenance = disclosure_provenance(disclosure, lang, author, today) if disclosure.ai_used else None
    content = _content(disclosure, lang, drafts_url)
    # Every check the stamper makes (zip bombs, DOCTYPEs, broken cross-references, encryption ...)
    # before python-docx, python-pptx or pypdf opens the file: they trust what they read.
    inspect_file(src, limits=limits)
    try:
        with tempfile.TemporaryDirectory(prefix=".adal-copy-", dir=dest.parent, ignore_cleanup_errors=True) as work:
            # The intermediate file keeps the student's name, so that a refusal by the stamper names it.
            middle = Path(work) / src.name
            with _library_errors(src.name):
                _APPENDERS[kind](src, middle, content)
            if provenance is not None:
                signed = {"credentials": credentials} if credentials is not None else {}
                stamp_file(middle, dest, provenance, lang=lang, limits=limits, **signed)
            else:
                inspect_file(middle, limits=limits)  # the copy must pass the checks its original passed
                with open(middle, "rb") as handle:
                    os.fsync(handle.fileno())
                os.replace(middle, dest)
    except OSError as exc:  # the folder is read-only, the disk full ...: one line, nothing left
        raise StampError(f"{dest.name}: cannot write the copy ({exc.strerror or exc})") from None
    return kind


@contextmanager
def _library_errors(name: str) -> Iterator[None]:
    """python-docx, python-pptx, pypdf and reportlab raise what they raise: one line for the user."""
    try:
        yield
    except StampError:
        raise
    except (MemoryError, RecursionError):
        raise HostileFile(f"{name}: too large or too deeply nested to add the statement") from None
    except OSError as exc:
        raise StampError(f"{name}: input/output error ({exc.strerror or exc})") from None
    except Exception as exc:  # a damaged file or one the library cannot handle: no traceback for the user
        reason = " ".join(f"{type(exc).__name__}: {exc}".split())[:200]
        raise UnsupportedFile(f"{name}: cannot add the statement to it ({reason})") from None


# -- DOCX -----------------------------------------------------------------------------------------
_DOCX_LANG = {"kk": "kk-KZ", "ru": "ru-RU", "en": "en-US"}
_RT_HYPERLINK = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink"


def _docx_style(document: Any, name: str, kind: Any) -> Any | None:
    try:
        style = document.styles[name]  # built-in names are found in any UI language (w:name is English)
    except KeyError:
        return None
    return style if style.type == kind else None


def _docx_run(paragraph: Any, text: str, lang: str, *, bold: bool = False) -> Any:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    run = paragraph.add_run(text)  # python-docx turns \n into <w:br/> and \t into <w:tab/>
    if bold:
        run.bold = True
    properties = run._r.get_or_add_rPr()
    language = OxmlElement("w:lang")
    language.set(qn("w:val"), _DOCX_LANG[lang])
    properties.append(language)  # after w:b: w:lang comes late in CT_RPr's sequence
    return run


def _docx_link(paragraph: Any, url: str, lang: str) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    rel_id = paragraph.part.relate_to(url, _RT_HYPERLINK, is_external=True)
    link = OxmlElement("w:hyperlink")
    link.set(qn("r:id"), rel_id)
    run = _docx_run(paragraph, url, lang)
    link.append(run._r)  # moved from the paragraph into the hyperlink
    properties = run._r.get_or_add_rPr()
    style = _docx_style(paragraph.part.document, "Hyperlink", 2)  # WD_STYLE_TYPE.CHARACTER
    if style is not None:
        run.style = style
    else:
        underline = OxmlElement("w:u")
        underline.set(qn("w:val"), "single")
        properties.insert(0, underline)
    paragraph._p.append(link)


def _docx_heading(document: Any, text: str, level: int, lang: str, *, new_page: bool = False) -> None:
    from docx.enum.style import WD_STYLE_TYPE

    style = _docx_style(document, f"Heading {level}", WD_STYLE_TYPE.PARAGRAPH)
    paragraph = document.add_paragraph(style=style)
    _docx_run(paragraph, text, lang, bold=style is None)
    if new_page:
        paragraph.paragraph_format.page_break_before = True


def _docx_table(document: Any, rows: tuple[tuple[str, ...], ...], lang: str) -> None:
    from docx.enum.style import WD_STYLE_TYPE
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    table = document.add_table(rows=len(rows), cols=len(rows[0]))
    style = _docx_style(document, "Table Grid", WD_STYLE_TYPE.TABLE)
    if style is not None:
        table.style = style
    else:  # a document without Word's Table Grid still gets ruled cells
        borders = OxmlElement("w:tblBorders")
        for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
            line = OxmlElement(f"w:{edge}")
            for key, value in (("val", "single"), ("sz", "4"), ("space", "0"), ("color", "auto")):
                line.set(qn(f"w:{key}"), value)
            borders.append(line)
        table._tbl.tblPr.append(borders)
    header = table.rows[0]
    header_properties = header._tr.get_or_add_trPr()
    repeat = OxmlElement("w:tblHeader")  # the header row again on every page the table runs to
    header_properties.append(repeat)
    for number, (row, values) in enumerate(zip(table.rows, rows, strict=True)):
        for column, (cell, value) in enumerate(zip(row.cells, values, strict=True)):
            paragraph = cell.paragraphs[0]
            if number > 0 and column == len(values) - 1 and is_web_link(value):
                _docx_link(paragraph, value, lang)
            else:
                _docx_run(paragraph, value, lang, bold=number == 0)


def _append_docx(src: Path, out: Path, content: _Content) -> None:
    import docx

    document = docx.Document(str(src))
    _docx_heading(document, content.title, 1, content.lang, new_page=True)
    for sentence in content.sentences:
        _docx_run(document.add_paragraph(), sentence, content.lang)
    if content.drafts_url:
        _docx_heading(document, content.drafts_heading, 2, content.lang)
        _docx_link(document.add_paragraph(), content.drafts_url, content.lang)
    if content.rows:
        _docx_heading(document, content.table_heading, 2, content.lang)
        _docx_table(document, content.rows, content.lang)
    document.save(str(out))


# -- PDF ------------------------------------------------------------------------------------------
_FONT_DIRS = (  # Debian/Ubuntu (fonts-dejavu-core), Fedora, Arch
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu-sans-fonts"),
    Path("/usr/share/fonts/TTF"),
)
_FONT, _BOLD = "AdalDejaVuSans", "AdalDejaVuSans-Bold"
_COLUMN_SHARES = (0.14, 0.24, 0.24, 0.24, 0.14)  # task, prompt, answer, edit, link


@lru_cache(maxsize=1)
def _register_fonts() -> None:
    """DejaVu Sans has every Kazakh letter; reportlab embeds a subset with a ToUnicode map, so the
    appendix reads and extracts in kk and ru. The standard 14 PDF fonts have no Cyrillic."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    for folder in _FONT_DIRS:
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if regular.is_file() and bold.is_file():
            pdfmetrics.registerFont(TTFont(_FONT, str(regular)))
            pdfmetrics.registerFont(TTFont(_BOLD, str(bold)))
            return
    raise StampError("the DejaVu Sans font is not installed (Debian: apt-get install fonts-dejavu-core)")


def _markup(text: str) -> str:
    """Literal text for reportlab's paragraph markup: ``<script>`` stays text, line ends stay."""
    return escape(text).replace("\n", "<br/>")


def _link_markup(url: str) -> str:
    return f'<a href="{escape(url, {chr(34): "&quot;"})}" color="#1a4f9c"><u>{escape(url)}</u></a>'


def _split_to_height(paragraph: Any, width: float, height: float) -> list[Any]:
    """A paragraph cut into pieces no taller than ``height``: reportlab splits a table only between
    rows, so a 10,000-character answer must become several rows or it cannot be laid out."""
    pieces = []
    while True:
        _, needed = paragraph.wrap(width, height)
        if needed <= height:
            pieces.append(paragraph)
            return pieces
        parts = paragraph.split(width, height)
        if len(parts) < 2:  # one line taller than the limit: cannot happen with our font sizes
            raise StampError("a line of the table is too tall to lay out on a page")
        pieces.append(parts[0])
        paragraph = parts[1]


def _pdf_table(content: _Content, width: float, page_height: float) -> Any:
    from reportlab.lib import colors
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Paragraph, Table, TableStyle

    cell = ParagraphStyle("adal-cell", fontName=_FONT, fontSize=8, leading=10)
    head = ParagraphStyle("adal-head", parent=cell, fontName=_BOLD)
    padding = 3
    widths = [width * share for share in _COLUMN_SHARES]
    data: list[list[Any]] = [[Paragraph(_markup(text), head) for text in content.rows[0]]]
    header = max(p.wrap(w - 2 * padding, page_height)[1] for p, w in zip(data[0], widths, strict=True))
    # Each row piece fits a page under the repeated header row, so the table can always break.
    max_row = page_height - header - 4 * padding - 12
    for row in content.rows[1:]:
        columns = []
        for column, (text, col_width) in enumerate(zip(row, widths, strict=True)):
            markup = _link_markup(text) if column == len(row) - 1 and is_web_link(text) else _markup(text)
            columns.append(_split_to_height(Paragraph(markup, cell), col_width - 2 * padding, max_row))
        for depth in range(max(len(pieces) for pieces in columns)):
            data.append([pieces[depth] if depth < len(pieces) else "" for pieces in columns])
    table = Table(data, colWidths=widths, repeatRows=1)
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), _FONT, 8),  # the cells' own font (else Helvetica, unembedded)
        ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), padding),
        ("RIGHTPADDING", (0, 0), (-1, -1), padding),
        ("TOPPADDING", (0, 0), (-1, -1), padding),
        ("BOTTOMPADDING", (0, 0), (-1, -1), padding),
    ]))
    return table


def appendix_pdf(content: _Content) -> bytes:
    """The appendix alone, as A4 pages (as many as the text needs)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    _register_fonts()
    body = ParagraphStyle("adal-body", fontName=_FONT, fontSize=10.5, leading=14, spaceAfter=6)
    h1 = ParagraphStyle("adal-h1", parent=body, fontName=_BOLD, fontSize=15, leading=19, spaceAfter=10)
    h2 = ParagraphStyle("adal-h2", parent=body, fontName=_BOLD, fontSize=12, leading=16, spaceBefore=8)
    buffer = io.BytesIO()
    document = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm, topMargin=20 * mm,
                                 bottomMargin=20 * mm, title=content.title, lang=_DOCX_LANG[content.lang],
                                 invariant=True, initialFontName=_FONT)  # no unused, unembedded Helvetica
    story: list[Any] = [Paragraph(_markup(content.title), h1)]
    story += [Paragraph(_markup(sentence), body) for sentence in content.sentences]
    if content.drafts_url:
        story += [Paragraph(_markup(content.drafts_heading), h2), Paragraph(_link_markup(content.drafts_url), body)]
    if content.rows:
        story += [Paragraph(_markup(content.table_heading), h2), Spacer(1, 4)]
        # The frame keeps reportlab's 6 pt padding on each side: the table gets what is inside it.
        story.append(_pdf_table(content, document.width - 12, document.height - 12))
    document.build(story)
    return buffer.getvalue()


def _certified(reader: Any) -> bool:
    perms = reader.trailer["/Root"].get("/Perms")
    return perms is not None and "/DocMDP" in perms.get_object()


def _append_pdf(src: Path, out: Path, content: _Content) -> None:
    from pypdf import PdfReader, PdfWriter

    appendix = appendix_pdf(content)
    reader = PdfReader(src)
    if _certified(reader):
        raise NoCopyForKind(f"{src.name} is a certified PDF: adding pages would break its certification")
    # Incremental: the student's file is written first, byte for byte, and the new pages, the page
    # tree node that lists them and a new cross-reference section follow.
    writer = PdfWriter(reader, incremental=True)
    for page in PdfReader(io.BytesIO(appendix)).pages:
        writer.add_page(page)
    with open(out, "wb") as handle:
        writer.write(handle)


# -- PPTX -----------------------------------------------------------------------------------------
_PPTX_LANG = {"kk": "KAZAKH", "ru": "RUSSIAN", "en": "ENGLISH_US"}
_TITLE_PT = 30
_SLIDE_FONT_PT = 18
_TABLE_FONT_PT = 10
_EMU_PER_PT = 12700


def _pptx_layout(presentation: Any) -> Any:
    layouts = list(presentation.slide_layouts)
    for wanted in ("titleOnly", "blank"):
        for layout in layouts:
            if layout._element.get("type") == wanted:
                return layout
    return layouts[0]


def _pptx_slide(presentation: Any, title: str, lang: str) -> tuple[Any, int]:
    """A new slide with ``title``; returns it and the top (EMU) of the room below the title."""
    from pptx.enum.shapes import PP_PLACEHOLDER
    from pptx.util import Pt

    width, height = _pptx_size(presentation)
    slide = presentation.slides.add_slide(_pptx_layout(presentation))
    title_shape = None
    for placeholder in list(slide.placeholders):
        kind = placeholder.placeholder_format.type
        if kind in (PP_PLACEHOLDER.TITLE, PP_PLACEHOLDER.CENTER_TITLE) and title_shape is None:
            title_shape = placeholder
        else:  # an empty "Click to add text" box would show in the editor
            placeholder._element.getparent().remove(placeholder._element)
    margin = width // 20
    if title_shape is None:
        title_shape = slide.shapes.add_textbox(margin, height // 25, width - 2 * margin, height * 3 // 20)
        title_shape.text_frame.word_wrap = True
        _pptx_text(title_shape.text_frame.paragraphs[0], title, lang, size=Pt(_TITLE_PT), bold=True)
    else:  # the layout's own title style, a size that keeps our longer titles on one line
        _pptx_text(title_shape.text_frame.paragraphs[0], title, lang, size=Pt(_TITLE_PT))
    top = max(int(title_shape.top or 0) + int(title_shape.height or 0), height * 5 // 24)
    return slide, top


def _pptx_size(presentation: Any) -> tuple[int, int]:
    return int(presentation.slide_width or 9144000), int(presentation.slide_height or 6858000)


def _pptx_text(paragraph: Any, text: str, lang: str, *, size: Any = None, bold: bool = False,
               link: str | None = None) -> None:
    from pptx.enum.lang import MSO_LANGUAGE_ID

    run = paragraph.add_run()
    run.text = text  # python-pptx keeps a line break as <a:br/>
    run.font.language_id = getattr(MSO_LANGUAGE_ID, _PPTX_LANG[lang])
    if size is not None:
        run.font.size = size
    if bold:
        run.font.bold = True
    if link:
        run.hyperlink.address = link


def _pptx_statement(presentation: Any, content: _Content) -> None:
    from pptx.enum.text import MSO_AUTO_SIZE
    from pptx.util import Pt

    width, height = _pptx_size(presentation)
    slide, top = _pptx_slide(presentation, content.title, content.lang)
    margin = width // 20
    box = slide.shapes.add_textbox(margin, top, width - 2 * margin, height - top - margin)
    box.name = "Adal AI-use statement"
    frame = box.text_frame
    frame.word_wrap = True
    frame.auto_size = MSO_AUTO_SIZE.TEXT_TO_FIT_SHAPE  # a long "other" purpose shrinks, not spills
    size = Pt(_SLIDE_FONT_PT)
    for number, sentence in enumerate(content.sentences):
        paragraph = frame.paragraphs[0] if number == 0 else frame.add_paragraph()
        _pptx_text(paragraph, sentence, content.lang, size=size)
        paragraph.space_after = Pt(8)
    if content.drafts_url:
        _pptx_text(frame.add_paragraph(), content.drafts_heading, content.lang, size=size, bold=True)
        _pptx_text(frame.add_paragraph(), content.drafts_url, content.lang, size=size, link=content.drafts_url)


def _chunks(text: str, limit: int) -> list[str]:
    """``text`` (one line) in pieces of at most ``limit`` characters, cut at a space where there is one."""
    pieces = []
    while len(text) > limit:
        cut = text.rfind(" ", 0, limit + 1)
        cut = cut if cut > limit // 2 else limit
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip(" ")
    return [*pieces, text]


def _fit(text: str, per_line: int, max_lines: int) -> list[str]:
    """``text`` in pieces of at most ``max_lines`` estimated lines each, keeping its line ends."""
    pieces: list[str] = []
    current: list[str] = []
    used = 0
    for line in text.split("\n"):
        for part in _chunks(line, max(1, max_lines * per_line * 4 // 5)):
            need = _estimated_lines(part, per_line)
            if current and used + need > max_lines:
                pieces.append("\n".join(current))
                current, used = [], 0
            current.append(part)
            used += need
    return [*pieces, "\n".join(current)]


def _estimated_lines(text: str, per_line: int) -> int:
    return sum(max(1, -(-len(line) * 5 // 4 // per_line)) for line in text.split("\n"))  # +25 % for word wrap


def _pptx_table_pages(content: _Content, width_emu: int, height_emu: int) -> list[list[tuple[str, ...]]]:
    """The body rows of the C.2 table, cut into slides. A slide cannot flow onto the next, so the
    text's height is estimated from the column widths (a Cyrillic letter with its share of spaces
    is up to 0.7 em wide in the usual sans fonts, DejaVu being the widest), long cells are cut
    into continuation rows, and the rows are grouped per slide."""
    line_pt = _TABLE_FONT_PT * 1.2
    cell_margin_pt = 7.2 * 2  # PowerPoint's default left and right cell insets, 0.1 inch each
    row_pad_lines = 1  # top and bottom insets, and rounding
    per_line = [max(8, int((width_emu * share / _EMU_PER_PT - cell_margin_pt) / (_TABLE_FONT_PT * 0.7)))
                for share in _COLUMN_SHARES]
    room = int(height_emu / _EMU_PER_PT / line_pt)
    header = max(_estimated_lines(text, n) for text, n in zip(content.rows[0], per_line, strict=True)) + row_pad_lines
    per_row = max(4, room - header - row_pad_lines)
    pieces: list[tuple[str, ...]] = []
    for row in content.rows[1:]:
        columns = [_fit(text, n, per_row) for text, n in zip(row, per_line, strict=True)]
        for depth in range(max(len(column) for column in columns)):
            pieces.append(tuple(column[depth] if depth < len(column) else "" for column in columns))
    pages: list[list[tuple[str, ...]]] = [[]]
    used = header
    for row in pieces:
        need = max(_estimated_lines(text, n) for text, n in zip(row, per_line, strict=True)) + row_pad_lines
        if pages[-1] and used + need > room:
            pages.append([])
            used = header
        pages[-1].append(row)
        used += need
    return pages


def _pptx_tables(presentation: Any, content: _Content) -> None:
    from pptx.util import Pt

    width, height = _pptx_size(presentation)
    margin = width // 20
    table_width = width - 2 * margin
    probe_top = height * 5 // 24  # where the table starts below a title, as on the statement slide
    pages = _pptx_table_pages(content, table_width, height - probe_top - margin)
    for number, rows in enumerate(pages, start=1):
        title = content.table_heading if len(pages) == 1 else f"{content.table_heading} ({number}/{len(pages)})"
        slide, top = _pptx_slide(presentation, title, content.lang)
        all_rows = [content.rows[0], *rows]
        shape = slide.shapes.add_table(len(all_rows), len(all_rows[0]), margin, top, table_width,
                                       Pt(_TABLE_FONT_PT * 2.4) * len(all_rows))
        shape.name = f"Adal C.2 table {number}"
        table = shape.table
        table.first_row = True
        for column, share in zip(table.columns, _COLUMN_SHARES, strict=True):
            column.width = int(table_width * share)
        for r, values in enumerate(all_rows):
            table.rows[r].height = Pt(_TABLE_FONT_PT * 2.4)  # a minimum: rows grow with their text
            for c, value in enumerate(values):
                frame = table.cell(r, c).text_frame
                frame.word_wrap = True
                link = value if r > 0 and c == len(values) - 1 and is_web_link(value) else None
                _pptx_text(frame.paragraphs[0], value, content.lang, size=Pt(_TABLE_FONT_PT), bold=r == 0,
                           link=link)


def _append_pptx(src: Path, out: Path, content: _Content) -> None:
    import pptx

    presentation = pptx.Presentation(str(src))
    _pptx_statement(presentation, content)
    if content.rows:
        _pptx_tables(presentation, content)
    presentation.save(str(out))


_APPENDERS: dict[str, Callable[[Path, Path, _Content], None]] = {
    "docx": _append_docx, "pdf": _append_pdf, "pptx": _append_pptx}

__all__ = ["COPY_KINDS", "NO_VERSION", "NoCopyForKind", "appendix_pdf", "copy_kind", "disclosure_provenance",
           "is_web_link", "make_disclosed_copy"]
