"""PDF: AI provenance as an incremental update appended to the original bytes (S C.3).

What a stamp adds, and nothing else: Info dictionary keys named like ``Provenance.fields()``; an
XMP packet in the catalog's ``/Metadata`` stream (merged into an existing packet) with
``xmp:CreatorTool``, ``Iptc4xmpExt:DigitalSourceType`` = trainedAlgorithmicMedia,
``Iptc4xmpExt:AISystemUsed``/``AISystemVersionUsed`` and ``adal:*``; and a FreeText annotation on
page 1 (``/NM (adal-ai-provenance)``) whose ``/Contents`` is the label line and whose appearance
stream draws it with the standard Helvetica, re-encoded by glyph name so Kazakh Cyrillic shows.

The original file is never rewritten: its bytes are copied unchanged and the update (new versions
of the few objects that change, a cross-reference section in the file's own style, a trailer with
``/Prev``) is appended, so an approval signature over the earlier revision stays intact. pypdf
only parses objects; the cross-reference chain is read here, so that a file pypdf would quietly
repair (wrong offsets, missing ``%%EOF``, rebuilt xref) is refused instead of stamped on top of a
guess.
"""

from __future__ import annotations

import bisect
import io
import os
import re
import shutil
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO
from xml.sax.saxutils import escape

from lxml import etree
from pypdf.errors import LimitReachedError
from pypdf.generic import (
    ArrayObject,
    ByteStringObject,
    DictionaryObject,
    FloatObject,
    IndirectObject,
    NameObject,
    NullObject,
    NumberObject,
    PdfObject,
    StreamObject,
    TextStringObject,
    read_object,
)

from attribution.provenance import (
    ADAL_NS,
    ADAL_PREFIX,
    FIELD_NAMES,
    IPTC_EXT_NS,
    TRAINED_ALGORITHMIC_MEDIA,
    EncryptedFile,
    HostileFile,
    Limits,
    Provenance,
    Report,
    StampError,
    UnsupportedFile,
    label_line,
    xmp_name,
)

ANNOTATION_NAME = "adal-ai-provenance"
"""The ``/NM`` of our label annotation: how a second stamp finds (and replaces) the first."""

XMP_NS = "http://ns.adobe.com/xap/1.0/"
RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
X_NS = "adobe:ns:meta/"
PDFA_NS = "http://www.aiim.org/pdfa/ns/id/"
IPTC_PREFIX = "Iptc4xmpExt"

_IPTC_OURS = ("DigitalSourceType", "AISystemUsed", "AISystemVersionUsed")

_MAX_SECTIONS = 1024  # revisions (cross-reference sections) in one file
_LOOKUP_BUDGET = 5_000_000  # section probes while resolving objects: bounds the time on crafted files
_MAX_SUBSECTIONS = 100_000  # in all cross-reference sections together
_CACHED_OBJECTS = 20_000
_CACHED_OBJSTM_BYTES = 64 * 1024 * 1024
_MAX_ANNOTS = 100_000
_TAIL_BYTES = 2048
_HEADER_WINDOW = 1024

_OBJ_HEADER = re.compile(rb"\s*(\d{1,10})\s+(\d{1,5})\s+obj(?![A-Za-z])\s*")
_TABLE_ENTRY = re.compile(rb"(\d{10}) (\d{5}) ([nf])")
_SUBSECTION = re.compile(rb"(\d{1,10})[ \t]+(\d{1,10})[ \t]*(?:\r\n|\r|\n)")
_STARTXREF = re.compile(rb"startxref\s*(\d{1,15})\s*%%EOF")
_WHITESPACE = b" \t\r\n\f\x00"


# -- errors --------------------------------------------------------------------------------------
def _damaged(reason: str) -> UnsupportedFile:
    return UnsupportedFile(f"damaged PDF: {reason}")


def _one_line(text: str, limit: int = 160) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 16:
        yield current
        current = current.__cause__ or current.__context__
        seen += 1


@contextmanager
def _refusals(name: str) -> Iterator[None]:
    """Everything that goes wrong while reading becomes a one-line ``StampError`` naming the file."""
    try:
        yield
    except StampError as exc:
        raise type(exc)(f"{name}: {exc}") from None
    except LimitReachedError as exc:
        raise HostileFile(f"{name}: over a safety limit while reading the PDF ({_one_line(exc)})") from None
    except RecursionError:
        raise HostileFile(f"{name}: nested too deeply to read safely (a reference loop?)") from None
    except MemoryError:
        raise HostileFile(f"{name}: too large to read in memory") from None
    except OSError as exc:
        raise StampError(f"{name}: cannot read it ({exc.strerror or exc})") from None
    except Exception as exc:  # any other parse failure of a damaged file: no traceback for the user
        if any(isinstance(cause, RecursionError) for cause in _causes(exc)):
            raise HostileFile(f"{name}: nested too deeply to read safely (a reference loop?)") from None
        raise UnsupportedFile(f"{name}: damaged PDF ({_one_line(f'{type(exc).__name__}: {exc}')})") from None


# -- reading: cross-reference chain and objects ----------------------------------------------------
@dataclass
class _Subsection:
    start: int
    count: int
    pos: int  # file offset of the first entry
    width: int  # bytes per entry (20, or 19 for single-byte line ends)


@dataclass
class _Section:
    kind: str  # "table" or "stream"
    offset: int
    trailer: DictionaryObject
    subsections: list[_Subsection] = field(default_factory=list)
    widths: tuple[int, int, int] = (1, 0, 0)
    index: list[tuple[int, int, int]] = field(default_factory=list)  # (first number, count, first row)
    data: bytes = b""
    is_xrefstm: bool = False  # the /XRefStm stream of a hybrid-reference file's table

    @property
    def end(self) -> int:
        ranges = [(s.start + s.count) for s in self.subsections] + [(a + n) for a, n, _ in self.index]
        return max(ranges, default=0)


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else None


