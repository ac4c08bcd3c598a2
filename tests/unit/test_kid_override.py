"""KID override (speke-v2.1.md section 4): the published vectors (reproduced by an independent KBKDF), the new KID
in every element and inside every PSSH / PlayReady header / HLS line, keys derived from it, refusals for shapes
that cannot be deterministic, two independent providers agreeing; off by default and never for v2.0."""

import base64
import uuid
import xml.etree.ElementTree as ET

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.kbkdf import KBKDFHMAC, CounterLocation, Mode
from speke_keyprovider.errors import SpekeError
from speke_keyprovider.key_derivation import derive_cek, derive_override_kid, kid_message
from speke_keyprovider.key_sources import FileMasterKey, StaticMasterKey
from speke_keyprovider.service import KeyExchange
from speke_keyprovider.settings import Settings
from speke_keyprovider.settings_v21 import V21Settings
from speke_keyprovider_tools.client.response_reader import read_content_keys
from speke_keyprovider_tools.client.signalling import (
    data_uri_payload,
    parse_hls_key_tag,
    parse_playready_object,
    parse_pssh,
    parse_widevine_data,
)

from tests import cpixdocs as d
from tests import cpixdocs_v21 as d21
from tests.conftest import MASTER_KEY

CPIX = "{urn:dashif:org:cpix}"

# The published vectors (docs/kid-override.md): K_master = UTF-8 of 0123456789abcdef0123456789abcdef.
VECTORS = [  # KIDs and keys of the published vectors: test values, not secrets
    ("channel-1", "VIDEO", "2026-12-01T20:00:00Z", "caaad6bd-d5e6-8b52-97d0-f5a3426f6ec3", "f0460c54afb3fec9615e4b54da20524d"),  # pragma: allowlist secret
    ("channel-1", "AUDIO", "2026-12-01T20:00:00Z", "49a74b83-d301-8024-ae15-badfcde9efbf", "58ed45538946c3bad117cd0e94558285"),  # pragma: allowlist secret
    ("channel-1", "VIDEO", "2026-12-01T20:15:00Z", "eccbbfe1-d1e5-8e0f-bc52-60043ad7332f", "813b1d3f783cbcf42c79ff54d74ac947"),  # pragma: allowlist secret
    ("channel-1", "HD", "7", "9b6ffa2d-2857-8063-8147-bba26c15fa62", "c7da16d3d02ab91640192a653dab9bd6"),  # pragma: allowlist secret
    ("test_case_generic", "ALL", "-", "3ea7690f-5957-8491-96b0-7af86dacf127", "c8f3ed94029954b9cc82280d8b7866bd"),  # pragma: allowlist secret
    ("live-sports-7", "SD+HD1", "2026-12-01T20:15:00Z", "18397bc9-208a-8ff9-9aa5-e48878d8e006", "7a00b0ccf961fd9a65afa1e8921aca9d"),  # pragma: allowlist secret
]  # fmt: skip


def independent_kid(master: bytes, content_id: str, track_type: str, period_id: str) -> uuid.UUID:
    """The formula from its text, with cryptography's SP 800-108 KBKDF and RFC 9562's bit layout."""
    raw = KBKDFHMAC(
        algorithm=hashes.SHA256(),
        mode=Mode.CounterMode,
        length=16,
        rlen=4,
        llen=4,
        location=CounterLocation.BeforeFixed,
        label=b"speke-kid-v1",
        context=b"\x00".join(part.encode() for part in (content_id, track_type, period_id)),
        fixed=None,
    ).derive(master)
    as_int = int.from_bytes(raw, "big")
    as_int &= ~(0xF000 << 64)  # version: bits 48..51 from the top
    as_int |= 0x8000 << 64
    as_int &= ~(0xC000 << 48)  # variant: bits 64..65 from the top
    as_int |= 0x8000 << 48
    return uuid.UUID(int=as_int)


@pytest.mark.parametrize(("content_id", "track_type", "period_id", "kid", "cek"), VECTORS)
def test_published_vectors(content_id, track_type, period_id, kid, cek):
    assert independent_kid(MASTER_KEY, content_id, track_type, period_id) == uuid.UUID(kid)
    derived = derive_override_kid(MASTER_KEY, content_id, track_type, period_id)
    assert derived == uuid.UUID(kid) and derived.version == 8 and derived.variant == uuid.RFC_4122
    assert derive_cek(MASTER_KEY, content_id, derived).hex() == cek


def test_kid_message_bytes():
    assert (
        kid_message("channel-1", "HD", "7") == b"\x00\x00\x00\x01speke-kid-v1\x00channel-1\x00HD\x007\x00\x00\x00\x80"
    )


def exchange(master=MASTER_KEY, *, override=True, **v21):
    settings = Settings(v21=V21Settings(kid_override=override, **v21))
    return KeyExchange(settings, StaticMasterKey(master))


