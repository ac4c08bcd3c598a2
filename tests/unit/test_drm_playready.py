"""PlayReady signalling: PRO and WRMHEADER 4.3.0.0 decoded by hand, pssh parsed with pymp4."""

from __future__ import annotations

import base64
import re
import struct
import uuid
import xml.etree.ElementTree as ET

import pytest
from pymp4.parser import Box
from speke_keyprovider.drm import Child, KeySignalContext, check_system, signal
from speke_keyprovider.errors import ConfigurationError, CpixError
from speke_keyprovider.settings import SignallingSettings

PLAYREADY = "9a04f079-9840-4286-ab92-e65be0885f95"
NS = "{http://schemas.microsoft.com/DRM/2007/03/PlayReadyHeader}"
KID = uuid.UUID("0f083e4e-b831-4a3d-917e-ce78076e54aa")
ALL = list(Child)
LA_URL = "https://pr.example.com/rightsmanager.asmx?cid=a&x=<1>"


def ctx(scheme: str = "cbcs", la_url: str | None = LA_URL, kid: uuid.UUID = KID) -> KeySignalContext:
    return KeySignalContext(PLAYREADY, kid, "test_case_generic", scheme, SignallingSettings(playready_la_url=la_url))


def decode_pro(pro: bytes) -> str:
    """The WRMHEADER text of a PlayReady Object with exactly one type-1 record."""
    total, count = struct.unpack_from("<IH", pro, 0)
    assert total == len(pro)
    assert count == 1
    rtype, rlen = struct.unpack_from("<HH", pro, 6)
    assert rtype == 1
    assert 10 + rlen == len(pro)
    value = pro[10:]
    assert not value.startswith(b"\xff\xfe")  # no BOM
    return value.decode("utf-16-le")


def parse_header(header: str) -> ET.Element:
    root = ET.fromstring(header)
    assert root.tag == f"{NS}WRMHEADER"
    assert root.get("version") == "4.3.0.0"
    return root


def kid_from_value(value: str) -> uuid.UUID:
    return uuid.UUID(bytes_le=base64.b64decode(value, validate=True))


@pytest.mark.parametrize(("scheme", "algid"), [("cbcs", "AESCBC"), ("cenc", "AESCTR")])
def test_pssh_holds_pro_with_wrmheader_43(scheme: str, algid: str) -> None:
    out = signal(ctx(scheme), [Child.PSSH])
    raw = base64.b64decode(out[Child.PSSH], validate=True)
    box = Box.parse(raw)
    assert (box.type, box.version, box.system_ID) == (b"pssh", 0, uuid.UUID(PLAYREADY))
    assert Box.build(box) == raw
    root = parse_header(decode_pro(box.init_data))

    data = root.find(f"{NS}DATA")
    assert data is not None
    assert [child.tag for child in data] == [f"{NS}PROTECTINFO", f"{NS}LA_URL"]
    kids = root.findall(f"{NS}DATA/{NS}PROTECTINFO/{NS}KIDS/{NS}KID")
    assert len(kids) == 1
    assert kids[0].get("ALGID") == algid
    assert kid_from_value(kids[0].get("VALUE", "")) == KID
    assert kids[0].get("CHECKSUM") is None  # needs the CEK: deliberately omitted
    assert root.findtext(f"{NS}DATA/{NS}LA_URL") == LA_URL


def test_kid_value_is_little_endian_guid_bytes() -> None:
    header = decode_pro(base64.b64decode(signal(ctx(), [Child.SMOOTH_STREAMING])[Child.SMOOTH_STREAMING]))
    value = re.search(r'VALUE="([^"]+)"', header)
    assert value is not None
    raw = base64.b64decode(value.group(1))
    # first three groups byte-swapped: 0f083e4e-b831-4a3d -> 4e3e080f 31b8 3d4a, the rest unchanged
    assert raw.hex() == "4e3e080f31b83d4a917ece78076e54aa"
    assert raw != KID.bytes