class _Document:
    """A PDF read through its own cross-reference chain; pypdf parses the objects."""

    strict = True  # for pypdf's parser: raise on anomalies instead of returning partial objects
    xref: dict[int, dict[int, int]] = {}  # pypdf looks at it only when not strict

    def __init__(self, handle: BinaryIO, size: int, limits: Limits) -> None:
        self.handle = handle
        self.size = size
        self.limits = limits
        self._ready = False
        self._cache: dict[tuple[int, int], PdfObject] = {}
        self._busy: set[tuple[int, int]] = set()
        self._objstms: dict[int, tuple[bytes, int, list[tuple[int, int]]]] = {}
        self._budget = _LOOKUP_BUDGET
        self._entries = 0  # cross-reference entries in all sections, against limits.max_pdf_objects
        self._subsections = 0
        if size > limits.max_file_bytes:
            raise HostileFile(f"larger than the limit of {limits.max_file_bytes // (1024 * 1024)} MB")
        head = self._read_at(0, _HEADER_WINDOW)
        if b"%PDF-" not in head:
            raise UnsupportedFile("not a PDF (no %PDF- header)")
        try:
            self.startxref, self.ends_with_eol = self._read_tail()
        except UnsupportedFile:
            if not head.lstrip(_WHITESPACE).startswith(b"%PDF-"):
                raise UnsupportedFile("not a PDF (it only mentions %PDF- and has no PDF trailer)") from None
            raise
        self.sections = self._read_sections()
        self.style = self.sections[0].kind
        self.trailer = self._merged_trailer()
        size_entry = _int(self.trailer.raw_get("/Size")) if "/Size" in self.trailer else None
        if size_entry is None or size_entry < 1:
            raise _damaged("the trailer has no valid /Size")
        if size_entry > limits.max_pdf_objects:
            raise HostileFile(f"declares {size_entry} objects, over the limit of {limits.max_pdf_objects}")
        self.next_number = max(size_entry, *(s.end for s in self.sections))
        self._ready = True

    # raw bytes
    def _read_at(self, pos: int, n: int) -> bytes:
        self.handle.seek(pos)
        return self.handle.read(n)

    def _read_tail(self) -> tuple[int, bool]:
        start = max(0, self.size - _TAIL_BYTES)
        tail = self._read_at(start, _TAIL_BYTES)
        matches = list(_STARTXREF.finditer(tail))
        if not matches:
            raise _damaged("it does not end with startxref and %%EOF (truncated, or not a PDF)")
        offset = int(matches[-1][1])
        if not 0 < offset < self.size:
            raise _damaged(f"startxref points outside the file ({offset})")
        return offset, tail[-1:] in (b"\n", b"\r")

    # the cross-reference chain
    def _read_sections(self) -> list[_Section]:
        sections: list[_Section] = []
        seen: set[int] = set()
        queue: list[tuple[int, bool]] = [(self.startxref, False)]
        while queue:
            offset, is_xrefstm = queue.pop(0)
            if offset in seen:
                raise HostileFile("reference loop in the cross-reference chain (/Prev)")
            seen.add(offset)
            if len(seen) > _MAX_SECTIONS:
                raise HostileFile(f"more than {_MAX_SECTIONS} cross-reference sections")
            section = self._read_section(offset)
            section.is_xrefstm = is_xrefstm
            if "/Encrypt" in section.trailer and not is_xrefstm:
                raise EncryptedFile("encrypted PDF: remove the password first")
            sections.append(section)
            if is_xrefstm:
                continue
            if section.kind == "table" and "/XRefStm" in section.trailer:
                stm = _int(section.trailer.raw_get("/XRefStm"))
                if stm is None or not 0 < stm < self.size:
                    raise _damaged("invalid /XRefStm in the trailer")
                queue.append((stm, True))
            if "/Prev" in section.trailer:
                prev = _int(section.trailer.raw_get("/Prev"))
                if prev is None or not 0 <= prev < self.size:
                    raise _damaged("invalid /Prev in the trailer")
                if prev > 0:  # "/Prev 0" is written by some producers for "no previous section"
                    queue.append((prev, False))
        return sections

    def _read_section(self, offset: int) -> _Section:
        buf = self._read_at(offset, 64)
        skip = len(buf) - len(buf.lstrip(_WHITESPACE))
        if skip > 16:
            skip = 0
        if buf.startswith(b"xref", skip):
            return self._read_table(offset, offset + skip + 4)
        match = _OBJ_HEADER.match(buf, skip)
        if match:
            return self._read_xref_stream(offset, offset + match.end())
        raise _damaged(f"no cross-reference section at byte {offset} (broken xref)")

    def _count(self, entries: int, subsections: int) -> None:
        self._entries += entries
        self._subsections += subsections
        if self._entries > self.limits.max_pdf_objects:
            raise HostileFile(f"more than {self.limits.max_pdf_objects} objects")
        if self._subsections > _MAX_SUBSECTIONS:
            raise HostileFile(f"more than {_MAX_SUBSECTIONS} cross-reference subsections")

    def _read_table(self, offset: int, pos: int) -> _Section:
        subsections: list[_Subsection] = []
        while True:
            buf = self._read_at(pos, 64)
            skip = len(buf) - len(buf.lstrip(_WHITESPACE))
            if buf.startswith(b"trailer", skip):
                pos += skip + 7
                break
            match = _SUBSECTION.match(buf, skip)
            if not match:
                raise _damaged(f"malformed cross-reference table at byte {pos} (broken xref)")
            start, count = int(match[1]), int(match[2])
            first = pos + match.end()
            width = 20
            if count:
                width = self._entry_width(self._read_at(first, 20))
                self._count(count, 0)
                if first + count * width > self.size or not _TABLE_ENTRY.match(
                    self._read_at(first + (count - 1) * width, width)
                ):
                    raise _damaged(f"cross-reference table at byte {offset} is cut short (broken xref)")
            self._count(0, 1)
            subsections.append(_Subsection(start, count, first, width))
            pos = first + count * width
        self.handle.seek(pos)
        self._skip_whitespace(self.handle)
        trailer = read_object(self.handle, self)
        if not isinstance(trailer, DictionaryObject):
            raise _damaged("the trailer is not a dictionary")
        subsections.sort(key=lambda sub: sub.start)
        return _Section("table", offset, trailer, subsections=subsections)

    @staticmethod
    def _entry_width(first: bytes) -> int:
        if not _TABLE_ENTRY.match(first):
            raise _damaged("malformed cross-reference entry (broken xref)")
        if first[18:20] in (b" \n", b" \r", b"\r\n"):
            return 20
        if first[18:19] in (b"\n", b"\r"):
            return 19
        raise _damaged("malformed cross-reference entry (broken xref)")

    def _read_xref_stream(self, offset: int, body: int) -> _Section:
        self.handle.seek(body)
        stream = read_object(self.handle, self)
        if not isinstance(stream, StreamObject) or stream.get("/Type") != "/XRef":
            raise _damaged(f"the object at byte {offset} is not a cross-reference stream (broken xref)")
        widths = stream.get("/W")
        size = _int(stream.get("/Size"))
        if (
            not isinstance(widths, ArrayObject)
            or len(widths) < 3
            or any(_int(w) is None or not 0 <= int(w) <= 8 for w in widths[:3])
            or size is None
            or size < 0
        ):
            raise _damaged("invalid /W or /Size in the cross-reference stream")
        w = (int(widths[0]), int(widths[1]), int(widths[2]))
        pairs = stream.get("/Index", ArrayObject([NumberObject(0), NumberObject(size)]))
        if not isinstance(pairs, ArrayObject) or len(pairs) % 2 or any(_int(v) is None or v < 0 for v in pairs):
            raise _damaged("invalid /Index in the cross-reference stream")
        index: list[tuple[int, int, int]] = []
        rows = 0
        for i in range(0, len(pairs), 2):
            index.append((int(pairs[i]), int(pairs[i + 1]), rows))
            rows += int(pairs[i + 1])
            self._count(int(pairs[i + 1]), 1)
        data = stream.get_data()
        if len(data) < rows * sum(w):
            raise _damaged("the cross-reference stream is shorter than its /Index says (broken xref)")
        index.sort(key=lambda run: run[0])
        return _Section("stream", offset, stream, widths=w, index=index, data=data[: rows * sum(w)])

    def _merged_trailer(self) -> DictionaryObject:
        merged = DictionaryObject()
        for section in self.sections:
            if section.is_xrefstm:
                continue
            for key in ("/Root", "/Info", "/ID", "/Size"):
                if key in section.trailer and key not in merged:
                    merged[NameObject(key)] = section.trailer.raw_get(key)
        return merged

    def _entry(self, num: int) -> tuple[int, int, int] | None:
        """(type, field 2, field 3) of object ``num`` in the newest section that lists it. A hybrid
        file's /XRefStm stream comes right after its table, before /Prev (ISO 32000-1, 7.5.8.4)."""
        for section in self.sections:
            self._budget -= 1
            if self._budget < 0:
                raise HostileFile("too many cross-reference lookups (a crafted file?)")
            entry = self._entry_in(section, num)
            if entry is not None:
                return entry
        return None

    def _entry_in(self, section: _Section, num: int) -> tuple[int, int, int] | None:
        if section.kind == "table":
            i = bisect.bisect_right(section.subsections, num, key=lambda sub: sub.start) - 1
            sub = section.subsections[i] if i >= 0 else None
            if sub is None or not num < sub.start + sub.count:
                return None
            line = self._read_at(sub.pos + (num - sub.start) * sub.width, 18)
            match = _TABLE_ENTRY.match(line)
            if not match:
                raise _damaged(f"malformed cross-reference entry for object {num} (broken xref)")
            return (1 if match[3] == b"n" else 0), int(match[1]), int(match[2])
        i = bisect.bisect_right(section.index, num, key=lambda run: run[0]) - 1
        if i < 0 or not num < section.index[i][0] + section.index[i][1]:
            return None
        first, _, base = section.index[i]
        w0, w1, _ = section.widths
        row = sum(section.widths)
        at = (base + num - first) * row
        raw = section.data[at : at + row]
        kind = int.from_bytes(raw[:w0], "big") if w0 else 1
        return kind, int.from_bytes(raw[w0 : w0 + w1], "big"), int.from_bytes(raw[w0 + w1 :], "big")

    # objects
    def get_object(self, ref: IndirectObject | int) -> PdfObject:
        """Called by pypdf (``IndirectObject.get_object``) and by us: resolves through our xref."""
        if isinstance(ref, int):
            ref = IndirectObject(ref, 0, self)
        key = (int(ref.idnum), int(ref.generation))
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        if not self._ready:
            raise _damaged("the cross-reference section refers to other objects (broken xref)")
        if key in self._busy:
            raise HostileFile(f"reference loop: object {key[0]} refers to itself")
        self._busy.add(key)
        try:
            obj = self._load(*key)
            if isinstance(obj, IndirectObject):  # an object that is only a reference to another one
                obj = self.get_object(obj)
        finally:
            self._busy.discard(key)
        if len(self._cache) >= _CACHED_OBJECTS:  # a cache, not a copy of the file: start again
            self._cache.clear()
        self._cache[key] = obj
        return obj

    def _load(self, num: int, gen: int) -> PdfObject:
        entry = self._entry(num)
        if entry is None or entry[0] not in (1, 2):
            return NullObject()
        kind, field2, field3 = entry
        if kind == 1:
            if field3 != gen:
                return NullObject()
            if not 0 < field2 < self.size:
                raise _damaged(f"object {num} lies outside the file (broken xref)")
            match = _OBJ_HEADER.match(self._read_at(field2, 48))
            if not match or int(match[1]) != num or int(match[2]) != gen:
                raise _damaged(f"object {num} is not where the cross-reference table says (broken xref)")
            self.handle.seek(field2 + match.end())
            return read_object(self.handle, self)
        if gen != 0:
            return NullObject()
        return self._from_object_stream(field2, field3, num)

    def _from_object_stream(self, stream_num: int, index: int, num: int) -> PdfObject:
        cached = self._objstms.get(stream_num)
        if cached is None:
            stream = self.get_object(IndirectObject(stream_num, 0, self))
            if not isinstance(stream, StreamObject) or stream.get("/Type") != "/ObjStm":
                raise _damaged(f"object {num} is in object {stream_num}, which is not an object stream")
            count, first = _int(self.get(stream, "/N")), _int(self.get(stream, "/First"))
            if count is None or first is None or count < 0 or first < 0 or count > self.limits.max_pdf_objects:
                raise _damaged(f"invalid object stream {stream_num}")
            data = stream.get_data()
            numbers = data[:first].split()
            if len(numbers) < 2 * count or not all(n.isdigit() for n in numbers[: 2 * count]):
                raise _damaged(f"invalid object stream {stream_num}")
            pairs = [(int(numbers[2 * i]), int(numbers[2 * i + 1])) for i in range(count)]
            cached = (data, first, pairs)
            if sum(len(d) for d, _, _ in self._objstms.values()) + len(data) > _CACHED_OBJSTM_BYTES:
                self._objstms.clear()
            self._objstms[stream_num] = cached
        data, first, pairs = cached
        if not 0 <= index < len(pairs) or pairs[index][0] != num:
            raise _damaged(f"object {num} is not where the cross-reference stream says (broken xref)")
        buffer = io.BytesIO(data)
        buffer.seek(first + pairs[index][1])
        self._skip_whitespace(buffer)
        return read_object(buffer, self)

    @staticmethod
    def _skip_whitespace(stream: BinaryIO) -> None:
        while True:
            byte = stream.read(1)
            if not byte:
                return
            if byte not in _WHITESPACE:
                stream.seek(-1, 1)
                return

    def resolve(self, value: Any) -> Any:
        return self.get_object(value) if isinstance(value, IndirectObject) else value

    def get(self, dictionary: DictionaryObject, key: str) -> Any:
        """``dictionary[key]`` resolved, or None when absent (pypdf's ``get`` does not resolve)."""
        if key not in dictionary:
            return None
        value = self.resolve(dictionary.raw_get(key))
        return None if isinstance(value, NullObject) else value


