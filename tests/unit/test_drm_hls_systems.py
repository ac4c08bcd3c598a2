"""FairPlay, ClearKey (W3C common PSSH) and HLS AES-128 signalling."""

from __future__ import annotations

import base64
import uuid
import xml.etree.ElementTree as ET

import pytest
from pymp4.parser import Box
from speke_keyprovider.drm import Child, KeySignalContext, check_system, signal
from speke_keyprovider.errors import ConfigurationError, CpixError, UnsupportedDrmSystem
from speke_keyprovider.settings import SignallingSettings

FAIRPLAY = "94ce86fb-07ff-4f43-adb8-93d2fa968ca2"
CLEARKEY = "1077efec-c0b2-4d02-ace3-3c1e52e2fb4b"
AES128 = "3ea8778f-7742-4bf9-b18b-e834b2acbd47"
KID = uuid.UUID("0f083e4e-b831-4a3d-917e-ce78076e54aa")
HLS = [Child.HLS_MEDIA, Child.HLS_MASTER]


def ctx(
    system_id: str, scheme: str = "cbcs", content_id: str = "test_case_generic", **settings: str
) -> KeySignalContext:
    return KeySignalContext(system_id, KID, content_id, scheme, SignallingSettings(**settings))


def text(b64: str) -> str:
    return base64.b64decode(b64, validate=True).decode("utf-8")


def assert_v1_kid_only(b64: str, system_id: str) -> None:
    raw = base64.b64decode(b64, validate=True)
    box = Box.parse(raw)
    assert Box.build(box) == raw
    assert (box.type, box.version, box.system_ID) == (b"pssh", 1, uuid.UUID(system_id))
    assert list(box.key_IDs) == [KID]
    assert box.init_data == b""


def assert_cpd_equals_pssh(out: dict[Child, str]) -> None:
    xml = text(out[Child.CONTENT_PROTECTION_DATA])
    element = ET.fromstring(xml)
    assert element.tag == "{urn:mpeg:cenc:2013}pssh"
    assert element.text == out[Child.PSSH]
    assert xml == f'<cenc:pssh xmlns:cenc="urn:mpeg:cenc:2013">{out[Child.PSSH]}</cenc:pssh>'


# --- FairPlay -------------------------------------------------------------------------------------


def test_fairplay_hls_lines() -> None:
    out = signal(ctx(FAIRPLAY), HLS)
    media = text(out[Child.HLS_MEDIA])
    assert media == (
        '#EXT-X-KEY:METHOD=SAMPLE-AES,URI="skd://test_case_generic/0f083e4e-b831-4a3d-917e-ce78076e54aa",'
        'KEYFORMAT="com.apple.streamingkeydelivery",KEYFORMATVERSIONS="1"'
    )
    assert text(out[Child.HLS_MASTER]) == "#EXT-X-SESSION-KEY:" + media.removeprefix("#EXT-X-KEY:")


def test_fairplay_template_and_escaping() -> None:
    out = signal(
        ctx(FAIRPLAY, content_id='a b/"c', fairplay_skd_template="skd://keys?asset={content_id}&k={kid}"),
        [Child.HLS_MEDIA],
    )
    assert 'URI="skd://keys?asset=a%20b%2F%22c&k=0f083e4e-b831-4a3d-917e-ce78076e54aa"' in text(out[Child.HLS_MEDIA])


def test_fairplay_template_that_breaks_the_quoted_string_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="FAIRPLAY_SKD_TEMPLATE"):
        signal(ctx(FAIRPLAY, fairplay_skd_template='skd://"{kid}'), [Child.HLS_MEDIA])


@pytest.mark.parametrize("scheme", ["cenc", "cbc1", "cens"])
def test_fairplay_refuses_anything_but_cbcs(scheme: str) -> None:
    expected = f"ContentKey@commonEncryptionScheme non compatible with DRMSystem {FAIRPLAY}"
    with pytest.raises(CpixError) as err:
        check_system(FAIRPLAY, scheme)
    assert err.value.public_message == expected
    with pytest.raises(CpixError) as err:
        signal(ctx(FAIRPLAY, scheme), HLS)
    assert err.value.public_message == expected


def test_fairplay_pssh_is_v1_kid_only_and_cpd_matches() -> None:
    out = signal(ctx(FAIRPLAY), [Child.PSSH, Child.CONTENT_PROTECTION_DATA, *HLS])
    assert_v1_kid_only(out[Child.PSSH], FAIRPLAY)
    assert_cpd_equals_pssh(out)


def test_fairplay_no_smooth_streaming() -> None:
    with pytest.raises(UnsupportedDrmSystem) as err:
        signal(ctx(FAIRPLAY), [Child.SMOOTH_STREAMING])
    assert err.value.public_message == f"DRMSystem {FAIRPLAY} does not support SmoothStreamingProtectionHeaderData"


# --- ClearKey -------------------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["cenc", "cbcs"])
def test_clearkey_pssh_and_cpd(scheme: str) -> None:
    out = signal(ctx(CLEARKEY, scheme), [Child.PSSH, Child.CONTENT_PROTECTION_DATA])
    assert_v1_kid_only(out[Child.PSSH], CLEARKEY)
    assert_cpd_equals_pssh(out)


@pytest.mark.parametrize("child", [Child.HLS_MEDIA, Child.HLS_MASTER, Child.SMOOTH_STREAMING])
def test_clearkey_refuses_other_children(child: Child) -> None:
    with pytest.raises(UnsupportedDrmSystem) as err:
        signal(ctx(CLEARKEY), [Child.PSSH, child])
    assert err.value.public_message == f"DRMSystem {CLEARKEY} does not support {child.value.split('/')[0]}"


# --- HLS AES-128 ----------------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["cenc", "cbcs"])
def test_aes128_lines_ignore_the_scheme(scheme: str) -> None:
    out = signal(ctx(AES128, scheme), HLS)
    media = text(out[Child.HLS_MEDIA])
    assert media == (
        '#EXT-X-KEY:METHOD=AES-128,URI="https://keys.example.com/test_case_generic/'
        '0f083e4e-b831-4a3d-917e-ce78076e54aa",KEYFORMAT="identity",KEYFORMATVERSIONS="1"'
    )
    assert text(out[Child.HLS_MASTER]) == "#EXT-X-SESSION-KEY:" + media.removeprefix("#EXT-X-KEY:")


def test_aes128_uri_template_from_settings() -> None:
    out = signal(
        ctx(AES128, aes128_key_uri_template="https://k.example.net/v1/{kid}?c={content_id}"),
        [Child.HLS_MASTER],
    )
    assert 'URI="https://k.example.net/v1/0f083e4e-b831-4a3d-917e-ce78076e54aa?c=test_case_generic"' in text(
        out[Child.HLS_MASTER]
    )


@pytest.mark.parametrize("child", [Child.PSSH, Child.CONTENT_PROTECTION_DATA, Child.SMOOTH_STREAMING])
def test_aes128_refuses_non_hls_children(child: Child) -> None:
    with pytest.raises(UnsupportedDrmSystem) as err:
        signal(ctx(AES128), [child])
    assert err.value.public_message == f"DRMSystem {AES128} does not support {child.value}"
