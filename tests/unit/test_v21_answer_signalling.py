"""HDCP and robustness signalling of SPEKE v2.1 answers (speke-v2.1.md section 3): settings checked when read,
elements placed where the CPIX 2.4 schema puts them, per track type and DRM system, never in a v2.0 answer."""

import base64
import xml.etree.ElementTree as ET

import pytest
import xmlschema
from speke_keyprovider.errors import ConfigurationError
from speke_keyprovider.key_sources import StaticMasterKey
from speke_keyprovider.service import KeyExchange
from speke_keyprovider.settings import Settings
from speke_keyprovider.settings_v21 import V21Settings
from speke_keyprovider_tools.client.request_builder import build_request

from tests import cpixdocs as d
from tests import cpixdocs_v21 as d21
from tests.conftest import FIXTURES, MASTER_KEY

CPIX = "{urn:dashif:org:cpix}"
OUTPUT_PROTECTION = '<OutputProtection xmlns="urn:mpeg:dash:schema:mpd:2011" schemeIdUri="urn:mpeg:dash:output-protection:hdcp:2020" value="2.2"/>'
OP_B64 = base64.b64encode(OUTPUT_PROTECTION.encode()).decode()
ENV = {
    "KEY_SOURCE": "file",
    "MASTER_KEY_FILE": "/nonexistent",
    "HDCP_LEVELS": "UHD=TYPE-1, HD=TYPE-0, *=NONE",
    "HDCP_OUTPUT_PROTECTION": f"UHD={OP_B64}",
    "DRM_ROBUSTNESS": "widevine/UHD=HW_SECURE_ALL,widevine/*=SW_SECURE_CRYPTO,playready/UHD=3000",
    "HLS_ALLOWED_CPC": "fairplay/UHD=AppleMain,widevine/*=HW/SW,playready/HD=SL3000",
}


def settings(**env) -> Settings:
    return Settings.from_env({**ENV, **env})


def test_settings_read_and_off_by_default():
    v21 = settings().v21
    assert v21.hdcp_levels == {"UHD": "TYPE-1", "HD": "TYPE-0", "*": "NONE"}
    assert v21.output_protection == {"UHD": OP_B64}
    assert v21.robustness[(d.WIDEVINE, "UHD")] == "HW_SECURE_ALL"
    assert v21.allowed_cpc[(d.FAIRPLAY, "UHD")] == "AppleMain"
    default = Settings.from_env({"KEY_SOURCE": "file", "MASTER_KEY_FILE": "/x"}).v21
    assert default == V21Settings() and not default.kid_override and not default.signals_hdcp


BAD = {
    "HDCP_LEVELS": ["UHD=TYPE-2", "UHD", "UHD=TYPE-1,UHD=NONE", "U H D=NONE"],
    "HDCP_OUTPUT_PROTECTION": [
        "UHD=not base64!",
        "UHD=" + base64.b64encode(b"<OutputProtection").decode(),
        "UHD=" + base64.b64encode(b"<Other/>").decode(),
        "UHD=" + base64.b64encode(b"\xef\xbb\xbf<OutputProtection/>").decode(),
        "UHD=" + base64.b64encode(b'<!DOCTYPE x [<!ENTITY a "b">]><OutputProtection/>').decode(),
    ],
    "DRM_ROBUSTNESS": [
        "UHD=HW",
        "vimeo/UHD=HW",
        "aes128/UHD=HW",
        "widevine/UHD=HW SECURE",
        "widevine/UHD=a,widevine/UHD=b",
    ],
    "HLS_ALLOWED_CPC": ["clearkey/UHD=Main", "fairplay/UHD=com.apple.streamingkeydelivery:Main", "fairplay/UHD=a//b"],
    "KID_OVERRIDE": ["maybe"],
}


@pytest.mark.parametrize(("name", "value"), [(n, v) for n, values in BAD.items() for v in values])
def test_bad_settings_name_the_variable(name, value):
    with pytest.raises(ConfigurationError) as caught:
        settings(**{name: value})
    assert str(caught.value).startswith(name)


