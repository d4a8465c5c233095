"""AI provenance in Office Open XML packages (DOCX, PPTX, XLSX): stamping and reading (S C.3, C.4).

What a stamp writes:

* ``docProps/custom.xml``: one text custom property per field of ``Provenance.fields()``
  (fmtid ``{D5CDD505-2E9C-101B-9397-08002B2CF9AE}``, pids from 2), keeping every other property;
  the part, its content-type override and its relationship in ``_rels/.rels`` are added when
  missing. Office shows them in *Advanced Properties → Custom*; exiftool as ``XML:AI-Generated``,
  ``XML:Model`` ...
* ``docProps/core.xml``: ``cp:keywords`` gets ``AI-Generated; AI-Service: …; AI-Model: …`` after
  the existing keywords; ``dc:creator`` gets the responsible person, when one is given, after the
  existing authors.
* the visible label: a DOCX gets the C.3 line (``label_line``) as a paragraph under its title (after
  the first Title paragraph, or the Heading paragraph the document opens with, and any Subtitle right
  after it; else at the start of the body); a PPTX gets the
  C.4 «ЖИ қолдану» slide (``ai_use_slide``) at the end; an XLSX gets the line in every sheet's page
  header (``oddHeader``, and ``evenHeader``/``firstHeader`` where the sheet prints those), in the
  centre section after what is already there.

Stamping again updates all of these in place: Adal's own label paragraph (a hidden bookmark
``_AdalAIProvenance``, or a paragraph starting with a label in kk/ru/en), slide (shapes named
``Adal AI use …``, or a «ЖИ қолдану» title over a table of our row names), header chunk, keywords and
properties are found and replaced, never added twice.

Members that are not changed are copied as their raw compressed bytes (no re-deflating); each is
still inflated once on the way, to count its real size, check its CRC and, for XML, look for a
DOCTYPE, so a member that lies about its size is refused, not passed on. Parts Adal does not change
are not parsed: they go out exactly as they came in.

Hostile input is refused with ``HostileFile`` or ``UnsupportedFile`` (``EncryptedFile`` for a
password-protected file), one line, no traceback, within the ``Limits``: file size, member count,
declared and real member sizes, total size, compression ratio (for members over 1 MiB), size of XML
parts read, XML nesting depth; zip names that are absolute, climb with ``..``, use backslashes,
repeat (OPC part names are case-insensitive) or overlap other members; encrypted zip members; a
DOCTYPE in any XML part (which rules out XXE and entity expansion: the parser does not resolve
entities, load DTDs or use the network either); a missing ``[Content_Types].xml``, ``_rels/.rels``
or main part; truncated, damaged or non-zip files; OLE compound files (encrypted or legacy Office
files). ``stamp_opc`` may have written part of ``out`` when it refuses a member met while copying:
write through ``provenance.atomic_output``, which then leaves no file.
"""

from __future__ import annotations

import posixpath
import re
import struct
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote
from zipfile import BadZipFile, LargeZipFile, ZipFile, ZipInfo

from lxml import etree

from attribution.provenance import (
    FIELD_NAMES,
    LANGUAGES,
    EncryptedFile,
    HostileFile,
    Limits,
    Provenance,
    Report,
    StampError,
    UnsupportedFile,
    ai_use_slide,
    label_line,
)

__all__ = ["FIELD_NAMES", "inspect_opc", "main_part_kind", "stamp_opc"]

_DEFAULT_LIMITS = Limits()

#: The custom property names Adal writes (``Provenance.fields()`` keys), in the order written.
FMTID = "{D5CDD505-2E9C-101B-9397-08002B2CF9AE}"

#: Members smaller than this are not judged by their compression ratio: small XML parts of repeated
#: markup compress very well and cannot hurt anyone.
RATIO_FLOOR_BYTES = 1024 * 1024
#: Excel does not show a page header longer than this (codes included), and other tools refuse it.
EXCEL_HEADER_MAX = 255
_CHUNK = 1024 * 1024
_ZIP64_LIMIT = 0xFFFFFFFF

# -- namespaces, content types, relationship types -----------------------------------------------
CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
PR_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
CUSTOM_NS = "http://schemas.openxmlformats.org/officeDocument/2006/custom-properties"
VT_NS = "http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"
CORE_NS = "http://schemas.openxmlformats.org/package/2006/metadata/core-properties"
DC_NS = "http://purl.org/dc/elements/1.1/"
DCTERMS_NS = "http://purl.org/dc/terms/"
R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
P_NS = "http://schemas.openxmlformats.org/presentationml/2006/main"
A_NS = "http://schemas.openxmlformats.org/drawingml/2006/main"
S_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
XML_NS = "http://www.w3.org/XML/1998/namespace"

_RT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
RT_OFFICE_DOCUMENT = _RT + "officeDocument"
RT_STRICT_OFFICE_DOCUMENT = "http://purl.oclc.org/ooxml/officeDocument/relationships/officeDocument"
RT_CUSTOM_PROPERTIES = _RT + "custom-properties"
RT_CORE_PROPERTIES = "http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties"
RT_STYLES = _RT + "styles"
RT_SLIDE = _RT + "slide"
RT_SLIDE_MASTER = _RT + "slideMaster"
RT_SLIDE_LAYOUT = _RT + "slideLayout"
RT_WORKSHEET = _RT + "worksheet"
RT_CHARTSHEET = _RT + "chartsheet"

CT_CUSTOM = "application/vnd.openxmlformats-officedocument.custom-properties+xml"
CT_CORE = "application/vnd.openxmlformats-package.core-properties+xml"
CT_RELS = "application/vnd.openxmlformats-package.relationships+xml"
CT_SLIDE = "application/vnd.openxmlformats-officedocument.presentationml.slide+xml"
_MAIN_TYPES = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": "docx",
    "application/vnd.ms-word.document.macroEnabled.main+xml": "docx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml": "pptx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": "xlsx",
}
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

_DOCX_BOOKMARK = "_AdalAIProvenance"
_SLIDE_SHAPE_PREFIX = "Adal AI use"
_KEYWORD_PREFIXES = ("ai-generated", "ai-service:", "ai-model:")
_LANG_TAGS = {"kk": "kk-KZ", "ru": "ru-RU", "en": "en-US"}
_TABLE_STYLE = "{5C22544A-7EE6-4342-B048-85BDC9FD1C3A}"  # PowerPoint's built-in Medium Style 2 - Accent 1
_HEADER_CODES = '&"-,Italic"&8'


