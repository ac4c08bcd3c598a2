"""The refusals of the key delivery endpoints. Texts name the problem, never a key or a token."""

from __future__ import annotations

from ..errors import BadRequest, RequestTooLarge, SpekeError

__all__ = [
    "BadRequest",
    "MethodNotAllowed",
    "NotEntitled",
    "NotFound",
    "RequestTooLarge",
    "TokenRejected",
]


class TokenRejected(SpekeError):
    """No token, or one that is malformed, badly signed, expired or not yet valid (401).

    ``presented`` says whether a token was sent (RFC 6750: ``error="invalid_token"`` only then);
    ``error`` is the RFC 6750 error code.
    """

    status = 401
    reason = "token_rejected"

    def __init__(self, public_message: str, *, presented: bool = True, error: str = "invalid_token") -> None:
        super().__init__(public_message, reason="token_missing" if not presented else "token_rejected")
        self.presented = presented
        self.error = error


class NotEntitled(SpekeError):
    """A valid token that does not cover this contentId, kid or endpoint (403)."""

    status = 403
    reason = "not_entitled"


class NotFound(SpekeError):
    status = 404
    reason = "not_found"


class MethodNotAllowed(SpekeError):
    status = 405
    reason = "method_not_allowed"

    def __init__(self, public_message: str, *, allow: str) -> None:
        super().__init__(public_message)
        self.allow = allow
