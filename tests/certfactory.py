"""Certificates for trust tests, made on demand (RSA sizes, EC, validity windows, signature hashes)."""

from __future__ import annotations

import datetime as dt
from functools import cache

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID


@cache
def _rsa(bits: int) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


@cache
def make_cert(*, key: str = "rsa2048", days_from: int = -1, days_to: int = 365, digest: str = "sha512"):
    """(der, private_key) for a self-signed certificate valid from now+days_from to now+days_to."""
    if key.startswith("rsa"):
        private = _rsa(int(key[3:]))
    else:
        private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "www.test.example")])
    now = dt.datetime.now(dt.UTC)
    algorithm = {"sha512": hashes.SHA512(), "sha256": hashes.SHA256(), "sha1": hashes.SHA1()}[digest]
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + dt.timedelta(days=days_from))
        .not_valid_after(now + dt.timedelta(days=days_to))
    )
    if digest == "sha1":
        # cryptography refuses to sign with SHA-1 for new certs in recent versions; fall back to the DASH-IF one.
        from tests.conftest import DASHIF

        return x509.load_der_x509_certificate((DASHIF / "WeakCert_Sha1.cer").read_bytes()).public_bytes(
            serialization.Encoding.DER
        ), None
    cert = builder.sign(private, algorithm)
    return cert.public_bytes(serialization.Encoding.DER), private