def _q(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


def _one_line(text: object, limit: int = 160) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MB" if n >= 1024 * 1024 else f"{n} bytes"


# -- labels written by Adal, in any language --------------------------------------------------------
_SENTINEL = "\ue000"


@lru_cache(maxsize=1)
def _label_prefixes() -> tuple[str, ...]:
    probe = Provenance(service=_SENTINEL, model=_SENTINEL, model_version=_SENTINEL, generation_date=date(2000, 1, 1))
    return tuple(label_line(probe, lang).split(_SENTINEL)[0] for lang in LANGUAGES)


@lru_cache(maxsize=1)
def _slide_signatures() -> dict[str, tuple[str, ...]]:
    probe = Provenance(service="-", model="-", model_version="-", generation_date=date(2000, 1, 1))
    slides = (ai_use_slide(probe, lang) for lang in LANGUAGES)
    return {slide.title: tuple(name for name, _ in slide.rows) for slide in slides}


def _is_label_text(text: str) -> bool:
    return text.strip().startswith(_label_prefixes())


def _checked_text(value: str, what: str, allowed: str = "\t") -> str:
    """Text that XML can hold (no control characters but ``allowed``)."""
    if any((ord(c) < 32 and c not in allowed) or 0xFFFE <= ord(c) <= 0xFFFF or 0xD800 <= ord(c) <= 0xDFFF
           for c in value):
        raise StampError(f"{what} contains a control character that a document cannot hold")
    return value


# -- the package ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Rel:
    id: str
    type: str
    target: str
    external: bool


def _rels_name(part: str) -> str:
    """'/word/document.xml' → '/word/_rels/document.xml.rels'; '/' → '/_rels/.rels'."""
    if part == "/":
        return "/_rels/.rels"
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", name + ".rels")


def _resolve(source: str, target: str) -> str:
    """The part name a relationship of ``source`` points at."""
    if target.startswith("/"):
        return posixpath.normpath(target)
    base = "/" if source == "/" else posixpath.dirname(source)
    return posixpath.normpath(posixpath.join(base, target))


def _relative(source: str, part: str) -> str:
    base = "/" if source == "/" else posixpath.dirname(source)
    return posixpath.relpath(part, base)


@lru_cache(maxsize=8)
def _too_deep(depth: int) -> etree.XPath:
    return etree.XPath("boolean(" + "/*" * (depth + 1) + ")")


_SAFE_PARSER_OPTIONS = {"resolve_entities": False, "no_network": True, "load_dtd": False, "huge_tree": False,
                        "dtd_validation": False}
_DOCTYPES = (b"<!DOCTYPE", "<!DOCTYPE".encode("utf-16-le"), "<!DOCTYPE".encode("utf-16-be"))
_XML_DECL_ENCODING = re.compile(rb"""<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_XML_ENCODINGS = {b"utf-8", b"utf8", b"utf-16", b"utf16", b"us-ascii", b"ascii"}


class _DoctypeScan:
    """Refuses an XML stream with a DOCTYPE anywhere (UTF-8 or UTF-16), across chunk boundaries."""

    def __init__(self, pkg: _Package, name: str) -> None:
        self.pkg, self.name, self.tail = pkg, name, b""

    def __call__(self, piece: bytes) -> None:
        buffer = self.tail + piece
        if any(pattern in buffer for pattern in _DOCTYPES):
            raise self.pkg.hostile(f"{self.name} has a DOCTYPE (entity declarations are refused: XXE, entity bombs)")
        self.tail = buffer[-20:]


def _is_xml_member(name: str, content_type: str | None) -> bool:
    lowered = name.casefold()
    return (lowered.endswith((".xml", ".rels", ".vml"))
            or bool(content_type and (content_type.endswith("xml") or "+xml" in content_type)))


class _Package:
    """A checked OPC package open for reading. Construct with ``_Package.open``."""

    def __init__(self, path: Path, limits: Limits, handle: BinaryIO) -> None:
        self.path, self.limits, self.fh = path, limits, handle
        self.name = path.name
        self.infos: list[ZipInfo] = []
        self.by_key: dict[str, ZipInfo] = {}
        self._bounds: dict[str, int] = {}
        self.defaults: dict[str, str] = {}
        self.overrides: dict[str, str] = {}
        self.content_types: etree._ElementTree
        self.main = ""
        self.kind = ""
        self._xml_cache: dict[str, etree._ElementTree] = {}

    # errors carry the file's name
    def hostile(self, reason: str) -> HostileFile:
        return HostileFile(f"{self.name}: {_one_line(reason, 240)}")

    def unsupported(self, reason: str) -> UnsupportedFile:
        return UnsupportedFile(f"{self.name}: {_one_line(reason, 240)}")

    @classmethod
    @contextmanager
    def open(cls, path: Path, limits: Limits) -> Iterator[_Package]:
        path = Path(path)
        try:
            if path.is_dir():
                raise UnsupportedFile(f"{path.name} is a directory, not a file")
            size = path.stat().st_size
            handle = open(path, "rb")  # noqa: SIM115 - closed below, after the caller's block
        except OSError as exc:
            raise StampError(f"{path.name}: cannot read it ({exc.strerror or exc})") from None
        try:
            pkg = cls(path, limits, handle)
            with _guard(pkg):
                pkg._load(size)
            with _guard(pkg):
                yield pkg
        finally:
            handle.close()

    # -- loading and checking the container -----------------------------------------------------
    def _load(self, size: int) -> None:
        limits = self.limits
        if size == 0:
            raise self.unsupported("the file is empty (0 bytes)")
        if size > limits.max_file_bytes:
            raise self.hostile(f"the file is {_mb(size)}, over the limit of {_mb(limits.max_file_bytes)}")
        head = self.fh.read(8)
        if head.startswith(_OLE_MAGIC):
            raise self._ole_refusal()
        if not head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
            raise self.unsupported("not a DOCX, PPTX or XLSX file (it is not a zip package)")
        self._check_directory_size(size)
        try:
            archive = ZipFile(self.fh)
        except (BadZipFile, LargeZipFile, EOFError, ValueError, struct.error, UnicodeDecodeError,
                NotImplementedError, OverflowError) as exc:
            raise self.unsupported(f"damaged or truncated zip package ({exc})") from None
        self.infos = archive.infolist()
        start_dir = archive.start_dir
        self._check_members(start_dir)
        self._load_content_types()
        self._find_main_part()

    def _check_directory_size(self, size: int) -> None:
        """Read the end record before zipfile does, so a huge central directory is refused unread."""
        tail_size = min(size, 65536 + 22)
        self.fh.seek(size - tail_size)
        tail = self.fh.read(tail_size)
        at = tail.rfind(b"PK\x05\x06")
        if at < 0 or len(tail) - at < 22:
            raise self.unsupported("damaged or truncated zip package (no end of central directory)")
        _, disk, _, _, entries, cd_size, _, _ = struct.unpack("<4s4H2LH", tail[at:at + 22])
        if entries == 0xFFFF or cd_size == 0xFFFFFFFF:
            locator = tail[at - 20:at] if at >= 20 else b""
            if len(locator) == 20 and locator.startswith(b"PK\x06\x07"):
                offset = struct.unpack("<4sLQL", locator)[2]
                if offset + 56 <= size:
                    self.fh.seek(offset)
                    record = self.fh.read(56)
                    if record.startswith(b"PK\x06\x06"):
                        entries, cd_size = struct.unpack("<4sQ2H2L2Q2Q", record)[7:9]
        if disk:
            raise self.unsupported("a multi-part (spanned) zip is not supported")
        limits = self.limits
        if entries > limits.max_members:
            raise self.hostile(f"{entries} zip members, over the limit of {limits.max_members}")
        if cd_size > limits.max_members * 1024 + 65536:
            raise self.hostile(f"the zip directory is {_mb(cd_size)}, far more than {limits.max_members} members need")

    def _check_members(self, start_dir: int) -> None:
        limits = self.limits
        if len(self.infos) > limits.max_members:
            raise self.hostile(f"{len(self.infos)} zip members, over the limit of {limits.max_members}")
        total = 0
        for info in self.infos:
            raw = info.orig_filename
            self._check_name(raw)
            key = raw.casefold()
            if key in self.by_key:
                raise self.hostile(f"two zip members are named {raw!r} (part names are case-insensitive)")
            self.by_key[key] = info
            if info.flag_bits & 0x1:
                raise self.unsupported(f"zip member {raw!r} is encrypted (password-protected zip)")
            if info.compress_type not in (0, 8):
                raise self.unsupported(f"zip member {raw!r} uses compression method {info.compress_type}; "
                                       "only stored and deflated members are supported")
            if info.file_size > limits.max_member_bytes:
                raise self.hostile(f"zip member {raw!r} declares {_mb(info.file_size)}, over the limit of "
                                   f"{_mb(limits.max_member_bytes)}")
            if (info.file_size > RATIO_FLOOR_BYTES
                    and info.file_size > limits.max_compression_ratio * max(info.compress_size, 1)):
                ratio = info.file_size // max(info.compress_size, 1)
                raise self.hostile(f"zip member {raw!r} expands {ratio}:1, over the limit of "
                                   f"{limits.max_compression_ratio}:1 (a zip bomb)")
            if info.compress_type == 0 and info.compress_size != info.file_size:
                raise self.hostile(f"stored zip member {raw!r} has two different sizes")
            total += info.file_size
            if total > limits.max_total_uncompressed:
                raise self.hostile(f"the members expand to more than {_mb(limits.max_total_uncompressed)} "
                                   "in all (a zip bomb)")
        # Members must not overlap one another or the directory (overlapping entries are a zip bomb).
        ordered = sorted(self.infos, key=lambda i: i.header_offset)
        ends = [after.header_offset for after in ordered[1:]] + [start_dir]
        for info, bound in zip(ordered, ends, strict=False):
            if info.header_offset + 30 + len(self._raw_name(info)) + info.compress_size > bound:
                raise self.hostile(f"zip member {info.orig_filename!r} overlaps another (a zip bomb)")
            self._bounds[info.orig_filename] = bound

    def _check_name(self, raw: str) -> None:
        if not raw or "\x00" in raw or any(ord(c) < 32 for c in raw):
            raise self.hostile(f"a zip member has an empty name or control characters in it: {raw!r}")
        if "\\" in raw:
            raise self.hostile(f"zip member {raw!r} has a backslash in its name")
        if raw.startswith("/") or re.match(r"[A-Za-z]:", raw):
            raise self.hostile(f"zip member {raw!r} has an absolute path")
        segments = raw.split("/")
        if raw.endswith("/"):
            segments = segments[:-1]
        if any(segment in ("", ".", "..") for segment in segments):
            raise self.hostile(f"zip member {raw!r} has an unsafe path ('..', '.' or an empty folder name)")

    @staticmethod
    def _raw_name(info: ZipInfo) -> bytes:
        return info.orig_filename.encode("utf-8" if info.flag_bits & 0x800 else "cp437")

    def _ole_refusal(self) -> StampError:
        """An OLE compound file: a password-protected OOXML file, or a .doc/.ppt/.xls."""
        names = _ole_stream_names(self.fh)
        hint = "open it in Office and save it as .docx, .pptx or .xlsx"
        if "encryptedpackage" in names or "encryptioninfo" in names:
            return EncryptedFile(f"{self.name}: encrypted or legacy Office file (password-protected): "
                                 "remove the password in Office and save it again")
        return UnsupportedFile(f"{self.name}: encrypted or legacy Office file (OLE compound file): {hint}")

    # -- members ----------------------------------------------------------------------------------
    def member(self, part: str) -> ZipInfo | None:
        name = part.lstrip("/")
        found = self.by_key.get(name.casefold())
        if found is None and "%" in name:
            found = self.by_key.get(unquote(name).casefold())
        return found

    def content_type(self, part: str) -> str | None:
        found = self.overrides.get(part.casefold())
        if found is not None:
            return found
        extension = posixpath.splitext(part)[1].lstrip(".").casefold()
        return self.defaults.get(extension)

    def _data_start(self, info: ZipInfo) -> int:
        self.fh.seek(info.header_offset)
        header = self.fh.read(30)
        if len(header) < 30 or not header.startswith(b"PK\x03\x04"):
            raise self.unsupported(f"damaged zip member {info.orig_filename!r} (no local header)")
        name_length, extra_length = struct.unpack("<2H", header[26:30])
        if self.fh.read(name_length) != self._raw_name(info):
            raise self.hostile(f"zip member {info.orig_filename!r} has another name in its local header")
        start = info.header_offset + 30 + name_length + extra_length
        if start + info.compress_size > self._bounds[info.orig_filename]:
            raise self.hostile(f"zip member {info.orig_filename!r} overlaps another (a zip bomb)")
        return start

    def pump(self, info: ZipInfo, raw_sink: Callable[[bytes], object] | None,
             plain_sink: Callable[[bytes], object] | None, limit: int | None = None) -> None:
        """Stream one member: raw compressed bytes to ``raw_sink``, inflated bytes to ``plain_sink``.
        The inflated bytes are counted against the declared size (and ``limit``) as they come, and
        the CRC is checked at the end."""
        name = info.orig_filename
        declared = info.file_size
        if limit is not None and declared > limit:
            raise self.hostile(f"{name} declares {_mb(declared)}, over the limit of {_mb(limit)} for an XML part")
        start = self._data_start(info)
        self.fh.seek(start)
        remaining = info.compress_size
        inflater = zlib.decompressobj(-15) if info.compress_type == 8 else None
        count = 0
        crc = 0

        def take(piece: bytes) -> None:
            nonlocal count, crc
            if not piece:
                return
            count += len(piece)
            if count > declared:
                raise self.hostile(f"{name} inflates to more than its declared {_mb(declared)} (a zip bomb)")
            crc = zlib.crc32(piece, crc)
            if plain_sink is not None:
                plain_sink(piece)

        while remaining:
            chunk = self.fh.read(min(_CHUNK, remaining))
            if not chunk:
                raise self.unsupported(f"damaged or truncated zip member {name!r}")
            remaining -= len(chunk)
            if raw_sink is not None:
                raw_sink(chunk)
            if inflater is None:
                take(chunk)
                continue
            if inflater.eof:
                continue
            try:
                take(inflater.decompress(chunk, _CHUNK))
                while inflater.unconsumed_tail:
                    take(inflater.decompress(inflater.unconsumed_tail, _CHUNK))
            except zlib.error as exc:
                raise self.unsupported(f"damaged zip member {name!r} ({exc})") from None
        if inflater is not None:
            if not inflater.eof:
                raise self.unsupported(f"damaged or truncated zip member {name!r} (its data ends early)")
            take(inflater.flush())
        if count != declared or crc != info.CRC:
            raise self.unsupported(f"damaged zip member {name!r} (size or CRC does not match)")

    def verify(self, info: ZipInfo, raw_sink: Callable[[bytes], object] | None = None) -> None:
        """Inflate a member without keeping it; XML members are scanned for a DOCTYPE."""
        scan = None
        if not info.is_dir() and _is_xml_member(info.orig_filename, self.content_type("/" + info.orig_filename)):
            scan = _DoctypeScan(self, info.orig_filename)
        self.pump(info, raw_sink, scan)

    def read(self, part: str, limit: int) -> bytes:
        info = self.member(part)
        if info is None:
            raise self.unsupported(f"part {part.lstrip('/')} is missing")
        pieces: list[bytes] = []
        self.pump(info, None, pieces.append, limit)
        return b"".join(pieces)

    def xml(self, part: str) -> etree._ElementTree:
        """A part parsed safely (no DOCTYPE, no entities, no network, bounded size and depth)."""
        key = part.casefold()
        if key not in self._xml_cache:
            self._xml_cache[key] = self._parse(part, self.read(part, self.limits.max_xml_part_bytes))
        return self._xml_cache[key]

    def _parse(self, part: str, data: bytes) -> etree._ElementTree:
        part = part.lstrip("/")
        if any(pattern in data for pattern in _DOCTYPES):
            raise self.hostile(f"{part} has a DOCTYPE (entity declarations are refused: XXE, entity bombs)")
        if not data.startswith((b"\xff\xfe", b"\xfe\xff")):
            body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
            body = body.lstrip(b" \t\r\n")
            if not body.startswith(b"<"):
                raise self.unsupported(f"{part} is not UTF-8 or UTF-16 XML")
            declared = _XML_DECL_ENCODING.match(body[:256])
            if declared and declared.group(1).lower() not in _XML_ENCODINGS:
                raise self.unsupported(f"{part} is in the {declared.group(1).decode()} encoding; "
                                       "Office XML is UTF-8 or UTF-16")
        parser = etree.XMLParser(**_SAFE_PARSER_OPTIONS)
        try:
            root = etree.fromstring(data, parser)
        except etree.XMLSyntaxError as exc:
            if "depth" in str(exc).lower():
                raise self.hostile(f"{part} is nested too deeply (over {min(256, self.limits.max_xml_depth)} "
                                   "levels)") from None
            raise self.unsupported(f"{part} is not well-formed XML ({exc})") from None
        tree = root.getroottree()
        if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
            raise self.hostile(f"{part} has a DOCTYPE (entity declarations are refused: XXE, entity bombs)")
        if _too_deep(self.limits.max_xml_depth)(tree):
            raise self.hostile(f"{part} is nested deeper than {self.limits.max_xml_depth} levels")
        return tree

    def verify_all(self) -> None:
        for info in self.infos:
            self.verify(info)

    # -- OPC structure ----------------------------------------------------------------------------
    def _load_content_types(self) -> None:
        if self.member("[Content_Types].xml") is None:
            raise self.unsupported("no [Content_Types].xml: not an Office Open XML (DOCX, PPTX, XLSX) package")
        self.content_types = self.xml("/[Content_Types].xml")
        root = self.content_types.getroot()
        if root.tag != _q(CT_NS, "Types"):
            raise self.unsupported("[Content_Types].xml is not a content-types part")
        for element in root:
            if element.tag == _q(CT_NS, "Default"):
                self.defaults[(element.get("Extension") or "").casefold()] = element.get("ContentType") or ""
            elif element.tag == _q(CT_NS, "Override"):
                self.overrides[(element.get("PartName") or "").casefold()] = element.get("ContentType") or ""

    def rels(self, source: str) -> list[_Rel]:
        name = _rels_name(source)
        if self.member(name) is None:
            return []
        return _read_rels(self.xml(name))

    def related(self, source: str, rel_type: str) -> list[str]:
        return [_resolve(source, rel.target) for rel in self.rels(source) if rel.type == rel_type and not rel.external]

    def _find_main_part(self) -> None:
        if self.member("_rels/.rels") is None:
            raise self.unsupported("no _rels/.rels: the package has no main document part")
        rels = self.rels("/")
        if any(rel.type == RT_STRICT_OFFICE_DOCUMENT for rel in rels):
            raise self.unsupported("Strict Office Open XML is not supported: save it as an ordinary document")
        mains = [_resolve("/", rel.target) for rel in rels if rel.type == RT_OFFICE_DOCUMENT and not rel.external]
        if not mains:
            raise self.unsupported("no main document part: not a Word, PowerPoint or Excel document")
        main = mains[0]
        content_type = self.content_type(main)
        kind = _MAIN_TYPES.get(content_type or "")
        if kind is None:
            raise self.unsupported(f"its main part {main} is {content_type or 'of no content type'}, "
                                   "not a Word document, PowerPoint presentation or Excel workbook")
        if self.member(main) is None:
            raise self.unsupported(f"its main part {main} is missing")
        self.main, self.kind = main, kind

    def c2pa_parts(self) -> list[str]:
        found = [info.orig_filename for info in self.infos if "c2pa" in info.orig_filename.casefold()]
        types = [*self.defaults.items(), *self.overrides.items()]
        found += [name for name, content_type in types if "application/c2pa" in content_type.casefold()]
        return found


def _read_rels(tree: etree._ElementTree) -> list[_Rel]:
    return [_Rel(element.get("Id") or "", element.get("Type") or "", element.get("Target") or "",
                 (element.get("TargetMode") or "").casefold() == "external")
            for element in tree.getroot() if element.tag == _q(PR_NS, "Relationship")]


@contextmanager
def _guard(pkg: _Package) -> Iterator[None]:
    """Whatever a damaged or hostile package makes the standard library raise becomes one line."""
    try:
        yield
    except StampError:
        raise
    except (BadZipFile, LargeZipFile, zlib.error, EOFError, struct.error, UnicodeError, etree.XMLSyntaxError,
            etree.XPathError, ValueError, KeyError, IndexError, OverflowError, NotImplementedError) as exc:
        raise pkg.unsupported(f"damaged or not a valid Office file ({type(exc).__name__}: {exc})") from None
    except (MemoryError, RecursionError):
        raise pkg.hostile("too large or too deeply nested to read within Adal's limits") from None
    except OSError as exc:
        raise StampError(f"{pkg.name}: input/output error ({exc.strerror or exc})") from None


def _ole_stream_names(handle: BinaryIO) -> set[str]:
    """The names in an OLE compound file's directory (first sectors only; best effort)."""
    names: set[str] = set()
    try:
        handle.seek(0)
        header = handle.read(512)
        sector_shift = struct.unpack("<H", header[30:32])[0]
        if sector_shift not in (9, 12):
            return names
        sector = 1 << sector_shift
        first_dir = struct.unpack("<L", header[48:52])[0]
        difat = struct.unpack("<109L", header[76:512])
        per_fat = sector // 4
        current, seen = first_dir, 0
        while current < 0xFFFFFFFA and seen < 64:
            seen += 1
            handle.seek((current + 1) * sector)
            block = handle.read(sector)
            for at in range(0, len(block) - 127, 128):
                length = struct.unpack("<H", block[at + 64:at + 66])[0]
                if 2 <= length <= 64:
                    names.add(block[at:at + length - 2].decode("utf-16-le", "replace").casefold())
            fat_index = current // per_fat
            if fat_index >= 109 or difat[fat_index] >= 0xFFFFFFFA:
                break
            handle.seek((difat[fat_index] + 1) * sector + (current % per_fat) * 4)
            entry = handle.read(4)
            if len(entry) < 4:
                break
            current = struct.unpack("<L", entry)[0]
    except (OSError, struct.error, ValueError):
        pass
    return names


# -- writing the output zip -----------------------------------------------------------------------
def _dos_time(date_time: tuple[int, int, int, int, int, int]) -> tuple[int, int]:
    year, month, day, hour, minute, second = date_time
    return (hour << 11 | minute << 5 | second // 2), ((max(year, 1980) - 1980) << 9 | month << 5 | day)


class _ZipWriter:
    """A minimal zip writer: raw copies of members and new deflated ones; Zip64 where needed."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.pos = 0
        self.central: list[bytes] = []

    def _write(self, data: bytes) -> None:
        self.out.write(data)
        self.pos += len(data)

    def _entry(self, name: str, template: ZipInfo, method: int, crc: int, compressed: int, size: int,
               body: Callable[[Callable[[bytes], None]], None], flags: int = 0) -> None:
        try:
            encoded = name.encode("ascii")
        except UnicodeEncodeError:
            encoded, flags = name.encode("utf-8"), flags | 0x800
        dos_time, dos_date = _dos_time(template.date_time)
        offset = self.pos
        big = size >= _ZIP64_LIMIT or compressed >= _ZIP64_LIMIT
        local_extra = struct.pack("<2H2Q", 1, 16, size, compressed) if big else b""
        version = 45 if big else 20
        self._write(struct.pack("<4s5H3L2H", b"PK\x03\x04", version, flags, method, dos_time, dos_date, crc,
                                0xFFFFFFFF if big else compressed, 0xFFFFFFFF if big else size,
                                len(encoded), len(local_extra)) + encoded + local_extra)
        body(self._write)
        values, central_extra = [], b""
        size_field, compressed_field, offset_field = size, compressed, offset
        if size >= _ZIP64_LIMIT:
            values.append(size)
            size_field = 0xFFFFFFFF
        if compressed >= _ZIP64_LIMIT:
            values.append(compressed)
            compressed_field = 0xFFFFFFFF
        if offset >= _ZIP64_LIMIT:
            values.append(offset)
            offset_field = 0xFFFFFFFF
        if values:
            central_extra = struct.pack(f"<2H{len(values)}Q", 1, 8 * len(values), *values)
            version = 45
        create_system = template.create_system if template.create_system in (0, 3) else 0
        self.central.append(struct.pack(
            "<4s6H3L5H2L", b"PK\x01\x02", create_system << 8 | version, version, flags, method, dos_time,
            dos_date, crc, compressed_field, size_field, len(encoded), len(central_extra), 0, 0,
            template.internal_attr & 0xFFFF, template.external_attr & 0xFFFFFFFF, offset_field,
        ) + encoded + central_extra)

    def copy(self, pkg: _Package, info: ZipInfo) -> None:
        """The member's compressed bytes as they are (checked on the way through)."""
        self._entry(info.orig_filename, info, info.compress_type, info.CRC, info.compress_size, info.file_size,
                    lambda write: pkg.verify(info, write), info.flag_bits & 0x6 if info.compress_type == 8 else 0)

    def add(self, name: str, data: bytes, template: ZipInfo) -> None:
        deflater = zlib.compressobj(6, zlib.DEFLATED, -15)
        compressed = deflater.compress(data) + deflater.flush()
        self._entry(name, template, 8, zlib.crc32(data), len(compressed), len(data),
                    lambda write: write(compressed))

    def close(self) -> None:
        start = self.pos
        for record in self.central:
            self._write(record)
        size = self.pos - start
        count = len(self.central)
        if count >= 0xFFFF or size >= _ZIP64_LIMIT or start >= _ZIP64_LIMIT:
            end64 = self.pos
            self._write(struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, size, start))
            self._write(struct.pack("<4sLQL", b"PK\x06\x07", 0, end64, 1))
            self._write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, min(count, 0xFFFF), min(count, 0xFFFF),
                                    min(size, 0xFFFFFFFF), min(start, 0xFFFFFFFF), 0))
        else:
            self._write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count, count, size, start, 0))


