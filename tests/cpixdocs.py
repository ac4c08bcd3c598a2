"""Small hand-written SPEKE v2 documents for rule-by-rule tests (independent of the request builder)."""

from __future__ import annotations

KID_VIDEO = "0f083e4e-b831-4a3d-917e-ce78076e54aa"
KID_AUDIO = "041fdd3a-7f5e-4848-a7cb-65e97758e9a0"
WIDEVINE = "edef8ba9-79d6-4ace-a3c8-27dcd51d21ed"
PLAYREADY = "9a04f079-9840-4286-ab92-e65be0885f95"
FAIRPLAY = "94ce86fb-07ff-4f43-adb8-93d2fa968ca2"
PERIOD = "keyPeriod_e4b4b5a3-6d1c-4a9f-8d3e-2b1f0c9a7e55"

NS = (
    'xmlns:cpix="urn:dashif:org:cpix" xmlns:pskc="urn:ietf:params:xml:ns:keyprov:pskc" '
    'xmlns:ds="http://www.w3.org/2000/09/xmldsig#" xmlns:enc="http://www.w3.org/2001/04/xmlenc#"'
)


def content_keys(scheme: str = "cbcs", kids=(KID_VIDEO, KID_AUDIO)) -> str:
    return (
        "<cpix:ContentKeyList>"
        + "".join(f'<cpix:ContentKey kid="{kid}" commonEncryptionScheme="{scheme}"/>' for kid in kids)
        + "</cpix:ContentKeyList>"
    )


def drm_systems(systems=(WIDEVINE,), kids=(KID_VIDEO, KID_AUDIO)) -> str:
    items = "".join(
        f'<cpix:DRMSystem kid="{kid}" systemId="{sid}"><cpix:PSSH/><cpix:ContentProtectionData/>'
        f'<cpix:HLSSignalingData playlist="media"/><cpix:HLSSignalingData playlist="master"/></cpix:DRMSystem>'
        if sid != FAIRPLAY
        else f'<cpix:DRMSystem kid="{kid}" systemId="{sid}"><cpix:HLSSignalingData playlist="media"/>'
        f'<cpix:HLSSignalingData playlist="master"/></cpix:DRMSystem>'
        for kid in kids
        for sid in systems
    )
    return f"<cpix:DRMSystemList>{items}</cpix:DRMSystemList>"


def periods(ids=(PERIOD,)) -> str:
    return (
        "<cpix:ContentKeyPeriodList>"
        + "".join(f'<cpix:ContentKeyPeriod id="{pid}" index="{i + 1}"/>' for i, pid in enumerate(ids))
        + "</cpix:ContentKeyPeriodList>"
    )


def rules(
    video_filter: str = "<cpix:VideoFilter/>",
    audio_filter: str = "<cpix:AudioFilter/>",
    period: str | None = PERIOD,
    video_type: str = "VIDEO",
    audio_type: str = "AUDIO",
) -> str:
    kpf = f'<cpix:KeyPeriodFilter periodId="{period}"/>' if period else ""
    return (
        "<cpix:ContentKeyUsageRuleList>"
        f'<cpix:ContentKeyUsageRule kid="{KID_VIDEO}" intendedTrackType="{video_type}">{kpf}{video_filter}'
        "</cpix:ContentKeyUsageRule>"
        f'<cpix:ContentKeyUsageRule kid="{KID_AUDIO}" intendedTrackType="{audio_type}">{kpf}{audio_filter}'
        "</cpix:ContentKeyUsageRule></cpix:ContentKeyUsageRuleList>"
    )


def document(
    *,
    root: str = 'contentId="test_case_generic" version="2.3"',
    delivery: str = "",
    keys: str | None = None,
    systems: str | None = None,
    period_list: str | None = None,
    usage: str | None = None,
) -> bytes:
    parts = [
        delivery,
        content_keys() if keys is None else keys,
        drm_systems() if systems is None else systems,
        periods() if period_list is None else period_list,
        rules() if usage is None else usage,
    ]
    return f'<?xml version="1.0" encoding="UTF-8"?><cpix:CPIX {NS} {root}>{"".join(parts)}</cpix:CPIX>'.encode()


def delivery_data(cert_b64: str) -> str:
    return (
        '<cpix:DeliveryDataList><cpix:DeliveryData id="dd1"><cpix:DeliveryKey><ds:X509Data>'
        f"<ds:X509Certificate>{cert_b64}</ds:X509Certificate></ds:X509Data></cpix:DeliveryKey>"
        "</cpix:DeliveryData></cpix:DeliveryDataList>"
    )
