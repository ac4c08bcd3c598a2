"""The answer's size, bounded below Lambda's 6 MB response limit, refused with a 413 before any key is derived.

An answer echoes the request (escaping can make an echoed value up to 6 times longer: a raw ``"`` in an
attribute becomes ``&quot;``) and adds key data, signalling and, for encrypted delivery, wrapped document and
MAC keys. On the wire it is a JSON string in Lambda's response (``\\"`` for every quote, ``\\uXXXX`` for every
non-ASCII character). Past 6 MB Lambda fails the invocation and API Gateway answers 5xx, so the provider
refuses first, with a 413 naming the limit:

1. ``check_predicted`` (before any key is derived): an upper bound from the request's size and counts
   (``ESCAPE_GROWTH`` x body + the exact signalling texts + fixed sizes per key and per recipient). Ordinary
   requests stop here. When the bound is over the limit, the request tree is serialised once to measure the
   echo exactly; over the limit then, the request is refused.
2. ``check_rendered`` (after rendering, before returning): the exact wire size of the answer, a backstop.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from .cpix.model import CpixRequest
from .cpix.serialize import to_bytes
from .errors import RequestTooLarge
from .trust import DeliveryCertificate

LAMBDA_RESPONSE_LIMIT = 6 * 1024 * 1024  # bytes of the whole JSON response
MAX_ANSWER_BYTES = 6_000_000  # the body's JSON-escaped size; the rest is left for status and headers
ESCAPE_GROWTH = 6  # at most: one request byte becomes six answer bytes on the wire ('"' -> &quot;)
JSON_GROWTH = 3  # at most: one UTF-8 byte of the answer becomes three on the wire (2-byte char -> \uXXXX)
DECLARATION = 64
# Upper bounds (wire bytes) of what rendering adds; tests/unit/test_answer_size.py checks them.
DATA_CLEAR = 160  # <cpix:Data><pskc:Secret><pskc:PlainValue>(24)</...>
DATA_ENCRYPTED = 560  # <cpix:Data> with EncryptedValue (64 base64) and ValueMAC (88)
EXPLICIT_IV = 48  # explicitIV="(24)"
SIGNAL_CHILD = 96  # start and end tag replacing "<.../>", around the signalling text
RECIPIENT = 1200  # DocumentKey and MACMethod, around the two wrapped keys
NAMESPACES = 256  # pskc / enc declarations the answer may add on the root


def wire_size(text: str) -> int:
    """Bytes of ``text`` as a JSON string (ASCII escapes, as the Lambda runtime serialises it), no quotes."""
    return len(json.encoder.encode_basestring_ascii(text)) - 2


def _too_large(size: int) -> RequestTooLarge:
    return RequestTooLarge(
        f"Answer too large: about {size:,} bytes, over the {MAX_ANSWER_BYTES:,}-byte limit of an answer "
        "(Lambda's 6 MB response limit); ask for fewer keys or DRM systems, or send less echoed content"
    )


def _b64(length: int) -> int:
    return 4 * ((length + 2) // 3)


def _additions(
    request: CpixRequest,
    signals: Sequence[Mapping[Any, str]],
    certificates: Sequence[DeliveryCertificate],
    random_explicit_iv: bool,
) -> int:
    per_key = DATA_ENCRYPTED if request.encrypted else DATA_CLEAR
    size = NAMESPACES + per_key * len(request.content_keys)
    if random_explicit_iv:
        size += EXPLICIT_IV * sum(1 for key in request.content_keys if key.explicit_iv is None)
    for values in signals:
        size += sum(SIGNAL_CHILD + len(text) for text in values.values())
    for certificate in certificates:
        size += RECIPIENT + 2 * _b64((certificate.key_bits + 7) // 8)
    return size


def predicted(
    request: CpixRequest,
    body_length: int,
    signals: Sequence[Mapping[Any, str]],
    certificates: Sequence[DeliveryCertificate] = (),
    *,
    random_explicit_iv: bool = False,
    exact: bool = False,
) -> int:
    """An upper bound of the answer's wire size: from the body's length, or (``exact``) from the request
    tree serialised as it stands (before rendering)."""
    echo = wire_size(to_bytes(request.root).decode("utf-8")) if exact else DECLARATION + ESCAPE_GROWTH * body_length
    return echo + _additions(request, signals, certificates, random_explicit_iv)


def check_predicted(
    request: CpixRequest,
    body_length: int,
    signals: Sequence[Mapping[Any, str]],
    certificates: Sequence[DeliveryCertificate] = (),
    *,
    random_explicit_iv: bool = False,
) -> None:
    """Refuse (413) a request whose answer cannot fit, before any key is derived."""
    bound = predicted(request, body_length, signals, certificates, random_explicit_iv=random_explicit_iv)
    if bound <= MAX_ANSWER_BYTES:
        return
    bound = predicted(request, body_length, signals, certificates, random_explicit_iv=random_explicit_iv, exact=True)
    if bound > MAX_ANSWER_BYTES:
        raise _too_large(bound)


def check_rendered(body: bytes) -> None:
    """Refuse (413) an answer over the limit (the backstop: the prediction is an upper bound)."""
    if len(body) * JSON_GROWTH <= MAX_ANSWER_BYTES:  # cannot be over: no need to measure
        return
    size = wire_size(body.decode("utf-8"))
    if size > MAX_ANSWER_BYTES:
        raise _too_large(size)


__all__ = ["LAMBDA_RESPONSE_LIMIT", "MAX_ANSWER_BYTES", "check_predicted", "check_rendered", "predicted", "wire_size"]