# -- edits to a package ---------------------------------------------------------------------------
def _serialize(tree: etree._ElementTree) -> bytes:
    """UTF-8 with the declaration Office writes (standalone kept when the part said it, else "yes")."""
    standalone = "no" if tree.docinfo.standalone is False else "yes"
    declaration = f'<?xml version="1.0" encoding="UTF-8" standalone="{standalone}"?>\r\n'.encode()
    return declaration + etree.tostring(tree, encoding="UTF-8", xml_declaration=False)


class _Edits:
    """Parts to rewrite (parsed trees) and parts to add, written out together at the end."""

    def __init__(self, pkg: _Package) -> None:
        self.pkg = pkg
        self.changed: dict[str, etree._ElementTree] = {}  # by member name, casefolded
        self.added: dict[str, tuple[str, etree._ElementTree]] = {}  # by part name, casefolded

    def edit(self, part: str) -> etree._ElementTree:
        if part.casefold() in self.added:
            return self.added[part.casefold()][1]
        info = self.pkg.member(part)
        if info is None:
            raise self.pkg.unsupported(f"part {part} is missing")
        key = info.orig_filename.casefold()
        if key not in self.changed:
            self.changed[key] = self.pkg.xml(part)
        return self.changed[key]

    def exists(self, part: str) -> bool:
        return self.pkg.member(part) is not None or part.casefold() in self.added

    def add(self, part: str, root: etree._Element, content_type: str) -> etree._ElementTree:
        if self.exists(part):
            raise self.pkg.unsupported(f"part {part} exists already")
        tree = root.getroottree()
        self.added[part.casefold()] = (part, tree)
        self.set_content_type(part, content_type)
        return tree

    def set_content_type(self, part: str, content_type: str) -> None:
        if self.pkg.content_type(part) == content_type:
            return
        root = self.edit("/[Content_Types].xml").getroot()
        for element in root.findall(_q(CT_NS, "Override")):
            if (element.get("PartName") or "").casefold() == part.casefold():
                element.set("ContentType", content_type)
                break
        else:
            etree.SubElement(root, _q(CT_NS, "Override"), PartName=part, ContentType=content_type)
        self.pkg.overrides[part.casefold()] = content_type

    def relate(self, source: str, rel_type: str, part: str) -> str:
        """Adds a relationship from ``source`` to ``part`` (creating the .rels part) and returns its id."""
        name = _rels_name(source)
        if self.exists(name):
            root = self.edit(name).getroot()
        else:
            root = etree.Element(_q(PR_NS, "Relationships"), nsmap={None: PR_NS})
            self.add(name, root, CT_RELS)
        taken = {element.get("Id") for element in root}
        number = len(taken) + 1
        while f"rId{number}" in taken:
            number += 1
        rel_id = f"rId{number}"
        etree.SubElement(root, _q(PR_NS, "Relationship"), Id=rel_id, Type=rel_type, Target=_relative(source, part))
        return rel_id

    def write(self, out: BinaryIO) -> None:
        pkg = self.pkg
        writer = _ZipWriter(out)
        for info in pkg.infos:
            tree = self.changed.get(info.orig_filename.casefold())
            if tree is not None:
                writer.add(info.orig_filename, _serialize(tree), info)
            else:
                writer.copy(pkg, info)
        template = pkg.member(pkg.main) or pkg.infos[0]
        for part, tree in self.added.values():
            writer.add(part.lstrip("/"), _serialize(tree), template)
        writer.close()


