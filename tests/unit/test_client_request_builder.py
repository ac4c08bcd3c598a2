"""client.request_builder: MediaPackage-v2-shaped SPEKE v2 requests."""

from __future__ import annotations

import base64
import itertools
import uuid
from pathlib import Path

import pytest
from defusedxml.ElementTree import fromstring
from speke_keyprovider_tools.client.request_builder import (
    CHILD_HLS_MEDIA,
    CHILD_PSSH,
    DRM_SYSTEM_IDS,
    PRESETS,
    build_request,
)

NS = {
    "cpix": "urn:dashif:org:cpix",
    "pskc": "urn:ietf:params:xml:ns:keyprov:pskc",
    "ds": "http://www.w3.org/2000/09/xmldsig#",
}
CERT_DER = (Path(__file__).parents[1] / "fixtures" / "certs" / "delivery.cert.der").read_bytes()


def _root(built):
    return fromstring(built.xml, forbid_dtd=True)


def test_system_ids_are_the_contract_ones():
    assert DRM_SYSTEM_IDS == {
        "widevine": "edef8ba9-79d6-4ace-a3c8-27dcd51d21ed",
        "playready": "9a04f079-9840-4286-ab92-e65be0885f95",
        "fairplay": "94ce86fb-07ff-4f43-adb8-93d2fa968ca2",
        "clearkey": "1077efec-c0b2-4d02-ace3-3c1e52e2fb4b",
        "aes128": "3ea8778f-7742-4bf9-b18b-e834b2acbd47",
    }


@pytest.mark.parametrize(
    ("preset", "types"),
    [
        ("PRESET_VIDEO_1", ["VIDEO"]),
        ("PRESET_VIDEO_2", ["SD", "HD"]),
        ("PRESET_VIDEO_3", ["SD", "HD", "UHD"]),
        ("PRESET_VIDEO_4", ["SD", "HD", "UHD1", "UHD2"]),
        ("PRESET_VIDEO_5", ["SD", "HD1", "HD2", "UHD1", "UHD2"]),
        ("PRESET_VIDEO_6", ["SD", "HD1", "HD2", "UHD"]),
        ("PRESET_VIDEO_7", ["SD+HD1", "HD2", "UHD"]),
        ("PRESET_VIDEO_8", ["SD+HD1", "HD2", "UHD1", "UHD2"]),
        ("UNENCRYPTED", []),
    ],
)
def test_video_presets(preset, types):
    assert [t.track_type for t in PRESETS["VIDEO"][preset]] == types


def test_audio_presets():
    assert [t.track_type for t in PRESETS["AUDIO"]["PRESET_AUDIO_2"]] == [
        "STEREO_AUDIO",
        "MULTICHANNEL_AUDIO",
    ]
    assert [t.track_type for t in PRESETS["AUDIO"]["PRESET_AUDIO_3"]] == [
        "STEREO_AUDIO",
        "MULTICHANNEL_AUDIO_3_6",
        "MULTICHANNEL_AUDIO_7",
    ]
    assert PRESETS["AUDIO"]["UNENCRYPTED"] == ()


