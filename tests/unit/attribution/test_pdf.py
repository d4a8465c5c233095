"""PDF stamping: an incremental update with Info keys, XMP and a label annotation on page 1."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from lxml import etree
from pypdf import PdfReader

from attribution.pdf import ANNOTATION_NAME, inspect_pdf, stamp_pdf
from attribution.provenance import (
    ADAL_NS,
    CREATOR_TOOL,
    IPTC_EXT_NS,
    TRAINED_ALGORITHMIC_MEDIA,
    HostileFile,
    Limits,
    Provenance,
    StampError,
    UnsupportedFile,
    atomic_output,
    label_line,
)
from tests.unit.attribution.pdf_samples import FOREIGN_XMP, Builder, hybrid_pdf, sample_pdf, stream

PROVENANCE = Provenance(
    service="ChatGPT",
    model="GPT-4o",
    model_version="2024-08-06",
    generation_date=dt.date(2025, 3, 14),
    responsible="Айгүл Сәрсенова",
    tasks=("жоспар", "grammar"),
)
LIMITS = Limits()
needs_pdftotext = pytest.mark.usefixtures("require_pdftotext")
needs_exiftool = pytest.mark.usefixtures("require_exiftool")


@pytest.fixture
def require_pdftotext() -> None:
    if shutil.which("pdftotext") is None:  # a missing tool fails the run (scripts/setup --test installs it)
        pytest.fail("pdftotext is missing: apt-get install poppler-utils (scripts/setup --test does)")


@pytest.fixture
def require_exiftool() -> None:
    if shutil.which("exiftool") is None:
        pytest.fail("exiftool is missing: apt-get install libimage-exiftool-perl (scripts/setup does)")


def stamp(tmp_path: Path, data: bytes, provenance: Provenance = PROVENANCE, lang: str = "kk",
          name: str = "essay.pdf") -> bytes:
    src = tmp_path / name
    src.write_bytes(data)
    out = io.BytesIO()
    stamp_pdf(src, out, provenance, lang, LIMITS)
    return out.getvalue()


def inspect_bytes(tmp_path: Path, data: bytes, name: str = "inspect.pdf"):
    path = tmp_path / name
    path.write_bytes(data)
    return inspect_pdf(path, LIMITS)


def last_section(data: bytes) -> tuple[str, int]:
    """('table' or 'stream', offset) of the cross-reference section the final startxref names."""
    offset = int(re.findall(rb"startxref\s+(\d+)\s+%%EOF", data)[-1])
    body = data[offset:].lstrip()
    if body.startswith(b"xref"):
        return "table", offset
    assert re.match(rb"\d+\s+\d+\s+obj\s*<<[^>]*/Type\s*/XRef", body, re.S), body[:80]
    return "stream", offset


def our_annotations(reader: PdfReader) -> list:
    annots = reader.pages[0].get("/Annots") or []
    return [a.get_object() for a in annots if a.get_object().get("/NM") == ANNOTATION_NAME]


def pdftotext(path: Path) -> str:
    result = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True,
                            timeout=30)
    assert result.stderr == b"", result.stderr
    return result.stdout.decode()


def pyhanko_xref_stream_pdf() -> bytes:
    """A PDF written by another producer (pyHanko) with an xref stream."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.writer import PageObject, PdfFileWriter

    writer = PdfFileWriter(stream_xrefs=True)
    font = writer.add_object(generic.DictionaryObject({
        generic.NameObject("/Type"): generic.NameObject("/Font"),
        generic.NameObject("/Subtype"): generic.NameObject("/Type1"),
        generic.NameObject("/BaseFont"): generic.NameObject("/Helvetica"),
    }))
    for n in (1, 2):
        content = writer.add_object(generic.StreamObject(stream_data=f"BT /F1 14 Tf 72 720 Td (pyHanko page {n}) Tj ET"
                                                         .encode()))
        resources = generic.DictionaryObject({generic.NameObject("/Font"): generic.DictionaryObject(
            {generic.NameObject("/F1"): font})})
        box = generic.ArrayObject([generic.NumberObject(v) for v in (0, 0, 595, 842)])
        writer.insert_page(PageObject(contents=content, media_box=box, resources=resources))
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def pypdf_written_pdf() -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(612, 792)
    writer.add_blank_page(612, 792)
    writer.add_metadata({"/Title": "Written by pypdf"})
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


