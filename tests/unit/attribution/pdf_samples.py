"""PDFs generated at test time (no binary fixtures): well-formed samples in both cross-reference
styles, and a corpus of broken and hostile files, a few per class."""

from __future__ import annotations

import io
import random
import re
import zlib

TEXT_FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"


def stream(dictionary: bytes, data: bytes) -> bytes:
    """A stream object's body; ``dictionary`` is the inside of ``<< >>`` without /Length."""
    return b"<< " + dictionary + b" /Length " + str(len(data)).encode() + b" >>\nstream\n" + data + b"\nendstream"


class Builder:
    """Writes a PDF object by object, with a classic xref table or an xref stream, and optionally
    puts the non-stream objects into an object stream."""

    def __init__(self, version: str = "1.7") -> None:
        self.version = version
        self.objects: dict[int, bytes] = {}

    def reserve(self) -> int:
        num = max(self.objects, default=0) + 1
        self.objects[num] = b"null"
        return num

    def add(self, body: bytes) -> int:
        num = self.reserve()
        self.objects[num] = body
        return num

    def set(self, num: int, body: bytes) -> None:
        self.objects[num] = body

    def build(self, *, root: int | None, info: int | None = None, xref: str = "table", objstm: bool = False,
              file_id: bool = True, trailer_extra: bytes = b"") -> bytes:
        out = bytearray(f"%PDF-{self.version}\n%\xe2\xe3\xcf\xd3\n".encode("latin-1"))
        offsets: dict[int, tuple[int, int, int]] = {}  # num -> (type, field2, field3)
        in_stream = {n for n, body in self.objects.items() if objstm and b"stream\n" not in body}
        for num in sorted(set(self.objects) - in_stream):
            offsets[num] = (1, len(out), 0)
            out += f"{num} 0 obj\n".encode() + self.objects[num] + b"\nendobj\n"
        if in_stream:
            stm = max(self.objects) + 1
            header, data = [], bytearray()
            for index, num in enumerate(sorted(in_stream)):
                header.append(f"{num} {len(data)}")
                data += self.objects[num] + b"\n"
                offsets[num] = (2, stm, index)
            head = " ".join(header).encode() + b"\n"
            offsets[stm] = (1, len(out), 0)
            body = stream(f"/Type /ObjStm /N {len(in_stream)} /First {len(head)}".encode(), head + bytes(data))
            out += f"{stm} 0 obj\n".encode() + body + b"\nendobj\n"
        size = max(offsets) + 1
        trailer = f"/Size {size}".encode()
        if root is not None:
            trailer += f" /Root {root} 0 R".encode()
        if info is not None:
            trailer += f" /Info {info} 0 R".encode()
        if file_id:
            trailer += b" /ID [<0123456789ABCDEF0123456789ABCDEF> <0123456789ABCDEF0123456789ABCDEF>]"
        trailer += trailer_extra
        xref_at = len(out)
        if xref == "table":
            out += f"xref\n0 {size}\n0000000000 65535 f \n".encode()
            for num in range(1, size):
                kind, offset, _ = offsets.get(num, (0, 0, 0))
                out += f"{offset:010d} 00000 n \n".encode() if kind == 1 else b"0000000000 65535 f \n"
            out += b"trailer\n<< " + trailer + b" >>\n"
        else:
            own = size
            offsets[own] = (1, xref_at, 0)
            rows = bytearray(b"\x00\x00\x00\x00\x00\xff\xff")
            for num in range(1, own + 1):
                kind, field2, field3 = offsets.get(num, (0, 0, 0))
                rows += bytes([kind]) + field2.to_bytes(4, "big") + field3.to_bytes(2, "big")
            trailer = trailer.replace(f"/Size {size}".encode(), f"/Size {own + 1}".encode())
            body = stream(b"/Type /XRef /W [1 4 2] " + trailer, bytes(rows))
            out += f"{own} 0 obj\n".encode() + body + b"\nendobj\n"
        out += f"startxref\n{xref_at}\n%%EOF\n".encode()
        return bytes(out)


