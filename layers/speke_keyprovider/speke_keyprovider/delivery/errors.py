"""The refusals of the key delivery endpoints. Texts name the problem, never a key or a token."""

from __future__ import annotations

from ..errors import BadRequest, Reason, RequestTooLarge, SpekeError

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
    reason = Reason.TOKEN_REJECTED
    reasons = frozenset({Reason.TOKEN_MISSING})

    def __init__(self, public_message: str, *, presented: bool = True, error: str = "invalid_token") -> None:
        super().__init__(public_message, reason=Reason.TOKEN_MISSING if not presented else Reason.TOKEN_REJECTED)
        self.presented = presented
        self.error = error


class NotEntitled(SpekeError):
    """A valid token that does not cover this contentId, kid or endpoint (403)."""

    status = 403
    reason = Reason.NOT_ENTITLED


class NotFound(SpekeError):
    status = 404
    reason = Reason.NOT_FOUND


class MethodNotAllowed(SpekeError):
    status = 405
    reason = Reason.METHOD_NOT_ALLOWED

    def __init__(self, public_message: str, *, allow: str) -> None:
        super().__init__(public_message)
        self.allow = allow