INPUTS = {
    "own-table": lambda: sample_pdf(pages=3),
    "own-xref-stream-objstm": lambda: sample_pdf(pages=3, xref="stream", objstm=True),
    "own-xref-stream": lambda: sample_pdf(pages=2, xref="stream"),
    "pyhanko-xref-stream": pyhanko_xref_stream_pdf,
    "pypdf-table": pypdf_written_pdf,
    "own-hybrid": hybrid_pdf,
}


# -- the update ------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", list(INPUTS))
def test_update_is_appended_in_the_files_own_xref_style(tmp_path: Path, kind: str) -> None:
    original = INPUTS[kind]()
    style, original_xref = last_section(original)
    out = stamp(tmp_path, original)

    assert out.startswith(original)
    assert len(out) > len(original)
    new_style, new_xref = last_section(out)
    assert new_style == style
    assert new_xref > len(original)
    tail = out[new_xref:]
    assert re.search(rb"/Prev\s+%d\b" % original_xref, tail)
    file_id = re.compile(rb"/ID\s*\[\s*<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>")
    if file_id.search(original):
        assert [p.lower() for p in file_id.findall(tail)[-1]] == [p.lower() for p in file_id.findall(original)[-1]]
    else:
        assert b"/ID" not in tail

    reader = PdfReader(io.BytesIO(out), strict=True)
    assert len(reader.pages) == len(PdfReader(io.BytesIO(original)).pages)
    for page in reader.pages:
        page.extract_text()
    [annotation] = our_annotations(reader)
    assert annotation["/Subtype"] == "/FreeText"
    assert annotation["/Contents"] == label_line(PROVENANCE, "kk")
    metadata = reader.trailer["/Root"]["/Metadata"].get_object()
    assert metadata["/Type"] == "/Metadata" and metadata["/Subtype"] == "/XML"


@pytest.mark.parametrize("kind", list(INPUTS))
def test_inspect_reads_every_field_back(tmp_path: Path, kind: str) -> None:
    report = inspect_bytes(tmp_path, stamp(tmp_path, INPUTS[kind]()))

    assert report.kind == "pdf"
    assert report.fields == PROVENANCE.fields()
    assert report.digital_source_type == TRAINED_ALGORITHMIC_MEDIA
    assert report.ai_system_used == "GPT-4o"
    assert report.ai_system_version_used == "2024-08-06"
    assert report.visible_label == label_line(PROVENANCE, "kk")
    assert report.has_ai_provenance
    assert report.c2pa_manifest is False
    assert report.notes == []


def test_inspect_of_an_unstamped_pdf(tmp_path: Path) -> None:
    report = inspect_bytes(tmp_path, sample_pdf())
    assert report.fields == {}
    assert not report.has_ai_provenance
    assert report.visible_label is None
    assert "no XMP metadata" in report.notes


def test_info_and_xmp_hold_every_field(tmp_path: Path) -> None:
    out = stamp(tmp_path, sample_pdf())
    reader = PdfReader(io.BytesIO(out))
    info = reader.metadata
    for name, value in PROVENANCE.fields().items():
        assert info[f"/{name}"] == value
    assert info["/Title"] == "Sample essay"  # the document's own keys stay

    packet = reader.trailer["/Root"]["/Metadata"].get_object().get_data()
    assert packet.startswith(b'<?xpacket begin="\xef\xbb\xbf"') and packet.endswith(b'<?xpacket end="w"?>')
    root = etree.fromstring(packet)
    ns = {"adal": ADAL_NS, "iptc": IPTC_EXT_NS, "xmp": "http://ns.adobe.com/xap/1.0/"}
    assert root.findtext(".//adal:AIGenerated", namespaces=ns) == "Yes"
    for name, value in PROVENANCE.fields().items():
        assert root.findtext(f".//adal:{name.replace('-', '')}", namespaces=ns) == value
    assert root.findtext(".//iptc:DigitalSourceType", namespaces=ns) == TRAINED_ALGORITHMIC_MEDIA
    assert root.findtext(".//iptc:AISystemUsed", namespaces=ns) == "GPT-4o"
    assert root.findtext(".//iptc:AISystemVersionUsed", namespaces=ns) == "2024-08-06"
    assert root.findtext(".//xmp:CreatorTool", namespaces=ns) == CREATOR_TOOL