def test_header_follows_the_syntax_rules() -> None:
    header = decode_pro(base64.b64decode(signal(ctx(), [Child.SMOOTH_STREAMING])[Child.SMOOTH_STREAMING]))
    assert not header.startswith("<?xml")
    assert "/>" not in header  # every node closed by an end tag
    assert ">\n" not in header and "> <" not in header
    assert re.search(r'<KID ALGID="AESCBC" VALUE="[^"]+"></KID>', header)  # attributes alphabetical


def test_la_url_is_escaped_and_optional() -> None:
    header = decode_pro(base64.b64decode(signal(ctx(), [Child.SMOOTH_STREAMING])[Child.SMOOTH_STREAMING]))
    assert "<LA_URL>https://pr.example.com/rightsmanager.asmx?cid=a&amp;x=&lt;1&gt;</LA_URL>" in header
    bare = decode_pro(base64.b64decode(signal(ctx(la_url=None), [Child.SMOOTH_STREAMING])[Child.SMOOTH_STREAMING]))
    assert "LA_URL" not in bare
    assert parse_header(bare).find(f"{NS}DATA/{NS}PROTECTINFO") is not None


def test_huge_la_url_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="PLAYREADY_LA_URL"):
        signal(ctx(la_url="https://x/" + "a" * 20000), [Child.PSSH])


@pytest.mark.parametrize("scheme", ["cbcs", "cenc"])
def test_content_protection_data_pssh_and_pro(scheme: str) -> None:
    out = signal(ctx(scheme), [Child.PSSH, Child.CONTENT_PROTECTION_DATA, Child.SMOOTH_STREAMING])
    text = base64.b64decode(out[Child.CONTENT_PROTECTION_DATA]).decode("utf-8")
    wrapper = ET.fromstring(f"<w>{text}</w>")
    pssh, pro = list(wrapper)
    assert pssh.tag == "{urn:mpeg:cenc:2013}pssh"
    assert pssh.text == out[Child.PSSH]  # byte for byte
    assert pro.tag == "{urn:microsoft:playready}pro"
    assert pro.text == out[Child.SMOOTH_STREAMING]
    assert base64.b64decode(out[Child.PSSH])[32:] == base64.b64decode(pro.text or "")
    assert text.startswith('<cenc:pssh xmlns:cenc="urn:mpeg:cenc:2013">')
    assert '<mspr:pro xmlns:mspr="urn:microsoft:playready">' in text


def test_smooth_streaming_is_the_pro() -> None:
    out = signal(ctx(), [Child.SMOOTH_STREAMING])
    kids = parse_header(decode_pro(base64.b64decode(out[Child.SMOOTH_STREAMING]))).iter(f"{NS}KID")
    assert [kid_from_value(k.get("VALUE", "")) for k in kids] == [KID]


@pytest.mark.parametrize(("scheme", "method"), [("cbcs", "SAMPLE-AES"), ("cenc", "SAMPLE-AES-CTR")])
def test_hls_lines(scheme: str, method: str) -> None:
    out = signal(ctx(scheme), ALL)
    media = base64.b64decode(out[Child.HLS_MEDIA]).decode("utf-8")
    master = base64.b64decode(out[Child.HLS_MASTER]).decode("utf-8")
    assert media == (
        f'#EXT-X-KEY:METHOD={method},KEYFORMAT="com.microsoft.playready",KEYFORMATVERSIONS="1",'
        f'URI="data:text/plain;charset=UTF-16;base64,{out[Child.SMOOTH_STREAMING]}"'
    )
    assert master == "#EXT-X-SESSION-KEY:" + media.removeprefix("#EXT-X-KEY:")


@pytest.mark.parametrize("scheme", ["cbc1", "cens", "none"])
def test_other_schemes_refused(scheme: str) -> None:
    with pytest.raises(CpixError) as err:
        check_system(PLAYREADY, scheme)
    assert err.value.public_message == f"ContentKey@commonEncryptionScheme non compatible with DRMSystem {PLAYREADY}"
    with pytest.raises(CpixError):
        signal(ctx(scheme), [Child.PSSH])