# -- properties (every kind) ----------------------------------------------------------------------
def _keyword_tokens(provenance: Provenance) -> list[str]:
    def clean(text: str) -> str:
        return text.replace(";", ",")

    return ["AI-Generated", f"AI-Service: {clean(provenance.service)}",
            f"AI-Model: {clean(provenance.model_and_version)}"]


def _is_our_keyword(token: str) -> bool:
    lowered = token.strip().casefold()
    return lowered == "ai-generated" or lowered.startswith(_KEYWORD_PREFIXES[1:])


def _properties_part(pkg: _Package, rel_type: str, default: str) -> tuple[str, bool]:
    parts = pkg.related("/", rel_type)
    if parts:
        return parts[0], True
    return default, False


def _stamp_properties(pkg: _Package, edits: _Edits, provenance: Provenance) -> None:
    fields = {name: _checked_text(value, name) for name, value in provenance.fields().items()}
    # custom properties
    part, related = _properties_part(pkg, RT_CUSTOM_PROPERTIES, "/docProps/custom.xml")
    if pkg.member(part) is not None:
        root = edits.edit(part).getroot()
        if root.tag != _q(CUSTOM_NS, "Properties"):
            raise pkg.unsupported(f"{part} is not a custom-properties part")
        edits.set_content_type(part, CT_CUSTOM)
    else:
        root = etree.Element(_q(CUSTOM_NS, "Properties"), nsmap={None: CUSTOM_NS, "vt": VT_NS})
        edits.add(part, root, CT_CUSTOM)
    if not related:
        edits.relate("/", RT_CUSTOM_PROPERTIES, part)
    _set_custom_properties(root, fields)
    # core properties: keywords and the responsible person
    part, related = _properties_part(pkg, RT_CORE_PROPERTIES, "/docProps/core.xml")
    if pkg.member(part) is not None:
        core = edits.edit(part).getroot()
        if core.tag != _q(CORE_NS, "coreProperties"):
            raise pkg.unsupported(f"{part} is not a core-properties part")
    else:
        core = etree.Element(_q(CORE_NS, "coreProperties"),
                             nsmap={"cp": CORE_NS, "dc": DC_NS, "dcterms": DCTERMS_NS})
        edits.add(part, core, CT_CORE)
    if not related:
        edits.relate("/", RT_CORE_PROPERTIES, part)
    keywords = core.find(_q(CORE_NS, "keywords"))
    if keywords is None:
        keywords = etree.SubElement(core, _q(CORE_NS, "keywords"))
    tokens = [token.strip() for token in (keywords.text or "").split(";") if token.strip()]
    tokens = [token for token in tokens if not _is_our_keyword(token)] + _keyword_tokens(provenance)
    keywords.text = _checked_text("; ".join(tokens), "keywords")
    if provenance.responsible:
        creator = core.find(_q(DC_NS, "creator"))
        if creator is None:
            creator = etree.SubElement(core, _q(DC_NS, "creator"), nsmap={"dc": DC_NS})
        names = [name.strip() for name in (creator.text or "").split(";") if name.strip()]
        if provenance.responsible.strip() not in names:
            names.append(provenance.responsible.strip())
        creator.text = _checked_text("; ".join(names), "--responsible")