def _key(ref: IndirectObject) -> tuple[int, int]:
    return int(ref.idnum), int(ref.generation)


# -- the document's structure --------------------------------------------------------------------
_INHERITABLE = ("/MediaBox", "/CropBox", "/Rotate")


@dataclass
class _Page:
    ref: IndirectObject
    page: DictionaryObject
    inherited: dict[str, Any]


@dataclass
class _Structure:
    root_ref: IndirectObject
    catalog: DictionaryObject
    first_page: _Page
    page_count: int


def _structure(doc: _Document) -> _Structure:
    root_ref = doc.trailer.raw_get("/Root") if "/Root" in doc.trailer else None
    if not isinstance(root_ref, IndirectObject):
        raise _damaged("no document catalog (/Root) in the trailer")
    catalog = doc.get_object(root_ref)
    if not isinstance(catalog, DictionaryObject) or doc.get(catalog, "/Type") not in (None, "/Catalog"):
        raise _damaged("the trailer's /Root is not a document catalog")
    first, count = _walk_pages(doc, catalog, root_ref)
    return _Structure(root_ref, catalog, first, count)


def _walk_pages(doc: _Document, catalog: DictionaryObject, root_ref: IndirectObject) -> tuple[_Page, int]:
    """Every node of the page tree once (loops refused), returning page 1 and the page count."""
    pages_ref = catalog.raw_get("/Pages") if "/Pages" in catalog else None
    if not isinstance(pages_ref, IndirectObject):
        raise _damaged("the document catalog has no page tree (/Pages)")
    stack: list[tuple[IndirectObject, tuple[int, int] | None, dict[str, Any]]] = [(pages_ref, None, {})]
    seen: set[tuple[int, int]] = {_key(root_ref)}
    first: _Page | None = None
    count = 0
    while stack:
        ref, parent, inherited = stack.pop()
        key = _key(ref)
        if key in seen:
            raise HostileFile(f"reference loop in the page tree (object {key[0]} is reached twice)")
        seen.add(key)
        if len(seen) > doc.limits.max_pdf_objects:
            raise HostileFile("the page tree is larger than the object limit")
        node = doc.get_object(ref)
        if not isinstance(node, DictionaryObject):
            raise _damaged(f"the page tree refers to a missing or invalid object ({key[0]})")
        _check_parent(doc, key, node, parent)
        kind = doc.get(node, "/Type")
        if kind == "/Pages" or (kind is None and "/Kids" in node):
            kids = doc.get(node, "/Kids")
            if kids is None:
                continue
            if not isinstance(kids, ArrayObject):
                raise _damaged(f"the page tree node {key[0]} has no /Kids array")
            below = dict(inherited)
            below.update({name: node.raw_get(name) for name in _INHERITABLE if name in node})
            for kid in reversed(kids):
                if not isinstance(kid, IndirectObject):
                    raise _damaged("the page tree holds a page that is not an indirect object")
                stack.append((kid, key, below))
        elif kind in ("/Page", None):
            count += 1
            if first is None:
                first = _Page(ref, node, inherited)
        else:
            raise _damaged(f"the page tree holds a {kind} object instead of a page")
    if first is None:
        raise UnsupportedFile("the PDF has no pages")
    return first, count