def test_shape_of_a_clear_request():
    built = build_request(
        content_id="channel-1",
        video_preset="PRESET_VIDEO_2",
        audio_preset="PRESET_AUDIO_1",
        drm_systems=["widevine", "playready"],
        scheme="cenc",
    )
    root = _root(built)
    assert root.tag == "{urn:dashif:org:cpix}CPIX"
    assert root.get("contentId") == "channel-1" and root.get("version") == "2.3"
    assert root.find("cpix:DeliveryDataList", NS) is None
    # children in schema order
    assert [c.tag.split("}")[1] for c in root] == [
        "ContentKeyList",
        "DRMSystemList",
        "ContentKeyPeriodList",
        "ContentKeyUsageRuleList",
    ]
    keys = root.findall("cpix:ContentKeyList/cpix:ContentKey", NS)
    assert len(keys) == 3 == len(built.keys)
    assert {k.get("commonEncryptionScheme") for k in keys} == {"cenc"}
    assert [k.get("kid") for k in keys] == [str(k.kid) for k in built.keys]
    assert all(len(k) == 0 for k in keys)
    systems = root.findall("cpix:DRMSystemList/cpix:DRMSystem", NS)
    assert len(systems) == 6
    for system in systems:
        assert [c.tag.split("}")[1] for c in system] == [
            "PSSH",
            "ContentProtectionData",
            "HLSSignalingData",
            "HLSSignalingData",
        ]
        assert [c.get("playlist") for c in system][2:] == ["media", "master"]
        assert all((c.text or "") == "" for c in system)
    (period,) = root.findall("cpix:ContentKeyPeriodList/cpix:ContentKeyPeriod", NS)
    assert period.get("id").startswith("keyPeriod_") and period.get("index") == "1"
    uuid.UUID(period.get("id").removeprefix("keyPeriod_"))
    rules = root.findall("cpix:ContentKeyUsageRuleList/cpix:ContentKeyUsageRule", NS)
    assert [r.get("intendedTrackType") for r in rules] == ["SD", "HD", "AUDIO"]
    for rule, key in zip(rules, built.keys, strict=True):
        assert rule.get("kid") == str(key.kid)
        assert rule[0].tag == "{urn:dashif:org:cpix}KeyPeriodFilter"
        assert rule[0].get("periodId") == period.get("id") == key.period_id
    assert rules[0].find("cpix:VideoFilter", NS).attrib == {"maxPixels": "589824"}
    assert rules[1].find("cpix:VideoFilter", NS).attrib == {"minPixels": "589825"}
    assert rules[2].find("cpix:AudioFilter", NS).attrib == {}
    assert rules[2].find("cpix:VideoFilter", NS) is None


def test_shared_is_one_all_key_with_two_bare_filters():
    built = build_request(content_id="c", video_preset="SHARED", audio_preset="SHARED", drm_systems=["fairplay"])
    (rule,) = _root(built).findall("cpix:ContentKeyUsageRuleList/cpix:ContentKeyUsageRule", NS)
    assert rule.get("intendedTrackType") == "ALL"
    assert [(c.tag.split("}")[1], c.attrib) for c in rule][1:] == [("VideoFilter", {}), ("AudioFilter", {})]
    with pytest.raises(ValueError, match="SHARED"):
        build_request(content_id="c", video_preset="SHARED", audio_preset="PRESET_AUDIO_1", drm_systems=["widevine"])


def test_plus_track_type_gets_one_spanning_filter():
    built = build_request(
        content_id="c", video_preset="PRESET_VIDEO_7", audio_preset="UNENCRYPTED", drm_systems=["widevine"]
    )
    rules = _root(built).findall("cpix:ContentKeyUsageRuleList/cpix:ContentKeyUsageRule", NS)
    assert rules[0].get("intendedTrackType") == "SD+HD1"
    assert [c.attrib for c in rules[0].findall("cpix:VideoFilter", NS)] == [{"maxPixels": "921600"}]


def test_periods_multiply_keys_and_each_rule_points_at_its_period():
    built = build_request(
        content_id="c",
        video_preset="PRESET_VIDEO_3",
        audio_preset="PRESET_AUDIO_2",
        drm_systems=["widevine", "fairplay", "aes128"],
        periods=3,
    )
    root = _root(built)
    periods = root.findall("cpix:ContentKeyPeriodList/cpix:ContentKeyPeriod", NS)
    assert [p.get("index") for p in periods] == ["1", "2", "3"]
    assert len(built.keys) == 15 == len(root.findall(".//cpix:ContentKey", NS))
    assert len(root.findall(".//cpix:DRMSystem", NS)) == 45
    assert len({k.kid for k in built.keys}) == 15
    for period in periods:
        rules = [
            r
            for r in root.findall(".//cpix:ContentKeyUsageRule", NS)
            if r.find("cpix:KeyPeriodFilter", NS).get("periodId") == period.get("id")
        ]
        assert sorted(r.get("intendedTrackType") for r in rules) == sorted(
            ["SD", "HD", "UHD", "STEREO_AUDIO", "MULTICHANNEL_AUDIO"]
        )
    assert [k.period_index for k in built.keys[:5]] == [1] * 5


def test_default_children_per_system():
    built = build_request(
        content_id="c",
        video_preset="PRESET_VIDEO_1",
        audio_preset="UNENCRYPTED",
        drm_systems=list(DRM_SYSTEM_IDS),
    )
    got = {
        s.get("systemId"): [(c.tag.split("}")[1], c.get("playlist")) for c in s]
        for s in _root(built).findall(".//cpix:DRMSystem", NS)
    }
    hls = [("HLSSignalingData", "media"), ("HLSSignalingData", "master")]
    assert got[DRM_SYSTEM_IDS["fairplay"]] == hls
    assert got[DRM_SYSTEM_IDS["aes128"]] == hls
    assert got[DRM_SYSTEM_IDS["clearkey"]] == [("PSSH", None), ("ContentProtectionData", None)]
    assert got[DRM_SYSTEM_IDS["widevine"]] == [("PSSH", None), ("ContentProtectionData", None)] + hls


