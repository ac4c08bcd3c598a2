"""The ``pssh`` box of ISO/IEC 23001-7 (Common Encryption), section 8.1.

    aligned(8) class ProtectionSystemSpecificHeaderBox extends FullBox('pssh', version, flags=0) {
        unsigned int(8)[16] SystemID;
        if (version > 0) { unsigned int(32) KID_count; { unsigned int(8)[16] KID; } [KID_count]; }
        unsigned int(32) DataSize;
        unsigned int(8)[DataSize] Data;
    }

All integers are big-endian; the box size counts the whole box including its 8-byte header.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Sequence
from functools import lru_cache

_MAX_BOX = 0xFFFFFFFF


def pssh_v0(system_id: str, data: bytes) -> bytes:
    """A version-0 box: no KID list; the system-specific ``data`` carries the KIDs when needed."""
    return _box(0, _system_id_bytes(system_id), b"", data)


def pssh_v1(system_id: str, kids: Sequence[uuid.UUID], data: bytes = b"") -> bytes:
    """A version-1 box listing ``kids`` (big-endian UUID bytes, as in ``tenc``), with optional ``data``."""
    if not kids:
        raise ValueError("a version-1 pssh box lists at least one KID")
    kid_list = struct.pack(">I", len(kids)) + b"".join(kid.bytes for kid in kids)
    return _box(1, _system_id_bytes(system_id), kid_list, data)


@lru_cache(maxsize=64)
def _system_id_bytes(system_id: str) -> bytes:
    return uuid.UUID(system_id).bytes


def _box(version: int, system_id: bytes, kid_list: bytes, data: bytes) -> bytes:
    size = 8 + 4 + 16 + len(kid_list) + 4 + len(data)
    if size > _MAX_BOX:
        raise ValueError("pssh box too large")
    header = struct.pack(">I4sB3s", size, b"pssh", version, b"\x00\x00\x00")
    return b"".join((header, system_id, kid_list, struct.pack(">I", len(data)), data))


def cenc_pssh_element(pssh_b64: str) -> str:
    """The DASH ``cenc:pssh`` element carrying the base64 box, its namespace declared inline."""
    return f'<cenc:pssh xmlns:cenc="urn:mpeg:cenc:2013">{pssh_b64}</cenc:pssh>'
