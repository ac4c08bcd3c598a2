"""Widevine signalling: pssh v0 + WidevinePsshData, checked with pymp4 and a protobuf decoder written here."""

from __future__ import annotations

import base64
import re
import uuid
import xml.etree.ElementTree as ET

import pytest
from pymp4.parser import Box
from speke_keyprovider.drm import Child, KeySignalContext, signal
from speke_keyprovider.errors import CpixError
from speke_keyprovider.settings import SignallingSettings

WIDEVINE = "edef8ba9-79d6-4ace-a3c8-27dcd51d21ed"
KID = uuid.UUID("0f083e4e-b831-4a3d-917e-ce78076e54aa")
ALL = list(Child)
DASH_AND_HLS = [Child.PSSH, Child.CONTENT_PROTECTION_DATA, Child.HLS_MEDIA, Child.HLS_MASTER]
FOURCC = {"cenc": 0x63656E63, "cbcs": 0x63626373, "cbc1": 0x63626331, "cens": 0x63656E73}


# --- an independent protobuf wire-format reader (not the encoder under test) ----------------------


def read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return result, pos


def decode_message(buf: bytes) -> list[tuple[int, int | bytes]]:
    """(field number, value) pairs in wire order; supports varint (0) and length-delimited (2)."""
    fields: list[tuple[int, int | bytes]] = []
    pos = 0
    while pos < len(buf):
        key, pos = read_varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = read_varint(buf, pos)
            fields.append((number, value))
        elif wire == 2:
            length, pos = read_varint(buf, pos)
            assert pos + length <= len(buf), "truncated field"
            fields.append((number, buf[pos : pos + length]))
            pos += length
        else:
            raise AssertionError(f"unexpected wire type {wire}")
    assert pos == len(buf)
    return fields


def test_decoder_reads_a_hand_built_message() -> None:
    # field 2 bytes "ab", field 9 varint 300 (0xAC 0x02)
    assert decode_message(b"\x12\x02ab\x48\xac\x02") == [(2, b"ab"), (9, 300)]


# --- helpers ------------------------------------------------------------------------------------


def ctx(
    scheme: str = "cbcs",
    *,
    content_id: str = "test_case_generic",
    provider: str = "speke-keyprovider",
    kid: uuid.UUID = KID,
) -> KeySignalContext:
    return KeySignalContext(WIDEVINE, kid, content_id, scheme, SignallingSettings(widevine_provider=provider))


def parse_pssh(b64: str):
    raw = base64.b64decode(b64, validate=True)
    box = Box.parse(raw)
    assert box.type == b"pssh"
    assert Box.build(box) == raw  # pymp4 round-trips exactly: nothing trailing, sizes right
    return box


def hls_line(b64: str) -> str:
    return base64.b64decode(b64, validate=True).decode("utf-8")


# --- tests --------------------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", sorted(FOURCC))
def test_pssh_is_v0_widevine_with_expected_protobuf(scheme: str) -> None:
    out = signal(ctx(scheme), [Child.PSSH])
    box = parse_pssh(out[Child.PSSH])
    assert box.version == 0
    assert box.system_ID == uuid.UUID(WIDEVINE)
    fields = decode_message(box.init_data)
    assert fields == [
        (2, KID.bytes),
        (3, b"speke-keyprovider"),
        (4, b"test_case_generic"),
        (9, FOURCC[scheme]),
    ]


def test_protection_scheme_cbcs_value_is_the_big_endian_fourcc() -> None:
    box = parse_pssh(signal(ctx("cbcs"), [Child.PSSH])[Child.PSSH])
    assert dict(decode_message(box.init_data))[9] == int.from_bytes(b"cbcs", "big") == 0x63626373


def test_content_id_is_utf8_and_provider_from_settings() -> None:
    box = parse_pssh(signal(ctx(content_id="chaîne-1", provider="acme"), [Child.PSSH])[Child.PSSH])
    fields = dict(decode_message(box.init_data))
    assert fields[3] == b"acme"
    assert fields[4] == "chaîne-1".encode()


def test_empty_provider_is_omitted_not_written_empty() -> None:
    box = parse_pssh(signal(ctx(provider=""), [Child.PSSH])[Child.PSSH])
    assert [number for number, _ in decode_message(box.init_data)] == [2, 4, 9]


def test_kid_is_per_key() -> None:
    other = uuid.UUID("041fdd3a-7f5e-4848-a7cb-65e97758e9a0")
    a = signal(ctx(kid=KID), [Child.PSSH])[Child.PSSH]
    b = signal(ctx(kid=other), [Child.PSSH])[Child.PSSH]
    assert a != b
    assert dict(decode_message(parse_pssh(b).init_data))[2] == other.bytes


@pytest.mark.parametrize("scheme", sorted(FOURCC))
def test_content_protection_data_carries_the_pssh_byte_for_byte(scheme: str) -> None:
    out = signal(ctx(scheme), [Child.PSSH, Child.CONTENT_PROTECTION_DATA])
    xml = base64.b64decode(out[Child.CONTENT_PROTECTION_DATA]).decode("utf-8")
    assert xml == f'<cenc:pssh xmlns:cenc="urn:mpeg:cenc:2013">{out[Child.PSSH]}</cenc:pssh>'
    element = ET.fromstring(xml)
    assert element.tag == "{urn:mpeg:cenc:2013}pssh"
    assert element.text == out[Child.PSSH]


@pytest.mark.parametrize(("scheme", "method"), [("cbcs", "SAMPLE-AES"), ("cenc", "SAMPLE-AES-CTR")])
def test_hls_lines(scheme: str, method: str) -> None:
    out = signal(ctx(scheme), DASH_AND_HLS)
    media, master = hls_line(out[Child.HLS_MEDIA]), hls_line(out[Child.HLS_MASTER])
    assert media == (
        f'#EXT-X-KEY:METHOD={method},URI="data:text/plain;base64,{out[Child.PSSH]}",'
        f'KEYFORMAT="urn:uuid:{WIDEVINE}",KEYFORMATVERSIONS="1"'
    )
    assert master == media.replace("#EXT-X-KEY:", "#EXT-X-SESSION-KEY:", 1)
    assert "\n" not in media and "\r" not in media
    uri = re.search(r'URI="data:text/plain;base64,([^"]+)"', media)
    assert uri is not None
    assert parse_pssh(uri.group(1)).system_ID == uuid.UUID(WIDEVINE)


@pytest.mark.parametrize("scheme", ["cbc1", "cens"])
def test_hls_refused_for_schemes_hls_cannot_carry(scheme: str) -> None:
    with pytest.raises(CpixError) as err:
        signal(ctx(scheme), [Child.HLS_MEDIA])
    assert err.value.public_message == f"ContentKey@commonEncryptionScheme non compatible with DRMSystem {WIDEVINE}"
    # ...while DASH signalling for the same key is fine
    assert signal(ctx(scheme), [Child.PSSH, Child.CONTENT_PROTECTION_DATA])


def test_only_requested_children_are_returned() -> None:
    assert set(signal(ctx(), [Child.HLS_MASTER])) == {Child.HLS_MASTER}
    assert set(signal(ctx(), [Child.CONTENT_PROTECTION_DATA])) == {Child.CONTENT_PROTECTION_DATA}


def test_smooth_streaming_not_served() -> None:
    from speke_keyprovider.errors import UnsupportedDrmSystem

    with pytest.raises(UnsupportedDrmSystem) as err:
        signal(ctx(), ALL)
    assert err.value.public_message == f"DRMSystem {WIDEVINE} does not support SmoothStreamingProtectionHeaderData"
