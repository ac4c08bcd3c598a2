"""client.signalling: the checker's own parsers, fed hand-made bytes."""

from __future__ import annotations

import base64
import struct
import uuid

import pytest
from speke_keyprovider_tools.client.signalling import (
    SignallingError,
    data_uri_payload,
    parse_content_protection_data,
    parse_hls_key_tag,
    parse_playready_object,
    parse_pssh,
    parse_widevine_data,
    parse_wrmheader,
)

from tests.reference_responder import playready_pro, pssh_box, widevine_pssh_data

KID = uuid.UUID("0f083e4e-b831-4a3d-917e-ce78076e54aa")
WV = "edef8ba9-79d6-4ace-a3c8-27dcd51d21ed"
PR_NS = "http://schemas.microsoft.com/DRM/2007/03/PlayReadyHeader"


def test_pssh_v0_and_v1():
    box = parse_pssh(pssh_box(WV, b"abc"))
    assert (box.version, box.system_id, box.kids, box.data) == (0, WV, [], b"abc")
    box = parse_pssh(pssh_box(WV, kids=[KID, uuid.UUID(int=1)]))
    assert box.version == 1 and box.kids == [KID, uuid.UUID(int=1)] and box.data == b""


def test_pssh_hand_made_bytes():
    raw = bytes.fromhex("000000207073736800000000") + uuid.UUID(WV).bytes + bytes(4)
    assert parse_pssh(raw).system_id == WV


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda b: b[:4] + b"moov" + b[8:], "box type"),
        (lambda b: struct.pack(">I", len(b) + 1) + b[4:], "size field"),
        (lambda b: b + b"\0", "size field"),
        (lambda b: b[:8] + b"\x02" + b[9:], "version 2"),
        (lambda b: b[:-4] + struct.pack(">I", 9), "DataSize"),
        (lambda b: b[:10], "too short"),
    ],
)
def test_pssh_rejects(mutate, message):
    with pytest.raises(SignallingError, match=message):
        parse_pssh(mutate(pssh_box(WV, b"")))


def test_widevine_protobuf():
    data = parse_widevine_data(widevine_pssh_data(KID, "channel-1", "cbcs", provider="acme"))
    assert data.key_ids == [KID.bytes] and data.provider == "acme" and data.content_id == b"channel-1"
    assert data.protection_scheme_fourcc == "cbcs"
    # hand-made: key_id only, plus an unknown varint field 1 (algorithm)
    raw = b"\x08\x01\x12\x10" + KID.bytes
    data = parse_widevine_data(raw)
    assert data.key_ids == [KID.bytes] and data.protection_scheme is None and data.other_fields == [1]
    with pytest.raises(SignallingError, match="truncated"):
        parse_widevine_data(b"\x12\x10" + KID.bytes[:5])


def test_playready_object_and_kid_byte_order():
    header = parse_playready_object(playready_pro(KID, "cbcs", la_url="https://lic.example/pr"))
    assert header.version == "4.3.0.0" and header.kids == [(KID, "AESCBC")]
    assert header.la_url == "https://lic.example/pr"
    # the KID is the GUID's little-endian bytes, so the base64 differs from the big-endian one
    assert base64.b64encode(KID.bytes_le).decode() in header.text
    assert base64.b64encode(KID.bytes).decode() not in header.text


def test_wrmheader_4_0_and_4_1():
    kid = base64.b64encode(KID.bytes_le).decode()
    v40 = (
        f'<WRMHEADER xmlns="{PR_NS}" version="4.0.0.0"><DATA><PROTECTINFO><KEYLEN>16</KEYLEN>'
        f"<ALGID>AESCTR</ALGID></PROTECTINFO><KID>{kid}</KID></DATA></WRMHEADER>"
    )
    assert parse_wrmheader(v40).kids == [(KID, "AESCTR")]
    v41 = (
        f'<WRMHEADER xmlns="{PR_NS}" version="4.1.0.0"><DATA><PROTECTINFO>'
        f'<KID ALGID="AESCTR" VALUE="{kid}"></KID></PROTECTINFO></DATA></WRMHEADER>'
    )
    assert parse_wrmheader(v41).kids == [(KID, "AESCTR")]
    with pytest.raises(SignallingError, match="no KID"):
        parse_wrmheader(f'<WRMHEADER xmlns="{PR_NS}" version="4.3.0.0"><DATA/></WRMHEADER>')
    with pytest.raises(SignallingError, match="namespace"):
        parse_wrmheader('<WRMHEADER version="4.3.0.0"><DATA/></WRMHEADER>')


def test_playready_object_rejects_bad_lengths():
    pro = playready_pro(KID, "cenc")
    with pytest.raises(SignallingError, match="length field"):
        parse_playready_object(pro + b"\0\0")
    with pytest.raises(SignallingError, match="truncated"):
        parse_playready_object(struct.pack("<IH", 10, 1) + struct.pack("<HH", 1, 50))


def test_content_protection_data_fragment():
    frag = (
        b'<cenc:pssh xmlns:cenc="urn:mpeg:cenc:2013">AAAA</cenc:pssh>'
        b'<mspr:pro xmlns:mspr="urn:microsoft:playready">BBBB</mspr:pro>'
    )
    assert parse_content_protection_data(frag) == [
        ("urn:mpeg:cenc:2013", "pssh", "AAAA"),
        ("urn:microsoft:playready", "pro", "BBBB"),
    ]
    with pytest.raises(SignallingError):
        parse_content_protection_data(b"<cenc:pssh>unbound prefix</cenc:pssh>")


def test_hls_attribute_list_with_quoted_commas():
    tag = parse_hls_key_tag('#EXT-X-KEY:METHOD=SAMPLE-AES,URI="skd://a,b",KEYFORMAT="x",KEYFORMATVERSIONS="1"')
    assert tag.tag == "#EXT-X-KEY"
    assert tag.attributes == {
        "METHOD": "SAMPLE-AES",
        "URI": "skd://a,b",
        "KEYFORMAT": "x",
        "KEYFORMATVERSIONS": "1",
    }
    assert parse_hls_key_tag("#EXT-X-SESSION-KEY:METHOD=AES-128\n").tag == "#EXT-X-SESSION-KEY"


@pytest.mark.parametrize(
    "line",
    [
        '#EXT-X-MAP:URI="x"',
        "#EXT-X-KEY:METHOD",
        '#EXT-X-KEY:URI="x',
        "#EXT-X-KEY:METHOD=A,METHOD=B",
        "#EXT-X-KEY:METHOD=A,",
        "#EXT-X-KEY:method=A",
        "#EXT-X-KEY:METHOD=A\n#EXT-X-KEY:METHOD=B",
    ],
)
def test_hls_rejects(line):
    with pytest.raises(SignallingError):
        parse_hls_key_tag(line)


def test_data_uri():
    assert data_uri_payload("data:text/plain;charset=UTF-16;base64,AAEC") == (
        "text/plain;charset=UTF-16",
        b"\0\1\2",
    )
    with pytest.raises(SignallingError):
        data_uri_payload("https://x")
    with pytest.raises(SignallingError):
        data_uri_payload("data:text/plain,abc")
