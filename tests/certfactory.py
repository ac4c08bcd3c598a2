"""Certificates for trust tests, made on demand (RSA sizes, EC, validity windows, signature hashes), by the
project's one self-signed certificate factory (``speke_keyprovider_tools.certificates``)."""

from __future__ import annotations

import datetime as dt
from functools import cache

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from speke_keyprovider_tools.certificates import new_private_key, self_signed


@cache
def _key(key: str):
    return new_private_key(key)


def _rsa(bits: int):
    """A cached RSA key of ``bits`` (exponent 65537), as the factory makes them."""
    return _key(f"rsa{bits}")


@cache
def make_cert(*, key: str = "rsa2048", days_from: int = -1, days_to: int = 365, digest: str = "sha512"):
    """(der, private_key) for a self-signed certificate valid from now+days_from to now+days_to."""
    if digest == "sha1":
        # cryptography refuses to sign with SHA-1 for new certs in recent versions; use the DASH-IF one.
        from tests.conftest import DASHIF

        return x509.load_der_x509_certificate((DASHIF / "WeakCert_Sha1.cer").read_bytes()).public_bytes(
            serialization.Encoding.DER
        ), None
    now = dt.datetime.now(dt.UTC)
    made = self_signed(
        cn="www.test.example",
        private_key=_key(key) if key.startswith("rsa") else None,
        key=key,
        digest=digest,
        not_before=now + dt.timedelta(days=days_from),
        not_after=now + dt.timedelta(days=days_to),
    )
    return made.der, made.private_key


# --- certificates cryptography would refuse to build: hand-edited DER -----------------------------


def _der_length(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def _der(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + _der_length(len(content)) + content


def _der_int(value: int) -> bytes:
    body = value.to_bytes(max(1, (value.bit_length() + 8) // 8), "big")  # a leading 0 keeps it positive
    return _der(0x02, body)


def _split(der: bytes) -> tuple[int, bytes, bytes]:
    """(tag, content, rest) of the first TLV in ``der``."""
    tag, first = der[0], der[1]
    if first < 0x80:
        start, length = 2, first
    else:
        count = first & 0x7F
        start, length = 2 + count, int.from_bytes(der[2 : 2 + count], "big")
    return tag, der[start : start + length], der[start + length :]


def _rewrap_tbs(der: bytes, edit) -> bytes:
    """The certificate with its TBSCertificate content passed through ``edit`` (signature left stale)."""
    _, cert_content, _ = _split(der)
    _, tbs_content, after_tbs = _split(cert_content)
    return _der(0x30, _der(0x30, edit(tbs_content)) + after_tbs)


def cert_with_rsa_numbers(n: int, e: int) -> bytes:
    """A self-signed certificate whose RSA public key is (n, e), whatever those are (even, huge, odd
    exponents...). The signature no longer matches; the provider does not check it (self-signed)."""
    der, private = make_cert()
    spki = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    rsa_key = _der(0x30, _der_int(n) + _der_int(e))
    algorithm = bytes.fromhex("300d06092a864886f70d0101010500")  # rsaEncryption, NULL parameters
    new_spki = _der(0x30, algorithm + _der(0x03, b"\x00" + rsa_key))
    return _rewrap_tbs(der, lambda tbs: tbs.replace(spki, new_spki, 1))


def cert_with_version(version: int) -> bytes:
    """A certificate whose X.509 version field holds ``version`` (v3 is 2; anything above is invalid)."""
    der, _ = make_cert()
    return _rewrap_tbs(der, lambda tbs: tbs.replace(b"\xa0\x03\x02\x01\x02", b"\xa0\x03\x02\x01" + bytes([version]), 1))