def _set_custom_properties(root: etree._Element, fields: dict[str, str]) -> None:
    properties = root.findall(_q(CUSTOM_NS, "property"))
    by_name = {(element.get("name") or "").casefold(): element for element in properties}
    stamped_before = "ai-generated" in by_name
    pids = [int(pid) for element in properties if (pid := element.get("pid") or "").isdigit()]
    next_pid = max([1, *pids]) + 1
    for name in FIELD_NAMES:
        value = fields.get(name)
        element = by_name.get(name.casefold())
        if value is None:
            if element is not None and stamped_before:
                root.remove(element)
            continue
        if element is None:
            element = etree.SubElement(root, _q(CUSTOM_NS, "property"), fmtid=FMTID, pid=str(next_pid), name=name)
            next_pid += 1
        else:
            for child in list(element):
                element.remove(child)
            element.attrib.pop("linkTarget", None)
        etree.SubElement(element, _q(VT_NS, "lpwstr"), nsmap={"vt": VT_NS}).text = value


def _read_custom_properties(pkg: _Package) -> dict[str, str]:
    parts = pkg.related("/", RT_CUSTOM_PROPERTIES)
    part = parts[0] if parts else "/docProps/custom.xml"
    if pkg.member(part) is None:
        return {}
    wanted = {name.casefold(): name for name in FIELD_NAMES}
    fields: dict[str, str] = {}
    for element in pkg.xml(part).getroot().iter(_q(CUSTOM_NS, "property")):
        name = wanted.get((element.get("name") or "").casefold())
        if name and name not in fields:
            fields[name] = "".join(element.itertext()).strip()
    return {name: fields[name] for name in FIELD_NAMES if name in fields}