def _check_parent(doc: _Document, key: tuple[int, int], node: DictionaryObject, parent: tuple[int, int] | None) -> None:
    value = node.raw_get("/Parent") if "/Parent" in node else None
    if value is None or (isinstance(value, IndirectObject) and _key(value) == parent):
        return
    seen = {key}
    while isinstance(value, IndirectObject):  # a /Parent other than the tree's: follow it for loops
        if _key(value) in seen:
            raise HostileFile("reference loop in the page tree (/Parent)")
        seen.add(_key(value))
        if len(seen) > 256:
            raise HostileFile("the page tree is nested too deeply (/Parent)")
        above = doc.get_object(value)
        if not isinstance(above, DictionaryObject):
            return
        value = above.raw_get("/Parent") if "/Parent" in above else None


def _page_box(doc: _Document, page: _Page) -> tuple[float, float, float, float]:
    def box(name: str) -> tuple[float, float, float, float] | None:
        value = page.page.raw_get(name) if name in page.page else page.inherited.get(name)
        value = doc.resolve(value)
        if not isinstance(value, ArrayObject) or len(value) != 4:
            return None
        numbers = [doc.resolve(v) for v in value]
        if not all(isinstance(n, (int, float)) and not isinstance(n, bool) for n in numbers):
            return None
        x0, y0, x1, y1 = (float(n) for n in numbers)
        return min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)

    media = box("/MediaBox") or (0.0, 0.0, 612.0, 792.0)
    crop = box("/CropBox") or media
    x0, y0 = max(media[0], crop[0]), max(media[1], crop[1])
    x1, y1 = min(media[2], crop[2]), min(media[3], crop[3])
    if x1 - x0 < 36 or y1 - y0 < 36:
        x0, y0, x1, y1 = media
    if x1 - x0 < 36 or y1 - y0 < 36:
        raise UnsupportedFile("page 1 is too small for a label")
    return x0, y0, x1, y1


def _page_rotation(doc: _Document, page: _Page) -> int:
    value = page.page.raw_get("/Rotate") if "/Rotate" in page.page else page.inherited.get("/Rotate")
    value = _int(doc.resolve(value))
    return value % 360 if value is not None and value % 90 == 0 else 0


def _annotations(doc: _Document, page: DictionaryObject) -> tuple[Any, ArrayObject]:
    """(the raw /Annots value, the resolved array)."""
    raw = page.raw_get("/Annots") if "/Annots" in page else None
    annots = doc.resolve(raw)
    if annots is None or isinstance(annots, NullObject):
        return None, ArrayObject()
    if not isinstance(annots, ArrayObject):
        raise _damaged("page 1 has an invalid /Annots entry")
    if len(annots) > _MAX_ANNOTS:
        raise HostileFile(f"page 1 has more than {_MAX_ANNOTS} annotations")
    return raw, annots


def _our_annotation(doc: _Document, annots: ArrayObject) -> tuple[IndirectObject, DictionaryObject] | None:
    for item in annots:
        if not isinstance(item, IndirectObject):
            continue
        annot = doc.get_object(item)
        if isinstance(annot, DictionaryObject) and str(doc.get(annot, "/NM") or "") == ANNOTATION_NAME:
            return item, annot
    return None


def _docmdp_permission(doc: _Document, catalog: DictionaryObject) -> int | None:
    """The /P of a certification signature (1: no changes, 2: forms, 3: forms and annotations)."""
    perms = doc.get(catalog, "/Perms")
    signature = doc.get(perms, "/DocMDP") if isinstance(perms, DictionaryObject) else None
    if not isinstance(signature, DictionaryObject):
        return None
    references = doc.get(signature, "/Reference")
    for reference in references if isinstance(references, ArrayObject) else []:
        reference = doc.resolve(reference)
        if isinstance(reference, DictionaryObject) and doc.get(reference, "/TransformMethod") == "/DocMDP":
            params = doc.get(reference, "/TransformParams")
            p = _int(doc.get(params, "/P")) if isinstance(params, DictionaryObject) else None
            return p if p in (1, 2, 3) else 2
    return 2


def _existing_xmp(doc: _Document, catalog: DictionaryObject) -> tuple[IndirectObject | None, bytes | None]:
    raw = catalog.raw_get("/Metadata") if "/Metadata" in catalog else None
    stream = doc.resolve(raw)
    if not isinstance(stream, StreamObject):
        return None, None
    ref = raw if isinstance(raw, IndirectObject) else None
    declared = _int(stream.get("/Length"))
    if declared is not None and declared > doc.limits.max_xml_part_bytes:
        raise HostileFile("the XMP metadata stream is over the size limit")
    data = stream.get_data()
    if len(data) > doc.limits.max_xml_part_bytes:
        raise HostileFile("the XMP metadata stream is over the size limit")
    return ref, data


def _c2pa_in_filespec(doc: _Document, spec: Any) -> bool:
    spec = doc.resolve(spec)
    if not isinstance(spec, DictionaryObject):
        return False
    if doc.get(spec, "/AFRelationship") in ("/C2PA_Manifest", "/C2PAManifest"):
        return True
    for key in ("/F", "/UF"):
        name = doc.get(spec, key)
        if isinstance(name, str) and name.lower().endswith(".c2pa"):
            return True
    files = doc.get(spec, "/EF")
    if isinstance(files, DictionaryObject):
        for key in ("/F", "/UF"):
            stream = doc.get(files, key)
            if isinstance(stream, StreamObject) and str(stream.get("/Subtype", "")).lower() in (
                "/application/c2pa",
                "/application#2fc2pa",
            ):
                return True
    return False


