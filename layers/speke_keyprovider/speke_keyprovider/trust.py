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
MAX_RSA_BITS = 16384
# The one public exponent accepted: 65537 (F4), what every CA and key generator uses and NIST SP 800-56B's
# minimum. Fixing it rules out exponents that turn RSA-OAEP into the identity: x^e = x for every x needs
# lambda(n) | e - 1 = 2^16, so every prime factor p of n has p - 1 | 2^16 (a Fermat prime), and their product
# (at most 3 * 5 * 17 * 257 * 65537) is far below 2^2047. Any other exponent (e = lambda(n) + 1, a huge one, an
# even one) is refused.
RSA_PUBLIC_EXPONENT = 65537
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

    # Every lazily parsed field is read here, and any exception parsing raises (ValueError, TypeError,
    # UnsupportedAlgorithm, x509.InvalidVersion, or whatever a future release adds) is a 422, never a 500.
    try:
        cert = x509.load_der_x509_certificate(der)
        public_key = cert.public_key()
        subject = cert.subject.rfc4514_string()[:200]
        not_before, not_after = cert.not_valid_before_utc, cert.not_valid_after_utc
    except Exception:
        raise CertificateRejected("DeliveryData certificate is not a valid X.509 DER certificate") from None
    if not isinstance(public_key, rsa.RSAPublicKey):
        kind = type(public_key).__name__.replace("_", "").replace("PublicKey", "") or "non-RSA"
        raise CertificateRejected(f"DeliveryData certificate key must be RSA (got {kind})")
    _check_rsa_key(public_key)
    try:
        algorithm = cert.signature_hash_algorithm
        signature_hash = algorithm.name if algorithm is not None else None
    except (UnsupportedAlgorithm, ValueError):
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


def _check_rsa_key(public_key: rsa.RSAPublicKey) -> None:
    """The key must be able to wrap: 2048..16384 bits, an odd modulus, the exponent 65537, and a trial
    RSA-OAEP wrap that succeeds. Run when the certificate is loaded, so no refusal comes after a key is
    derived."""
    bits = public_key.key_size
    if bits < MIN_RSA_BITS:
        raise CertificateRejected(f"DeliveryData certificate RSA key is {bits} bits; at least {MIN_RSA_BITS} required")
    if bits > MAX_RSA_BITS:
        raise CertificateRejected(f"DeliveryData certificate RSA key is {bits} bits; at most {MAX_RSA_BITS} accepted")
    numbers = public_key.public_numbers()
    if numbers.n % 2 == 0:
        raise CertificateRejected("DeliveryData certificate RSA modulus is even: not an RSA key")
    if numbers.e != RSA_PUBLIC_EXPONENT:
        shown = str(numbers.e) if numbers.e.bit_length() <= 64 else f"a {numbers.e.bit_length()}-bit number"
        raise CertificateRejected(
            f"DeliveryData certificate RSA public exponent is {shown}; {RSA_PUBLIC_EXPONENT} required"
        )
    from .key_wrapping import DOCUMENT_KEY_LENGTH, MAC_KEY_LENGTH, rsa_oaep_wrap

    probe = bytes(range(1, 1 + max(DOCUMENT_KEY_LENGTH, MAC_KEY_LENGTH)))  # as long as the longest wrapped key
    try:
        wrapped = rsa_oaep_wrap(public_key, probe)
    except Exception:
        wrapped = b""
    if len(wrapped) != (bits + 7) // 8 or probe in wrapped:
        raise CertificateRejected("DeliveryData certificate RSA key cannot encrypt (trial RSA-OAEP wrap failed)")


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
