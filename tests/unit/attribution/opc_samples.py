"""Sample Office files for the OPC tests, generated at test time (no binary files in the repository):
ordinary DOCX, PPTX and XLSX made with python-docx, python-pptx and openpyxl, and a corpus of hostile
and broken packages built from them byte by byte."""

from __future__ import annotations

import io
import random
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

import docx
import openpyxl
import pptx
from docx.opc.constants import RELATIONSHIP_TYPE as DOCX_RT
from docx.opc.packuri import PackURI as DocxPackURI
from docx.opc.part import Part as DocxPart
from openpyxl.packaging.custom import StringProperty
from pptx.opc.constants import RELATIONSHIP_TYPE as PPTX_RT
from pptx.opc.package import Part as PptxPart
from pptx.opc.packuri import PackURI as PptxPackURI

from attribution.provenance import EncryptedFile, HostileFile, Limits, UnsupportedFile

CUSTOM_CT = "application/vnd.openxmlformats-officedocument.custom-properties+xml"
EXISTING_CUSTOM_XML = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/custom-properties" '
    'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
    '<property fmtid="{D5CDD505-2E9C-101B-9397-08002B2CF9AE}" pid="2" name="Course">'
    "<vt:lpwstr>Қазақстан тарихы 101</vt:lpwstr></property>"
    '<property fmtid="{D5CDD505-2E9C-101B-9397-08002B2CF9AE}" pid="3" name="Reviewed">'
    "<vt:bool>true</vt:bool></property>"
    "</Properties>"
).encode()

AUTHOR = "Айгерім Серікқызы"
KEYWORDS = "эссе; тарих"
DOC_TITLE = "Қазақ хандығының құрылуы"
DOCX_PARAGRAPHS = (
    "Қазақ хандығы 1465 жылы Керей мен Жәнібек сұлтандардың басшылығымен құрылды.",
    "Бұл оқиға қазақ халқының мемлекеттілігінің бастауы болып саналады.",
    "Хандықтың құрылуына Әбілқайыр хандығындағы саяси дағдарыс себеп болды.",
    "Қасым хан тұсында хандықтың шекаралары кеңейіп, «Қасым ханның қасқа жолы» заңдары қабылданды.",
)
PPTX_SLIDES = (
    ("Абай Құнанбайұлы", "Өмірі мен шығармашылығы"),
    ("Өмірбаяны", "1845 жылы Шыңғыстауда туған"),
    ("Қара сөздері", "Қырық бес қара сөз: адамгершілік, білім, еңбек"),
)
XLSX_SHEETS = {
    "Бағалар": [("Оқушы", "Баға"), ("Әлихан", 5), ("Дана", 4), ("Ерлан", 5)],
    "Сабақтар": [("Пән", "Сағат"), ("Математика", 5), ("Қазақ тілі", 4)],
    "Қорытынды": [("Орташа", 4.67), ("Барлығы", 3)],
}
XLSX_HEADER_LEFT = "Мектеп №7 & лицей"