def test_children_override_and_given_kids():
    kids = [uuid.UUID(int=1), uuid.UUID(int=2)]
    built = build_request(
        content_id="c",
        video_preset="PRESET_VIDEO_1",
        audio_preset="PRESET_AUDIO_1",
        drm_systems=["widevine"],
        kids=kids,
        children={"widevine": [CHILD_HLS_MEDIA, CHILD_PSSH]},
    )
    assert [k.kid for k in built.keys] == kids
    (first, _) = _root(built).findall(".//cpix:DRMSystem", NS)
    assert [(c.tag.split("}")[1], c.get("playlist")) for c in first] == [
        ("PSSH", None),
        ("HLSSignalingData", "media"),
    ]
    with pytest.raises(ValueError, match="2 kids"):
        build_request(
            content_id="c",
            video_preset="PRESET_VIDEO_1",
            audio_preset="PRESET_AUDIO_1",
            drm_systems=["widevine"],
            kids=kids[:1],
        )


def test_delivery_data_carries_the_certificate():
    built = build_request(
        content_id="c",
        video_preset="PRESET_VIDEO_1",
        audio_preset="PRESET_AUDIO_1",
        drm_systems=["widevine"],
        certificate_der=CERT_DER,
    )
    root = _root(built)
    (dd,) = root.findall("cpix:DeliveryDataList/cpix:DeliveryData", NS)
    assert dd.get("id")
    cert = dd.find("cpix:DeliveryKey/ds:X509Data/ds:X509Certificate", NS)
    assert base64.b64decode(cert.text) == CERT_DER
    assert root[0] is root.find("cpix:DeliveryDataList", NS)
    assert built.encrypted


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"content_id": "bad id!"}, "content id"),
        ({"scheme": "cbc1"}, "scheme"),
        ({"drm_systems": ["fairplay"], "scheme": "cenc"}, "FairPlay"),
        ({"drm_systems": ["nosuch"]}, "unknown DRM system"),
        ({"drm_systems": []}, "at least one"),
        ({"video_preset": "UNENCRYPTED", "audio_preset": "UNENCRYPTED"}, "nothing to request"),
        ({"video_preset": "PRESET_VIDEO_9"}, "unknown video preset"),
        ({"periods": 0}, "periods"),
        ({"drm_systems": ["widevine", "widevine"]}, "twice"),
    ],
)
def test_refuses_requests_mediapackage_could_not_send(kwargs, message):
    args = {
        "content_id": "c",
        "video_preset": "PRESET_VIDEO_1",
        "audio_preset": "PRESET_AUDIO_1",
        "drm_systems": ["widevine"],
    } | kwargs
    with pytest.raises(ValueError, match=message):
        build_request(**args)


def test_unknown_system_id_passes_through():
    sid = "11111111-2222-3333-4444-555555555555"
    built = build_request(
        content_id="c", video_preset="PRESET_VIDEO_1", audio_preset="UNENCRYPTED", drm_systems=[sid.upper()]
    )
    assert _root(built).find(".//cpix:DRMSystem", NS).get("systemId") == sid


PRESET_PAIRS = [
    (video, audio)
    for video, audio in itertools.product(PRESETS["VIDEO"], PRESETS["AUDIO"])
    if (video == "SHARED") == (audio == "SHARED") and not video == audio == "UNENCRYPTED"
]


@pytest.mark.parametrize(("video", "audio"), PRESET_PAIRS)
def test_every_preset_pair_builds(video, audio):
    built = build_request(content_id="c", video_preset=video, audio_preset=audio, drm_systems=["widevine"])
    types = [k.track_type for k in built.keys]
    assert len(types) == len(set(types))
    assert _root(built).get("version") == "2.3"


def test_request_content_id_is_escaped_safely():
    # the pattern forbids markup, so the writer never has to rely on escaping for attributes we own
    with pytest.raises(ValueError):
        build_request(
            content_id='a"><x',
            video_preset="PRESET_VIDEO_1",
            audio_preset="UNENCRYPTED",
            drm_systems=["widevine"],
        )
