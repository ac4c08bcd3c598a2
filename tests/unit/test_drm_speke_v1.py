"""The SPEKE v1 DRM registry (drm.SPEKE_V1_SYSTEMS): what each system defines in a v1 answer (speke-v1.md
section 5), the legacy AES-128 id served for v1 only, and v1 values built per key by the same modules."""

from __future__ import annotations

import base64
import uuid

import pytest
from speke_keyprovider import drm
from speke_keyprovider.drm import Child, SpekeV1Child, check_system, signal
from speke_keyprovider.errors import UnsupportedDrmSystem
from speke_keyprovider.settings import SignallingSettings

WIDEVINE = "edef8ba9-79d6-4ace-a3c8-27dcd51d21ed"
PLAYREADY = "9a04f079-9840-4286-ab92-e65be0885f95"
FAIRPLAY = "94ce86fb-07ff-4f43-adb8-93d2fa968ca2"
CLEARKEY = "1077efec-c0b2-4d02-ace3-3c1e52e2fb4b"
AES128 = "3ea8778f-7742-4bf9-b18b-e834b2acbd47"
AES128_V1 = "81376844-f976-481e-a84e-cc25d39b0b33"
HLS_V1 = {SpekeV1Child.URI_EXT_X_KEY, SpekeV1Child.KEY_FORMAT, SpekeV1Child.KEY_FORMAT_VERSIONS}


def test_v1_children_per_system_are_the_contracts():
    got = {system_id: set(system.children) for system_id, system in drm.SPEKE_V1_SYSTEMS.items()}
    assert got == {
        WIDEVINE: {Child.PSSH, Child.CONTENT_PROTECTION_DATA},
        PLAYREADY: {Child.PSSH, Child.CONTENT_PROTECTION_DATA, SpekeV1Child.PROTECTION_HEADER},
        FAIRPLAY: HLS_V1,
        AES128: HLS_V1,
        AES128_V1: HLS_V1,
        CLEARKEY: {Child.PSSH, Child.CONTENT_PROTECTION_DATA},
    }


def test_the_v2_registry_is_unchanged():
    assert set(drm.SYSTEMS) == {WIDEVINE, PLAYREADY, FAIRPLAY, CLEARKEY, AES128}
    assert not any(isinstance(c, SpekeV1Child) for s in drm.SYSTEMS.values() for c in s.children)
    with pytest.raises(UnsupportedDrmSystem, match=AES128_V1):
        check_system(AES128_V1, "cbcs")  # a v2 request naming the legacy id is still refused


def test_v2_children_are_not_v1_children():
    with pytest.raises(UnsupportedDrmSystem, match="does not support HLSSignalingData"):
        check_system(FAIRPLAY, "cbcs", [Child.HLS_MEDIA], drm.SPEKE_V1_SYSTEMS)
    with pytest.raises(UnsupportedDrmSystem, match="does not support URIExtXKey"):
        check_system(FAIRPLAY, "cbcs", [SpekeV1Child.URI_EXT_X_KEY])


def ctx(system_id: str, kid: uuid.UUID, scheme: str = "cbcs") -> drm.KeySignalContext:
    return drm.KeySignalContext(system_id, kid, "ch", scheme, SignallingSettings())


@pytest.mark.parametrize("system_id", [FAIRPLAY, AES128, AES128_V1])
def test_hls_v1_values_are_per_key(system_id):
    a, b = uuid.uuid4(), uuid.uuid4()
    wanted = sorted(HLS_V1, key=lambda c: c.value)
    va = signal(ctx(system_id, a, "cbcs" if system_id == FAIRPLAY else "cbc1"), wanted, drm.SPEKE_V1_SYSTEMS)
    vb = signal(ctx(system_id, b, "cbcs" if system_id == FAIRPLAY else "cbc1"), wanted, drm.SPEKE_V1_SYSTEMS)
    assert str(a) in base64.b64decode(va[SpekeV1Child.URI_EXT_X_KEY]).decode()
    assert va[SpekeV1Child.URI_EXT_X_KEY] != vb[SpekeV1Child.URI_EXT_X_KEY]
    assert base64.b64decode(va[SpekeV1Child.KEY_FORMAT_VERSIONS]) == b"1"


def test_uri_ext_x_key_is_the_v2_lines_uri():
    kid = uuid.uuid4()
    for system_id, scheme in ((FAIRPLAY, "cbcs"), (AES128, "cbc1")):
        v1 = base64.b64decode(
            signal(ctx(system_id, kid, scheme), [SpekeV1Child.URI_EXT_X_KEY], drm.SPEKE_V1_SYSTEMS)[
                SpekeV1Child.URI_EXT_X_KEY
            ]
        ).decode()
        line = base64.b64decode(signal(ctx(system_id, kid, scheme), [Child.HLS_MEDIA])[Child.HLS_MEDIA]).decode()
        assert f'URI="{v1}"' in line


def test_protection_header_is_the_smooth_streaming_pro():
    kid = uuid.uuid4()
    v1 = signal(ctx(PLAYREADY, kid, "cenc"), [SpekeV1Child.PROTECTION_HEADER], drm.SPEKE_V1_SYSTEMS)
    v2 = signal(ctx(PLAYREADY, kid, "cenc"), [Child.SMOOTH_STREAMING])
    assert v1[SpekeV1Child.PROTECTION_HEADER] == v2[Child.SMOOTH_STREAMING]
