"""Every request rule of contract section 2, with the spec's error text, through the library alone."""

import pytest
from speke_keyprovider.errors import SpekeError
from speke_keyprovider.key_sources import StaticMasterKey
from speke_keyprovider.service import KeyExchange
from speke_keyprovider.settings import Settings

from tests import cpixdocs as d
from tests.conftest import MASTER_KEY

K1, K2 = d.KID_VIDEO, d.KID_AUDIO
P2 = "keyPeriod_2"


def answer(body: bytes, settings: Settings | None = None):
    return KeyExchange(settings or Settings(), StaticMasterKey(MASTER_KEY)).answer(body)


def test_minimal_document_is_answered():
    result = answer(d.document())
    assert result.key_count == 2 and not result.encrypted


CASES = {
    # root
    "missing contentId": (d.document(root='version="2.3"'), "Missing CPIX@contentId"),
    "empty contentId": (d.document(root='contentId="" version="2.3"'), "Missing CPIX@contentId"),
    "bad contentId": (d.document(root='contentId="a b" version="2.3"'), "Invalid CPIX@contentId"),
    "long contentId": (d.document(root=f'contentId="{"a" * 257}" version="2.3"'), "Invalid CPIX@contentId"),
    "missing version": (d.document(root='contentId="c"'), "Missing CPIX@version"),
    "version 2.2": (d.document(root='contentId="c" version="2.2"'), "Unsupported CPIX@version"),
    "version 2.4": (d.document(root='contentId="c" version="2.4"'), "Unsupported CPIX@version"),
    "wrong namespace": (
        d.document().replace(b"urn:dashif:org:cpix", b"urn:aws:amazon:com:speke"),
        "Root element must be CPIX in namespace urn:dashif:org:cpix",
    ),
    "no namespace": (b'<CPIX contentId="c" version="2.3"/>', "Root element must be CPIX"),
    # lists
    "missing ContentKeyList": (d.document(keys=""), "Missing ContentKeyList"),
    "empty ContentKeyList": (d.document(keys="<cpix:ContentKeyList/>"), "Empty ContentKeyList"),
    "duplicate ContentKeyList": (d.document(keys=d.content_keys() + d.content_keys()), "Duplicate ContentKeyList"),
    "missing DRMSystemList": (d.document(systems=""), "Missing DRMSystemList"),
    "empty DRMSystemList": (d.document(systems="<cpix:DRMSystemList/>"), "Empty DRMSystemList"),
    "missing usage rules": (d.document(usage=""), "Missing CPIX encryption contract"),
    "empty period list": (
        d.document(period_list="<cpix:ContentKeyPeriodList/>", usage=d.rules(period=None)),
        "Empty ContentKeyPeriodList",
    ),
    # content keys
    "missing kid": (
        d.document(keys='<cpix:ContentKeyList><cpix:ContentKey commonEncryptionScheme="cbcs"/></cpix:ContentKeyList>'),
        "Missing ContentKey@kid",
    ),
    "bad kid": (d.document(keys=d.content_keys(kids=("not-a-uuid", K2))), "Invalid ContentKey@kid"),
    "braced kid": (d.document(keys=d.content_keys(kids=("{" + K1 + "}", K2))), "Invalid ContentKey@kid"),
    "duplicate kid": (d.document(keys=d.content_keys(kids=(K1, K1.upper()))), "Duplicate ContentKey@kid"),
    "missing scheme": (
        d.document(keys=f'<cpix:ContentKeyList><cpix:ContentKey kid="{K1}"/></cpix:ContentKeyList>'),
        f"Missing ContentKey@commonEncryptionScheme for KID {K1}",
    ),
    "unknown scheme": (
        d.document(keys=d.content_keys(scheme="aes-ctr")),
        "Unsupported ContentKey@commonEncryptionScheme",
    ),
    "mixed schemes": (
        d.document(
            keys="<cpix:ContentKeyList>"
            f'<cpix:ContentKey kid="{K1}" commonEncryptionScheme="cbcs"/>'
            f'<cpix:ContentKey kid="{K2}" commonEncryptionScheme="cenc"/></cpix:ContentKeyList>'
        ),
        "Non compliant ContentKey@commonEncryptionScheme combination",
    ),
    "bad explicitIV": (
        d.document(
            keys="<cpix:ContentKeyList>"
            f'<cpix:ContentKey kid="{K1}" commonEncryptionScheme="cbcs" explicitIV="AAAA"/>'
            f'<cpix:ContentKey kid="{K2}" commonEncryptionScheme="cbcs"/></cpix:ContentKeyList>'
        ),
        f"Invalid ContentKey@explicitIV for KID {K1}",
    ),
    "key data in request": (
        d.document(
            keys="<cpix:ContentKeyList>"
            f'<cpix:ContentKey kid="{K1}" commonEncryptionScheme="cbcs"><cpix:Data/>'
            f'</cpix:ContentKey><cpix:ContentKey kid="{K2}" commonEncryptionScheme="cbcs"/>'
            "</cpix:ContentKeyList>"
        ),
        "carries key data",
    ),
    # DRM systems
    "DRMSystem unknown kid": (
        d.document(systems=d.drm_systems(kids=(K1, "11111111-2222-3333-4444-555555555555"))),
        "DRMSystem@kid 11111111-2222-3333-4444-555555555555 does not match any ContentKey",
    ),
    "DRMSystem missing systemId": (
        d.document(systems=f'<cpix:DRMSystemList><cpix:DRMSystem kid="{K1}"/></cpix:DRMSystemList>'),
        "Missing DRMSystem@systemId",
    ),
    "duplicate DRMSystem": (
        d.document(systems=d.drm_systems(systems=(d.WIDEVINE, d.WIDEVINE.upper()))),
        "Duplicate DRMSystem",
    ),
    "unknown system": (
        d.document(systems=d.drm_systems(systems=("11111111-2222-3333-4444-555555555555",))),
        "11111111-2222-3333-4444-555555555555",
    ),
    "FairPlay with cenc": (
        d.document(keys=d.content_keys(scheme="cenc"), systems=d.drm_systems(systems=(d.FAIRPLAY,))),
        f"ContentKey@commonEncryptionScheme non compatible with DRMSystem {d.FAIRPLAY}",
    ),
    "filled PSSH": (
        d.document(
            systems=f'<cpix:DRMSystemList><cpix:DRMSystem kid="{K1}" systemId="{d.WIDEVINE}">'
            "<cpix:PSSH>AAAA</cpix:PSSH></cpix:DRMSystem></cpix:DRMSystemList>"
        ),
        "must be empty",
    ),
    "HLS without playlist": (
        d.document(
            systems=f'<cpix:DRMSystemList><cpix:DRMSystem kid="{K1}" systemId="{d.WIDEVINE}">'
            "<cpix:HLSSignalingData/></cpix:DRMSystem></cpix:DRMSystemList>"
        ),
        "Missing HLSSignalingData@playlist",
    ),
    "unknown child": (
        d.document(
            systems=f'<cpix:DRMSystemList><cpix:DRMSystem kid="{K1}" systemId="{d.WIDEVINE}">'
            "<cpix:URIExtXKey/></cpix:DRMSystem></cpix:DRMSystemList>"
        ),
        "Unsupported DRMSystem child URIExtXKey",
    ),
    # encryption contract
    "no filters at all": (
        d.document(usage=d.rules(video_filter="", audio_filter="")),
        "Missing CPIX encryption contract",
    ),
    "duplicate track type": (
        d.document(usage=d.rules(audio_type="VIDEO", audio_filter="<cpix:VideoFilter/>")),
        "Malformed encryption contract: intendedTrackType VIDEO is not unique",
    ),
    "ALL with another rule": (
        d.document(usage=d.rules(video_type="ALL", video_filter="<cpix:VideoFilter/><cpix:AudioFilter/>")),
        "Malformed encryption contract: ALL must be the only",
    ),
    "ALL with filter values": (
        d.document(
            keys=d.content_keys(kids=(K1,)),
            systems=d.drm_systems(kids=(K1,)),
            usage="<cpix:ContentKeyUsageRuleList>"
            f'<cpix:ContentKeyUsageRule kid="{K1}" intendedTrackType="ALL">'
            '<cpix:VideoFilter maxPixels="10"/><cpix:AudioFilter/>'
            "</cpix:ContentKeyUsageRule></cpix:ContentKeyUsageRuleList>",
        ),
        "Malformed encryption contract: ALL takes exactly one bare AudioFilter",
    ),
    "unknown period": (
        d.document(usage=d.rules(period="keyPeriod_nope")),
        "Malformed encryption contract: KeyPeriodFilter@periodId 'keyPeriod_nope'",
    ),
    "LabelFilter": (
        d.document(usage=d.rules(video_filter='<cpix:LabelFilter label="x"/>')),
        "Requested CPIX encryption contract not supported: LabelFilter",
    ),
    "BitrateFilter": (
        d.document(usage=d.rules(audio_filter='<cpix:BitrateFilter minBitrate="1"/>')),
        "Requested CPIX encryption contract not supported: BitrateFilter",
    ),
    "mixed filters": (
        d.document(usage=d.rules(video_filter="<cpix:VideoFilter/><cpix:AudioFilter/>")),
        "mixes VideoFilter and AudioFilter",
    ),
    "bad minPixels": (
        d.document(usage=d.rules(video_filter='<cpix:VideoFilter minPixels="-5"/>')),
        "Malformed encryption contract: VideoFilter@minPixels",
    ),
    "empty range": (
        d.document(usage=d.rules(video_filter='<cpix:VideoFilter minPixels="10" maxPixels="5"/>')),
        "range is empty",
    ),
    "bad hdr": (d.document(usage=d.rules(video_filter='<cpix:VideoFilter hdr="maybe"/>')), "VideoFilter@hdr"),
    "rule for unknown kid": (
        d.document(usage=d.rules().replace(K2.encode().decode(), "11111111-2222-3333-4444-555555555555")),
        "ContentKeyUsageRule@kid 11111111-2222-3333-4444-555555555555 does not match",
    ),
    "key without rule": (
        d.document(
            usage="<cpix:ContentKeyUsageRuleList>"
            f'<cpix:ContentKeyUsageRule kid="{K1}" intendedTrackType="VIDEO">'
            "<cpix:VideoFilter/></cpix:ContentKeyUsageRule></cpix:ContentKeyUsageRuleList>"
        ),
        f"no ContentKeyUsageRule for KID {K2}",
    ),
    "two rules for one kid": (d.document(usage=d.rules().replace(K2, K1)), "more than one ContentKeyUsageRule"),
    "missing track type": (
        d.document(usage=d.rules().replace('intendedTrackType="AUDIO"', "")),
        f"Missing ContentKeyUsageRule@intendedTrackType for KID {K2}",
    ),
    "too many filters for plain name": (
        d.document(usage=d.rules(video_filter="<cpix:VideoFilter/><cpix:VideoFilter/>")),
        "has 2 filters, expected 1",
    ),
    "SD+HD1 with three filters": (
        d.document(usage=d.rules(video_type="SD+HD1", video_filter="<cpix:VideoFilter/>" * 3)),
        "has 3 filters, expected 1 or 2",
    ),
    # XML safety
    "DOCTYPE": (b'<!DOCTYPE CPIX><cpix:CPIX xmlns:cpix="urn:dashif:org:cpix"/>', "Forbidden XML construct"),
    "entity": (b'<!DOCTYPE r [<!ENTITY a "aaaa">]><r>&a;</r>', "Forbidden XML construct"),
    "external entity": (b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>', "Forbidden XML construct"),
    "not XML": (b"this is not xml", "Malformed XML"),
    "truncated": (d.document()[:200], "Malformed XML"),
}


@pytest.mark.parametrize(("body", "message"), CASES.values(), ids=CASES.keys())
def test_refused_with_clear_text(body, message):
    with pytest.raises(SpekeError) as info:
        answer(body)
    assert message in info.value.public_message
    assert 400 <= info.value.status < 500


def test_sd_hd1_accepts_one_filter_or_one_per_part():
    assert answer(d.document(usage=d.rules(video_type="SD+HD1"))).key_count == 2
    assert (
        answer(
            d.document(
                usage=d.rules(
                    video_type="SD+HD1",
                    video_filter='<cpix:VideoFilter maxPixels="589824"/>'
                    '<cpix:VideoFilter minPixels="589825" maxPixels="921600"/>',
                )
            )
        ).key_count
        == 2
    )


def test_track_types_unique_per_period_not_per_document():
    k3, k4 = "22222222-2222-4222-8222-222222222222", "33333333-3333-4333-8333-333333333333"
    kids = (K1, K2, k3, k4)
    usage = (
        "<cpix:ContentKeyUsageRuleList>"
        + "".join(
            f'<cpix:ContentKeyUsageRule kid="{kid}" intendedTrackType="{track}">'
            f'<cpix:KeyPeriodFilter periodId="{period}"/><cpix:{kind}Filter/></cpix:ContentKeyUsageRule>'
            for kid, track, kind, period in (
                (K1, "VIDEO", "Video", d.PERIOD),
                (K2, "AUDIO", "Audio", d.PERIOD),
                (k3, "VIDEO", "Video", P2),
                (k4, "AUDIO", "Audio", P2),
            )
        )
        + "</cpix:ContentKeyUsageRuleList>"
    )
    body = d.document(
        keys=d.content_keys(kids=kids),
        systems=d.drm_systems(kids=kids),
        period_list=d.periods(ids=(d.PERIOD, P2)),
        usage=usage,
    )
    result = answer(body)
    assert result.key_count == 4 and result.periods == 2
    # The same rules without period filters collide.
    with pytest.raises(SpekeError, match="not unique"):
        answer(body.replace(f'<cpix:KeyPeriodFilter periodId="{P2}"/>'.encode(), b""))


def test_require_encrypted_keys_refuses_clear_requests():
    with pytest.raises(SpekeError, match="Encrypted content keys required") as info:
        answer(d.document(), Settings(require_encrypted_keys=True))
    assert info.value.status == 422


def test_unservable_child_refused_before_any_key_is_derived():
    class Exploding:
        name = "exploding"

        def content_keys(self, content_id, kids):
            raise AssertionError("a key was derived for a request that is refused")

    clearkey = "1077efec-c0b2-4d02-ace3-3c1e52e2fb4b"
    body = d.document(systems=d.drm_systems(systems=(clearkey,)))  # asks ClearKey for HLS signalling
    with pytest.raises(SpekeError, match=f"DRMSystem {clearkey} does not support HLSSignalingData"):
        KeyExchange(Settings(), Exploding()).answer(body)


def test_hls_with_cbc1_refused_before_any_key_is_derived():
    class Exploding:
        name = "exploding"

        def content_keys(self, content_id, kids):
            raise AssertionError("a key was derived for a request that is refused")

    body = d.document(keys=d.content_keys(scheme="cbc1"))  # Widevine HLS signalling has no METHOD for cbc1
    with pytest.raises(SpekeError, match=f"non compatible with DRMSystem {d.WIDEVINE}"):
        KeyExchange(Settings(), Exploding()).answer(body)