def sample_pdf(*, pages: int = 1, xref: str = "table", objstm: bool = False, info: bool = True,
               xmp: bytes | None = None, rotate: int = 0, media_box: tuple[int, int, int, int] = (0, 0, 595, 842),
               title: str = "Sample essay") -> bytes:
    """A small well-formed PDF with text on every page."""
    b = Builder()
    catalog, tree = b.reserve(), b.reserve()
    font = b.add(TEXT_FONT)
    kids = []
    for n in range(1, pages + 1):
        content = b.add(stream(b"", f"BT /F1 18 Tf 72 720 Td (Page {n} of {title}) Tj ET".encode()))
        page = b"<< /Type /Page /Parent %d 0 R /Contents %d 0 R /Resources << /Font << /F1 %d 0 R >> >>" % (
            tree, content, font)
        if rotate:
            page += b" /Rotate %d" % rotate
        kids.append(b.add(page + b" >>"))
    box = " ".join(str(v) for v in media_box).encode()
    b.set(tree, b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % k for k in kids) + b"] /Count %d /MediaBox [%s] >>"
          % (len(kids), box))
    catalog_body = b"<< /Type /Catalog /Pages %d 0 R" % tree
    if xmp is not None:
        catalog_body += b" /Metadata %d 0 R" % b.add(stream(b"/Type /Metadata /Subtype /XML", xmp))
    b.set(catalog, catalog_body + b" >>")
    info_body = b"<< /Title (" + title.encode() + b") /Author (A. Student) /Producer (adal tests) >>"
    info_num = b.add(info_body) if info else None
    return b.build(root=catalog, info=info_num, xref=xref, objstm=objstm)


