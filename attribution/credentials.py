"""Content Credentials (C2PA): an optional signed manifest over a stamped file, and its check.

When an institution configures a signing certificate (a CA-issued end-entity certificate with its
chain, and the private key), every file ``stamp_file`` writes in a format c2pa-python can sign
gets a C2PA manifest store, added as the very last step (any later write would break its hash
binding). The manifest holds:

- ``c2pa.actions``: ``c2pa.created`` with the IPTC ``digitalSourceType``
  ``trainedAlgorithmicMedia`` for synthetic media (``--synthetic``: made wholly by AI) or
  ``compositeWithTrainedAlgorithmicMedia`` otherwise (S C.3: the file *contains* material made
  with AI), the AI service as ``softwareAgent``. When the input already carried a manifest, the
  input becomes the parent ingredient instead (``c2pa.opened``, then ``c2pa.edited`` with the same
  source type), so that its history is kept rather than broken;
- ``kz.adal.provenance``: the S C.3 fields of ``Provenance.fields()`` (and the synthetic-media
  label), by the same names as in XMP and Office properties.

c2pa-python 0.38.1 (c2pa-rs 0.91.3) signs JPEG, PNG, WebP, TIFF, MP4/MOV, MP3 and PDF (measured).
It cannot read the deflated ZIP members of DOCX/PPTX/XLSX, so Office files are stamped without
Content Credentials. It rewrites a whole PDF to embed the manifest, which would break a PDF's
digital signature: a signed PDF is left unsigned by C2PA, and the caller says so.

Reading never reaches the network: remote manifests and OCSP are never fetched. Signing contacts
the network only when the institution names a timestamp authority (``tsa_url``, RFC 3161), which
receives a hash of the signature and nothing else. Without a timestamp, verifiers judge the
certificate at the time they verify: once it expires, the manifest no longer validates; with one,
it keeps validating (measured with c2pa-rs 0.91.3). Trust is decided only against the anchors the
institution configures (``trust_anchors``, which must also hold the timestamp authority's root);
without them a sound manifest is reported as intact, with its signer not in the trust list.
"""

from __future__ import annotations

import dataclasses
import io
import itertools
import json
import struct
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, BinaryIO

from attribution.provenance import (
    MEDIA_KINDS,
    ContentCredentials,
    Limits,
    Provenance,
    StampError,
)

#: The kinds c2pa-python 0.38.1 can sign, with the media type it is told.
SIGNABLE = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp", "tiff": "image/tiff",
            "mp4": "video/mp4", "mov": "video/quicktime", "mp3": "audio/mpeg", "pdf": "application/pdf"}
OPC_KINDS = ("docx", "pptx", "xlsx")
ADAL_ASSERTION = "kz.adal.provenance"
DIGITAL_SOURCE_TYPES = "http://cv.iptc.org/newscodes/digitalsourcetype/"
TRAINED = DIGITAL_SOURCE_TYPES + "trainedAlgorithmicMedia"
COMPOSITE = DIGITAL_SOURCE_TYPES + "compositeWithTrainedAlgorithmicMedia"
#: The IPTC source types that say AI made (some of) the content.
AI_SOURCE_TYPES = ("trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia")
_PARENT = "adal-parent"
# Never the network: c2pa-rs fetches remote manifests by default.
_OFFLINE = {"remote_manifest_fetch": False, "ocsp_fetch": False}
# The file is its own picture: a thumbnail would only copy it into the manifest.
_SIGN_SETTINGS = {"version": 1, "builder": {"thumbnail": {"enabled": False}},
                  "verify": {**_OFFLINE, "verify_after_sign": True}}


class CredentialsError(StampError):
    """The signing certificate, its key or the trust anchors cannot be used; the message names the
    file and says what an administrator must change. Raised before any file is stamped."""


class Unavailable(StrEnum):
    """Why a file gets no Content Credentials although a certificate is configured."""

    FORMAT = "format"  # c2pa cannot write this kind of file
    SIGNED_PDF = "signed-pdf"  # embedding would rewrite the PDF and break its digital signature


