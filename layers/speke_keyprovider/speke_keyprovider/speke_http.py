"""The HTTP side of SPEKE v2 (contract section 1) as plain functions over an API Gateway REST proxy
event: case-insensitive headers, the version header, content type, base64 bodies and the size cap.
No Powertools here, so the checks are testable on their own and shared by every entry point."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from . import USER_AGENT
from .cpix.answer_rules import answer_rules
from .cpix.dialect import BY_HEADER, V2_0, Dialect, check_header
from .errors import BadRequest, RequestTooLarge, UnsupportedMediaType

XML_MEDIA_TYPES = frozenset({"application/xml", "text/xml"})


def header(headers: object, name: str) -> str | None:
    """A header's value, the name matched case-insensitively; ``None`` when absent, or when the event's
    headers are not a mapping at all (API Gateway never sends that; a hand-made event may)."""
    if not headers or not isinstance(headers, Mapping):
        return None
    wanted = name.lower()
    for key, value in headers.items():
        if isinstance(key, str) and key.lower() == wanted:
            if isinstance(value, list):
                value = value[0] if value else None
            return None if value is None else str(value)
    return None


def speke_version(headers: Mapping[str, Any] | None) -> str | None:
    """The X-Speke-Version header (``None`` when absent: SPEKE v1, or an inconsistency the parser names),
    refused at once when no dialect has that value."""
    version = header(headers, "X-Speke-Version")
    check_header(version)
    return version


def check_content_type(headers: Mapping[str, Any] | None) -> None:
    content_type = header(headers, "Content-Type")
    if content_type is None:
        return
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type not in XML_MEDIA_TYPES:
        raise UnsupportedMediaType(f"Unsupported Content-Type {media_type[:60]!r}: application/xml expected")


def request_body(body: str | bytes | None, is_base64: bool, max_bytes: int) -> bytes:
    """The raw CPIX bytes, refusing empty bodies, bad base64 and anything over ``max_bytes`` (checked
    before decoding and before any XML parsing)."""
    if body is None or len(body) == 0:
        raise BadRequest("Empty request body: a CPIX document is expected")
    if is_base64:
        if len(body) > (max_bytes * 4) // 3 + 4:
            raise RequestTooLarge(f"Request body too large: at most {max_bytes} bytes")
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise BadRequest("Request body is flagged base64 but is not valid base64") from None
    else:
        if len(body) > max_bytes:
            raise RequestTooLarge(f"Request body too large: at most {max_bytes} bytes")
        raw = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    if len(raw) > max_bytes:
        raise RequestTooLarge(f"Request body too large: at most {max_bytes} bytes")
    return raw


def success_headers(dialect: Dialect = V2_0) -> dict[str, str]:
    """v2: ``X-Speke-User-Agent`` and the request's version echoed; v1: ``Speke-User-Agent``, no version
    header (``cpix.answer_rules``)."""
    return answer_rules(dialect).success_headers(dialect, USER_AGENT)


def heartbeat_headers() -> dict[str, str]:
    return {"Content-Type": "text/plain; charset=utf-8", "Speke-User-Agent": USER_AGENT}


HEARTBEAT_BODY = f"OK {USER_AGENT}"


def error_headers(retry_after: int | None = None, *, request_headers: object = None) -> dict[str, str]:
    """A refusal's headers, in the dialect the request's X-Speke-Version header names, as far as it tells:
    a served v2 value is echoed with ``X-Speke-User-Agent`` (as a v2 answer does); no header (SPEKE v1, or a v2
    request that forgot it) gets v1's ``Speke-User-Agent`` and no version header; any other value gets
    ``X-Speke-User-Agent`` and no version header (nothing is echoed that this provider does not speak).
    ``request_headers`` is read defensively (any shape), so building a refusal never fails."""
    version = header(request_headers, "X-Speke-Version")
    headers = {"Content-Type": "text/plain; charset=utf-8"}
    if version is None:
        headers["Speke-User-Agent"] = USER_AGENT
    else:
        headers["X-Speke-User-Agent"] = USER_AGENT
        version = version.strip()
        if version in BY_HEADER:
            headers["X-Speke-Version"] = version
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return headers