def exchange(**env) -> KeyExchange:
    return KeyExchange(settings(**env), StaticMasterKey(MASTER_KEY))


def built(version: str = "2.1"):
    request = build_request(
        content_id="channel-1",
        video_preset="PRESET_VIDEO_3",
        audio_preset="PRESET_AUDIO_1",
        drm_systems=["widevine", "playready", "fairplay"],
        scheme="cbcs",
    )
    xml = request.xml if isinstance(request.xml, bytes) else request.xml.encode()
    if version == "2.1":
        xml = xml.replace(b'version="2.3"', b'version="2.4"')
    return request, xml


def test_hdcp_and_robustness_where_the_schema_puts_them():
    request, xml = built()
    body = exchange().answer(xml, "2.1").body
    root = ET.fromstring(body)
    tracks = {r.get("kid"): r.get("intendedTrackType") for r in root.iter(f"{CPIX}ContentKeyUsageRule")}
    levels = {"UHD": "TYPE-1", "HD": "TYPE-0"}
    for key in root.iter(f"{CPIX}ContentKey"):
        track = tracks[key.get("kid")]
        children = [c.tag[len(CPIX) :] for c in key]
        assert children == ["HDCPData", "Data"]  # HDCPData first, before cpix:Data
        hdcp = key.find(f"{CPIX}HDCPData")
        assert hdcp.get("HLSHDCPLevel") == levels.get(track, "NONE")
        fragment = hdcp.find(f"{CPIX}HDCPOutputProtectionData")
        assert (fragment is not None) == (track == "UHD")
        if fragment is not None:
            assert base64.b64decode(fragment.text).decode() == OUTPUT_PROTECTION
    for system in root.iter(f"{CPIX}DRMSystem"):
        track, system_id = tracks[system.get("kid")], system.get("systemId")
        cpd = system.find(f"{CPIX}ContentProtectionData")
        if system_id == d.WIDEVINE:
            assert cpd.get("robustness") == ("HW_SECURE_ALL" if track == "UHD" else "SW_SECURE_CRYPTO")
            assert system.get("HLSAllowedCPC") == f"urn:uuid:{d.WIDEVINE}:HW/SW"
        elif system_id == d.PLAYREADY:
            assert cpd.get("robustness") == ("3000" if track == "UHD" else None)
            assert system.get("HLSAllowedCPC") == ("com.microsoft.playready:SL3000" if track == "HD" else None)
        else:
            assert system.get("HLSAllowedCPC") == (
                "com.apple.streamingkeydelivery:AppleMain" if track == "UHD" else None
            )
    schema = xmlschema.XMLSchema10(str(FIXTURES / "cpix-xsd" / "cpix-2.4.xsd"), allow="local")
    schema.validate(ET.fromstring(body.replace(b'playlist="master"', b'playlist="multiVariant"')))


def test_never_in_a_v20_answer():
    _, xml = built("2.0")
    body = exchange().answer(xml, "2.0").body
    for needle in (b"HDCPData", b"robustness", b"HLSAllowedCPC"):
        assert needle not in body


def test_off_by_default_nothing_added():
    _, xml = built()
    body = KeyExchange(Settings(), StaticMasterKey(MASTER_KEY)).answer(xml, "2.1").body
    for needle in (b"HDCPData", b"robustness", b"HLSAllowedCPC"):
        assert needle not in body


def test_allowed_cpc_only_on_a_system_that_asks_for_hls():
    doc = d21.document(
        systems=d.drm_systems(systems=(d.WIDEVINE,)).replace(
            '<cpix:HLSSignalingData playlist="media"/><cpix:HLSSignalingData playlist="master"/>', ""
        )
    )
    body = exchange().answer(doc, "2.1").body
    assert b"HLSAllowedCPC" not in body and b'robustness="SW_SECURE_CRYPTO"' in body
