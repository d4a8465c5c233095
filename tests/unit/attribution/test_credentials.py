"""Content Credentials (C2PA): signed over a stamped file as its last step, validated by
``inspect_file``, refused at configuration time when the certificate cannot work. The tests make
their own CA (``c2pa_pki``); c2pa-python signs and validates for real, and a separate exiftool
process reads our XMP back from the signed files."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from attribution.credentials import (
    COMPOSITE,
    TRAINED,
    Credentials,
    CredentialsError,
    Unavailable,
    load_credentials,
    load_trust_anchors,
    manifest_present,
    read_credentials,
    unavailable_reason,
)
from attribution.media import CONFIG_FILE, ExifTool
from attribution.provenance import TRAINED_ALGORITHMIC_MEDIA, Limits, Provenance, StampError
from attribution.stamping import inspect_file, stamp_file
from plugin.config import ConfigError, content_credentials_files, load_config
from tests.unit.attribution.c2pa_pki import ORGANIZATION, SIGNER_NAME, Pki, make_pki, serve_tsa
from tests.unit.attribution.media_samples import SUFFIX, image, mp3, video
from tests.unit.attribution.opc_samples import make_docx
from tests.unit.attribution.pdf_samples import sample_pdf

PROVENANCE = Provenance(service="ChatGPT", model="GPT-4o", model_version="2024-08-06",
                        generation_date=dt.date(2026, 11, 20), responsible="Айгүл Сәрсенова",
                        tasks=("жоспар құру", "grammar"))
LIMITS = Limits()


@pytest.fixture(scope="module")
def pki() -> Pki:
    return make_pki()


@pytest.fixture(scope="module")
def files(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    return pki.write(tmp_path_factory.mktemp("instance") / "c2pa")


@pytest.fixture(scope="module")
def credentials(files: tuple[Path, Path, Path]) -> Credentials:
    chain, key, _anchors = files
    return load_credentials(chain, key)


@pytest.fixture(scope="module")
def anchors(pki: Pki) -> str:
    return pki.root_pem.decode("ascii")


@pytest.fixture(scope="module")
def session() -> Iterator[ExifTool]:
    if shutil.which("exiftool") is None:
        pytest.fail("exiftool is missing: apt-get install libimage-exiftool-perl (scripts/setup does)")
    with ExifTool() as tool:
        yield tool


@pytest.fixture(autouse=True)
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Temporary files go to a directory of their own, which must be empty after every test."""
    directory = tmp_path / "tmpdir"
    directory.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(directory))
    yield directory
    assert list(directory.iterdir()) == []


def sample(kind: str, folder: Path) -> Path:
    if kind == "pdf":
        data = sample_pdf(pages=2)
    elif kind in ("jpeg", "png", "webp", "tiff"):
        data = image(kind)
    else:
        data = mp3() if kind == "mp3" else video(kind)
    path = folder / f"sample{'.pdf' if kind == 'pdf' else SUFFIX[kind]}"
    path.write_bytes(data)
    return path


def signed(folder: Path, kind: str, credentials: Credentials, session: ExifTool, **options) -> Path:
    src = sample(kind, folder)
    dest = folder / f"stamped{src.suffix}"
    assert stamp_file(src, dest, PROVENANCE, credentials=credentials, exiftool=session, **options) == kind
    return dest


def exiftool_json(path: Path) -> dict[str, str]:
    done = subprocess.run(["exiftool", "-config", str(CONFIG_FILE), "-j", "-G1", "-a", str(path)],
                          capture_output=True, check=True)
    return json.loads(done.stdout, parse_float=str, parse_int=str)[0]


def flip_image_byte(path: Path, kind: str) -> None:
    """Change one byte of the picture itself (JPEG scan data, PNG IDAT data), nothing else."""
    data = bytearray(path.read_bytes())
    if kind == "jpeg":
        start = data.rindex(b"\xff\xda")  # the scan: the entropy-coded pixels up to FF D9
        position = (start + len(data)) // 2
    else:
        position = data.index(b"IDAT") + 6
    data[position] ^= 0x01
    path.write_bytes(bytes(data))