@dataclass(frozen=True)
class Credentials:
    """A checked signing certificate chain and key, as PEM. Plain data, so that it can be handed
    to worker processes; each signature makes its own short-lived c2pa signer."""

    chain_pem: bytes = field(repr=False)
    key_pem: bytes = field(repr=False)
    algorithm: str  # c2pa's name: es256, es384, es512, ps256, ed25519
    subject: str  # the end-entity certificate's subject, RFC 4514
    issuer: str
    not_after: datetime
    tsa_url: str | None = None  # an RFC 3161 timestamp authority, or None for no timestamp

    @property
    def signer_name(self) -> str:
        return _common_name(self.subject) or self.subject

    def sign(self, staged: BinaryIO, out: BinaryIO, kind: str, provenance: Provenance, *, name: str,
             synthetic: bool = False, lang: str = "kk", parent: Path | None = None) -> None:
        """Copy ``staged`` (a stamped file of ``kind``) into ``out`` with a signed manifest.
        ``parent``: the original input, when it carried a manifest of its own. Raises ``StampError``."""
        import c2pa

        manifest = _manifest(provenance, kind, synthetic=synthetic, lang=lang, edited=parent is not None)
        try:
            _sign(self, manifest, SIGNABLE[kind], staged, out, parent)
        except c2pa.C2paError as exc:
            raise StampError(f"{name}: Content Credentials could not be added ({_one_line(exc)})") from None
        except OSError as exc:
            raise StampError(f"{name}: cannot read it ({exc.strerror})") from None

    @contextmanager
    def signing(self, out: BinaryIO, src: Path, kind: str, provenance: Provenance, *, limits: Limits,
                synthetic: bool = False, lang: str = "kk") -> Iterator[BinaryIO]:
        """A file to stamp into; when the block ends normally its content is signed into ``out``.
        An anonymous temporary file: nothing is left behind, whatever happens."""
        import tempfile

        with tempfile.TemporaryFile() as staged:
            yield staged
            staged.flush()
            staged.seek(0)
            parent = src if manifest_present(src, kind, limits) else None
            self.sign(staged, out, kind, provenance, name=src.name, synthetic=synthetic, lang=lang, parent=parent)


def _sign(credentials: Credentials, manifest: dict[str, Any], mime: str, staged: BinaryIO, out: BinaryIO,
          parent: Path | None) -> None:
    """Raises c2pa's own errors."""
    import c2pa

    context = c2pa.Context.from_dict(_SIGN_SETTINGS)
    signer = builder = None
    try:
        signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(credentials.algorithm, credentials.chain_pem,
                                                           credentials.key_pem, credentials.tsa_url))
        builder = c2pa.Builder(manifest, context=context)
        if parent is not None:
            with open(parent, "rb") as original:
                builder.add_ingredient({"title": parent.name, "relationship": "parentOf", "label": _PARENT}, mime,
                                       original)
        builder.sign(signer, mime, staged, out)
    finally:
        for resource in (builder, signer, context):
            if resource is not None:
                resource.close()


