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