# -- signing over the stamp --------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["jpeg", "png"])
def test_a_stamped_image_gets_a_trusted_manifest_with_the_ai_assertion(tmp_path: Path, credentials: Credentials,
                                                                       anchors: str, session: ExifTool,
                                                                       kind: str) -> None:
    out = signed(tmp_path, kind, credentials, session)
    report = inspect_file(out, trust_anchors=anchors)
    found = report.content_credentials
    assert found is not None and report.c2pa_manifest is True
    assert found.state == "trusted", found.errors
    assert found.errors == []
    assert (found.signer, found.organization) == (SIGNER_NAME, ORGANIZATION)
    assert (found.action, found.digital_source_type, found.ai) == ("c2pa.created", COMPOSITE, True)
    assert found.adal == PROVENANCE.fields()
    assert found.manifests == 1
    assert found.generator is not None and found.generator.startswith("Adal")
    assert report.fields == PROVENANCE.fields()  # Adal's own metadata is still there
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sample" + out.suffix, out.name, "tmpdir"]


@pytest.mark.parametrize("kind", ["jpeg", "png"])
def test_exiftool_still_reads_our_xmp_after_signing(tmp_path: Path, credentials: Credentials, session: ExifTool,
                                                    kind: str) -> None:
    found = exiftool_json(signed(tmp_path, kind, credentials, session))
    for name, value in PROVENANCE.fields().items():
        assert found[f"XMP-adal:{name.replace('-', '')}"] == value
    assert found["XMP-iptcExt:DigitalSourceType"] == TRAINED_ALGORITHMIC_MEDIA
    assert found["XMP-iptcExt:AISystemUsed"] == "GPT-4o"
    assert any(key.startswith("JUMBF:") for key in found), "exiftool sees the C2PA manifest store too"
    if kind == "jpeg":
        # (exiftool 12.57 does not read a PNG's eXIf chunk placed after c2pa's caBX chunk; XMP is unaffected)
        assert found["IFD0:Software"] == PROVENANCE.creator_tool


def test_synthetic_media_is_declared_made_by_ai(tmp_path: Path, credentials: Credentials, anchors: str,
                                                session: ExifTool) -> None:
    out = signed(tmp_path, "png", credentials, session, synthetic=True, lang="en")
    found = inspect_file(out, trust_anchors=anchors).content_credentials
    assert found is not None and found.state == "trusted"
    assert (found.action, found.digital_source_type) == ("c2pa.created", TRAINED)
    assert found.adal["SyntheticLabel"].startswith("SYNTHETIC IMAGE, made with AI: ChatGPT")


@pytest.mark.parametrize("kind", ["webp", "tiff", "mp4", "mov", "mp3", "pdf"])
def test_every_kind_c2pa_can_write_is_signed(tmp_path: Path, credentials: Credentials, anchors: str,
                                             session: ExifTool, kind: str) -> None:
    out = signed(tmp_path, kind, credentials, session)
    report = inspect_file(out, trust_anchors=anchors)
    assert report.content_credentials is not None and report.content_credentials.state == "trusted"
    assert report.content_credentials.adal == PROVENANCE.fields()
    assert report.fields == PROVENANCE.fields()
    if kind == "pdf":
        assert report.visible_label is not None


def test_office_files_are_stamped_without_content_credentials(tmp_path: Path, credentials: Credentials) -> None:
    src = make_docx(tmp_path / "essay.docx")
    assert unavailable_reason(src, "docx") is Unavailable.FORMAT
    out = tmp_path / "stamped.docx"
    assert stamp_file(src, out, PROVENANCE, credentials=credentials) == "docx"
    report = inspect_file(out)
    assert report.content_credentials is None and report.c2pa_manifest is False
    assert report.fields == PROVENANCE.fields()