def _read_keywords(pkg: _Package) -> str | None:
    parts = pkg.related("/", RT_CORE_PROPERTIES)
    part = parts[0] if parts else "/docProps/core.xml"
    if pkg.member(part) is None:
        return None
    keywords = pkg.xml(part).getroot().find(_q(CORE_NS, "keywords"))
    return None if keywords is None else "".join(keywords.itertext()).strip() or None


# -- DOCX -------------------------------------------------------------------------------------------
def _w(name: str) -> str:
    return _q(W_NS, name)


def _paragraph_text(paragraph: etree._Element) -> str:
    return "".join(text.text or "" for text in paragraph.iter(_w("t")))


def _is_docx_label(paragraph: etree._Element) -> bool:
    marked = any(mark.get(_w("name")) == _DOCX_BOOKMARK for mark in paragraph.iter(_w("bookmarkStart")))
    return marked or _is_label_text(_paragraph_text(paragraph))


def _docx_body(pkg: _Package, tree: etree._ElementTree) -> etree._Element:
    body = tree.getroot().find(_w("body"))
    if tree.getroot().tag != _w("document") or body is None:
        raise pkg.unsupported(f"{pkg.main} has no document body")
    return body


def _docx_style_names(pkg: _Package) -> dict[str, str]:
    names: dict[str, str] = {}
    for part in pkg.related(pkg.main, RT_STYLES)[:1]:
        if pkg.member(part) is None:
            continue
        for style in pkg.xml(part).getroot().iter(_w("style")):
            name = style.find(_w("name"))
            if style.get(_w("styleId")) and name is not None:
                names[style.get(_w("styleId")) or ""] = (name.get(_w("val")) or "").casefold()
    return names


def _docx_style(paragraph: etree._Element, style_names: dict[str, str]) -> str:
    style = paragraph.find(f"{_w('pPr')}/{_w('pStyle')}")
    style_id = "" if style is None else style.get(_w("val")) or ""
    return style_names.get(style_id, style_id.casefold())


def _stamp_docx(pkg: _Package, edits: _Edits, provenance: Provenance, lang: str) -> None:
    tree = edits.edit(pkg.main)
    body = _docx_body(pkg, tree)
    for paragraph in [child for child in body if child.tag == _w("p") and _is_docx_label(child)]:
        body.remove(paragraph)
    position = _docx_label_position(body, _docx_style_names(pkg))
    ids = [int(value) for value in tree.getroot().xpath("//@w:id", namespaces={"w": W_NS})
           if value.lstrip("-").isdigit()]
    body.insert(position, _docx_label(label_line(provenance, lang), lang, max([0, *ids]) + 1))


def _docx_label_position(body: etree._Element, style_names: dict[str, str]) -> int:
    """Where the label goes among the body's children: under the title (the first Title paragraph, or
    a heading that opens the document) and its subtitles; else first."""
    children = list(body)
    paragraphs = [(index, _docx_style(child, style_names)) for index, child in enumerate(children)
                  if child.tag == _w("p")]
    titles = [index for index, style in paragraphs if style == "title"]
    if not titles:
        opening = next(((index, style) for index, style in paragraphs if _paragraph_text(children[index]).strip()),
                       None)
        if opening is None or not re.fullmatch(r"heading ?[1-9]", opening[1]):
            return 0
        titles = [opening[0]]
    position = titles[0] + 1
    while (position < len(children) and children[position].tag == _w("p")
           and _docx_style(children[position], style_names) == "subtitle"):
        position += 1
    return position


def _docx_label(text: str, lang: str, bookmark_id: int) -> etree._Element:
    paragraph = etree.Element(_w("p"))
    etree.SubElement(paragraph, _w("bookmarkStart"), {_w("id"): str(bookmark_id), _w("name"): _DOCX_BOOKMARK})
    run = etree.SubElement(paragraph, _w("r"))
    properties = etree.SubElement(run, _w("rPr"))
    etree.SubElement(properties, _w("i"))
    etree.SubElement(properties, _w("sz"), {_w("val"): "20"})
    etree.SubElement(properties, _w("szCs"), {_w("val"): "20"})
    etree.SubElement(properties, _w("lang"), {_w("val"): _LANG_TAGS[lang]})
    etree.SubElement(run, _w("t"), {_q(XML_NS, "space"): "preserve"}).text = text
    etree.SubElement(paragraph, _w("bookmarkEnd"), {_w("id"): str(bookmark_id)})
    return paragraph


def _inspect_docx(pkg: _Package, report: Report) -> None:
    body = _docx_body(pkg, pkg.xml(pkg.main))
    for paragraph in body.iter(_w("p")):
        if _is_docx_label(paragraph) and _paragraph_text(paragraph).strip():
            report.visible_label = _paragraph_text(paragraph).strip()
            return


# -- PPTX -------------------------------------------------------------------------------------------
def _p(name: str) -> str:
    return _q(P_NS, name)


def _a(name: str) -> str:
    return _q(A_NS, name)


def _slides(pkg: _Package, rels: list[_Rel], presentation: etree._Element) -> list[str]:
    by_id = {rel.id: _resolve(pkg.main, rel.target) for rel in rels if rel.type == RT_SLIDE and not rel.external}
    listed = presentation.find(_p("sldIdLst"))
    if listed is None:
        return []
    return [by_id[entry.get(_q(R_NS, "id"))] for entry in listed if entry.get(_q(R_NS, "id")) in by_id]


def _slide_text(slide: etree._Element) -> tuple[str | None, list[tuple[str, ...]], bool]:
    """The title, the table rows, and whether Adal's shape names mark the slide."""
    title = None
    marked = False
    for shape in slide.iter(_p("sp")):
        name = shape.find(f"{_p('nvSpPr')}/{_p('cNvPr')}")
        marked = marked or (name is not None and (name.get("name") or "").startswith(_SLIDE_SHAPE_PREFIX))
        placeholder = shape.find(f"{_p('nvSpPr')}/{_p('nvPr')}/{_p('ph')}")
        if title is None and placeholder is not None and placeholder.get("type") in ("title", "ctrTitle"):
            title = "".join(shape.find(_p("txBody")).itertext()) if shape.find(_p("txBody")) is not None else ""
    for frame in slide.iter(_p("graphicFrame")):
        name = frame.find(f"{_p('nvGraphicFramePr')}/{_p('cNvPr')}")
        marked = marked or (name is not None and (name.get("name") or "").startswith(_SLIDE_SHAPE_PREFIX))
    rows = [tuple("".join(cell.itertext()).strip() for cell in row.iter(_a("tc"))) for row in slide.iter(_a("tr"))]
    return (title.strip() if title is not None else None), rows, marked


def _is_ai_use_slide(slide: etree._Element) -> bool:
    title, rows, marked = _slide_text(slide)
    if marked:
        return True
    names = _slide_signatures().get(title or "")
    return names is not None and tuple(row[0] for row in rows if row) == names


def _find_ai_use_slide(pkg: _Package, slides: list[str]) -> str | None:
    for part in slides:
        if pkg.member(part) is not None and _is_ai_use_slide(pkg.xml(part).getroot()):
            return part
    return None