# -- loading and checking the certificate ------------------------------------------------------
def load_credentials(cert_path: Path, key_path: Path, *, tsa_url: str | None = None) -> Credentials:
    """Read and check ``cert_path`` (PEM: the end-entity certificate first, then the CAs that
    issued it) and ``key_path`` (its PEM private key, not encrypted), then sign a tiny picture
    with them (timestamped by ``tsa_url`` when given) so that c2pa's own certificate rules apply
    now, and an unreachable timestamp authority shows now, not on the first real file.

    Raises ``CredentialsError`` for a missing or unreadable file, a key that does not belong to
    the certificate, a self-signed or CA certificate, one without the digitalSignature key usage,
    one outside its validity period, a chain that does not link, or anything c2pa refuses.
    """
    from cryptography.hazmat.primitives import serialization

    cert_path, key_path = Path(cert_path), Path(key_path)
    if tsa_url is not None and not tsa_url.startswith(("https://", "http://")):
        raise CredentialsError(f"the timestamp authority {tsa_url!r} is not an http(s) URL")
    chain = _certificates(cert_path)
    try:
        key = serialization.load_pem_private_key(_read(key_path), password=None)
    except TypeError:
        raise CredentialsError(f"{key_path}: the private key is encrypted; Adal needs it unencrypted, in a file "
                               "only its service account can read") from None
    except ValueError as exc:
        raise CredentialsError(f"{key_path}: not a PEM private key ({_one_line(exc)})") from None
    except Exception as exc:  # cryptography's UnsupportedAlgorithm and friends
        raise CredentialsError(f"{key_path}: a key Adal cannot use ({_one_line(exc)})") from None
    algorithm = _algorithm(key, key_path)
    public = _public_der(key.public_key())
    matching = [n for n, cert in enumerate(chain) if _public_der(cert.public_key()) == public]
    if not matching:
        raise CredentialsError(f"{key_path} is not the private key of the first certificate in {cert_path}")
    if matching[0] != 0:
        raise CredentialsError(f"{cert_path}: the certificate of the private key must come first, then the CAs "
                               "that issued it")
    leaf = chain[0]
    _check_leaf(leaf, cert_path)
    for n, (cert, issuer) in enumerate(itertools.pairwise(chain)):
        try:
            cert.verify_directly_issued_by(issuer)
        except Exception:  # ValueError, TypeError, InvalidSignature: not issued by the next one
            raise CredentialsError(f"{cert_path}: certificate {n + 2} did not issue certificate {n + 1}; list the "
                                   "chain from the end-entity certificate up to the root") from None
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    credentials = Credentials(
        chain_pem=b"".join(cert.public_bytes(serialization.Encoding.PEM) for cert in chain), key_pem=key_pem,
        algorithm=algorithm, subject=leaf.subject.rfc4514_string(), issuer=leaf.issuer.rfc4514_string(),
        not_after=leaf.not_valid_after_utc, tsa_url=tsa_url)
    _probe(credentials, cert_path)
    return credentials


def load_trust_anchors(path: Path) -> str:
    """The PEM certificates in ``path`` that ``adal inspect`` trusts as C2PA signers' roots."""
    from cryptography.hazmat.primitives import serialization

    certificates = _certificates(Path(path))
    return "".join(cert.public_bytes(serialization.Encoding.PEM).decode("ascii") for cert in certificates)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CredentialsError(f"{path}: cannot read it ({exc.strerror})") from None


def _certificates(path: Path) -> list[Any]:
    from cryptography import x509

    data = _read(path)
    try:
        certificates = x509.load_pem_x509_certificates(data)
    except ValueError:
        raise CredentialsError(f"{path}: holds no PEM certificate (-----BEGIN CERTIFICATE-----)") from None
    return certificates


def _algorithm(key: Any, path: Path) -> str:
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    if isinstance(key, ec.EllipticCurvePrivateKey):
        by_curve = {"secp256r1": "es256", "secp384r1": "es384", "secp521r1": "es512"}
        if key.curve.name in by_curve:
            return by_curve[key.curve.name]
        raise CredentialsError(f"{path}: an elliptic-curve key on {key.curve.name}; C2PA needs P-256, P-384 or P-521")
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < 2048:
            raise CredentialsError(f"{path}: an RSA key of {key.key_size} bits; C2PA needs at least 2048")
        return "ps256"
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "ed25519"
    raise CredentialsError(f"{path}: a {type(key).__name__}; C2PA needs an ECDSA, RSA or Ed25519 key")