def test_a_digitally_signed_pdf_keeps_its_signature_and_gets_no_manifest(tmp_path: Path, credentials: Credentials,
                                                                         pki: Pki) -> None:
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign import signers
    from pyhanko.sign.validation import validate_pdf_signature

    chain, key, _anchors = pki.write(tmp_path / "pdf-signer")
    leaf = tmp_path / "pdf-signer" / "leaf.pem"
    leaf.write_text(chain.read_text().split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n")
    signer = signers.SimpleSigner.load(str(key), str(leaf), ca_chain_files=(str(chain),))
    assert signer is not None
    document = signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(sample_pdf())),
                                signers.PdfSignatureMetadata(field_name="Approval"), signer=signer).getvalue()
    src = tmp_path / "signed.pdf"
    src.write_bytes(document)
    assert unavailable_reason(src, "pdf") is Unavailable.SIGNED_PDF
    out = tmp_path / "stamped.pdf"
    stamp_file(src, out, PROVENANCE, credentials=credentials)
    assert out.read_bytes().startswith(document), "the signed bytes are untouched"
    assert inspect_file(out).content_credentials is None
    from asn1crypto import x509 as asn1_x509
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from pyhanko_certvalidator import ValidationContext

    root = x509.load_pem_x509_certificate(pki.root_pem).public_bytes(serialization.Encoding.DER)
    context = ValidationContext(trust_roots=[asn1_x509.Certificate.load(root)])
    status = validate_pdf_signature(PdfFileReader(io.BytesIO(out.read_bytes())).embedded_signatures[0], context)
    assert status.intact and status.valid


def test_without_trust_anchors_a_sound_manifest_is_valid_but_not_trusted(tmp_path: Path, credentials: Credentials,
                                                                         session: ExifTool) -> None:
    found = inspect_file(signed(tmp_path, "jpeg", credentials, session)).content_credentials
    assert found is not None and found.state == "valid" and found.intact
    assert [error.split(":")[0] for error in found.errors] == ["signingCredential.untrusted"]
    other_root = make_pki().root_pem.decode("ascii")
    found = inspect_file(tmp_path / "stamped.jpg", trust_anchors=other_root).content_credentials
    assert found is not None and found.state == "valid"


@pytest.mark.parametrize("kind", ["jpeg", "png"])
def test_changing_one_byte_of_the_picture_invalidates_the_manifest(tmp_path: Path, credentials: Credentials,
                                                                   anchors: str, session: ExifTool, kind: str) -> None:
    out = signed(tmp_path, kind, credentials, session)
    flip_image_byte(out, kind)
    report = inspect_file(out, trust_anchors=anchors)
    found = report.content_credentials
    assert found is not None and found.state == "invalid" and not found.intact
    assert any(error.startswith("assertion.dataHash.mismatch") for error in found.errors), found.errors
    assert report.fields == PROVENANCE.fields(), "the metadata itself is still readable"


def test_a_file_that_had_a_manifest_is_re_signed_with_it_as_history(tmp_path: Path, credentials: Credentials,
                                                                   anchors: str, session: ExifTool) -> None:
    first = signed(tmp_path, "jpeg", credentials, session)
    assert manifest_present(first, "jpeg", LIMITS)
    again = tmp_path / "again.jpg"
    stamp_file(first, again, PROVENANCE, credentials=credentials, exiftool=session)
    found = inspect_file(again, trust_anchors=anchors).content_credentials
    assert found is not None and found.state == "trusted", found.errors
    assert (found.action, found.manifests) == ("c2pa.edited", 2)