def kids_in(body: bytes) -> dict[str, set[str]]:
    root = ET.fromstring(body)
    return {
        name: {e.get("kid") for e in root.iter(f"{CPIX}{name}")}
        for name in ("ContentKey", "DRMSystem", "ContentKeyUsageRule")
    }


ALL_SYSTEMS = (d.WIDEVINE, d.PLAYREADY, d.FAIRPLAY)


def live_document(kids=(d.KID_VIDEO, d.KID_AUDIO), start="2026-12-01T20:00:00Z", index='index="7"', **kwargs) -> bytes:
    period = d21.period(d.PERIOD, index, f'start="{start}"', 'end="2026-12-01T20:15:00Z"')
    return d21.document(
        keys=d.content_keys(kids=kids),
        systems=kwargs.pop("systems", d.drm_systems(systems=ALL_SYSTEMS, kids=kids)),
        periods=d21.period_list(period),
        usage=kwargs.pop("usage", d.rules().replace(d.KID_VIDEO, kids[0]).replace(d.KID_AUDIO, kids[1])),
        **kwargs,
    )


def test_override_everywhere_and_keys_from_the_new_kid():
    body = exchange().answer(live_document(), "2.1").body
    video = derive_override_kid(MASTER_KEY, "test_case_generic", "VIDEO", "2026-12-01T20:00:00Z")
    audio = derive_override_kid(MASTER_KEY, "test_case_generic", "AUDIO", "2026-12-01T20:00:00Z")
    expected = {str(video), str(audio)}
    assert kids_in(body) == {"ContentKey": expected, "DRMSystem": expected, "ContentKeyUsageRule": expected}
    text = body.decode()
    assert d.KID_VIDEO not in text and d.KID_AUDIO not in text
    assert read_content_keys(body) == {str(k): derive_cek(MASTER_KEY, "test_case_generic", k) for k in (video, audio)}
    root = ET.fromstring(body)
    seen = 0
    for system in root.iter(f"{CPIX}DRMSystem"):
        kid = uuid.UUID(system.get("kid"))
        values = {(c.tag[len(CPIX) :], c.get("playlist")): c.text for c in system}
        for (tag, _), value in values.items():
            if tag == "PSSH":
                box = parse_pssh(base64.b64decode(value))
                if system.get("systemId") == d.WIDEVINE:
                    assert parse_widevine_data(box.data).key_ids == [kid.bytes]
                elif system.get("systemId") == d.PLAYREADY:
                    assert [k for k, _ in parse_playready_object(box.data).kids] == [kid]
                else:
                    assert box.kids == [kid]
                seen += 1
            elif tag == "HLSSignalingData":
                tag_line = parse_hls_key_tag(base64.b64decode(value).decode())
                uri = tag_line.attributes["URI"]
                if uri.startswith("skd://"):
                    assert str(kid) in uri
                else:
                    _, payload = data_uri_payload(uri)
                    if system.get("systemId") == d.WIDEVINE:
                        assert parse_widevine_data(parse_pssh(payload).data).key_ids == [kid.bytes]
                    else:
                        assert [k for k, _ in parse_playready_object(payload).kids] == [kid]
                seen += 1
    assert seen == 2 * (3 + 3 + 2)  # per key: Widevine PSSH + 2 HLS, PlayReady PSSH + 2 HLS, FairPlay 2 HLS


@pytest.mark.parametrize(
    ("start", "index", "period_id"),
    [
        ("2026-12-01T21:00:00+01:00", 'index="7"', "2026-12-01T20:00:00Z"),  # start wins, normalised to UTC
        ("2026-12-01T20:00:00.750Z", "", "2026-12-01T20:00:00Z"),  # fractional seconds dropped
    ],
)
def test_period_id_is_the_utc_start(start, index, period_id):
    body = exchange().answer(live_document(start=start, index=index), "2.1").body
    assert str(derive_override_kid(MASTER_KEY, "test_case_generic", "VIDEO", period_id)) in kids_in(body)["ContentKey"]
    assert f'start="{start}"'.encode() in body  # echoed as sent, not normalised


def test_period_id_is_the_index_then_dash():
    doc = d21.document(periods=d21.period_list(d21.period(d.PERIOD, 'index="007"')))
    body = exchange().answer(doc, "2.1").body
    assert str(derive_override_kid(MASTER_KEY, "test_case_generic", "VIDEO", "7")) in kids_in(body)["ContentKey"]
    doc = d21.document(periods="", usage=d.rules(period=None))
    body = exchange().answer(doc, "2.1").body
    assert str(derive_override_kid(MASTER_KEY, "test_case_generic", "AUDIO", "-")) in kids_in(body)["ContentKey"]


