"""The public API of speke_keyprovider.drm: system lookup, scheme checks, child checks, one build per call."""

from __future__ import annotations

import base64
import uuid

import pytest
from speke_keyprovider import drm
from speke_keyprovider.drm import Child, KeySignalContext, check_system, signal
from speke_keyprovider.errors import CpixError, UnsupportedDrmSystem
from speke_keyprovider.settings import SignallingSettings

WIDEVINE = "edef8ba9-79d6-4ace-a3c8-27dcd51d21ed"
PLAYREADY = "9a04f079-9840-4286-ab92-e65be0885f95"
FAIRPLAY = "94ce86fb-07ff-4f43-adb8-93d2fa968ca2"
CLEARKEY = "1077efec-c0b2-4d02-ace3-3c1e52e2fb4b"
AES128 = "3ea8778f-7742-4bf9-b18b-e834b2acbd47"
KID = uuid.UUID("0f083e4e-b831-4a3d-917e-ce78076e54aa")

# what each system serves, per the contract (section 4) and docs/signalling.md
EXPECTED = {
    WIDEVINE: (
        {"cenc", "cbcs", "cbc1", "cens"},
        {Child.PSSH, Child.CONTENT_PROTECTION_DATA, Child.HLS_MEDIA, Child.HLS_MASTER},
    ),
    PLAYREADY: ({"cenc", "cbcs"}, set(Child)),
    FAIRPLAY: ({"cbcs"}, {Child.PSSH, Child.CONTENT_PROTECTION_DATA, Child.HLS_MEDIA, Child.HLS_MASTER}),
    CLEARKEY: ({"cenc", "cbcs", "cbc1", "cens"}, {Child.PSSH, Child.CONTENT_PROTECTION_DATA}),
    AES128: ({"cenc", "cbcs", "cbc1", "cens"}, {Child.HLS_MEDIA, Child.HLS_MASTER}),
}
HLS_SCHEMES = {"cenc", "cbcs"}


def ctx(system_id: str, scheme: str = "cbcs") -> KeySignalContext:
    return KeySignalContext(system_id, KID, "test_case_generic", scheme, SignallingSettings())


def test_child_values_are_the_cpix_names() -> None:
    assert {c.value for c in Child} == {
        "PSSH",
        "ContentProtectionData",
        "HLSSignalingData/media",
        "HLSSignalingData/master",
        "SmoothStreamingProtectionHeaderData",
    }


def test_registry_matches_the_table() -> None:
    assert set(drm.SYSTEMS) == set(EXPECTED)
    for system_id, (schemes, children) in EXPECTED.items():
        assert drm.SYSTEMS[system_id].schemes == schemes, system_id
        assert drm.SYSTEMS[system_id].children == children, system_id


@pytest.mark.parametrize("system_id", sorted(EXPECTED))
@pytest.mark.parametrize("scheme", ["cenc", "cbcs", "cbc1", "cens"])
def test_every_supported_combination_fills_every_child(system_id: str, scheme: str) -> None:
    schemes, children = EXPECTED[system_id]
    if scheme not in schemes:
        with pytest.raises(CpixError) as err:
            check_system(system_id, scheme)
        assert (
            err.value.public_message == f"ContentKey@commonEncryptionScheme non compatible with DRMSystem {system_id}"
        )
        return
    check_system(system_id, scheme)
    wanted = [c for c in Child if c in children]
    if scheme not in HLS_SCHEMES and system_id != AES128:
        wanted = [c for c in wanted if c not in (Child.HLS_MEDIA, Child.HLS_MASTER)]
    out = signal(ctx(system_id, scheme), wanted)
    assert set(out) == set(wanted)
    for child, value in out.items():
        assert value, child
        assert base64.b64decode(value, validate=True), child
        assert base64.b64encode(base64.b64decode(value)).decode() == value  # canonical, padded, no newlines


@pytest.mark.parametrize("system_id", ["00000000-0000-0000-0000-000000000000", "not-a-uuid", ""])
def test_unknown_system_refused_naming_the_id(system_id: str) -> None:
    with pytest.raises(UnsupportedDrmSystem) as err:
        check_system(system_id, "cbcs")
    assert err.value.public_message == f"Unsupported DRMSystem@systemId {system_id}"
    assert err.value.status == 422
    with pytest.raises(UnsupportedDrmSystem):
        signal(ctx(system_id), [Child.PSSH])


def test_system_id_compared_case_insensitively() -> None:
    check_system(WIDEVINE.upper(), "cenc")
    upper = signal(ctx(WIDEVINE.upper()), [Child.PSSH])
    assert upper == signal(ctx(WIDEVINE), [Child.PSSH])


def test_unsupported_child_names_the_first_one_in_request_order() -> None:
    with pytest.raises(UnsupportedDrmSystem) as err:
        signal(ctx(CLEARKEY), [Child.PSSH, Child.HLS_MASTER, Child.SMOOTH_STREAMING])
    assert err.value.public_message == f"DRMSystem {CLEARKEY} does not support HLSSignalingData"


def test_scheme_checked_before_children() -> None:
    with pytest.raises(CpixError) as err:
        signal(ctx(FAIRPLAY, "cenc"), [Child.SMOOTH_STREAMING])
    assert "non compatible" in err.value.public_message


def test_no_children_no_values() -> None:
    assert signal(ctx(PLAYREADY), []) == {}


def test_duplicate_children_are_answered_once() -> None:
    assert list(signal(ctx(WIDEVINE), [Child.PSSH, Child.PSSH])) == [Child.PSSH]


@pytest.mark.parametrize(("module", "system_id"), [(drm.widevine, WIDEVINE), (drm.playready, PLAYREADY)])
def test_pssh_built_once_per_call(monkeypatch: pytest.MonkeyPatch, module: object, system_id: str) -> None:
    calls = []
    real = module.pssh_v0  # type: ignore[attr-defined]

    def counting(*args: object) -> bytes:
        calls.append(args)
        return real(*args)

    monkeypatch.setattr(module, "pssh_v0", counting)
    children = [c for c in Child if c in drm.SYSTEMS[system_id].children]
    signal(ctx(system_id), children)
    assert len(calls) == 1


def test_same_input_same_output_and_kid_changes_output() -> None:
    a = signal(ctx(PLAYREADY), list(Child))
    assert a == signal(ctx(PLAYREADY), list(Child))
    other = KeySignalContext(PLAYREADY, uuid.UUID(int=KID.int ^ 1), "test_case_generic", "cbcs", SignallingSettings())
    b = signal(other, list(Child))
    assert all(a[c] != b[c] for c in Child)