def test_stamping_a_file_with_a_manifest_without_credentials_breaks_it(tmp_path: Path, credentials: Credentials,
                                                                       anchors: str, session: ExifTool) -> None:
    first = signed(tmp_path, "jpeg", credentials, session)
    same = tmp_path / "same.jpg"
    stamp_file(first, same, PROVENANCE, exiftool=session)
    assert same.read_bytes() == first.read_bytes(), "the same fields again change no byte"
    found = inspect_file(same, trust_anchors=anchors).content_credentials
    assert found is not None and found.state == "trusted"
    changed = tmp_path / "changed.jpg"
    stamp_file(first, changed, dataclasses.replace(PROVENANCE, model="GPT-4.1"), exiftool=session)
    assert manifest_present(changed, "jpeg", LIMITS)
    found = inspect_file(changed, trust_anchors=anchors).content_credentials
    assert found is not None and found.state == "invalid"
    assert any(error.startswith("assertion.dataHash.mismatch") for error in found.errors), found.errors


def test_manifest_present_in_each_family(tmp_path: Path, credentials: Credentials, session: ExifTool) -> None:
    for kind in ("jpeg", "mp3", "pdf"):
        folder = tmp_path / kind
        folder.mkdir()
        assert manifest_present(sample(kind, folder), kind, LIMITS) is False
        assert manifest_present(signed(folder, kind, credentials, session), kind, LIMITS) is True
    docx = make_docx(tmp_path / "plain.docx")
    assert manifest_present(docx, "docx", LIMITS) is False
    import zipfile

    with zipfile.ZipFile(docx, "a") as archive:
        archive.writestr("META-INF/content_credential.c2pa", b"\x00\x00\x00\x10jumb")
    assert manifest_present(docx, "docx", LIMITS) is True


def test_a_failed_signature_leaves_no_output(tmp_path: Path, credentials: Credentials, session: ExifTool) -> None:
    other = make_pki()
    wrong = Credentials(chain_pem=credentials.chain_pem, key_pem=other.key_pem, algorithm="es256",
                        subject=credentials.subject, issuer=credentials.issuer, not_after=credentials.not_after)
    src = sample("jpeg", tmp_path)
    with pytest.raises(StampError, match=r"sample\.jpg: Content Credentials could not be added"):
        stamp_file(src, tmp_path / "out.jpg", PROVENANCE, credentials=wrong, exiftool=session)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sample.jpg", "tmpdir"]


def test_an_unsigned_file_has_no_content_credentials(tmp_path: Path, session: ExifTool) -> None:
    src = sample("jpeg", tmp_path)
    assert read_credentials(src, "jpeg") is None
    out = tmp_path / "stamped.jpg"
    stamp_file(src, out, PROVENANCE, exiftool=session)
    report = inspect_file(out)
    assert report.content_credentials is None and report.c2pa_manifest is False


def test_a_file_c2pa_cannot_parse_is_not_said_to_carry_a_manifest(tmp_path: Path, credentials: Credentials,
                                                                   session: ExifTool) -> None:
    src = tmp_path / "truncated.jpg"
    src.write_bytes(image("jpeg")[:200])  # exiftool still reads it; c2pa's JPEG parser does not
    report = inspect_file(src)
    assert report.content_credentials is None and report.c2pa_manifest is False
    assert any(note.startswith("Content Credentials not checked: c2pa cannot parse the file") for note in report.notes)
    assert manifest_present(src, "jpeg", LIMITS) is False
    with pytest.raises(StampError, match=r"truncated\.jpg: "):
        stamp_file(src, tmp_path / "out.jpg", PROVENANCE, credentials=credentials, exiftool=session)
    assert not (tmp_path / "out.jpg").exists()


def test_an_rsa_key_signs_with_ps256(tmp_path: Path, anchors: str, session: ExifTool) -> None:
    pki = make_pki(rsa_key=True)
    chain, key, _anchors = pki.write(tmp_path / "rsa")
    credentials = load_credentials(chain, key)
    assert credentials.algorithm == "ps256"
    found = inspect_file(signed(tmp_path, "jpeg", credentials, session),
                         trust_anchors=pki.root_pem.decode()).content_credentials
    assert found is not None and found.state == "trusted"