def _choose_layout(pkg: _Package, presentation: etree._Element) -> str:
    layouts: list[tuple[str, str]] = []
    for master in pkg.related(pkg.main, RT_SLIDE_MASTER):
        if pkg.member(master) is None:
            continue
        for layout in pkg.related(master, RT_SLIDE_LAYOUT):
            if pkg.member(layout) is not None:
                layouts.append((layout, pkg.xml(layout).getroot().get("type") or "cust"))
        if layouts:
            break
    if not layouts:
        raise pkg.unsupported("the presentation has no slide layout to build a slide on")
    for wanted in ("titleOnly", "obj", "tx"):
        for layout, kind in layouts:
            if kind == wanted:
                return layout
    return layouts[0][0]


def _slide_size(presentation: etree._Element) -> tuple[int, int]:
    size = presentation.find(_p("sldSz"))
    try:
        return int(size.get("cx")), int(size.get("cy"))  # type: ignore[union-attr, arg-type]
    except (AttributeError, TypeError, ValueError):
        return 9144000, 6858000


def _run(parent: etree._Element, text: str, lang: str, **attributes: str) -> None:
    paragraph = etree.SubElement(parent, _a("p"))
    run = etree.SubElement(paragraph, _a("r"))
    etree.SubElement(run, _a("rPr"), lang=_LANG_TAGS[lang], dirty="0", **attributes)
    etree.SubElement(run, _a("t")).text = text