# -- ordinary samples ------------------------------------------------------------------------------
def tiny_png(size: int = 32) -> bytes:
    """A small real PNG (a colour gradient), so that samples carry a binary member."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"".join(bytes((x * 8 % 256, y * 8 % 256, 128)) for x in range(size))
                    for y in range(size))
    header = struct.pack(">2I5B", size, size, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def make_docx(path: Path, *, title: bool = True, subtitle: bool = False, custom: bool = True) -> Path:
    document = docx.Document()
    if title:
        document.add_heading(DOC_TITLE, 0)
    if subtitle:
        document.add_paragraph("Реферат", style="Subtitle")
    document.add_paragraph(DOCX_PARAGRAPHS[0])
    document.add_paragraph(DOCX_PARAGRAPHS[1])
    document.add_heading("Қасым хан", 1)
    document.add_paragraph(DOCX_PARAGRAPHS[2])
    document.add_picture(io.BytesIO(tiny_png()))
    document.add_paragraph(DOCX_PARAGRAPHS[3])
    properties = document.core_properties
    properties.author = AUTHOR
    properties.title = DOC_TITLE
    properties.keywords = KEYWORDS
    properties.subject = "Тарих"
    if custom:
        package = document.part.package
        part = DocxPart(DocxPackURI("/docProps/custom.xml"), CUSTOM_CT, EXISTING_CUSTOM_XML, package)
        package.relate_to(part, DOCX_RT.CUSTOM_PROPERTIES)
    document.save(str(path))
    return path


def make_pptx(path: Path, *, slides: bool = True) -> Path:
    presentation = pptx.Presentation()
    if slides:
        first = presentation.slides.add_slide(presentation.slide_layouts[0])
        first.shapes.title.text = PPTX_SLIDES[0][0]
        first.placeholders[1].text = PPTX_SLIDES[0][1]
        for heading, text in PPTX_SLIDES[1:]:
            slide = presentation.slides.add_slide(presentation.slide_layouts[1])
            slide.shapes.title.text = heading
            slide.placeholders[1].text = text
        presentation.slides[1].shapes.add_picture(io.BytesIO(tiny_png()), 0, 0)
    properties = presentation.core_properties
    properties.author = AUTHOR
    properties.title = PPTX_SLIDES[0][0]
    properties.keywords = KEYWORDS
    package = presentation.part.package
    part = PptxPart(PptxPackURI("/docProps/custom.xml"), CUSTOM_CT, package, EXISTING_CUSTOM_XML)
    package.relate_to(part, PPTX_RT.CUSTOM_PROPERTIES)
    presentation.save(str(path))
    return path


def make_xlsx(path: Path, *, header: str | None = None, different_first: bool = False) -> Path:
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for name, rows in XLSX_SHEETS.items():
        sheet = workbook.create_sheet(name)
        for row in rows:
            sheet.append(row)
    first = workbook["Бағалар"]
    first["D1"] = "=AVERAGE(B2:B4)"
    first.oddHeader.left.text = XLSX_HEADER_LEFT.replace("&", "&&")
    first.oddHeader.right.text = "Бет &P"
    if different_first:
        second = workbook["Сабақтар"]
        second.HeaderFooter.differentFirst = True
        second.firstHeader.center.text = "Бірінші бет"
    workbook.properties.creator = AUTHOR
    workbook.properties.keywords = KEYWORDS
    workbook.properties.title = "Бағалар кестесі"
    workbook.custom_doc_props.append(StringProperty(name="Course", value="Қазақстан тарихы 101"))
    workbook.save(str(path))
    if header is not None:  # an exact header string, as another program may have written it
        members = read_members(path.read_bytes())
        sheet = members["xl/worksheets/sheet1.xml"].decode()
        start = sheet.index("<oddHeader>") + len("<oddHeader>")
        end = sheet.index("</oddHeader>")
        members["xl/worksheets/sheet1.xml"] = (sheet[:start] + escape(header) + sheet[end:]).encode()
        path.write_bytes(zip_bytes(members))
    return path


MAKERS: dict[str, Callable[[Path], Path]] = {"docx": make_docx, "pptx": make_pptx, "xlsx": make_xlsx}


# -- zip helpers ---------------------------------------------------------------------------------
def read_members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


@dataclass
class Entry:
    """One member as it goes into a hand-built zip; sizes and CRC may lie."""

    name: str
    data: bytes = b""
    raw: bytes | None = None  # the stored bytes (compressed), when not derived from data
    method: int = 8
    file_size: int | None = None
    crc: int | None = None
    alias_of: str | None = None  # only a directory entry, pointing at this earlier entry's local header


def deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


def build_zip(entries: list[Entry]) -> bytes:
    """A zip written byte by byte, so that it can say what a normal writer never would."""
    out = bytearray()
    central = bytearray()
    offsets: dict[str, int] = {}
    for entry in entries:
        raw = entry.raw if entry.raw is not None else (deflate(entry.data) if entry.method == 8 else entry.data)
        size = entry.file_size if entry.file_size is not None else len(entry.data)
        crc = entry.crc if entry.crc is not None else zlib.crc32(entry.data)
        name = entry.name.encode("utf-8")
        flags = 0x800
        if entry.alias_of is None:
            offsets[entry.name] = len(out)
            out += struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, flags, entry.method, 0, 0x21, crc, len(raw), size,
                               len(name), 0) + name + raw
        offset = offsets[entry.alias_of or entry.name]
        central += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, flags, entry.method, 0, 0x21, crc, len(raw),
                               size, len(name), 0, 0, 0, 0, 0, offset) + name
    start = len(out)
    out += central
    out += struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(entries), len(entries), len(central), start, 0)
    return bytes(out)


def zip_bytes(members: dict[str, bytes]) -> bytes:
    return build_zip([Entry(name, data) for name, data in members.items()])


def bomb_stream(megabytes: int) -> bytes:
    """A raw deflate stream of ``megabytes`` MiB of zeros, about 1 KiB per MiB, made in milliseconds:
    one fully flushed block of zeros repeated, then an empty final block."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(bytes(1024 * 1024)) + compressor.flush(zlib.Z_FULL_FLUSH)
    return block * megabytes + zlib.compressobj(9, zlib.DEFLATED, -15).flush()