def hybrid_pdf() -> bytes:
    """A hybrid-reference file (PDF 1.5, ISO 32000-1 7.5.8.4): the catalog and pages sit in an object
    stream that only the /XRefStm cross-reference stream lists; the main table marks them free, and
    an empty update table carries /XRefStm."""
    objects = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 /MediaBox [0 0 595 842] >>",
        3: b"<< /Type /Page /Parent 2 0 R /Contents 5 0 R /Resources << /Font << /F1 4 0 R >> >> >>",
        4: TEXT_FONT,
    }
    out = bytearray(b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n")
    offsets = {5: len(out)}
    out += b"5 0 obj\n" + stream(b"", b"BT /F1 18 Tf 72 720 Td (Hybrid essay) Tj ET") + b"\nendobj\n"
    header, data = [], bytearray()
    for num in sorted(objects):
        header.append(f"{num} {len(data)}")
        data += objects[num] + b"\n"
    head = " ".join(header).encode() + b"\n"
    offsets[6] = len(out)
    out += b"6 0 obj\n" + stream(b"/Type /ObjStm /N 4 /First %d" % len(head), head + bytes(data)) + b"\nendobj\n"
    offsets[7] = len(out)
    rows = b"".join(b"\x02" + (6).to_bytes(4, "big") + i.to_bytes(2, "big") for i in range(4))
    out += b"7 0 obj\n" + stream(b"/Type /XRef /W [1 4 2] /Index [1 4] /Size 8", rows) + b"\nendobj\n"
    main = len(out)
    out += b"xref\n0 8\n0000000000 65535 f \n" + b"0000000000 65535 f \n" * 4
    out += b"".join(f"{offsets[n]:010d} 00000 n \n".encode() for n in (5, 6, 7))
    out += b"trailer\n<< /Size 8 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % main
    update = len(out)
    out += b"xref\n0 0\ntrailer\n<< /Size 8 /Prev %d /XRefStm %d /Root 1 0 R >>\n" % (main, offsets[7])
    out += b"startxref\n%d\n%%%%EOF\n" % update
    return bytes(out)


FOREIGN_XMP = b"""<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"
      xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:pdf="http://ns.adobe.com/pdf/1.3/"
      xmp:CreatorTool="Writer 7" pdf:Producer="adal tests">
   <dc:title><rdf:Alt><rdf:li xml:lang="x-default">Sample essay</rdf:li></rdf:Alt></dc:title>
   <dc:creator><rdf:Seq><rdf:li>A. Student</rdf:li></rdf:Seq></dc:creator>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"""


# -- the hostile and broken corpus ---------------------------------------------------------------
def _replace_once(data: bytes, old: bytes, new: bytes) -> bytes:
    assert data.count(old) >= 1, old
    return data.replace(old, new, 1)


def _startxref(data: bytes) -> int:
    return int(re.findall(rb"startxref\s+(\d+)", data)[-1])


def _with_startxref(data: bytes, value: int) -> bytes:
    head, _, _ = data.rpartition(b"startxref")
    return head + f"startxref\n{value}\n%%EOF\n".encode()


def truncated() -> list[tuple[str, bytes]]:
    table, xstream = sample_pdf(pages=2), sample_pdf(pages=2, xref="stream", objstm=True)
    return [
        ("half", table[: len(table) // 2]),
        ("no-eof", table[:-7]),
        ("before-startxref", table[: table.rindex(b"startxref")]),
        ("mid-xref-table", table[: table.rindex(b"xref\n0") + 40]),
        ("stream-style-80pct", xstream[: len(xstream) * 8 // 10]),
    ]


def broken_xref() -> list[tuple[str, bytes]]:
    table, xstream = sample_pdf(), sample_pdf(xref="stream", objstm=True)
    start = _startxref(table)
    entries = table.index(b"0000000000 65535 f \n") + 20
    garbage_entries = table[:entries] + b"x" * 40 + table[entries + 40 :]
    # object 1 (the catalog) listed at the offset of object 2
    second = table.index(b"\n2 0 obj") + 1
    first_entry = table[entries : entries + 20]
    shifted = table[:entries] + f"{second:010d} 00000 n \n".encode() + table[entries + 20 :]
    assert first_entry != shifted[entries : entries + 20]
    return [
        ("startxref-off-by-7", _with_startxref(table, start - 7)),
        ("startxref-to-page-object", _with_startxref(table, table.index(b"3 0 obj"))),
        ("garbage-entries", garbage_entries),
        ("catalog-entry-points-elsewhere", shifted),
        ("table-count-too-large", _replace_once(table, b"xref\n0 ", b"xref\n0 9")),
        ("xref-stream-wrong-type", _replace_once(xstream, b"/Type /XRef", b"/Type /XRaf")),
        ("xref-stream-too-short", _replace_once(xstream, b"/W [1 4 2]", b"/W [1 4 3]")),
    ]


def garbage_after_header() -> list[tuple[str, bytes]]:
    rng = random.Random(20250101)  # deterministic test data
    noise = [rng.randbytes(n) for n in (100, 5_000, 200_000)]
    return [
        ("noise-100", b"%PDF-1.7\n" + noise[0]),
        ("noise-5k", b"%PDF-1.4\n" + noise[1]),
        ("noise-200k-with-eof", b"%PDF-1.7\n" + noise[2] + b"\nstartxref\n9\n%%EOF\n"),
        ("noise-startxref-0", b"%PDF-1.7\n" + noise[1] + b"\nstartxref\n0\n%%EOF\n"),
        ("words", b"%PDF-1.5\n" + b"this is not a pdf body " * 200 + b"\nstartxref\n120\n%%EOF\n"),
    ]


def reference_loops() -> list[tuple[str, bytes]]:
    out = []
    # /Kids holds the Pages node itself
    b = Builder()
    b.set(1, b"<< /Type /Catalog /Pages 2 0 R >>")
    b.set(2, b"<< /Type /Pages /Kids [3 0 R 2 0 R] /Count 2 >>")
    b.set(3, b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>")
    out.append(("kids-self", b.build(root=1)))
    # two Pages nodes that are each other's kid
    b = Builder()
    b.set(1, b"<< /Type /Catalog /Pages 2 0 R >>")
    b.set(2, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
    b.set(3, b"<< /Type /Pages /Parent 2 0 R /Kids [2 0 R] /Count 1 >>")
    out.append(("kids-cycle", b.build(root=1, xref="stream", objstm=True)))
    # page 1's /Parent leads into a cycle of /Parent entries
    b = Builder()
    b.set(1, b"<< /Type /Catalog /Pages 2 0 R >>")
    b.set(2, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
    b.set(3, b"<< /Type /Page /Parent 4 0 R /MediaBox [0 0 595 842] >>")
    b.set(4, b"<< /Type /Pages /Parent 5 0 R /Kids [3 0 R] /Count 1 >>")
    b.set(5, b"<< /Type /Pages /Parent 4 0 R /Kids [4 0 R] /Count 1 >>")
    out.append(("parent-cycle", b.build(root=1)))
    # the page tree root is an object whose value is a reference to itself
    b = Builder()
    b.set(1, b"<< /Type /Catalog /Pages 2 0 R >>")
    b.set(2, b"2 0 R")
    out.append(("object-refers-to-itself", b.build(root=1)))
    # a stream whose /Length is the stream itself
    b = Builder()
    b.set(1, b"<< /Type /Catalog /Pages 2 0 R /Metadata 4 0 R >>")
    b.set(2, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
    b.set(3, b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>")
    b.set(4, b"<< /Type /Metadata /Subtype /XML /Length 4 0 R >>\nstream\n<x/>\nendstream")
    out.append(("length-refers-to-its-stream", b.build(root=1)))
    # the trailer's /Prev points back at its own cross-reference section
    base = sample_pdf()
    start = _startxref(base)
    out.append(("xref-prev-loop", _replace_once(base, b"trailer\n<< ", f"trailer\n<< /Prev {start} ".encode())))
    # the catalog's /Pages is the catalog
    b = Builder()
    b.set(1, b"<< /Type /Catalog /Pages 1 0 R >>")
    out.append(("pages-is-catalog", b.build(root=1)))
    return out


def encrypted() -> list[tuple[str, bytes]]:
    from pypdf import PdfWriter

    out = []
    for algorithm, user in (("RC4-40", "secret"), ("RC4-128", ""), ("AES-128", "secret"), ("AES-256", "")):
        writer = PdfWriter()
        writer.add_blank_page(595, 842)
        writer.encrypt(user_password=user, owner_password="owner", algorithm=algorithm)
        buffer = io.BytesIO()
        writer.write(buffer)
        out.append((f"{algorithm}-{'user' if user else 'owner-only'}", buffer.getvalue()))
    return out


def missing_root() -> list[tuple[str, bytes]]:
    def doc(catalog_num: int | None, objects: dict[int, bytes], xref: str = "table") -> bytes:
        b = Builder()
        for num, body in objects.items():
            b.set(num, body)
        return b.build(root=catalog_num, xref=xref)

    page_objs = {2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                 3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"}
    return [
        ("no-root-in-trailer", doc(None, {1: b"<< /Type /Catalog /Pages 2 0 R >>", **page_objs})),
        ("root-is-missing-object", doc(9, {1: b"<< /Type /Catalog /Pages 2 0 R >>", **page_objs})),
        ("root-is-a-number", doc(1, {1: b"42", **page_objs})),
        ("catalog-without-pages", doc(1, {1: b"<< /Type /Catalog >>", **page_objs}, xref="stream")),
        ("root-is-a-font", doc(1, {1: TEXT_FONT, **page_objs})),
    ]


def zero_pages() -> list[tuple[str, bytes]]:
    def doc(pages: bytes, *extra: bytes) -> bytes:
        b = Builder()
        b.set(1, b"<< /Type /Catalog /Pages 2 0 R >>")
        b.set(2, pages)
        for body in extra:
            b.add(body)
        return b.build(root=1)

    return [
        ("empty-kids", doc(b"<< /Type /Pages /Kids [] /Count 0 >>")),
        ("no-kids", doc(b"<< /Type /Pages /Count 0 >>")),
        ("kids-missing-object", doc(b"<< /Type /Pages /Kids [7 0 R] /Count 1 >>")),
        ("kid-is-a-font", doc(b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>", TEXT_FONT)),
        ("empty-nested-nodes", doc(b"<< /Type /Pages /Kids [3 0 R] /Count 0 >>",
                                   b"<< /Type /Pages /Parent 2 0 R /Kids [] /Count 0 >>")),
    ]


def not_pdf() -> list[tuple[str, bytes]]:
    return [
        ("html", b"<!doctype html><html><body><p>Save as %PDF-1.4 to print</p></body></html>\n"),
        ("text", b"Notes on the format: every file starts with %PDF-1.7 and ends with %%EOF.\n" * 3),
        ("png-header", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"%PDF-1.4" + bytes(200)),
        ("shell", b"#!/bin/sh\necho '%PDF-1.7'\nexit 0\n"),
    ]


def over_limits() -> list[tuple[str, bytes]]:
    def doc(page_extra: bytes = b"", metadata: bytes | None = None, **build: object) -> bytes:
        b = Builder()
        b.set(1, b"<< /Type /Catalog /Pages 2 0 R" + (b" /Metadata 4 0 R" if metadata else b"") + b" >>")
        b.set(2, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
        b.set(3, b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842]" + page_extra + b" >>")
        if metadata:
            b.set(4, metadata)
        return b.build(root=1, **build)  # type: ignore[arg-type]

    laughs = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
              b'<x:xmpmeta xmlns:x="adobe:ns:meta/">&b;</x:xmpmeta>')
    bomb = zlib.compress(bytes(80 * 1024 * 1024), 9)
    return [
        ("nested-arrays", doc(b" /Deep " + b"[" * 5000 + b"]" * 5000)),
        ("declared-size", _replace_once(doc(), b"/Size 4", b"/Size 99999999")),
        ("xref-stream-index", _replace_once(doc(xref="stream"), b"/W [1 4 2]", b"/W [1 4 2] /Index [0 3000000]")),
        ("xmp-entities", doc(metadata=stream(b"/Type /Metadata /Subtype /XML", laughs))),
        ("xmp-deflate-bomb", doc(metadata=stream(b"/Type /Metadata /Subtype /XML /Filter /FlateDecode", bomb))),
        ("empty-subsections", _replace_once(doc(), b"xref\n0 ", b"xref\n" + b"0 0\n" * 150_000 + b"0 ")),
    ]


HOSTILE = {
    "truncated": truncated,
    "broken-xref": broken_xref,
    "garbage-after-header": garbage_after_header,
    "reference-loop": reference_loops,
    "encrypted": encrypted,
    "missing-root": missing_root,
    "zero-pages": zero_pages,
    "not-pdf": not_pdf,
    "over-limits": over_limits,
}