def test_a_timestamp_keeps_the_manifest_valid_after_the_certificate_expires(tmp_path: Path,
                                                                            session: ExifTool) -> None:
    expires = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=4)
    pki = make_pki(leaf_not_after=expires)
    chain, key, _anchors = pki.write(tmp_path / "short-lived")
    with serve_tsa() as (url, tsa_root):
        dated = load_credentials(chain, key, tsa_url=url)
        undated = load_credentials(chain, key)
        (tmp_path / "a").mkdir()
        (tmp_path / "b").mkdir()
        with_time = signed(tmp_path / "a", "jpeg", dated, session)
        without_time = signed(tmp_path / "b", "jpeg", undated, session)
    anchors = pki.root_pem.decode() + tsa_root.decode()
    found = inspect_file(with_time, trust_anchors=anchors).content_credentials
    assert found is not None and found.state == "trusted" and found.signed_at is not None
    import time

    time.sleep(max(0.0, (expires - dt.datetime.now(dt.UTC)).total_seconds()) + 1.5)
    found = inspect_file(with_time, trust_anchors=anchors).content_credentials
    assert found is not None and found.state == "trusted", found.errors
    found = inspect_file(without_time, trust_anchors=anchors).content_credentials
    assert found is not None and found.state == "invalid"
    assert any(error.startswith("signingCredential.expired") for error in found.errors), found.errors


def test_a_timestamp_authority_that_does_not_answer_is_refused(tmp_path: Path, files: tuple[Path, Path, Path]) -> None:
    chain, key, _anchors = files
    with serve_tsa() as (url, _root):
        pass  # the port is closed again: nobody answers there
    with pytest.raises(CredentialsError, match=f"the timestamp authority {re.escape(url)} gave no timestamp"):
        load_credentials(chain, key, tsa_url=url)
    with pytest.raises(CredentialsError, match="is not an http"):
        load_credentials(chain, key, tsa_url="ftp://tsa.example.kz")


# -- refusals at configuration time ------------------------------------------------------------------
def test_a_self_signed_certificate_is_refused(tmp_path: Path) -> None:
    chain, key, _anchors = make_pki(self_signed=True).write(tmp_path)
    with pytest.raises(CredentialsError, match="self-signed; Content Credentials need one issued by a certificate "
                                               "authority"):
        load_credentials(chain, key)


def test_a_certificate_c2pa_refuses_is_refused_with_what_it_needs(tmp_path: Path) -> None:
    chain, key, _anchors = make_pki(email_protection=False).write(tmp_path)
    with pytest.raises(CredentialsError, match=r"c2pa refuses this certificate .*extended key usage emailProtection"):
        load_credentials(chain, key)


@pytest.mark.parametrize(("days", "says"), [((-400, -1), "expired on"), ((2, 400), "valid only from")])
def test_a_certificate_outside_its_validity_is_refused(tmp_path: Path, days: tuple[int, int], says: str) -> None:
    chain, key, _anchors = make_pki(leaf_valid_days=days).write(tmp_path)
    with pytest.raises(CredentialsError, match=says):
        load_credentials(chain, key)


def test_key_problems_are_named(tmp_path: Path, pki: Pki) -> None:
    chain, key, _anchors = pki.write(tmp_path)
    with pytest.raises(CredentialsError, match=r"missing\.pem: cannot read it \(No such file or directory\)"):
        load_credentials(chain, tmp_path / "missing.pem")
    with pytest.raises(CredentialsError, match="cannot read it"):
        load_credentials(chain, tmp_path)  # a directory
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a key\n")
    with pytest.raises(CredentialsError, match="not a PEM private key"):
        load_credentials(chain, garbage)
    other = tmp_path / "other.pem"
    other.write_bytes(make_pki().key_pem)
    with pytest.raises(CredentialsError, match="is not the private key of the first certificate"):
        load_credentials(chain, other)
    with pytest.raises(CredentialsError, match="holds no PEM certificate"):
        load_credentials(key, key)