def _ai_use_slide_xml(provenance: Provenance, lang: str, size: tuple[int, int]) -> etree._Element:
    content = ai_use_slide(provenance, lang)
    width, height = size
    margin = width // 20
    slide = etree.Element(_p("sld"), nsmap={"a": A_NS, "r": R_NS, "p": P_NS})
    tree = etree.SubElement(etree.SubElement(slide, _p("cSld")), _p("spTree"))
    group = etree.SubElement(tree, _p("nvGrpSpPr"))
    etree.SubElement(group, _p("cNvPr"), id="1", name="")
    etree.SubElement(group, _p("cNvGrpSpPr"))
    etree.SubElement(group, _p("nvPr"))
    etree.SubElement(tree, _p("grpSpPr"))
    # the title
    shape = etree.SubElement(tree, _p("sp"))
    names = etree.SubElement(shape, _p("nvSpPr"))
    etree.SubElement(names, _p("cNvPr"), id="2", name=f"{_SLIDE_SHAPE_PREFIX}: title")
    etree.SubElement(etree.SubElement(names, _p("cNvSpPr")), _a("spLocks"), noGrp="1")
    etree.SubElement(etree.SubElement(names, _p("nvPr")), _p("ph"), type="title")
    frame = etree.SubElement(etree.SubElement(shape, _p("spPr")), _a("xfrm"))
    etree.SubElement(frame, _a("off"), x=str(margin), y=str(height // 25))
    etree.SubElement(frame, _a("ext"), cx=str(width - 2 * margin), cy=str(height * 3 // 20))
    body = etree.SubElement(shape, _p("txBody"))
    etree.SubElement(body, _a("bodyPr"))
    etree.SubElement(body, _a("lstStyle"))
    _run(body, content.title, lang)
    # the table
    graphic_frame = etree.SubElement(tree, _p("graphicFrame"))
    names = etree.SubElement(graphic_frame, _p("nvGraphicFramePr"))
    etree.SubElement(names, _p("cNvPr"), id="3", name=f"{_SLIDE_SHAPE_PREFIX}: table")
    etree.SubElement(etree.SubElement(names, _p("cNvGraphicFramePr")), _a("graphicFrameLocks"), noGrp="1")
    etree.SubElement(names, _p("nvPr"))
    row_height = height // 12
    table_width = width - 2 * margin
    frame = etree.SubElement(graphic_frame, _p("xfrm"))
    etree.SubElement(frame, _a("off"), x=str(margin), y=str(height * 5 // 24))
    etree.SubElement(frame, _a("ext"), cx=str(table_width), cy=str(row_height * len(content.rows)))
    data = etree.SubElement(etree.SubElement(graphic_frame, _a("graphic")), _a("graphicData"),
                            uri="http://schemas.openxmlformats.org/drawingml/2006/table")
    table = etree.SubElement(data, _a("tbl"))
    etree.SubElement(etree.SubElement(table, _a("tblPr"), firstCol="1", bandRow="1"), _a("tableStyleId")).text = (
        _TABLE_STYLE)
    grid = etree.SubElement(table, _a("tblGrid"))
    etree.SubElement(grid, _a("gridCol"), w=str(table_width * 3 // 10))
    etree.SubElement(grid, _a("gridCol"), w=str(table_width - table_width * 3 // 10))
    for name, value in content.rows:
        row = etree.SubElement(table, _a("tr"), h=str(row_height))
        for text in (name, value):
            cell = etree.SubElement(row, _a("tc"))
            cell_body = etree.SubElement(cell, _a("txBody"))
            etree.SubElement(cell_body, _a("bodyPr"))
            etree.SubElement(cell_body, _a("lstStyle"))
            _run(cell_body, _checked_text(text, "slide text"), lang, sz="1600")
            etree.SubElement(cell, _a("tcPr"))
    color_map = etree.SubElement(slide, _p("clrMapOvr"))
    etree.SubElement(color_map, _a("masterClrMapping"))
    return slide


def _stamp_pptx(pkg: _Package, edits: _Edits, provenance: Provenance, lang: str) -> None:
    presentation = pkg.xml(pkg.main).getroot()
    if presentation.tag != _p("presentation"):
        raise pkg.unsupported(f"{pkg.main} is not a presentation part")
    slides = _slides(pkg, pkg.rels(pkg.main), presentation)
    new_slide = _ai_use_slide_xml(provenance, lang, _slide_size(presentation))
    existing = _find_ai_use_slide(pkg, slides)
    if existing is not None:
        edits.edit(existing)._setroot(new_slide)
        return
    layout = _choose_layout(pkg, presentation)
    numbers = [int(m.group(1)) for info in pkg.infos
               if (m := re.fullmatch(r"ppt/slides/slide(\d+)\.xml", info.orig_filename, re.IGNORECASE))]
    number = max([0, *numbers]) + 1
    part = f"/ppt/slides/slide{number}.xml"
    while edits.exists(part):
        number += 1
        part = f"/ppt/slides/slide{number}.xml"
    edits.add(part, new_slide, CT_SLIDE)
    edits.relate(part, RT_SLIDE_LAYOUT, layout)
    rel_id = edits.relate(pkg.main, RT_SLIDE, part)
    presentation = edits.edit(pkg.main).getroot()
    listed = presentation.find(_p("sldIdLst"))
    if listed is None:
        listed = etree.Element(_p("sldIdLst"))
        anchor = None
        for name in ("handoutMasterIdLst", "notesMasterIdLst", "sldMasterIdLst"):
            anchor = presentation.find(_p(name))
            if anchor is not None:
                break
        if anchor is not None:
            anchor.addnext(listed)
        else:
            presentation.insert(0, listed)
    ids = [int(entry.get("id") or 0) for entry in listed if (entry.get("id") or "").isdigit()]
    etree.SubElement(listed, _p("sldId"), {"id": str(max([255, *ids]) + 1), _q(R_NS, "id"): rel_id})


def _inspect_pptx(pkg: _Package, report: Report) -> None:
    presentation = pkg.xml(pkg.main).getroot()
    slides = _slides(pkg, pkg.rels(pkg.main), presentation)
    part = _find_ai_use_slide(pkg, slides)
    if part is None:
        return
    title, rows, _ = _slide_text(pkg.xml(part).getroot())
    cells = "; ".join(": ".join(cell for cell in row if cell) for row in rows)
    report.visible_label = f"{title}: {cells}" if cells else title
    report.notes.append(f"«{title}» slide: slide {slides.index(part) + 1} of {len(slides)}")


# -- XLSX -------------------------------------------------------------------------------------------
def _s(name: str) -> str:
    return _q(S_NS, name)


_WORKSHEET_AFTER_HEADER = ("rowBreaks", "colBreaks", "customProperties", "cellWatches", "ignoredErrors", "smartTags",
                           "drawing", "legacyDrawing", "legacyDrawingHF", "drawingHF", "picture", "oleObjects",
                           "controls", "webPublishItems", "tableParts", "extLst")
_CHARTSHEET_AFTER_HEADER = ("drawing", "legacyDrawing", "legacyDrawingHF", "drawingHF", "picture", "webPublishItems",
                            "extLst")
_HEADER_ORDER = ("oddHeader", "oddFooter", "evenHeader", "evenFooter", "firstHeader", "firstFooter")


def _header_sections(text: str) -> dict[str, str]:
    """An Excel header string split into its left, centre and right sections (codes kept)."""
    sections = {"L": "", "C": "", "R": ""}
    current = "C"
    index = 0
    while index < len(text):
        char = text[index]
        if char == "&" and index + 1 < len(text):
            code = text[index + 1]
            if code in "LCR":
                current = code
                index += 2
                continue
            if code == '"':
                end = text.find('"', index + 2)
                end = len(text) - 1 if end < 0 else end
                sections[current] += text[index:end + 1]
                index = end + 1
                continue
            sections[current] += text[index:index + 2]
            index += 2
            continue
        sections[current] += char
        index += 1
    return sections


@lru_cache(maxsize=1)
def _header_label_pattern() -> re.Pattern[str]:
    """Adal's chunk in a header section: our codes, a label in any language, up to the next code."""
    prefixes = "|".join(re.escape(prefix.replace("&", "&&")) for prefix in _label_prefixes())
    return re.compile(rf'(?:&"-,Italic")?(?:&8)?(?P<label>(?:{prefixes})(?:[^&\n]|&&)*)')


def _header_label(text: str) -> str | None:
    match = _header_label_pattern().search(text)
    return None if match is None else match.group("label").replace("&&", "&")


def _without_label(section: str) -> str:
    pattern = _header_label_pattern()
    return re.sub(r"\n?" + pattern.pattern, "", section).removeprefix("\n")


def _header_with_label(pkg: _Package, sheet: str, existing: str, label: str) -> str:
    sections = {key: _without_label(value) for key, value in _header_sections(existing).items()}
    chunk = _HEADER_CODES + label.replace("&", "&&")
    sections["C"] = f"{sections['C']}\n{chunk}" if sections["C"] else chunk
    header = "".join(f"&{key}{value}" for key, value in sections.items() if value)
    if len(header) > EXCEL_HEADER_MAX:
        plain = label.replace("&", "&&")
        header = header.replace(chunk, plain)
        if len(header) > EXCEL_HEADER_MAX:
            raise pkg.unsupported(
                f"the AI label and the page header of sheet {sheet!r} together are {len(header)} characters, over "
                f"Excel's limit of {EXCEL_HEADER_MAX}: shorten the header or the --service, --model, --responsible")
    return header


def _sheets(pkg: _Package) -> list[tuple[str, str, str]]:
    """(sheet name, part name, kind) of each sheet in the workbook's order."""
    workbook = pkg.xml(pkg.main).getroot()
    if workbook.tag != _s("workbook"):
        raise pkg.unsupported(f"{pkg.main} is not a workbook part")
    rels = {rel.id: rel for rel in pkg.rels(pkg.main) if not rel.external}
    sheets = []
    for sheet in workbook.iter(_s("sheet")):
        rel = rels.get(sheet.get(_q(R_NS, "id")) or "")
        if rel is None or rel.type not in (RT_WORKSHEET, RT_CHARTSHEET):
            continue
        part = _resolve(pkg.main, rel.target)
        if pkg.member(part) is not None:
            sheets.append((sheet.get("name") or part, part, "worksheet" if rel.type == RT_WORKSHEET else "chartsheet"))
    return sheets


def _stamp_xlsx(pkg: _Package, edits: _Edits, provenance: Provenance, lang: str) -> None:
    label = label_line(provenance, lang)
    for name, part, kind in _sheets(pkg):
        root = edits.edit(part).getroot()
        if root.tag != _s(kind):
            raise pkg.unsupported(f"{part} is not a {kind} part")
        header_footer = root.find(_s("headerFooter"))
        if header_footer is None:
            header_footer = etree.Element(_s("headerFooter"))
            after = _WORKSHEET_AFTER_HEADER if kind == "worksheet" else _CHARTSHEET_AFTER_HEADER
            anchor = next((child for child in root if etree.QName(child).localname in after), None)
            if anchor is not None:
                anchor.addprevious(header_footer)
            else:
                root.append(header_footer)
        wanted = ["oddHeader"]
        if header_footer.get("differentOddEven") in ("1", "true"):
            wanted.append("evenHeader")
        if header_footer.get("differentFirst") in ("1", "true"):
            wanted.append("firstHeader")
        for element_name in wanted:
            element = header_footer.find(_s(element_name))
            if element is None:
                element = etree.Element(_s(element_name))
                position = _HEADER_ORDER.index(element_name)
                later = [header_footer.find(_s(n)) for n in _HEADER_ORDER[position + 1:]]
                anchor = next((e for e in later if e is not None), None)
                if anchor is not None:
                    anchor.addprevious(element)
                else:
                    header_footer.append(element)
            element.text = _checked_text(_header_with_label(pkg, name, element.text or "", label), "page header",
                                         "\t\r\n")


def _inspect_xlsx(pkg: _Package, report: Report) -> None:
    sheets = _sheets(pkg)
    labelled = 0
    for _, part, _ in sheets:
        header = pkg.xml(part).getroot().find(f"{_s('headerFooter')}/{_s('oddHeader')}")
        found = _header_label(header.text or "") if header is not None else None
        if found:
            labelled += 1
            report.visible_label = report.visible_label or found
    if sheets and labelled:
        report.notes.append(f"label in the page header of {labelled} of {len(sheets)} sheets")


# -- the API ----------------------------------------------------------------------------------------
def main_part_kind(path: Path, limits: Limits = _DEFAULT_LIMITS) -> str:
    """'docx', 'pptx' or 'xlsx', from the package's main part and [Content_Types].xml (read safely).
    Raises ``UnsupportedFile`` or ``HostileFile`` (``EncryptedFile`` for a password-protected file)."""
    with _Package.open(path, limits) as pkg:
        return pkg.kind


_STAMPERS: dict[str, Callable[[_Package, _Edits, Provenance, str], None]] = {
    "docx": _stamp_docx, "pptx": _stamp_pptx, "xlsx": _stamp_xlsx}


def stamp_opc(src: Path, out: BinaryIO, provenance: Provenance, lang: str, limits: Limits) -> None:
    """Write ``src`` with Adal's provenance (properties, keywords, visible label) to ``out``.
    Unchanged members are copied compressed as they are. Nothing usable is written if this raises:
    write to ``provenance.atomic_output``."""
    label_line(provenance, lang)  # refuses an unknown language before any work
    with _Package.open(src, limits) as pkg:
        edits = _Edits(pkg)
        _stamp_properties(pkg, edits, provenance)
        _STAMPERS[pkg.kind](pkg, edits, provenance, lang)
        edits.write(out)


_INSPECTORS: dict[str, Callable[[_Package, Report], None]] = {
    "docx": _inspect_docx, "pptx": _inspect_pptx, "xlsx": _inspect_xlsx}


def inspect_opc(path: Path, limits: Limits) -> Report:
    """What provenance an OPC file carries: Adal's custom properties, the visible label, keywords,
    and whether a C2PA manifest part is present (not verified)."""
    with _Package.open(path, limits) as pkg:
        pkg.verify_all()
        report = Report(kind=pkg.kind, fields=_read_custom_properties(pkg))
        _INSPECTORS[pkg.kind](pkg, report)
        keywords = _read_keywords(pkg)
        if keywords:
            report.notes.append(f"keywords: {keywords}")
        c2pa = pkg.c2pa_parts()
        if c2pa:
            report.c2pa_manifest = True
            report.notes.append(f"C2PA manifest part present (not verified): {c2pa[0]}")
        if report.fields and not report.visible_label:
            report.notes.append("provenance properties present, but no visible AI label")
        if report.visible_label and not report.fields:
            report.notes.append("a visible AI label, but no provenance properties")
        return report
