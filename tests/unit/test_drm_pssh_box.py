"""pssh boxes (ISO/IEC 23001-7 8.1), checked with pymp4 as an independent parser and by hand."""

from __future__ import annotations

import struct
import uuid

import pytest
from pymp4.parser import Box
from speke_keyprovider.drm.pssh_box import cenc_pssh_element, pssh_v0, pssh_v1

SYSTEM = "edef8ba9-79d6-4ace-a3c8-27dcd51d21ed"
KID = uuid.UUID("0f083e4e-b831-4a3d-917e-ce78076e54aa")
KID2 = uuid.UUID("041fdd3a-7f5e-4848-a7cb-65e97758e9a0")


def test_v0_parses_with_pymp4_and_carries_data() -> None:
    box = pssh_v0(SYSTEM, b"\x01\x02\x03")
    parsed = Box.parse(box)
    assert parsed.type == b"pssh"
    assert parsed.version == 0
    assert parsed.flags == 0
    assert parsed.system_ID == uuid.UUID(SYSTEM)
    assert parsed.key_IDs is None
    assert parsed.init_data == b"\x01\x02\x03"


def test_v0_layout_by_hand() -> None:
    box = pssh_v0(SYSTEM, b"abc")
    size, kind, version_flags = struct.unpack(">I4sI", box[:12])
    assert (size, kind, version_flags) == (len(box), b"pssh", 0)
    assert box[12:28] == uuid.UUID(SYSTEM).bytes
    assert struct.unpack(">I", box[28:32]) == (3,)
    assert box[32:] == b"abc"
    assert len(box) == 35


def test_v1_lists_kids_big_endian_and_no_data() -> None:
    box = pssh_v1(SYSTEM, [KID, KID2])
    parsed = Box.parse(box)
    assert parsed.version == 1
    assert list(parsed.key_IDs) == [KID, KID2]
    assert parsed.init_data == b""
    assert box[28:32] == b"\x00\x00\x00\x02"
    assert box[32:48] == KID.bytes  # tenc order (big-endian), not the PlayReady GUID order
    assert box[-4:] == b"\x00\x00\x00\x00"
    assert struct.unpack(">I", box[:4])[0] == len(box) == 8 + 4 + 16 + 4 + 32 + 4


def test_v1_needs_a_kid() -> None:
    with pytest.raises(ValueError):
        pssh_v1(SYSTEM, [])


def test_cenc_pssh_element_text() -> None:
    assert cenc_pssh_element("QUJD") == '<cenc:pssh xmlns:cenc="urn:mpeg:cenc:2013">QUJD</cenc:pssh>'
