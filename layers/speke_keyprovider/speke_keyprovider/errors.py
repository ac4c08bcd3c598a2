"""Domain errors. Each carries the client-facing text and the HTTP status it maps to.

The text is built from request data only (attribute names, KIDs, system ids), never from key
material or from a lower-level exception: handlers may show ``public_message`` to the caller as is.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

_MAX_MESSAGE = 300


class Reason(StrEnum):
    """Why a request was refused: the closed vocabulary of the ``Rejected.<reason>`` metrics and the
    ``reason`` log field. Each error class below admits only its own reasons."""

    # the CPIX document (CpixError)
    CPIX_INVALID = "cpix_invalid"
    XML_MALFORMED = "xml_malformed"
    XML_FORBIDDEN = "xml_forbidden"
    XML_TOO_DEEP = "xml_too_deep"
    XML_ENCODING = "xml_encoding"
    XML_NAMESPACE = "xml_namespace"
    # the encryption contract (ContractError)
    CONTRACT_MISSING = "contract_missing"
    CONTRACT_INVALID = "contract_invalid"
    CONTRACT_UNSUPPORTED = "contract_unsupported"
    # DRM systems (UnsupportedDrmSystem)
    DRM_UNSUPPORTED = "drm_unsupported"
    # the HTTP exchange
    SPEKE_VERSION = "speke_version"
    BAD_REQUEST = "bad_request"
    MEDIA_TYPE = "media_type"
    TOO_LARGE = "too_large"
    # trust
    CERTIFICATE_REJECTED = "certificate_rejected"
    CERTIFICATE_NOT_TRUSTED = "certificate_not_trusted"
    ENCRYPTION_REQUIRED = "encryption_required"
    FORBIDDEN = "forbidden"
    # the key home (BackendUnavailable)
    BACKEND_UNAVAILABLE = "backend_unavailable"
    SECRETSMANAGER_UNAVAILABLE = "secretsmanager_unavailable"  # pragma: allowlist secret
    KMS_UNAVAILABLE = "kms_unavailable"
    MASTER_KEY_INVALID = "master_key_invalid"
    JWKS_UNAVAILABLE = "jwks_unavailable"
    TOKEN_SECRET_UNAVAILABLE = "token_secret_unavailable"  # noqa: S105 - a metric name  # pragma: allowlist secret
    # key delivery (speke_keyprovider.delivery.errors)
    TOKEN_MISSING = "token_missing"  # noqa: S105 - a metric name, not a secret
    TOKEN_REJECTED = "token_rejected"  # noqa: S105 - a metric name, not a secret
    NOT_ENTITLED = "not_entitled"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    # counted by the handler itself (and raised by key delivery for an unknown route)
    NOT_FOUND = "not_found"
    MISCONFIGURED = "misconfigured"
    INTERNAL = "internal"


class SpekeError(Exception):
    """Base of every error the caller may see. Subclasses fix the HTTP status and metric reason;
    ``reasons`` lists the reasons a subclass may be raised with (its default first)."""

    status: int = 422
    reason: Reason = Reason.CPIX_INVALID
    reasons: ClassVar[frozenset[Reason]] = frozenset()

    def __init__(self, public_message: str, *, reason: Reason | None = None) -> None:
        if len(public_message) > _MAX_MESSAGE:
            public_message = public_message[: _MAX_MESSAGE - 3] + "..."
        super().__init__(public_message)
        self.public_message = public_message
        if reason is not None:
            if reason not in self.allowed_reasons():
                raise TypeError(f"{type(self).__name__} cannot carry reason {reason!r}")
            self.reason = Reason(reason)

    @classmethod
    def allowed_reasons(cls) -> frozenset[Reason]:
        return cls.reasons | {cls.reason}


class CpixError(SpekeError):
    """The CPIX document breaks the SPEKE v2 / CPIX 2.3 contract (422)."""

    status = 422
    reason = Reason.CPIX_INVALID
    reasons = frozenset(
        {Reason.XML_MALFORMED, Reason.XML_FORBIDDEN, Reason.XML_TOO_DEEP, Reason.XML_ENCODING, Reason.XML_NAMESPACE}
    )


class ContractError(CpixError):
    """The encryption contract (ContentKeyUsageRuleList) is malformed or unsupported (422)."""

    reason = Reason.CONTRACT_INVALID
    reasons = frozenset({Reason.CONTRACT_MISSING, Reason.CONTRACT_UNSUPPORTED})


class UnsupportedDrmSystem(CpixError):
    """A DRMSystem asks for a system id or a signalling child this provider does not serve (422)."""

    reason = Reason.DRM_UNSUPPORTED
    reasons = frozenset()


class UnsupportedVersion(SpekeError):
    """X-Speke-Version other than 2.0 (422, the spec's text)."""

    status = 422
    reason = Reason.SPEKE_VERSION


class BadRequest(SpekeError):
    """The HTTP request itself is unusable: empty body, bad base64, wrong content type (400)."""

    status = 400
    reason = Reason.BAD_REQUEST


class UnsupportedMediaType(SpekeError):
    status = 415
    reason = Reason.MEDIA_TYPE


class RequestTooLarge(SpekeError):
    status = 413
    reason = Reason.TOO_LARGE


class CertificateRejected(SpekeError):
    """The DeliveryData certificate fails the trust rules (not X.509, too small, expired) (422)."""

    status = 422
    reason = Reason.CERTIFICATE_REJECTED


class CertificateNotTrusted(SpekeError):
    """A well-formed certificate whose fingerprint is not on the allowlist (403)."""

    status = 403
    reason = Reason.CERTIFICATE_NOT_TRUSTED


class EncryptionRequired(SpekeError):
    """REQUIRE_ENCRYPTED_KEYS is set and the request has no DeliveryDataList (422)."""

    status = 422
    reason = Reason.ENCRYPTION_REQUIRED


class Forbidden(SpekeError):
    """The caller has no IAM identity, or is not on the allowlist (403)."""

    status = 403
    reason = Reason.FORBIDDEN


class BackendUnavailable(SpekeError):
    """Secrets Manager / KMS is down, throttled or refuses us: retry later (503, Retry-After: RETRY_AFTER_SECONDS)."""

    status = 503
    reason = Reason.BACKEND_UNAVAILABLE
    reasons = frozenset(
        {
            Reason.SECRETSMANAGER_UNAVAILABLE,
            Reason.KMS_UNAVAILABLE,
            Reason.MASTER_KEY_INVALID,
            Reason.JWKS_UNAVAILABLE,
            Reason.TOKEN_SECRET_UNAVAILABLE,
        }
    )

    def __init__(
        self, public_message: str = "Key backend unavailable, retry later", *, reason: Reason | None = None
    ) -> None:
        super().__init__(public_message, reason=reason)


class ConfigurationError(Exception):
    """The deployment is misconfigured (names the environment variable). Never shown to callers."""