def _public_der(public_key: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _check_leaf(leaf: Any, path: Path) -> None:
    from cryptography import x509

    if leaf.issuer == leaf.subject:
        raise CredentialsError(f"{path}: the certificate is self-signed; Content Credentials need one issued by a "
                               "certificate authority (CA) to your institution (c2pa refuses self-signed ones)")
    try:
        if leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca:
            raise CredentialsError(f"{path}: the first certificate is a CA certificate; put the end-entity "
                                   "(signing) certificate first")
    except x509.ExtensionNotFound:
        pass
    try:
        usage = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        usage = None
    if usage is None or not usage.digital_signature:
        raise CredentialsError(f"{path}: the certificate's key usage lacks digitalSignature, which signing needs")
    now = datetime.now(UTC)
    if now < leaf.not_valid_before_utc:
        raise CredentialsError(f"{path}: the certificate is valid only from {leaf.not_valid_before_utc:%Y-%m-%d}")
    if now > leaf.not_valid_after_utc:
        raise CredentialsError(f"{path}: the certificate expired on {leaf.not_valid_after_utc:%Y-%m-%d}")


def _probe_png() -> bytes:
    """A 1×1 PNG, built here: c2pa checks a certificate only when it signs something."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\x00\x00\x00"))
            + chunk(b"IEND", b""))


def _probe(credentials: Credentials, cert_path: Path) -> None:
    import c2pa

    def attempt(using: Credentials) -> c2pa.C2paError | None:
        manifest = {"claim_generator_info": [{"name": "Adal"}], "assertions": [{"label": "c2pa.actions", "data": {
            "actions": [{"action": "c2pa.created", "digitalSourceType": COMPOSITE}]}}]}
        try:
            _sign(using, manifest, "image/png", io.BytesIO(_probe_png()), io.BytesIO(), None)
        except c2pa.C2paError as exc:
            return exc
        return None

    failure = attempt(credentials)
    if failure is None:
        return
    if credentials.tsa_url is not None and attempt(dataclasses.replace(credentials, tsa_url=None)) is None:
        raise CredentialsError(f"the timestamp authority {credentials.tsa_url} gave no timestamp "
                               f"({_one_line(failure)})")
    raise CredentialsError(f"{cert_path}: c2pa refuses this certificate ({_one_line(failure)}); it needs an "
                           "end-entity certificate issued by a CA, with key usage digitalSignature and extended "
                           "key usage emailProtection")


# -- what a file carries -----------------------------------------------------------------------
def unavailable_reason(src: Path, kind: str) -> Unavailable | None:
    """Why ``src`` (of ``kind``) cannot get Content Credentials, or None when it can."""
    if kind not in SIGNABLE:
        return Unavailable.FORMAT
    if kind == "pdf" and _has_pdf_signature(src):
        return Unavailable.SIGNED_PDF
    return None


def _has_pdf_signature(path: Path) -> bool:
    """A signature's /ByteRange cannot sit in a compressed object stream (its bytes are counted
    in the file), so a plain scan finds every signature; a false alarm only means no C2PA."""
    import mmap

    with open(path, "rb") as handle:
        if not handle.seek(0, 2):
            return False
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            return data.find(b"/ByteRange") >= 0


def manifest_present(path: Path, kind: str, limits: Limits) -> bool:
    """Whether ``path`` carries a C2PA manifest store (not validated: a quick look, for deciding
    whether a stamp breaks one). ``path`` has already been read as ``kind`` by its format module."""
    if kind in OPC_KINDS:
        try:
            with zipfile.ZipFile(path) as archive:
                return any("c2pa" in name.casefold() for name in archive.namelist())
        except (OSError, zipfile.BadZipFile):
            return False
    if kind == "pdf":
        from attribution.pdf import has_c2pa_manifest

        return has_c2pa_manifest(path, limits)
    if kind not in SIGNABLE:
        return False
    import c2pa

    context = c2pa.Context.from_dict({"version": 1, "verify": {**_OFFLINE, "verify_after_reading": False}})
    try:
        with open(path, "rb") as handle:
            reader = c2pa.Reader.try_create(SIGNABLE[kind], handle, None, context)
            if reader is None:
                return False
            reader.close()
            return True
    except (c2pa.C2paError, OSError):
        return False  # nothing c2pa can read as a manifest: nothing a stamp could break
    finally:
        context.close()


def read_credentials(path: Path, kind: str, *, trust_anchors: str | None = None) -> ContentCredentials | None:
    """Validate the C2PA manifest store in ``path``; None when there is none. ``trust_anchors``
    (PEM) are the roots whose signers count as trusted."""
    if kind not in SIGNABLE:
        return None
    import c2pa

    settings: dict[str, Any] = {"version": 1, "verify": dict(_OFFLINE)}
    if trust_anchors:
        settings["trust"] = {"user_anchors": trust_anchors}
    context = c2pa.Context.from_dict(settings)
    try:
        with open(path, "rb") as handle:
            reader = c2pa.Reader.try_create(SIGNABLE[kind], handle, None, context)
            if reader is None:
                return None
            try:
                store = json.loads(reader.json())
                state = reader.get_validation_state()
            finally:
                reader.close()
    except c2pa.C2paError as exc:
        return ContentCredentials(state="unreadable", errors=[_one_line(exc)])
    except OSError as exc:
        raise StampError(f"{path.name}: cannot read it ({exc.strerror})") from None
    finally:
        context.close()
    return _report(store, state)


def _report(store: dict[str, Any], state: str | None) -> ContentCredentials:
    manifests = store.get("manifests") or {}
    active = manifests.get(store.get("active_manifest") or "") or {}
    signature = active.get("signature_info") or {}
    generators = active.get("claim_generator_info") or []
    generator = generators[0] if generators and isinstance(generators[0], dict) else {}
    report = ContentCredentials(
        state={"Trusted": "trusted", "Valid": "valid"}.get(state or "", "invalid"),
        signer=signature.get("common_name"),
        organization=signature.get("issuer"),  # c2pa's name for the signer's organisation (subject O)
        signed_at=signature.get("time"),
        generator=" ".join(str(generator[k]) for k in ("name", "version") if generator.get(k)) or None,
        manifests=len(manifests),
    )
    results = (store.get("validation_results") or {}).get("activeManifest") or {}
    report.errors = [f"{item.get('code')}: {item.get('explanation') or ''}".rstrip(": ")
                     for item in results.get("failure") or []]
    for assertion in active.get("assertions") or []:
        label, data = assertion.get("label") or "", assertion.get("data") or {}
        if label.startswith("c2pa.actions") and report.action is None:
            actions = [a for a in data.get("actions") or [] if isinstance(a, dict) and a.get("digitalSourceType")]
            chosen = next((a for a in actions if _is_ai(a["digitalSourceType"])), actions[0] if actions else None)
            if chosen is not None:
                report.action, report.digital_source_type = chosen.get("action"), chosen["digitalSourceType"]
        elif label == ADAL_ASSERTION and isinstance(data, dict):
            report.adal = {str(k): str(v) for k, v in data.items()}
    report.ai = report.digital_source_type is not None and _is_ai(report.digital_source_type)
    return report


def _is_ai(source_type: str) -> bool:
    return source_type.rstrip("/").rsplit("/", 1)[-1] in AI_SOURCE_TYPES


# -- the manifest --------------------------------------------------------------------------------
def _manifest(provenance: Provenance, kind: str, *, synthetic: bool, lang: str, edited: bool) -> dict[str, Any]:
    wholly_ai = synthetic and kind in MEDIA_KINDS
    source_type = TRAINED if wholly_ai else COMPOSITE
    agent = {"name": provenance.service, "version": provenance.model_and_version}
    if edited:
        actions = [{"action": "c2pa.opened", "parameters": {"ingredientIds": [_PARENT]}},
                   {"action": "c2pa.edited", "digitalSourceType": source_type, "softwareAgent": agent}]
    else:
        actions = [{"action": "c2pa.created", "digitalSourceType": source_type, "softwareAgent": agent}]
    fields = dict(provenance.fields())
    if wholly_ai:
        from attribution.media import SYNTHETIC_LABEL, synthetic_label

        fields[SYNTHETIC_LABEL] = synthetic_label(provenance, lang, kind)
    return {"claim_generator_info": [{"name": "Adal", "version": _version()}],
            "assertions": [{"label": "c2pa.actions", "data": {"actions": actions}},
                           {"label": ADAL_ASSERTION, "data": fields}]}


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("adal")
    except PackageNotFoundError:
        return "unknown"


def _common_name(subject: str) -> str | None:
    from cryptography import x509

    try:
        names = x509.Name.from_rfc4514_string(subject).get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    except ValueError:
        return None
    return str(names[0].value) if names else None


def _one_line(exc: BaseException, limit: int = 200) -> str:
    text = " ".join(str(exc).split())
    return (text[:limit] + "…") if len(text) > limit else (text or type(exc).__name__)