def _has_c2pa(doc: _Document, catalog: DictionaryObject) -> bool:
    if "/C2PA" in catalog:
        return True
    associated = doc.get(catalog, "/AF")
    if isinstance(associated, ArrayObject) and any(_c2pa_in_filespec(doc, spec) for spec in associated[:1000]):
        return True
    names = doc.get(catalog, "/Names")
    tree = doc.get(names, "/EmbeddedFiles") if isinstance(names, DictionaryObject) else None
    stack, seen = ([tree] if isinstance(tree, DictionaryObject) else []), 0
    while stack and seen < 10_000:
        node = stack.pop()
        seen += 1
        pairs = doc.get(node, "/Names")
        if isinstance(pairs, ArrayObject) and any(_c2pa_in_filespec(doc, spec) for spec in pairs[1::2]):
            return True
        kids = doc.get(node, "/Kids")
        for kid in kids if isinstance(kids, ArrayObject) else []:
            kid = doc.resolve(kid)
            if isinstance(kid, DictionaryObject):
                stack.append(kid)
    return False


# -- XMP -------------------------------------------------------------------------------------------
def _xmp_properties(provenance: Provenance) -> list[tuple[str, str, str]]:
    """(namespace, name, value) of everything we write into the XMP packet."""
    items = [
        (XMP_NS, "CreatorTool", provenance.creator_tool),
        (IPTC_EXT_NS, "DigitalSourceType", TRAINED_ALGORITHMIC_MEDIA),
        (IPTC_EXT_NS, "AISystemUsed", provenance.model),
        (IPTC_EXT_NS, "AISystemVersionUsed", provenance.model_version),
    ]
    items += [(ADAL_NS, xmp_name(name), value) for name, value in provenance.fields().items()]
    return items


def _is_ours(clark: str) -> bool:
    namespace, _, name = clark[1:].partition("}") if clark.startswith("{") else ("", "", clark)
    return (
        namespace == ADAL_NS
        or (namespace == XMP_NS and name == "CreatorTool")
        or (namespace == IPTC_EXT_NS and name in _IPTC_OURS)
    )


def _parse_xmp(data: bytes, limits: Limits) -> etree._Element | None:
    """The packet's root element, or None if it is not well-formed XML. Refuses DTDs and entities."""
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise HostileFile("the XMP metadata declares a DOCTYPE or entities")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.fromstring(data.strip(b" \t\r\n\x00"), parser=parser)
    except etree.XMLSyntaxError:
        return None
    stack = [(root, 1)]
    while stack:
        element, depth = stack.pop()
        if depth > limits.max_xml_depth:
            raise HostileFile("the XMP metadata is nested too deeply")
        stack.extend((child, depth + 1) for child in element)
    return root


def _rdf_of(root: etree._Element | None) -> tuple[etree._Element, etree._Element]:
    """(x:xmpmeta, rdf:RDF) of a parsed packet, building whatever is missing."""
    if root is not None and root.tag == f"{{{RDF_NS}}}RDF":
        meta = etree.Element(f"{{{X_NS}}}xmpmeta", nsmap={"x": X_NS})
        meta.append(root)
        return meta, root
    if root is not None and root.tag in (f"{{{X_NS}}}xmpmeta", f"{{{X_NS}}}xapmeta"):
        rdf = root.find(f"{{{RDF_NS}}}RDF")
        if rdf is None:
            rdf = etree.SubElement(root, f"{{{RDF_NS}}}RDF", nsmap={"rdf": RDF_NS})
        return root, rdf
    meta = etree.Element(f"{{{X_NS}}}xmpmeta", nsmap={"x": X_NS})
    return meta, etree.SubElement(meta, f"{{{RDF_NS}}}RDF", nsmap={"rdf": RDF_NS})


def merged_xmp(existing: bytes | None, provenance: Provenance, limits: Limits) -> bytes:
    """An XMP packet: ``existing`` (if well-formed) with our properties replaced."""
    root = _parse_xmp(existing, limits) if existing else None
    meta, rdf = _rdf_of(root)
    about = ""
    for description in rdf.findall(f"{{{RDF_NS}}}Description"):
        about = description.get(f"{{{RDF_NS}}}about", about)
        for name in [name for name in description.attrib if _is_ours(name)]:
            del description.attrib[name]
        for child in [child for child in description if isinstance(child.tag, str) and _is_ours(child.tag)]:
            description.remove(child)
    ours = etree.SubElement(
        rdf,
        f"{{{RDF_NS}}}Description",
        nsmap={"xmp": XMP_NS, IPTC_PREFIX: IPTC_EXT_NS, ADAL_PREFIX: ADAL_NS},
    )
    ours.set(f"{{{RDF_NS}}}about", about)
    for namespace, name, value in _xmp_properties(provenance):
        etree.SubElement(ours, f"{{{namespace}}}{name}").text = value
    body = etree.tostring(meta, encoding="UTF-8", xml_declaration=False)
    padding = (b" " * 99 + b"\n") * 20
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'.encode()
        + body
        + b"\n"
        + padding
        + b'<?xpacket end="w"?>'
    )


def _xmp_values(root: etree._Element) -> dict[tuple[str, str], str]:
    values: dict[tuple[str, str], str] = {}
    for description in root.iter(f"{{{RDF_NS}}}Description"):
        for name, value in description.attrib.items():
            if name.startswith("{"):
                namespace, _, local = name[1:].partition("}")
                values.setdefault((namespace, local), value)
        for child in description:
            if not isinstance(child.tag, str) or not child.tag.startswith("{"):
                continue
            namespace, _, local = child.tag[1:].partition("}")
            if len(child):
                item = next(child.iter(f"{{{RDF_NS}}}li"), None)
                text = item.text if item is not None else None
            else:
                text = child.text
            if text is not None:
                values.setdefault((namespace, local), text.strip())
    return values


# -- writing: PDF syntax ---------------------------------------------------------------------------
def _serialize(obj: PdfObject) -> bytes:
    buffer = io.BytesIO()
    obj.write_to_stream(buffer)
    return buffer.getvalue()


def _text(value: str) -> bytes:
    """A PDF text string: literal if printable ASCII, else UTF-16BE with a byte order mark."""
    if all(32 <= ord(c) < 127 for c in value):
        return b"(" + value.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)").encode("ascii") + b")"
    return b"<FEFF" + value.encode("utf-16-be").hex().upper().encode("ascii") + b">"


def _hex_string(value: TextStringObject | ByteStringObject) -> bytes:
    """A string's bytes as written in the file, in hex (how /ID is usually written)."""
    raw = value.get_original_bytes() if isinstance(value, TextStringObject) else bytes(value)
    return b"<" + raw.hex().upper().encode("ascii") + b">"


def _name(value: str) -> bytes:
    return _serialize(NameObject(value))


def _ref(ref: tuple[int, int]) -> bytes:
    return f"{ref[0]} {ref[1]} R".encode()


def _number(value: float) -> bytes:
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return (text if text not in ("-0", "") else "0").encode()


def _dict(items: list[tuple[bytes, bytes]]) -> bytes:
    return b"<<" + b"".join(b"\n" + key + b" " + value for key, value in items) + b"\n>>"


def _copied_items(dictionary: DictionaryObject, drop: set[str]) -> list[tuple[bytes, bytes]]:
    return [(_serialize(key), _serialize(value)) for key, value in dictionary.items() if key not in drop]


def _stream(items: list[tuple[bytes, bytes]], data: bytes) -> bytes:
    return _dict([*items, (b"/Length", str(len(data)).encode())]) + b"\nstream\n" + data + b"\nendstream"


def _pdf_date(moment: datetime) -> bytes:
    return _text(moment.astimezone(UTC).strftime("D:%Y%m%d%H%M%SZ"))