def noise(size: int, seed: int = 7) -> bytes:
    return random.Random(seed).randbytes(size)


# -- OLE compound files (encrypted or legacy Office) ----------------------------------------------
def ole_file(names: list[str], *, sector_shift: int = 9) -> bytes:
    """A small OLE compound file whose directory holds ``names`` (streams of no data)."""
    sector = 1 << sector_shift
    header = bytearray(512)
    header[0:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    struct.pack_into("<5H", header, 24, 0x3E, 3 if sector_shift == 9 else 4, 0xFFFE, sector_shift, 6)
    struct.pack_into("<2L", header, 44, 1, 1)  # one FAT sector; the directory starts at sector 1
    struct.pack_into("<4L", header, 56, 4096, 0xFFFFFFFE, 0, 0xFFFFFFFE)
    struct.pack_into("<L", header, 72, 0)
    struct.pack_into("<109L", header, 76, 0, *([0xFFFFFFFF] * 108))
    fat = struct.pack("<2L", 0xFFFFFFFD, 0xFFFFFFFE) + b"\xff" * (sector - 8)
    directory = bytearray()
    for index, name in enumerate(names):
        entry = bytearray(128)
        encoded = (name + "\x00").encode("utf-16-le")
        entry[0:len(encoded)] = encoded
        struct.pack_into("<H2B3L", entry, 64, len(encoded), 5 if index == 0 else 2, 1, 0xFFFFFFFF,
                         index + 1 if index + 1 < len(names) else 0xFFFFFFFF, 0xFFFFFFFF)
        struct.pack_into("<LQ", entry, 116, 0xFFFFFFFE, 0)
        directory += entry
    directory += b"\x00" * (-len(directory) % sector)
    return bytes(header) + b"\x00" * (sector - 512) + fat + bytes(directory)


# -- the hostile corpus --------------------------------------------------------------------------
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
XXE_DOCUMENT = (f'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE w:document [<!ENTITY xxe SYSTEM '
                f'"file:///etc/passwd">]>\n<w:document xmlns:w="{W}"><w:body><w:p><w:r><w:t>&xxe;</w:t></w:r>'
                "</w:p></w:body></w:document>")
LAUGHS = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
BILLION_LAUGHS_DTD = f'<!DOCTYPE lolz [<!ENTITY lol0 "lol">{LAUGHS}]>'


def deep(depth: int, tag: str = "x", root: str = "r") -> str:
    return f"<{root}>" + f"<{tag}>" * depth + f"</{tag}>" * depth + f"</{root}>"


@dataclass
class Hostile:
    """One sample of the corpus: what class it belongs to, the file, the limits and what to expect."""

    group: str
    name: str
    data: bytes
    expected: type[Exception]
    limits: Limits = field(default_factory=Limits)
    suffix: str = ".docx"


def hostile_corpus(base: dict[str, bytes]) -> list[Hostile]:
    """≥ 4 samples of each class, built from the ordinary samples ``base`` ({"docx": bytes, ...})."""
    docx_members = read_members(base["docx"])
    pptx_members = read_members(base["pptx"])
    xlsx_members = read_members(base["xlsx"])
    samples: list[Hostile] = []

    def add(group: str, name: str, data: bytes, expected: type[Exception] = HostileFile, *,
            limits: Limits | None = None, suffix: str = ".docx") -> None:
        samples.append(Hostile(group, name, data, expected, limits or Limits(), suffix))

    def changed(members: dict[str, bytes], changes: dict[str, bytes | None]) -> bytes:
        result = dict(members)
        for name, data in changes.items():
            if data is None:
                result.pop(name, None)
            else:
                result[name] = data
        return zip_bytes(result)

    def docx_with(name: str, data: bytes | None) -> bytes:
        return changed(docx_members, {name: data})

    def docx_plus(*extra: Entry) -> bytes:
        return build_zip([Entry(name, data) for name, data in docx_members.items()] + list(extra))

    def prolog(members: dict[str, bytes], name: str, dtd: bytes) -> bytes:
        data = members[name]
        return data.replace(b"?>", b"?>" + dtd, 1) if data.startswith(b"<?xml") else dtd + data

    def lying(name: str, megabytes: int, declared: int) -> bytes:
        return build_zip([Entry(n, d) if n != name else Entry(n, raw=bomb_stream(megabytes), file_size=declared, crc=0)
                          for n, d in docx_members.items()])

    # zip bombs
    add("zip bomb", "honest ratio 1000:1", docx_plus(
        Entry("word/media/bomb.bin", raw=bomb_stream(200), file_size=200 * 1024 * 1024, crc=0)))
    add("zip bomb", "main part lies about its size", lying("word/document.xml", 50, 5000))
    add("zip bomb", "untouched member lies about its size", lying("word/fontTable.xml", 50, 2900))
    add("zip bomb", "untouched media lies about its size", docx_plus(
        Entry("word/media/image9.png", raw=bomb_stream(50), file_size=900, crc=0)))
    zeros, zeros_crc = deflate(bytes(1_000_000)), zlib.crc32(bytes(1_000_000))
    add("zip bomb", "overlapping entries", docx_plus(*[
        Entry(f"word/media/zero{i}.bin", raw=zeros, file_size=1_000_000, crc=zeros_crc,
              alias_of="word/media/zero0.bin" if i else None) for i in range(400)]))
    add("zip bomb", "members add up to 1.5 GB", docx_plus(*[
        Entry(f"word/media/big{i}.bin", raw=noise(1_400_000, i), file_size=250 * 1024 * 1024, crc=0)
        for i in range(6)]))

    # huge members
    add("huge member", "declares 300 MB", docx_plus(
        Entry("word/media/huge.bin", raw=noise(2 * 1024 * 1024), file_size=300 * 1024 * 1024, crc=0)))
    add("huge member", "XML part over the XML limit", docx_with("word/document.xml", docx_members[
        "word/document.xml"].replace(b"</w:body>", b"<!--" + noise(1_000_000).hex().encode() + b"--></w:body>")),
        limits=Limits(max_xml_part_bytes=1024 * 1024))
    add("huge member", "stored member over the member limit", docx_plus(
        Entry("word/media/stored.bin", noise(3 * 1024 * 1024), method=0)), limits=Limits(max_member_bytes=2 << 20))
    add("huge member", "file over the file limit", base["docx"], limits=Limits(max_file_bytes=20_000))
    add("huge member", "content types declare 100 MB", build_zip(
        [Entry(n, d) if n != "[Content_Types].xml" else Entry(n, raw=noise(1024 * 1024), file_size=100 << 20, crc=0)
         for n, d in docx_members.items()]))

    # XXE and external entities
    add("XXE", "external entity in the main part", docx_with("word/document.xml", XXE_DOCUMENT.encode()))
    add("XXE", "external entity in [Content_Types].xml", docx_with("[Content_Types].xml", prolog(
        docx_members, "[Content_Types].xml", b'<!DOCTYPE Types [<!ENTITY e SYSTEM "file:///etc/hostname">]>')))
    add("XXE", "external DTD in core.xml", docx_with("docProps/core.xml", prolog(
        docx_members, "docProps/core.xml", b'<!DOCTYPE cp:coreProperties SYSTEM "http://127.0.0.1:9/evil.dtd">')))
    add("XXE", "parameter entity in _rels/.rels", docx_with("_rels/.rels", prolog(
        docx_members, "_rels/.rels", b'<!DOCTYPE r [<!ENTITY % p SYSTEM "http://127.0.0.1:9/p.dtd"> %p;]>')))
    add("XXE", "UTF-16 main part", docx_with("word/document.xml", b"\xff\xfe" + XXE_DOCUMENT.replace(
        "UTF-8", "UTF-16").encode("utf-16-le")))
    add("XXE", "external entity in an untouched part", docx_with("word/settings.xml", prolog(
        docx_members, "word/settings.xml", b'<!DOCTYPE w:settings [<!ENTITY x SYSTEM "file:///etc/passwd">]>')))
    add("XXE", "external entity in a worksheet", changed(xlsx_members, {"xl/worksheets/sheet1.xml": prolog(
        xlsx_members, "xl/worksheets/sheet1.xml", b'<!DOCTYPE worksheet [<!ENTITY x SYSTEM "file:///etc/passwd">]>')}),
        suffix=".xlsx")

    # billion laughs and quadratic blow-up
    def laughs(members: dict[str, bytes], name: str, closing: bytes) -> bytes:
        data = prolog(members, name, BILLION_LAUGHS_DTD.encode())
        return data.replace(closing, b"<x>&lol9;</x>" + closing)

    add("billion laughs", "in the main part", docx_with("word/document.xml", laughs(
        docx_members, "word/document.xml", b"</w:body>")))
    add("billion laughs", "in presentation.xml", changed(pptx_members, {"ppt/presentation.xml": laughs(
        pptx_members, "ppt/presentation.xml", b"</p:presentation>")}), suffix=".pptx")
    add("billion laughs", "in workbook.xml", changed(xlsx_members, {"xl/workbook.xml": laughs(
        xlsx_members, "xl/workbook.xml", b"</workbook>")}), suffix=".xlsx")
    add("billion laughs", "in custom.xml", docx_with("docProps/custom.xml", laughs(
        docx_members, "docProps/custom.xml", b"</Properties>")))
    quadratic = b'<!DOCTYPE q [<!ENTITY a "' + b"a" * 50_000 + b'">]>'
    add("billion laughs", "quadratic blow-up in core.xml", docx_with("docProps/core.xml", prolog(
        docx_members, "docProps/core.xml", quadratic).replace(
        b"</cp:coreProperties>", b"<dc:description>" + b"&a;" * 50_000 + b"</dc:description></cp:coreProperties>")))

    # missing [Content_Types].xml
    add("missing content types", "removed", docx_with("[Content_Types].xml", None), UnsupportedFile)
    renamed = dict(docx_members)
    renamed["Content_Types.xml"] = renamed.pop("[Content_Types].xml")
    add("missing content types", "renamed", zip_bytes(renamed), UnsupportedFile)
    moved = dict(docx_members)
    moved["docProps/[Content_Types].xml"] = moved.pop("[Content_Types].xml")
    add("missing content types", "in a folder", zip_bytes(moved), UnsupportedFile)
    add("missing content types", "empty zip", build_zip([]), UnsupportedFile)
    add("missing content types", "a zip of notes", zip_bytes({"notes.txt": "Сәлем".encode(), "a/b.txt": b"x"}),
        UnsupportedFile, suffix=".zip")

    # missing main part
    add("missing main part", "no word/document.xml", docx_with("word/document.xml", None), UnsupportedFile)
    add("missing main part", "no ppt/presentation.xml", changed(pptx_members, {"ppt/presentation.xml": None}),
        UnsupportedFile, suffix=".pptx")
    add("missing main part", "no xl/workbook.xml", changed(xlsx_members, {"xl/workbook.xml": None}),
        UnsupportedFile, suffix=".xlsx")
    add("missing main part", "no officeDocument relationship", docx_with("_rels/.rels", (
        b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
        b'2006/relationships"/>')), UnsupportedFile)
    add("missing main part", "no _rels/.rels", docx_with("_rels/.rels", None), UnsupportedFile)
    add("missing main part", "main part of another type", docx_with("[Content_Types].xml", docx_members[
        "[Content_Types].xml"].replace(b"wordprocessingml.document.main+xml", b"wordprocessingml.template.main+xml")),
        UnsupportedFile)

    # truncated or damaged zips
    whole = base["docx"]
    directory_start = struct.unpack("<L", whole[-6:-2])[0]
    add("truncated zip", "half", whole[: len(whole) // 2], UnsupportedFile)
    add("truncated zip", "end record cut", whole[:-10], UnsupportedFile)
    add("truncated zip", "first 100 bytes", whole[:100], UnsupportedFile)
    add("truncated zip", "cut inside the directory", whole[: directory_start + 100], UnsupportedFile)
    add("truncated zip", "signature only", b"PK\x03\x04", UnsupportedFile)
    damaged = bytearray(whole)
    at = whole.index(b"word/document.xml") + len("word/document.xml") + 10
    damaged[at:at + 200] = noise(200)
    add("truncated zip", "damaged main part data", bytes(damaged), UnsupportedFile)

    # not a zip
    add("non-zip", "a PNG", tiny_png(), UnsupportedFile)
    add("non-zip", "plain text", "Бұл мәтін, zip емес.\n".encode(), UnsupportedFile)
    add("non-zip", "a PDF", b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n", UnsupportedFile)
    add("non-zip", "random bytes", noise(4096), UnsupportedFile)
    add("non-zip", "empty", b"", UnsupportedFile)

    # names that climb out, use backslashes, are absolute, or come twice
    for name in ("../evil.xml", "word/../../evil.xml", "word/media/../../../../etc/cron.d/x", "./word/x.xml",
                 "..\\evil.xml", "word\\document.xml"):
        add("path traversal", name, docx_plus(Entry(name, b"<x/>")))
    for name in ("/etc/passwd", "/word/document.xml", "C:/Windows/win.ini", "c:evil.xml", "\\\\server\\share\\x"):
        add("absolute path", name, docx_plus(Entry(name, b"<x/>")))
    for name in ("word/document.xml", "[Content_Types].xml", "docProps/core.xml", "Word/Document.xml", "_rels/.rels"):
        add("duplicate names", name, docx_plus(Entry(name, docx_members.get(name, b"<x/>"))))

    # deep XML
    add("deep XML", "main part 300 levels", docx_with("word/document.xml", (
        f'<w:document xmlns:w="{W}"><w:body>' + "<w:p>" * 300 + "</w:p>" * 300 + "</w:body></w:document>").encode()))
    add("deep XML", "content types 100000 levels", docx_with("[Content_Types].xml", docx_members[
        "[Content_Types].xml"].replace(b"</Types>", deep(100_000, "a", "b").encode() + b"</Types>")))
    add("deep XML", "core.xml over a lower limit", docx_with("docProps/core.xml", docx_members[
        "docProps/core.xml"].replace(b"</cp:coreProperties>", deep(80).encode() + b"</cp:coreProperties>")),
        limits=Limits(max_xml_depth=50))
    add("deep XML", "custom.xml 1000 levels", docx_with("docProps/custom.xml", docx_members[
        "docProps/custom.xml"].replace(b"</Properties>", deep(1000).encode() + b"</Properties>")))
    add("deep XML", "worksheet 300 levels", changed(xlsx_members, {"xl/worksheets/sheet2.xml": xlsx_members[
        "xl/worksheets/sheet2.xml"].replace(b"</worksheet>", deep(300).encode() + b"</worksheet>")}), suffix=".xlsx")

    # OLE compound files: password-protected OOXML, legacy .doc/.xls/.ppt
    encrypted = ["Root Entry", "EncryptionInfo", "EncryptedPackage", "\x06DataSpaces"]
    add("OLE", "encrypted DOCX (512-byte sectors)", ole_file(encrypted), EncryptedFile)
    add("OLE", "encrypted XLSX (4096-byte sectors)", ole_file(encrypted, sector_shift=12), EncryptedFile,
        suffix=".xlsx")
    add("OLE", "legacy .doc", ole_file(["Root Entry", "WordDocument", "1Table", "\x05SummaryInformation"]),
        UnsupportedFile, suffix=".doc")
    add("OLE", "legacy .xls", ole_file(["Root Entry", "Workbook"]), UnsupportedFile, suffix=".xls")
    add("OLE", "OLE signature and noise", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + noise(3000), UnsupportedFile,
        suffix=".pptx")
    return samples
