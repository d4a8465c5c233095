"""A throwaway public-key infrastructure for Content Credentials tests, made with cryptography at
test time: a root CA, an intermediate CA and an end-entity signing certificate with the key usage
(digitalSignature) and extended key usage (emailProtection) that c2pa accepts. Invented names only."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SIGNER_NAME = "Test College Provenance Signer"
ORGANIZATION = "Test College"


@dataclass(frozen=True)
class Pki:
    root_pem: bytes
    chain_pem: bytes  # the end-entity certificate, then the intermediate CA
    key_pem: bytes

    def write(self, folder: Path) -> tuple[Path, Path, Path]:
        """``chain.pem``, ``key.pem`` and ``trust-anchors.pem`` in ``folder`` (the names Adal looks
        for in ``<instance>/c2pa/``)."""
        folder.mkdir(parents=True, exist_ok=True)
        paths = folder / "chain.pem", folder / "key.pem", folder / "trust-anchors.pem"
        for path, data in zip(paths, (self.chain_pem, self.key_pem, self.root_pem), strict=True):
            path.write_bytes(data)
        return paths


def _name(common_name: str, organization: str = ORGANIZATION) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "KZ"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _usage(*, sign: bool, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=sign, content_commitment=False, key_encipherment=False,
                         data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
                         encipher_only=False, decipher_only=False)


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _ca(subject: x509.Name, key: ec.EllipticCurvePrivateKey, issuer: x509.Name, issuer_key: ec.EllipticCurvePrivateKey,
        now: dt.datetime) -> x509.Certificate:
    return (x509.CertificateBuilder(subject_name=subject, issuer_name=issuer, public_key=key.public_key(),
                                    serial_number=x509.random_serial_number(),
                                    not_valid_before=now - dt.timedelta(days=1),
                                    not_valid_after=now + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(_usage(sign=False, ca=True), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
            .sign(issuer_key, hashes.SHA256()))


def make_pki(*, rsa_key: bool = False, self_signed: bool = False, leaf_valid_days: tuple[int, int] = (-1, 365),
             email_protection: bool = True, leaf_not_after: dt.datetime | None = None) -> Pki:
    """A root → intermediate → signer chain. ``self_signed``: a signer certificate that issued
    itself (what c2pa refuses); ``email_protection=False``: a signer for TLS servers only;
    ``leaf_not_after``: the signer certificate expires then (else ``leaf_valid_days`` from now)."""
    now = dt.datetime.now(dt.UTC)
    root_key, middle_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    root_name = _name("Test Root CA", "Test Trust Services")
    middle_name = _name("Test Issuing CA", "Test Trust Services")
    root = _ca(root_name, root_key, root_name, root_key, now)
    middle = _ca(middle_name, middle_key, root_name, root_key, now)
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048) if rsa_key
        else ec.generate_private_key(ec.SECP256R1()))
    subject = _name(SIGNER_NAME)
    issuer, issuer_key = (subject, key) if self_signed else (middle_name, middle_key)
    purpose = ExtendedKeyUsageOID.EMAIL_PROTECTION if email_protection else ExtendedKeyUsageOID.SERVER_AUTH
    leaf = (x509.CertificateBuilder(subject_name=subject, issuer_name=issuer, public_key=key.public_key(),
                                    serial_number=x509.random_serial_number(),
                                    not_valid_before=now + dt.timedelta(days=leaf_valid_days[0]),
                                    not_valid_after=leaf_not_after or now + dt.timedelta(days=leaf_valid_days[1]))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_usage(sign=True, ca=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([purpose]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
            .sign(issuer_key, hashes.SHA256()))
    chain = _pem(leaf) if self_signed else _pem(leaf) + _pem(middle)
    return Pki(root_pem=_pem(root), chain_pem=chain, key_pem=_key_pem(key))


@contextmanager
def serve_tsa() -> Iterator[tuple[str, bytes]]:
    """An RFC 3161 timestamp authority on 127.0.0.1 (pyHanko's test stamper, which signs with RSA
    only); yields its URL and its root CA certificate (PEM)."""
    import asyncio

    from asn1crypto import keys as asn1_keys
    from asn1crypto import tsp
    from asn1crypto import x509 as asn1_x509
    from pyhanko.sign.timestamps import DummyTimeStamper
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    from tests.servers import serve_wsgi

    now = dt.datetime.now(dt.UTC)
    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = _name("Test Timestamp Root", "Test Trust Services")
    root = _ca(root_name, root_key, root_name, root_key, now)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    certificate = (x509.CertificateBuilder(subject_name=_name("Test Timestamp Authority", "Test Trust Services"),
                                           issuer_name=root_name, public_key=key.public_key(),
                                           serial_number=x509.random_serial_number(),
                                           not_valid_before=now - dt.timedelta(days=1),
                                           not_valid_after=now + dt.timedelta(days=3650))
                   .add_extension(_usage(sign=True, ca=False), critical=True)
                   .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()),
                                  critical=False)
                   .sign(root_key, hashes.SHA256()))
    der = serialization.Encoding.DER
    stamper = DummyTimeStamper(
        tsa_cert=asn1_x509.Certificate.load(certificate.public_bytes(der)),
        tsa_key=asn1_keys.PrivateKeyInfo.load(key.private_bytes(der, serialization.PrivateFormat.PKCS8,
                                                                serialization.NoEncryption())),
        certs_to_embed=SimpleCertificateStore.from_certs([asn1_x509.Certificate.load(root.public_bytes(der))]))

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        query = tsp.TimeStampReq.load(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)))
        answer = asyncio.run(stamper.async_request_tsa_response(query)).dump()
        start_response("200 OK", [("Content-Type", "application/timestamp-reply"),
                                  ("Content-Length", str(len(answer)))])
        return [answer]

    with serve_wsgi(app) as url:
        yield url + "/", _pem(root)