# -- the label's appearance ------------------------------------------------------------------------
# Helvetica's widths (AFM, 1/1000 em) for WinAnsi codes 32..126.
_HELVETICA = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556, 556, 556, 556,
    556, 556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667,
    556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556, 333, 556,
    556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722,
    500, 500, 500, 334, 260, 334, 584,
]
# Cyrillic (Russian and Kazakh letters) in an Arial-like sans serif, which is what viewers substitute.
_CYRILLIC = dict(zip(
    "АБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯӘҒҚҢӨҰҮҺІ"
    "абвгдеёжзийклмнопрстуфхцчшщъыьэюяәғқңөұүһі",
    [667, 656, 667, 542, 677, 667, 667, 923, 604, 719, 719, 583, 656, 833, 722, 778, 719, 667, 722, 611, 635, 760,
     667, 740, 667, 917, 938, 792, 885, 656, 719, 1010, 722, 778, 542, 583, 722, 778, 667, 667, 722, 278,
     556, 573, 531, 365, 583, 556, 556, 669, 458, 559, 559, 438, 583, 688, 552, 556, 542, 556, 500, 458, 500, 823,
     500, 573, 521, 802, 823, 625, 719, 521, 510, 750, 542, 556, 365, 438, 552, 556, 500, 500, 556, 222],
    strict=True,
))


def _glyph_width(char: str) -> int:
    code = ord(char)
    if 32 <= code <= 126:
        return _HELVETICA[code - 32]
    if char in _CYRILLIC:
        return _CYRILLIC[char]
    if unicodedata.east_asian_width(char) in ("W", "F"):
        return 1000
    return 600


def _glyph_name(char: str) -> str:
    code = ord(char)
    return f"uni{code:04X}" if code <= 0xFFFF else f"u{code:06X}"


def _measure(text: str, size: float) -> float:
    return sum(_glyph_width(c) for c in text) * size / 1000


def _wrap(text: str, width: float, size: float) -> list[str]:
    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        candidate = f"{current} {word}" if current else word
        if _measure(candidate, size) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        while _measure(word, size) > width and len(word) > 1:
            cut = len(word) - 1
            while cut > 1 and _measure(word[:cut], size) > width:
                cut -= 1
            lines.append(word[:cut])
            word = word[cut:]
        current = word
    if current:
        lines.append(current)
    return lines or [""]


@dataclass
class _Encoding:
    """Simple fonts (Helvetica, WinAnsi for ASCII) whose codes 128–255 are re-mapped by glyph name."""

    extra: list[list[str]]  # per font, the characters at codes 128, 129, ...

    @classmethod
    def for_text(cls, text: str) -> _Encoding:
        others = list(dict.fromkeys(c for c in text if not 32 <= ord(c) <= 126))
        return cls([others[i : i + 128] for i in range(0, len(others), 128)] or [[]])

    def code(self, char: str) -> tuple[int, int]:
        if 32 <= ord(char) <= 126:
            return 0, ord(char)
        for font, chars in enumerate(self.extra):
            if char in chars:
                return font, 128 + chars.index(char)
        raise KeyError(char)

    def runs(self, line: str) -> list[tuple[int, bytes]]:
        runs: list[tuple[int, bytearray]] = []
        for char in line:
            font, code = self.code(char)
            if runs and (runs[-1][0] == font or 32 <= ord(char) <= 126):
                runs[-1][1].append(code)
            else:
                runs.append((font, bytearray([code])))
        return [(font, bytes(codes)) for font, codes in runs]

    def font_objects(self, font: int) -> tuple[list[tuple[bytes, bytes]], bytes]:
        """(font dictionary items but /ToUnicode, ToUnicode CMap data)."""
        chars = self.extra[font]
        widths = [_HELVETICA[c - 32] if c <= 126 else 556 for c in range(32, 128)]
        widths += [_glyph_width(chars[i]) if i < len(chars) else 556 for i in range(128)]
        differences = b"[128 " + b" ".join(b"/" + _glyph_name(c).encode() for c in chars) + b"]"
        encoding = _dict([
            (b"/Type", b"/Encoding"), (b"/BaseEncoding", b"/WinAnsiEncoding"), (b"/Differences", differences)
        ]) if chars else b"/WinAnsiEncoding"
        font_dict = [
            (b"/Type", b"/Font"),
            (b"/Subtype", b"/Type1"),
            (b"/BaseFont", b"/Helvetica"),
            (b"/Encoding", encoding),
            (b"/FirstChar", b"32"),
            (b"/LastChar", b"255"),
            (b"/Widths", b"[" + b" ".join(str(w).encode() for w in widths) + b"]"),
        ]
        mapping = [(c, chr(c)) for c in range(32, 127)] + [(128 + i, ch) for i, ch in enumerate(chars)]
        blocks = []
        for i in range(0, len(mapping), 100):
            chunk = mapping[i : i + 100]
            lines = b"\n".join(
                f"<{code:02X}> <{ch.encode('utf-16-be').hex().upper()}>".encode() for code, ch in chunk
            )
            blocks.append(f"{len(chunk)} beginbfchar\n".encode() + lines + b"\nendbfchar")
        cmap = (
            b"/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
            b"/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
            b"/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
            b"1 begincodespacerange\n<00> <FF>\nendcodespacerange\n"
            + b"\n".join(blocks)
            + b"\nendcmap\nCMapName currentdict /CMap defineresource pop\nend\nend"
        )
        return font_dict, cmap


@dataclass
class _Label:
    rect: tuple[float, float, float, float]
    matrix: tuple[int, int, int, int]
    bbox: tuple[float, float]
    content: bytes
    encoding: _Encoding
    size: float


def _layout(text: str, box: tuple[float, float, float, float], rotation: int) -> _Label:
    x0, y0, x1, y1 = box
    visual_w, visual_h = (x1 - x0, y1 - y0) if rotation in (0, 180) else (y1 - y0, x1 - x0)
    margin = 18.0 if visual_w > 200 else 4.0
    pad = 4.0
    width = visual_w - 2 * margin
    printable = "".join(c if unicodedata.category(c)[0] != "C" else " " for c in text)
    size = 9.0
    while True:
        lines = _wrap(printable, width - 2 * pad, size)
        leading = size * 1.25
        height = 2 * pad + len(lines) * leading
        if height <= visual_h * 0.4 or size <= 4:
            break
        size -= 0.5
    encoding = _Encoding.for_text(printable)
    ops = [
        b"q 1 1 0.86 rg 0.55 0.45 0.1 RG 0.75 w",
        b"0.375 0.375 " + _number(width - 0.75) + b" " + _number(height - 0.75) + b" re B Q",
    ]
    for i, line in enumerate(lines):
        baseline = height - pad - size * 0.85 - i * leading
        ops.append(b"BT 0 g " + _number(pad) + b" " + _number(baseline) + b" Td")
        for font, codes in encoding.runs(line):
            ops.append(f"/F{font} ".encode() + _number(size) + b" Tf <" + codes.hex().upper().encode() + b"> Tj")
        ops.append(b"ET")
    if rotation == 0:
        rect, matrix = (x0 + margin, y1 - margin - height, x0 + margin + width, y1 - margin), (1, 0, 0, 1)
    elif rotation == 90:
        rect, matrix = (x0 + margin, y0 + margin, x0 + margin + height, y0 + margin + width), (0, 1, -1, 0)
    elif rotation == 180:
        rect, matrix = (x1 - margin - width, y0 + margin, x1 - margin, y0 + margin + height), (-1, 0, 0, -1)
    else:
        rect, matrix = (x1 - margin - height, y1 - margin - width, x1 - margin, y1 - margin), (0, -1, 1, 0)
    return _Label(rect, matrix, (width, height), b"\n".join(ops), encoding, size)


