"""Trust checks (contract section 6): the delivery certificate and the calling IAM principal.

``cryptography.x509`` is imported on the first certificate check, not at import: a clear-key cold
start never pays for it (it is the largest single import of the encrypted path).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import rsa

from .errors import CertificateNotTrusted, CertificateRejected, Forbidden

MIN_RSA_BITS = 2048
ACCEPTED_SIGNATURE_HASHES = frozenset({"sha256", "sha384", "sha512"})


@dataclass(frozen=True, slots=True)
class DeliveryCertificate:
    public_key: rsa.RSAPublicKey
    sha256: str
    subject: str
    not_before: dt.datetime
    not_after: dt.datetime
    key_bits: int
    signature_hash: str | None


def check_certificate(
    der: bytes, *, now: dt.datetime | None = None, allowlist: frozenset[str] = frozenset()
) -> DeliveryCertificate:
    """Vet a DeliveryData certificate: X.509 DER, RSA >= 2048, strong signature hash, in validity,
    and on the SHA-256 allowlist when one is configured. Raises a 4xx ``SpekeError`` otherwise."""
    cert = _load(der)
    now = now or dt.datetime.now(dt.UTC)
    if now < cert.not_before:
        raise CertificateRejected(
            f"DeliveryData certificate is not yet valid (valid from {cert.not_before:%Y-%m-%dT%H:%M:%SZ})"
        )
    if now > cert.not_after:
        raise CertificateRejected(f"DeliveryData certificate expired on {cert.not_after:%Y-%m-%dT%H:%M:%SZ}")
    if allowlist and cert.sha256 not in allowlist:
        raise CertificateNotTrusted(
            f"DeliveryData certificate is not trusted: SHA-256 fingerprint {cert.sha256} is not registered"
        )
    return cert


@lru_cache(maxsize=64)
def _load(der: bytes) -> DeliveryCertificate:
    """Parse and vet the time-independent properties; cached per DER (a channel reuses its certificate)."""
    from cryptography import x509
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.asymmetric import rsa

    try:  # every lazily parsed field is read here, so a malformed one is a 4xx, not a 500
        cert = x509.load_der_x509_certificate(der)
        public_key = cert.public_key()
        subject = cert.subject.rfc4514_string()[:200]
        not_before, not_after = cert.not_valid_before_utc, cert.not_valid_after_utc
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise CertificateRejected("DeliveryData certificate is not a valid X.509 DER certificate") from None
    if not isinstance(public_key, rsa.RSAPublicKey):
        kind = type(public_key).__name__.replace("_", "").replace("PublicKey", "") or "non-RSA"
        raise CertificateRejected(f"DeliveryData certificate key must be RSA (got {kind})")
    if public_key.key_size < MIN_RSA_BITS:
        raise CertificateRejected(
            f"DeliveryData certificate RSA key is {public_key.key_size} bits; at least {MIN_RSA_BITS} required"
        )
    try:
        algorithm = cert.signature_hash_algorithm
        signature_hash = algorithm.name if algorithm is not None else None
    except UnsupportedAlgorithm:
        signature_hash = None
    if signature_hash not in ACCEPTED_SIGNATURE_HASHES:
        raise CertificateRejected(
            f"DeliveryData certificate signature hash {signature_hash or 'unknown'} is too weak; "
            "SHA-256 or better required"
        )
    return DeliveryCertificate(
        public_key=public_key,
        sha256=hashlib.sha256(der).hexdigest(),
        subject=subject,
        not_before=not_before,
        not_after=not_after,
        key_bits=public_key.key_size,
        signature_hash=signature_hash,
    )


def certificate_fingerprint(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()


def caller_arn(request_context: Mapping[str, Any] | None) -> str:
    """The IAM principal API Gateway authenticated (AWS_IAM authorisation), or 403."""
    identity = (request_context or {}).get("identity") or {}
    arn = identity.get("userArn") if isinstance(identity, Mapping) else None
    if not isinstance(arn, str) or not arn.startswith("arn:"):
        raise Forbidden("Forbidden: the request carries no IAM identity (SigV4 signing is required)")
    return arn


def check_caller(arn: str, allowed: tuple[str, ...]) -> None:
    """When an allowlist is set, the caller must be on it; a role ARN matches its assumed-role sessions."""
    if not allowed:
        return
    if any(_matches(arn, entry) for entry in allowed):
        return
    raise Forbidden("Forbidden: the caller is not allowed to request keys")


def _matches(arn: str, allowed: str) -> bool:
    if arn == allowed:
        return True
    # arn:aws:iam::123456789012:role/path/Name  ~  arn:aws:sts::123456789012:assumed-role/Name/session
    a = allowed.split(":", 5)
    c = arn.split(":", 5)
    if len(a) != 6 or len(c) != 6:
        return False
    if a[2] != "iam" or not a[5].startswith("role/") or c[2] != "sts" or not c[5].startswith("assumed-role/"):
        return False
    if a[1] != c[1] or a[4] != c[4]:
        return False
    role_name = a[5].rsplit("/", 1)[-1]
    session = c[5].split("/")
    return len(session) == 3 and session[1] == role_name


__all__ = ["DeliveryCertificate", "caller_arn", "certificate_fingerprint", "check_caller", "check_certificate"]