def test_an_existing_xmp_packet_is_merged_not_replaced(tmp_path: Path) -> None:
    original = sample_pdf(xmp=FOREIGN_XMP)
    out = stamp(tmp_path, original)
    assert b"/Type /Catalog" not in out[len(original):]  # the metadata stream is updated in place

    packet = PdfReader(io.BytesIO(out)).trailer["/Root"]["/Metadata"].get_object().get_data()
    root = etree.fromstring(packet)
    ns = {"dc": "http://purl.org/dc/elements/1.1/", "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
          "xmp": "http://ns.adobe.com/xap/1.0/", "pdf": "http://ns.adobe.com/pdf/1.3/", "adal": ADAL_NS}
    assert root.findtext(".//dc:title/rdf:Alt/rdf:li", namespaces=ns) == "Sample essay"
    assert root.findtext(".//dc:creator/rdf:Seq/rdf:li", namespaces=ns) == "A. Student"
    descriptions = root.findall(".//rdf:Description", namespaces=ns)
    assert any(d.get("{http://ns.adobe.com/pdf/1.3/}Producer") == "adal tests" for d in descriptions)
    creator_tools = [d.get("{http://ns.adobe.com/xap/1.0/}CreatorTool") for d in descriptions]
    creator_tools += [e.text for e in root.findall(".//xmp:CreatorTool", namespaces=ns)]
    assert [t for t in creator_tools if t] == [CREATOR_TOOL]
    assert root.findtext(".//adal:Model", namespaces=ns) == "GPT-4o"


def test_an_undecodable_xmp_stream_is_replaced(tmp_path: Path) -> None:
    b = Builder()
    b.set(1, b"<< /Type /Catalog /Pages 2 0 R /Metadata 4 0 R >>")
    b.set(2, b"<< /Type /Pages /Kids [3 0 R] /Count 1 /MediaBox [0 0 595 842] >>")
    b.set(3, b"<< /Type /Page /Parent 2 0 R >>")
    b.set(4, stream(b"/Type /Metadata /Subtype /XML /Filter /FlateDecode", b"this is not deflate data"))
    original = b.build(root=1)
    assert "cannot be decoded" in " ".join(inspect_bytes(tmp_path, original).notes)
    out = stamp(tmp_path, original)
    assert b"\n4 0 obj" in out[len(original):]  # the same stream object, now our packet
    assert inspect_bytes(tmp_path, out).fields == PROVENANCE.fields()


def test_a_pdfa_claim_is_noted(tmp_path: Path) -> None:
    xmp = FOREIGN_XMP.replace(b'xmp:CreatorTool="Writer 7"', b'xmp:CreatorTool="Writer 7" pdfaid:part="2" '
                              b'pdfaid:conformance="B" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/"')
    report = inspect_bytes(tmp_path, stamp(tmp_path, sample_pdf(xmp=xmp)))
    assert any("PDF/A-2b" in note for note in report.notes)


def test_stamping_again_replaces_our_fields_with_one_label(tmp_path: Path) -> None:
    original = sample_pdf(xmp=FOREIGN_XMP, pages=2)
    first = stamp(tmp_path, original)
    second_provenance = Provenance("Gemini", "Gemini 2.5 Pro", "2025-06", dt.date(2025, 9, 1))
    second = stamp(tmp_path, first, second_provenance, lang="en", name="stamped-once.pdf")

    assert second.startswith(first)
    assert last_section(second)[0] == "table"
    reader = PdfReader(io.BytesIO(second), strict=True)
    assert len(our_annotations(reader)) == 1
    assert len(reader.pages[0]["/Annots"]) == 1
    report = inspect_bytes(tmp_path, second)
    assert report.fields == second_provenance.fields()
    assert "ResponsibleContact" not in report.fields and "Tasks" not in report.fields
    assert report.visible_label == label_line(second_provenance, "en")
    assert "/ResponsibleContact" not in reader.metadata
    packet = reader.trailer["/Root"]["/Metadata"].get_object().get_data()
    assert packet.count(b"adal:Model>") == 2  # one element: open and close tag
    assert b"Sample essay" in packet


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_label_text_is_the_annotation_contents_in_the_asked_language(tmp_path: Path, lang: str) -> None:
    out = stamp(tmp_path, sample_pdf(), lang=lang)
    [annotation] = our_annotations(PdfReader(io.BytesIO(out)))
    assert annotation["/Contents"] == label_line(PROVENANCE, lang)
    if lang == "kk":
        assert annotation["/Contents"].startswith("ЖИ көмегімен жасалған материалдар бар")
    assert "/AP" in annotation and annotation["/AP"]["/N"].get_object()["/Subtype"] == "/Form"
    assert annotation["/F"] & 4  # printed