def _rich_text(text: str) -> str:
    return (
        '<?xml version="1.0"?><body xmlns="http://www.w3.org/1999/xhtml" '
        'xmlns:xfa="http://www.xfa.org/schema/xfa-data/1.0/" xfa:APIVersion="Acrobat:11.0.0" xfa:spec="2.0.2" '
        'style="font-size:9.0pt;text-align:left;color:#000000;font-weight:normal;font-style:normal;'
        f'font-family:Helvetica,sans-serif;font-stretch:normal"><p dir="ltr">{escape(text)}</p></body>'
    )


# -- the update ------------------------------------------------------------------------------------
class _Update:
    def __init__(self, doc: _Document) -> None:
        self.doc = doc
        self.next_number = doc.next_number
        self.objects: dict[tuple[int, int], bytes] = {}

    def new(self) -> tuple[int, int]:
        ref = (self.next_number, 0)
        self.next_number += 1
        if self.next_number > self.doc.limits.max_pdf_objects:
            raise HostileFile("the update would exceed the object limit")
        return ref

    def put(self, ref: tuple[int, int], body: bytes) -> None:
        self.objects[ref] = body

    def assemble(self, root: tuple[int, int], info: tuple[int, int]) -> bytes:
        doc = self.doc
        out = bytearray(b"" if doc.ends_with_eol else b"\n")
        offsets: dict[int, tuple[int, int]] = {}
        for (num, gen), body in sorted(self.objects.items()):
            offsets[num] = (doc.size + len(out), gen)
            out += f"{num} {gen} obj\n".encode() + body + b"\nendobj\n"
        trailer: list[tuple[bytes, bytes]] = [(b"/Root", _ref(root)), (b"/Info", _ref(info))]
        file_id = doc.resolve(doc.trailer.raw_get("/ID")) if "/ID" in doc.trailer else None
        if isinstance(file_id, ArrayObject) and all(isinstance(part, (str, bytes)) for part in file_id):
            trailer.append((b"/ID", b"[" + b" ".join(_hex_string(part) for part in file_id) + b"]"))
        trailer.append((b"/Prev", str(doc.startxref).encode()))
        if doc.style == "table":
            size = max(self.next_number, max(offsets) + 1)
            xref_at = doc.size + len(out)
            out += b"xref\n0 1\n0000000000 65535 f \n"  # the free-list head, as a full table starts
            for first, numbers in _runs(sorted(offsets)):
                out += f"{first} {len(numbers)}\n".encode()
                for num in numbers:
                    offset, gen = offsets[num]
                    out += f"{offset:010d} {gen:05d} n \n".encode()
            out += b"trailer\n" + _dict([(b"/Size", str(size).encode()), *trailer]) + b"\n"
        else:
            own = self.next_number
            size = own + 1
            xref_at = doc.size + len(out)
            offsets[own] = (xref_at, 0)
            width = max(4, (xref_at.bit_length() + 7) // 8)
            index: list[bytes] = []
            rows = bytearray()
            for first, numbers in _runs(sorted(offsets)):
                index += [str(first).encode(), str(len(numbers)).encode()]
                for num in numbers:
                    offset, gen = offsets[num]
                    rows += b"\x01" + offset.to_bytes(width, "big") + gen.to_bytes(2, "big")
            items = [
                (b"/Type", b"/XRef"),
                (b"/Size", str(size).encode()),
                (b"/W", f"[1 {width} 2]".encode()),
                (b"/Index", b"[" + b" ".join(index) + b"]"),
                *trailer,
            ]
            out += f"{own} 0 obj\n".encode() + _stream(items, bytes(rows)) + b"\nendobj\n"
        out += b"startxref\n" + str(xref_at).encode() + b"\n%%EOF\n"
        return bytes(out)


def _runs(numbers: list[int]) -> Iterator[tuple[int, list[int]]]:
    run: list[int] = []
    for num in numbers:
        if run and num != run[-1] + 1:
            yield run[0], run
            run = []
        run.append(num)
    if run:
        yield run[0], run


def _plan(doc: _Document, provenance: Provenance, label: str, now: datetime) -> bytes:
    structure = _structure(doc)
    catalog, page = structure.catalog, structure.first_page
    permission = _docmdp_permission(doc, catalog)
    if permission in (1, 2):
        raise UnsupportedFile(
            f"the PDF is certified with DocMDP level {permission}, which forbids adding annotations; "
            "stamping it would break its certification"
        )
    update = _Update(doc)

    # Info dictionary: a new version with our keys (others kept).
    info_raw = doc.trailer.raw_get("/Info") if "/Info" in doc.trailer else None
    info = doc.resolve(info_raw)
    info_ref = _key(info_raw) if isinstance(info_raw, IndirectObject) and isinstance(info, DictionaryObject) else None
    ours = {f"/{name}" for name in FIELD_NAMES}
    items = _copied_items(info, ours) if isinstance(info, DictionaryObject) else []
    items += [(_name(f"/{name}"), _text(value)) for name, value in provenance.fields().items()]
    info_ref = info_ref or update.new()
    update.put(info_ref, _dict(items))

    # XMP: merged into the existing packet; the same stream object if there is one.
    try:
        xmp_ref, existing = _existing_xmp(doc, catalog)
    except (HostileFile, LimitReachedError, RecursionError):
        raise
    except Exception:  # a metadata stream that cannot be decoded is replaced (it stays in the old revision)
        raw = catalog.raw_get("/Metadata") if "/Metadata" in catalog else None
        xmp_ref, existing = (raw if isinstance(raw, IndirectObject) else None), None
    packet = merged_xmp(existing, provenance, doc.limits)
    xmp_items = [(b"/Type", b"/Metadata"), (b"/Subtype", b"/XML")]
    if xmp_ref is not None:
        update.put(_key(xmp_ref), _stream(xmp_items, packet))
    else:
        new_xmp = update.new()
        update.put(new_xmp, _stream(xmp_items, packet))
        items = [*_copied_items(catalog, {"/Metadata"}), (b"/Metadata", _ref(new_xmp))]
        update.put(_key(structure.root_ref), _dict(items))

    # The label: our annotation replaced if page 1 has it, else a new one added to /Annots.
    annots_raw, annots = _annotations(doc, page.page)
    existing_annot = _our_annotation(doc, annots)
    layout = _layout(label, _page_box(doc, page), _page_rotation(doc, page))
    font_refs = []
    for font in range(len(layout.encoding.extra)):
        font_dict, cmap = layout.encoding.font_objects(font)
        cmap_ref, font_ref = update.new(), update.new()
        update.put(cmap_ref, _stream([], cmap))
        update.put(font_ref, _dict([*font_dict, (b"/ToUnicode", _ref(cmap_ref))]))
        font_refs.append(font_ref)
    fonts = _dict([(f"/F{i}".encode(), _ref(ref)) for i, ref in enumerate(font_refs)])
    appearance_ref = None
    if existing_annot is not None:
        old_ap = doc.get(existing_annot[1], "/AP")
        normal = old_ap.raw_get("/N") if isinstance(old_ap, DictionaryObject) and "/N" in old_ap else None
        if isinstance(normal, IndirectObject) and isinstance(doc.resolve(normal), StreamObject):
            appearance_ref = _key(normal)
    appearance_ref = appearance_ref or update.new()
    width, height = layout.bbox
    update.put(appearance_ref, _stream([
        (b"/Type", b"/XObject"),
        (b"/Subtype", b"/Form"),
        (b"/BBox", b"[0 0 " + _number(width) + b" " + _number(height) + b"]"),
        (b"/Matrix", f"[{' '.join(str(v) for v in layout.matrix)} 0 0]".encode()),
        (b"/Resources", _dict([(b"/Font", fonts), (b"/ProcSet", b"[/PDF /Text]")])),
    ], layout.content))
    annot_ref = _key(existing_annot[0]) if existing_annot is not None else update.new()
    update.put(annot_ref, _dict([
        (b"/Type", b"/Annot"),
        (b"/Subtype", b"/FreeText"),
        (b"/NM", _text(ANNOTATION_NAME)),
        (b"/Rect", b"[" + b" ".join(_number(v) for v in layout.rect) + b"]"),
        (b"/P", _ref(_key(page.ref))),
        (b"/Contents", _text(label)),
        (b"/T", _text("Adal")),
        (b"/M", _pdf_date(now)),
        (b"/CreationDate", _pdf_date(now)),
        (b"/F", b"644"),  # Print, Locked, LockedContents
        (b"/DA", _text(f"0 g /Helv {layout.size:g} Tf")),
        (b"/DS", _text(f"font: Helvetica,sans-serif {layout.size:g}pt; text-align:left; color:#000000")),
        (b"/RC", _text(_rich_text(label))),
        (b"/Q", b"0"),
        (b"/BS", b"<< /W 0 >>"),
        (b"/AP", _dict([(b"/N", _ref(appearance_ref))])),
    ]))
    if existing_annot is None:
        entries = [_serialize(item) for item in annots] + [_ref(annot_ref)]
        array = b"[" + b" ".join(entries) + b"]"
        if isinstance(annots_raw, IndirectObject):
            update.put(_key(annots_raw), array)
        else:
            update.put(_key(page.ref), _dict([*_copied_items(page.page, {"/Annots"}), (b"/Annots", array)]))
    return update.assemble(_key(structure.root_ref), info_ref)


@contextmanager
def _opened(path: Path, limits: Limits) -> Iterator[_Document]:
    name = Path(path).name
    try:
        handle = open(path, "rb")  # noqa: SIM115 (closed below, after the caller is done)
    except OSError as exc:
        raise StampError(f"{name}: cannot read it ({exc.strerror})") from None
    with handle:
        with _refusals(name):
            size = os.fstat(handle.fileno()).st_size
            if size == 0:
                raise UnsupportedFile("empty (0 bytes)")
            doc = _Document(handle, size, limits)
        yield doc


def _guarded(name: str, work: Callable[[], Any]) -> Any:
    with _refusals(name):
        return work()


# -- public API ------------------------------------------------------------------------------------
def stamp_pdf(src: Path, out: BinaryIO, provenance: Provenance, lang: str, limits: Limits) -> None:
    """Write ``src`` with an incremental update carrying ``provenance`` into ``out``.

    Everything is read and checked before the first byte is written; a refused file raises a
    ``StampError`` subclass with a one-line reason and ``out`` stays empty.
    """
    label = label_line(provenance, lang)
    now = datetime.now(UTC)
    with _opened(src, limits) as doc:
        update = _guarded(Path(src).name, lambda: _plan(doc, provenance, label, now))
        doc.handle.seek(0)
        shutil.copyfileobj(doc.handle, out, 1024 * 1024)
        if doc.handle.tell() != doc.size:
            raise StampError(f"{Path(src).name}: the file changed while it was being stamped")
        out.write(update)


def inspect_pdf(path: Path, limits: Limits) -> Report:
    """What AI provenance ``path`` carries: Info keys, XMP, our label annotation, C2PA."""
    with _opened(path, limits) as doc:
        return _guarded(Path(path).name, lambda: _inspect(doc))


def _string(value: Any) -> str | None:
    if isinstance(value, TextStringObject):
        return str(value)
    if isinstance(value, ByteStringObject):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return value.decode("latin-1")
    if isinstance(value, (NumberObject, FloatObject, NameObject)):
        return str(value)
    return None


def _inspect(doc: _Document) -> Report:
    structure = _structure(doc)
    report = Report(kind="pdf")
    info = doc.get(doc.trailer, "/Info")
    if isinstance(info, DictionaryObject):
        for name in FIELD_NAMES:
            value = _string(doc.get(info, f"/{name}"))
            if value is not None:
                report.fields[name] = value
    try:
        _, data = _existing_xmp(doc, structure.catalog)
    except (HostileFile, LimitReachedError, RecursionError):
        raise
    except Exception as exc:  # an unreadable metadata stream is a finding, not a refusal
        data = None
        report.notes.append(f"the XMP metadata stream cannot be decoded ({_one_line(exc, 80)})")
    root = _parse_xmp(data, doc.limits) if data else None
    if data and root is None:
        report.notes.append("the XMP metadata is not well-formed XML")
    elif data == b"":
        report.notes.append("the XMP metadata stream is empty or cannot be decoded")
    elif data is None and not report.notes:
        report.notes.append("no XMP metadata")
    values = _xmp_values(root) if root is not None else {}
    for name in FIELD_NAMES:
        value = values.get((ADAL_NS, xmp_name(name)))
        if value is None:
            continue
        if name in report.fields and report.fields[name] != value:
            report.notes.append(f"Info and XMP differ for {name}; XMP is shown")
        report.fields[name] = value
    part = values.get((PDFA_NS, "part"))
    if part:
        report.notes.append(
            f"the file claims PDF/A-{part}{values.get((PDFA_NS, 'conformance'), '').lower()}; "
            "Adal's label uses a font that is not embedded, so a stamped copy does not conform"
        )
    report.digital_source_type = values.get((IPTC_EXT_NS, "DigitalSourceType"))
    report.ai_system_used = values.get((IPTC_EXT_NS, "AISystemUsed"))
    report.ai_system_version_used = values.get((IPTC_EXT_NS, "AISystemVersionUsed"))
    _, annots = _annotations(doc, structure.first_page.page)
    ours = _our_annotation(doc, annots)
    if ours is not None:
        report.visible_label = _string(doc.get(ours[1], "/Contents"))
    elif report.has_ai_provenance:
        report.notes.append("no visible label on page 1")
    report.c2pa_manifest = _has_c2pa(doc, structure.catalog)
    return report


def has_c2pa_manifest(path: Path, limits: Limits) -> bool:
    """Whether the catalog names a C2PA manifest store (``/C2PA``, or in ``/AF``, where the C2PA
    specification puts it). Reads the catalog and those file specifications only, so it is cheap
    even for a PDF full of attachments (``inspect_pdf`` also walks the embedded-files tree)."""
    with _opened(path, limits) as doc:
        def found() -> bool:
            catalog = _structure(doc).catalog
            associated = doc.get(catalog, "/AF")
            return "/C2PA" in catalog or (isinstance(associated, ArrayObject)
                                          and any(_c2pa_in_filespec(doc, spec) for spec in associated[:1000]))

        return bool(_guarded(Path(path).name, found))