def _two_periods(first: str, second: str) -> bytes:
    kids = [str(uuid.UUID(int=i + 1, version=4)) for i in range(4)]
    keys = "".join(f'<cpix:ContentKey kid="{k}" commonEncryptionScheme="cbcs"/>' for k in kids)
    rules = "".join(
        f'<cpix:ContentKeyUsageRule kid="{kids[2 * i + j]}" intendedTrackType="{t}">'
        f'<cpix:KeyPeriodFilter periodId="p{i}"/><cpix:{t.title()}Filter/></cpix:ContentKeyUsageRule>'
        for i in range(2)
        for j, t in enumerate(("VIDEO", "AUDIO"))
    )
    return d21.document(
        keys=f"<cpix:ContentKeyList>{keys}</cpix:ContentKeyList>",
        systems=d.drm_systems(kids=kids),
        periods=d21.period_list(d21.period("p0", first), d21.period("p1", second)),
        usage=f"<cpix:ContentKeyUsageRuleList>{rules}</cpix:ContentKeyUsageRuleList>",
    )


REFUSED = {
    "same second": (
        _two_periods(
            'start="2026-12-01T20:00:00Z" end="2026-12-01T20:00:00.5Z"',
            'start="2026-12-01T20:00:00.5Z" end="2026-12-01T20:00:01Z"',
        ),
        "2 keys for intendedTrackType VIDEO in key period 2026-12-01T20:00:00Z",
    ),
    "same instant, two zones": (
        _two_periods(
            'start="2026-12-01T20:00:00Z" end="2026-12-01T20:10:00Z"',
            'start="2026-12-01T21:00:00+01:00" end="2026-12-01T21:20:00+01:00"',
        ),
        "2 keys for intendedTrackType VIDEO",
    ),
    "VOD offsets only": (
        _two_periods('startOffset="PT0S" endOffset="PT1M"', 'startOffset="PT1M" endOffset="PT2M"'),
        "in key period -",
    ),
    "no KeyPeriodFilter with two periods": (
        d21.document(
            periods=d21.period_list(d21.period("p0", 'index="1"'), d21.period("p1", 'index="2"')),
            usage=d.rules(period=None),
        ),
        "applies to 2 key periods",
    ),
    "start without timezone": (
        d21.document(
            periods=d21.period_list(d21.period(d.PERIOD, 'start="2026-12-01T20:00:00"', 'end="2026-12-01T20:10:00"'))
        ),
        "has a @start without a timezone",
    ),
}


@pytest.mark.parametrize(("body", "expected"), REFUSED.values(), ids=REFUSED.keys())
def test_requests_that_cannot_be_deterministic_are_refused(body, expected):
    class NoKeys(StaticMasterKey):
        def content_keys(self, content_id, kids):
            raise AssertionError("a key was derived for a refused request")

        def override_kids(self, content_id, inputs):
            raise AssertionError("an override KID was derived for a refused request")

    with pytest.raises(SpekeError) as caught:
        KeyExchange(Settings(v21=V21Settings(kid_override=True)), NoKeys(MASTER_KEY)).answer(body, "2.1")
    assert caught.value.status == 422
    assert caught.value.public_message.startswith("KID override cannot be made deterministic for this request")
    assert expected in caught.value.public_message
    assert exchange(override=False).answer(body, "2.1").body  # without the override the same request is fine


def test_off_by_default_and_never_for_v20():
    assert Settings().v21.kid_override is False
    body = exchange(override=False).answer(live_document(), "2.1").body
    assert kids_in(body)["ContentKey"] == {d.KID_VIDEO, d.KID_AUDIO}
    body = exchange().answer(d.document(), "2.0").body
    assert kids_in(body)["ContentKey"] == {d.KID_VIDEO, d.KID_AUDIO}


def test_two_independent_providers_agree_with_different_request_kids(tmp_path):
    """Two providers started apart (different key homes holding the same master) asked for the same contentId,
    track types and window with different random KIDs answer the same KIDs and the same keys."""
    (tmp_path / "a").write_bytes(MASTER_KEY + b"\n")
    (tmp_path / "b").write_bytes(MASTER_KEY)
    region_a = KeyExchange(Settings(v21=V21Settings(kid_override=True)), FileMasterKey(tmp_path / "a"))
    region_b = KeyExchange(Settings(v21=V21Settings(kid_override=True)), StaticMasterKey(bytes(MASTER_KEY)))
    kids_a = (str(uuid.uuid4()), str(uuid.uuid4()))
    kids_b = (str(uuid.uuid4()), str(uuid.uuid4()))
    answer_a = region_a.answer(live_document(kids_a), "2.1")
    answer_b = region_b.answer(live_document(kids_b), "2.1")
    assert answer_a.requested_kids == kids_a and answer_b.requested_kids == kids_b
    assert answer_a.kids == answer_b.kids
    assert read_content_keys(answer_a.body) == read_content_keys(answer_b.body)
    assert len(read_content_keys(answer_a.body)) == 2
    # a different master gives other KIDs: the agreement comes from the master, not from the formula alone
    other = exchange(b"another master key of at least 32 bytes").answer(live_document(kids_a), "2.1")
    assert set(other.kids).isdisjoint(answer_a.kids)
