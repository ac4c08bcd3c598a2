"""Self-signed X.509 certificates for testing: the one factory behind ``speke-keyprovider cert new``, the test
suite, the load test and the benchmarks.

A SPEKE encryptor puts its delivery certificate in the request; the provider wraps the document key to it.
``self_signed()`` makes one (and its private key) with whatever the caller wants to vary: key type and size,
signature hash, validity window, subject.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

DEFAULT_CN = "www.speke-keyprovider-test.example"
_HASHES: dict[str, type[hashes.SHA256 | hashes.SHA384 | hashes.SHA512]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


@dataclass(frozen=True)
class SelfSigned:
    """A certificate and its private key."""

    certificate: x509.Certificate
    private_key: Any

    @property
    def der(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.DER)

    @property
    def pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    @property
    def key_pem(self) -> bytes:
        """The private key, PKCS#8 PEM, unencrypted."""
        return self.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    @property
    def sha256(self) -> str:
        """The SHA-256 fingerprint of the DER certificate (lower-case hex): what TRUSTED_CERT_SHA256 lists."""
        return hashlib.sha256(self.der).hexdigest()


def new_private_key(key: str = "rsa2048") -> Any:
    """``rsaNNNN`` (RSA of NNNN bits) or ``ec`` (P-256)."""
    if key == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    if key.startswith("rsa") and key[3:].isdigit():
        return rsa.generate_private_key(public_exponent=65537, key_size=int(key[3:]))
    raise ValueError(f"unknown key type {key!r}: rsaNNNN or ec")


def self_signed(
    *,
    cn: str = DEFAULT_CN,
    private_key: Any = None,
    key: str = "rsa2048",
    digest: str = "sha512",
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
    days: int = 365,
    key_encipherment_only: bool = False,
) -> SelfSigned:
    """A self-signed certificate for ``CN=cn``, valid from ``not_before`` (default five minutes ago) to
    ``not_after`` (default ``days`` after now). ``private_key`` (else a new ``key``) signs with ``digest``.
    ``key_encipherment_only`` adds the extensions of a delivery certificate (not a CA, key encipherment)."""
    private_key = private_key if private_key is not None else new_private_key(key)
    if digest not in _HASHES:
        raise ValueError(f"unsupported digest {digest!r}: {', '.join(_HASHES)}")
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - dt.timedelta(minutes=5))
        .not_valid_after(not_after or now + dt.timedelta(days=days))
    )
    if key_encipherment_only:
        builder = builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True).add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    return SelfSigned(builder.sign(private_key, _HASHES[digest]()), private_key)