@needs_pdftotext
@pytest.mark.parametrize("rotate", [0, 90, 180, 270])
def test_pdftotext_shows_the_label_on_page_one(tmp_path: Path, rotate: int) -> None:
    out = stamp(tmp_path, sample_pdf(pages=2, rotate=rotate))
    path = tmp_path / "stamped.pdf"
    path.write_bytes(out)
    pages = pdftotext(path).split("\f")
    first = " ".join(pages[0].split())
    assert " ".join(label_line(PROVENANCE, "kk").split()) in first
    assert "Page 1 of Sample essay" in first
    assert "Page 2 of Sample essay" in pages[1]
    assert "көмегімен" not in pages[1]

    [annotation] = our_annotations(PdfReader(io.BytesIO(out)))
    x0, y0, x1, y1 = (float(v) for v in annotation["/Rect"])
    assert 0 <= x0 < x1 <= 595 and 0 <= y0 < y1 <= 842


@needs_pdftotext
@pytest.mark.parametrize("kind", list(INPUTS))
def test_pdftotext_reads_the_whole_output(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "stamped.pdf"
    path.write_bytes(stamp(tmp_path, INPUTS[kind]()))
    text = " ".join(pdftotext(path).split())
    assert "ЖИ көмегімен" in text
    if kind.startswith("own-") and kind != "own-hybrid":
        assert "Page 2 of Sample essay" in text


def test_small_page_and_long_names_still_fit(tmp_path: Path) -> None:
    provenance = Provenance("Сервис " * 28, "Модель " * 28, "v" * 150, dt.date(2025, 1, 2), responsible="Ә" * 190)
    out = stamp(tmp_path, sample_pdf(media_box=(0, 0, 200, 200)), provenance)
    [annotation] = our_annotations(PdfReader(io.BytesIO(out)))
    x0, y0, x1, y1 = (float(v) for v in annotation["/Rect"])
    assert 0 <= x0 < x1 <= 200 and 0 <= y0 < y1 <= 200
    assert annotation["/Contents"] == label_line(provenance, "kk")


def test_existing_annotations_are_kept(tmp_path: Path) -> None:
    b = Builder()
    b.set(1, b"<< /Type /Catalog /Pages 2 0 R >>")
    b.set(2, b"<< /Type /Pages /Kids [3 0 R] /Count 1 /MediaBox [0 0 595 842] >>")
    b.set(3, b"<< /Type /Page /Parent 2 0 R /Annots 4 0 R >>")
    b.set(4, b"[5 0 R]")
    b.set(5, b"<< /Type /Annot /Subtype /Link /Rect [10 10 50 50] /A << /S /URI /URI (https://example.kz) >> >>")
    original = b.build(root=1)
    out = stamp(tmp_path, original)

    update = out[len(original):]
    assert b"\n3 0 obj" not in update  # the page is untouched: its indirect /Annots array is updated
    assert b"\n4 0 obj" in update
    reader = PdfReader(io.BytesIO(out), strict=True)
    subtypes = [a.get_object()["/Subtype"] for a in reader.pages[0]["/Annots"]]
    assert subtypes == ["/Link", "/FreeText"]


def test_a_pdf_without_info_gets_one(tmp_path: Path) -> None:
    out = stamp(tmp_path, sample_pdf(info=False))
    assert PdfReader(io.BytesIO(out)).metadata["/AI-Generated"] == "Yes"


def test_trailing_bytes_after_eof_and_no_final_newline(tmp_path: Path) -> None:
    for original in (sample_pdf() + b"\r\n\x00\x00  ", sample_pdf().rstrip(b"\n")):
        out = stamp(tmp_path, original)
        assert out.startswith(original)
        assert len(PdfReader(io.BytesIO(out)).pages) == 1
        assert inspect_bytes(tmp_path, out).visible_label == label_line(PROVENANCE, "kk")


def test_c2pa_manifest_is_reported(tmp_path: Path) -> None:
    def with_manifest(how: str) -> bytes:
        b = Builder()
        manifest = b.add(stream(b"/Type /EmbeddedFile /Subtype /application#2Fc2pa", b"\x00\x00\x00\x10jumb"))
        spec = b.add(b"<< /Type /Filespec /F (manifest) /UF (manifest) /EF << /F %d 0 R >> >>" % manifest)
        b.set(90, b"<< /Type /Pages /Kids [91 0 R] /Count 1 /MediaBox [0 0 595 842] >>")
        b.set(91, b"<< /Type /Page /Parent 90 0 R >>")
        names = b"/Names << /EmbeddedFiles << /Names [(m) %d 0 R] >> >>" % spec
        extra = b"/AF [%d 0 R]" % spec if how == "af" else names
        b.set(92, b"<< /Type /Catalog /Pages 90 0 R " + extra + b" >>")
        return b.build(root=92)

    assert inspect_bytes(tmp_path, with_manifest("af")).c2pa_manifest is True
    assert inspect_bytes(tmp_path, with_manifest("names")).c2pa_manifest is True
    assert inspect_bytes(tmp_path, sample_pdf()).c2pa_manifest is False


def test_many_pages_stay_fast(tmp_path: Path) -> None:
    original = sample_pdf(pages=1500, xref="stream", objstm=True)
    started = dt.datetime.now(dt.UTC)
    out = stamp(tmp_path, original)
    assert (dt.datetime.now(dt.UTC) - started).total_seconds() < 2
    assert len(PdfReader(io.BytesIO(out)).pages) == 1500


# -- refusals that are not about damaged files ----------------------------------------------------------
def test_unknown_language_is_refused_before_reading(tmp_path: Path) -> None:
    with pytest.raises(StampError, match="--lang"):
        stamp(tmp_path, b"not even read", lang="de")


def test_limits_apply(tmp_path: Path) -> None:
    src = tmp_path / "essay.pdf"
    src.write_bytes(sample_pdf(pages=3))
    with pytest.raises(HostileFile, match="larger than the limit"):
        stamp_pdf(src, io.BytesIO(), PROVENANCE, "kk", Limits(max_file_bytes=100))
    with pytest.raises(HostileFile, match="more than 5 objects"):
        stamp_pdf(src, io.BytesIO(), PROVENANCE, "kk", Limits(max_pdf_objects=5))


def test_refused_file_leaves_no_output(tmp_path: Path) -> None:
    src = tmp_path / "broken.pdf"
    src.write_bytes(sample_pdf()[:-20])
    dest = tmp_path / "out.pdf"
    with pytest.raises(UnsupportedFile), atomic_output(dest) as out:
        stamp_pdf(src, out, PROVENANCE, "kk", LIMITS)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.pdf"]


# -- exiftool ------------------------------------------------------------------------------------------
@needs_exiftool
def test_exiftool_reads_info_keys_and_xmp(tmp_path: Path) -> None:
    path = tmp_path / "stamped.pdf"
    path.write_bytes(stamp(tmp_path, sample_pdf(xmp=FOREIGN_XMP)))
    result = subprocess.run(["exiftool", "-j", "-G1", str(path)], capture_output=True, check=True, timeout=30)
    [tags] = json.loads(result.stdout)

    for name, value in PROVENANCE.fields().items():
        assert tags[f"PDF:{name}"] == value  # Info keys, shown under their own names
        assert tags[f"XMP-adal:{name.replace('-', '')}"] == value  # our namespace, by its prefix
    assert tags["XMP-iptcExt:DigitalSourceType"] == TRAINED_ALGORITHMIC_MEDIA
    assert tags["XMP-iptcExt:AISystemUsed"] == "GPT-4o"
    assert tags["XMP-iptcExt:AISystemVersionUsed"] == "2024-08-06"
    assert tags["XMP-xmp:CreatorTool"] == CREATOR_TOOL
    assert tags["XMP-dc:Title"] == "Sample essay"  # the merged packet keeps the document's own XMP
    assert tags["PDF:PageCount"] == 1


# -- signatures ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def test_pki():
    """A throwaway root CA and a signer certificate, in pyHanko's types."""
    from asn1crypto import keys as asn1_keys
    from asn1crypto import x509 as asn1_x509
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    from pyhanko.sign import signers
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    now = dt.datetime.now(dt.UTC)

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    def usage(*, sign: bool, ca: bool) -> x509.KeyUsage:
        return x509.KeyUsage(digital_signature=sign, content_commitment=sign, key_encipherment=False,
                             data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
                             encipher_only=False, decipher_only=False)

    root_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    valid = {"not_valid_before": now - dt.timedelta(days=1), "not_valid_after": now + dt.timedelta(days=30)}
    root = (x509.CertificateBuilder(issuer_name=name("Adal Test Root"), subject_name=name("Adal Test Root"),
                                    public_key=root_key.public_key(), serial_number=1, **valid)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(usage(sign=False, ca=True), critical=True)
            .sign(root_key, hashes.SHA256()))
    leaf = (x509.CertificateBuilder(issuer_name=root.subject, subject_name=name("Teacher"),
                                    public_key=key.public_key(), serial_number=2, **valid)
            .add_extension(usage(sign=True, ca=False), critical=True)
            .sign(root_key, hashes.SHA256()))
    der = serialization.Encoding.DER
    root_asn1 = asn1_x509.Certificate.load(root.public_bytes(der))
    signer = signers.SimpleSigner(
        signing_cert=asn1_x509.Certificate.load(leaf.public_bytes(der)),
        signing_key=asn1_keys.PrivateKeyInfo.load(
            key.private_bytes(der, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())),
        cert_registry=SimpleCertificateStore.from_certs([root_asn1]),
    )
    return root_asn1, signer


def sign(data: bytes, signer, **meta) -> bytes:
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers

    writer = IncrementalPdfFileWriter(io.BytesIO(data))
    return signers.sign_pdf(writer, signers.PdfSignatureMetadata(field_name="Approval", **meta),
                            signer=signer).getvalue()


@pytest.mark.parametrize("style", ["table", "stream"])
def test_an_approval_signature_stays_intact_and_valid(tmp_path: Path, test_pki, style: str) -> None:
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    root, signer = test_pki
    signed = sign(sample_pdf(pages=2, xref=style, objstm=style == "stream"), signer)
    out = stamp(tmp_path, signed)
    assert out.startswith(signed)
    assert last_section(out)[0] == style

    reader = PdfFileReader(io.BytesIO(out))
    assert reader.xrefs.total_revisions == 3  # the document, the signature, our stamp
    status = validate_pdf_signature(reader.embedded_signatures[0], ValidationContext(trust_roots=[root]))
    assert status.intact is True
    assert status.valid is True
    assert status.trusted is True
    assert status.coverage == SignatureCoverageLevel.ENTIRE_REVISION
    # pyHanko's default diff policy has no rule for page annotations that are not form fields, so it
    # reports the label as an "other" change after signing (Info and XMP alone would pass as LTA updates).
    assert status.modification_level.name == "OTHER"
    assert inspect_bytes(tmp_path, out).visible_label == label_line(PROVENANCE, "kk")


def test_a_certification_that_forbids_changes_is_refused(tmp_path: Path, test_pki) -> None:
    from pyhanko.sign.fields import MDPPerm

    _, signer = test_pki
    certified = sign(sample_pdf(), signer, certify=True, docmdp_permissions=MDPPerm.NO_CHANGES)
    with pytest.raises(UnsupportedFile, match="certified"):
        stamp(tmp_path, certified)
    annotate = sign(sample_pdf(), signer, certify=True, docmdp_permissions=MDPPerm.ANNOTATE)
    assert stamp(tmp_path, annotate).startswith(annotate)
