"""Widevine: a version-0 ``pssh`` whose data is a ``WidevinePsshData`` protobuf, and its DASH/HLS forms.

WidevinePsshData fields written (proto2/3 wire format, in field-number order, empty values omitted):

    2  key_ids            bytes   (repeated) the 16 KID bytes, big-endian UUID order
    3  provider           string  setting WIDEVINE_PROVIDER
    4  content_id         bytes   CPIX@contentId, UTF-8
    9  protection_scheme  uint32  the scheme's fourcc, big-endian ('cenc' = 0x63656E63, 'cbcs' = 0x63626373)

The encoder below covers exactly the two wire types these need (varint, length-delimited); no protobuf
dependency.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from functools import lru_cache

from .base import CENC_SCHEMES, AnyChild, Child, KeySignalContext, b64, b64_text
from .hls import (
    HLS_CHILDREN,
    VALUE,
    attributes_around,
    hls_elements,
    quoted,
    sample_aes_method,
)
from .pssh_box import cenc_pssh_element, pssh_v0

SYSTEM_ID = "edef8ba9-79d6-4ace-a3c8-27dcd51d21ed"
NAME = "Widevine"
SCHEMES = CENC_SCHEMES
CHILDREN = frozenset({Child.PSSH, Child.CONTENT_PROTECTION_DATA}) | HLS_CHILDREN
SPEKE_V1_CHILDREN = frozenset({Child.PSSH, Child.CONTENT_PROTECTION_DATA})
KEYFORMAT = f"urn:uuid:{SYSTEM_ID}"

_WIRE_VARINT = 0
_WIRE_LEN = 2


def fourcc(scheme: str) -> int:
    """The scheme's four ASCII characters read as a big-endian uint32."""
    raw = scheme.encode("ascii")
    if len(raw) != 4:
        raise ValueError("a protection scheme is four characters")
    return int.from_bytes(raw, "big")


def pssh_data(kids: Iterable[uuid.UUID], provider: str, content_id: str, scheme: str) -> bytes:
    """The serialized WidevinePsshData message."""
    parts = [_len_field(2, kid.bytes) for kid in kids]
    if provider:
        parts.append(_len_field(3, provider.encode("utf-8")))
    if content_id:
        parts.append(_len_field(4, content_id.encode("utf-8")))
    parts.append(_key(9, _WIRE_VARINT) + _varint(fourcc(scheme)))
    return b"".join(parts)


def pssh(ctx: KeySignalContext) -> bytes:
    # == pssh_data([ctx.kid], ...): the KID field, then the fields every KID of the channel shares.
    tail = _fields_after_kids(ctx.settings.widevine_provider, ctx.content_id, ctx.scheme)
    data = _KID_FIELD + ctx.kid.bytes + tail
    return pssh_v0(SYSTEM_ID, data)


@lru_cache(maxsize=256)
def _fields_after_kids(provider: str, content_id: str, scheme: str) -> bytes:
    return pssh_data((), provider, content_id, scheme)


@lru_cache(maxsize=8)
def _hls_attributes(scheme: str) -> tuple[str, str]:
    """The HLS attribute list before and after the base64 pssh (base64 needs no quoting check)."""
    return attributes_around(
        (
            ("METHOD", sample_aes_method(SYSTEM_ID, scheme)),  # raises for cbc1/cens: never cached
            ("URI", quoted(f"data:text/plain;base64,{VALUE}")),
            ("KEYFORMAT", quoted(KEYFORMAT)),
            ("KEYFORMATVERSIONS", quoted("1")),
        )
    )


def render(ctx: KeySignalContext, children: frozenset[AnyChild]) -> dict[AnyChild, str]:
    pssh_b64 = b64(pssh(ctx))
    out: dict[AnyChild, str] = {}
    if Child.PSSH in children:
        out[Child.PSSH] = pssh_b64
    if Child.CONTENT_PROTECTION_DATA in children:
        out[Child.CONTENT_PROTECTION_DATA] = b64_text(cenc_pssh_element(pssh_b64))
    if children & HLS_CHILDREN:
        before, after = _hls_attributes(ctx.scheme)
        out.update(hls_elements(before + pssh_b64 + after, children))
    return out


def _varint(value: int) -> bytes:
    if 0 <= value < 0x80:
        return _ONE_BYTE[value]
    if value < 0:
        raise ValueError("varints here are unsigned")
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


_ONE_BYTE = [bytes((i,)) for i in range(0x80)]


def _key(field_number: int, wire_type: int) -> bytes:
    return _varint((field_number << 3) | wire_type)


def _len_field(field_number: int, payload: bytes) -> bytes:
    return _key(field_number, _WIRE_LEN) + _varint(len(payload)) + payload


_KID_FIELD = _key(2, _WIRE_LEN) + _varint(16)  # key_ids: tag and length of one 16-byte KID
