"""The W3C EME ClearKey licence exchange (EME section 9.1.3/9.1.4): a JSON request listing base64url KIDs,
a JSON Web Key Set answer with the keys (``kty`` ``oct``, base64url without padding)."""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from collections.abc import Iterable

from .errors import BadRequest

MAX_KIDS = 64
LICENCE_TYPE = "temporary"
_BASE64URL = re.compile(r"[A-Za-z0-9_-]{22}(==)?")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def parse_licence_request(body: bytes) -> list[uuid.UUID]:
    """The distinct KIDs asked for, in request order; ``BadRequest`` (400) naming the problem otherwise."""
    if not body:
        raise BadRequest('Empty licence request: {"kids": [...], "type": "temporary"} expected')
    try:
        request = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise BadRequest("The licence request is not JSON") from None
    if not isinstance(request, dict):
        raise BadRequest("The licence request must be a JSON object")
    kids = request.get("kids")
    if not isinstance(kids, list) or not kids:
        raise BadRequest("The licence request must list kids")
    if len(kids) > MAX_KIDS:
        raise BadRequest(f"The licence request lists more than {MAX_KIDS} kids")
    licence_type = request.get("type", LICENCE_TYPE)
    if licence_type != LICENCE_TYPE:
        raise BadRequest("Only temporary licences are issued (type must be temporary)")
    out: list[uuid.UUID] = []
    for index, item in enumerate(kids):
        if not isinstance(item, str) or not _BASE64URL.fullmatch(item):
            raise BadRequest(f"kids[{index}] is not the base64url of 16 bytes")
        try:
            kid = uuid.UUID(bytes=base64.urlsafe_b64decode(item[:22] + "=="))
        except (binascii.Error, ValueError):
            raise BadRequest(f"kids[{index}] is not the base64url of 16 bytes") from None
        if kid not in out:
            out.append(kid)
    return out


def render_licence(keys: Iterable[tuple[uuid.UUID, bytes]]) -> bytes:
    document = {
        "keys": [{"kty": "oct", "kid": b64url(kid.bytes), "k": b64url(key)} for kid, key in keys],
        "type": LICENCE_TYPE,
    }
    return json.dumps(document, separators=(",", ":")).encode("ascii")
