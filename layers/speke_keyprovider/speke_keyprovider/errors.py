"""Domain errors. Each carries the client-facing text and the HTTP status it maps to.

The text is built from request data only (attribute names, KIDs, system ids), never from key
material or from a lower-level exception: handlers may show ``public_message`` to the caller as is.
"""

from __future__ import annotations

_MAX_MESSAGE = 300


class SpekeError(Exception):
    """Base of every error the caller may see. Subclasses fix the HTTP status and metric reason."""

    status: int = 422
    reason: str = "cpix_invalid"

    def __init__(self, public_message: str, *, reason: str | None = None) -> None:
        if len(public_message) > _MAX_MESSAGE:
            public_message = public_message[: _MAX_MESSAGE - 3] + "..."
        super().__init__(public_message)
        self.public_message = public_message
        if reason is not None:
            self.reason = reason


class CpixError(SpekeError):
    """The CPIX document breaks the SPEKE v2 / CPIX 2.3 contract (422)."""

    status = 422
    reason = "cpix_invalid"


class ContractError(CpixError):
    """The encryption contract (ContentKeyUsageRuleList) is malformed or unsupported (422)."""

    reason = "contract_invalid"


class UnsupportedDrmSystem(CpixError):
    """A DRMSystem asks for a system id or a signalling child this provider does not serve (422)."""

    reason = "drm_unsupported"


class UnsupportedVersion(SpekeError):
    """X-Speke-Version other than 2.0 (422, the spec's text)."""

    status = 422
    reason = "speke_version"


class BadRequest(SpekeError):
    """The HTTP request itself is unusable: empty body, bad base64, wrong content type (400)."""

    status = 400
    reason = "bad_request"


class UnsupportedMediaType(SpekeError):
    status = 415
    reason = "media_type"


class RequestTooLarge(SpekeError):
    status = 413
    reason = "too_large"


class CertificateRejected(SpekeError):
    """The DeliveryData certificate fails the trust rules (not X.509, too small, expired) (422)."""

    status = 422
    reason = "certificate_rejected"


class CertificateNotTrusted(SpekeError):
    """A well-formed certificate whose fingerprint is not on the allowlist (403)."""

    status = 403
    reason = "certificate_not_trusted"


class EncryptionRequired(SpekeError):
    """REQUIRE_ENCRYPTED_KEYS is set and the request has no DeliveryDataList (422)."""

    status = 422
    reason = "encryption_required"


class Forbidden(SpekeError):
    """The caller has no IAM identity, or is not on the allowlist (403)."""

    status = 403
    reason = "forbidden"


class BackendUnavailable(SpekeError):
    """Secrets Manager / KMS is down, throttled or refuses us: retry later (503 + Retry-After)."""

    status = 503
    reason = "backend_unavailable"

    def __init__(
        self,
        public_message: str = "Key backend unavailable, retry later",
        *,
        retry_after: int = 5,
        reason: str | None = None,
    ) -> None:
        super().__init__(public_message, reason=reason)
        self.retry_after = retry_after


class ConfigurationError(Exception):
    """The deployment is misconfigured (names the environment variable). Never shown to callers."""