def test_an_encrypted_key_is_refused(tmp_path: Path, pki: Pki) -> None:
    from cryptography.hazmat.primitives import serialization

    chain, key, _anchors = pki.write(tmp_path)
    loaded = serialization.load_pem_private_key(key.read_bytes(), password=None)
    key.write_bytes(loaded.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                         serialization.BestAvailableEncryption(b"test passphrase")))
    with pytest.raises(CredentialsError, match="the private key is encrypted"):
        load_credentials(chain, key)


def test_a_chain_in_the_wrong_order_is_refused(tmp_path: Path, pki: Pki) -> None:
    chain, key, _anchors = pki.write(tmp_path)
    leaf, middle = chain.read_text().split("-----END CERTIFICATE-----\n")[:2]
    chain.write_text(middle + "-----END CERTIFICATE-----\n" + leaf + "-----END CERTIFICATE-----\n")
    with pytest.raises(CredentialsError, match="must come first"):
        load_credentials(chain, key)
    chain.write_text(leaf + "-----END CERTIFICATE-----\n" + make_pki().root_pem.decode())
    with pytest.raises(CredentialsError, match="certificate 2 did not issue certificate 1"):
        load_credentials(chain, key)


def test_trust_anchors_must_be_certificates(tmp_path: Path, pki: Pki) -> None:
    _chain, key, anchors = pki.write(tmp_path)
    assert load_trust_anchors(anchors).startswith("-----BEGIN CERTIFICATE-----")
    with pytest.raises(CredentialsError, match="holds no PEM certificate"):
        load_trust_anchors(key)


# -- configuration -----------------------------------------------------------------------------------
def test_files_come_from_the_instance_folder_or_the_environment(tmp_path: Path, pki: Pki) -> None:
    instance = tmp_path / "instance"
    assert content_credentials_files({"ADAL_INSTANCE_PATH": str(instance)}).cert is None
    assert not instance.exists(), "looking creates nothing"
    chain, key, anchors = pki.write(instance / "c2pa")
    found = content_credentials_files({"ADAL_INSTANCE_PATH": str(instance)})
    assert (found.cert, found.key, found.trust_anchors) == (chain, key, anchors)
    elsewhere = pki.write(tmp_path / "elsewhere")
    env = {"ADAL_INSTANCE_PATH": str(instance), "ADAL_C2PA_CERT": str(elsewhere[0]),
           "ADAL_C2PA_KEY": str(elsewhere[1]), "ADAL_C2PA_TRUST_ANCHORS": str(elsewhere[2])}
    found = content_credentials_files(env)
    assert (found.cert, found.key, found.trust_anchors) == elsewhere
    config = load_config({**env, "ADAL_C2PA_TSA_URL": "https://tsa.example.kz/"})
    assert (config.c2pa_cert_path, config.c2pa_key_path, config.c2pa_trust_anchors_path) == elsewhere
    assert config.c2pa_tsa_url == "https://tsa.example.kz/"
    with pytest.raises(ConfigError, match="ADAL_C2PA_TSA_URL must be the http"):
        content_credentials_files({**env, "ADAL_C2PA_TSA_URL": "tsa.example.kz"})


def test_a_certificate_without_its_key_is_a_configuration_error(tmp_path: Path, pki: Pki) -> None:
    instance = tmp_path / "instance"
    chain, key, _anchors = pki.write(instance / "c2pa")
    key.unlink()
    with pytest.raises(ConfigError, match=r"no key\.pem \(set ADAL_C2PA_KEY\)"):
        content_credentials_files({"ADAL_INSTANCE_PATH": str(instance)})
    with pytest.raises(ConfigError, match=r"ADAL_C2PA_KEY names .*missing\.pem, which is not a file"):
        content_credentials_files({"ADAL_INSTANCE_PATH": str(instance),
                                   "ADAL_C2PA_KEY": str(tmp_path / "missing.pem")})
    with pytest.raises(ConfigError, match=r"no chain\.pem \(set ADAL_C2PA_CERT\)"):
        content_credentials_files({"ADAL_INSTANCE_PATH": str(tmp_path / "none"), "ADAL_C2PA_KEY": str(chain)})
