"""Small hand-written SPEKE v1 documents (MediaPackage v1 / MediaConvert shapes) for rule-by-rule tests,
independent of the request builders. No X-Speke-Version header, no CPIX@version."""

from __future__ import annotations

KID = "0f083e4e-b831-4a3d-917e-ce78076e54aa"
KID_2 = "041fdd3a-7f5e-4848-a7cb-65e97758e9a0"
WIDEVINE = "edef8ba9-79d6-4ace-a3c8-27dcd51d21ed"
PLAYREADY = "9a04f079-9840-4286-ab92-e65be0885f95"
FAIRPLAY = "94ce86fb-07ff-4f43-adb8-93d2fa968ca2"
CLEARKEY = "1077efec-c0b2-4d02-ace3-3c1e52e2fb4b"
AES128 = "3ea8778f-7742-4bf9-b18b-e834b2acbd47"
AES128_V1 = "81376844-f976-481e-a84e-cc25d39b0b33"
PERIOD = "keyPeriod_e64248f6-f307-4b9d-8e7a-ea2b6d8e4e1a"
SPEKE = "urn:aws:amazon:com:speke"

NS = f'xmlns:cpix="urn:dashif:org:cpix" xmlns:pskc="urn:ietf:params:xml:ns:keyprov:pskc" xmlns:speke="{SPEKE}"'
NS_DELIVERY = 'xmlns:ds="http://www.w3.org/2000/09/xmldsig#" xmlns:enc="http://www.w3.org/2001/04/xmlenc#"'
ALL_SIX = (
    "<cpix:ContentProtectionData/><speke:KeyFormat/><speke:KeyFormatVersions/><speke:ProtectionHeader/>"
    "<cpix:PSSH/><cpix:URIExtXKey/>"
)


def system(system_id: str, children: str = ALL_SIX, kid: str = KID) -> str:
    return f'<cpix:DRMSystem kid="{kid}" systemId="{system_id}">{children}</cpix:DRMSystem>'


def document(
    *,
    root: str = 'id="test_case_generic"',
    delivery: str = "",
    keys: str | None = None,
    systems: str | None = None,
    live: bool = True,
    extra: str = "",
) -> bytes:
    keys = f'<cpix:ContentKeyList><cpix:ContentKey kid="{KID}"/></cpix:ContentKeyList>' if keys is None else keys
    systems = system(FAIRPLAY) if systems is None else systems
    parts = [delivery, keys, f"<cpix:DRMSystemList>{systems}</cpix:DRMSystemList>"]
    if live:
        parts.append(
            f'<cpix:ContentKeyPeriodList><cpix:ContentKeyPeriod id="{PERIOD}" index="11425"/></cpix:ContentKeyPeriodList>'
            f'<cpix:ContentKeyUsageRuleList><cpix:ContentKeyUsageRule kid="{KID}">'
            f'<cpix:KeyPeriodFilter periodId="{PERIOD}"/></cpix:ContentKeyUsageRule></cpix:ContentKeyUsageRuleList>'
        )
    ns = NS + (" " + NS_DELIVERY if delivery else "")
    return f'<?xml version="1.0" encoding="UTF-8"?><cpix:CPIX {ns} {root}>{"".join(parts)}{extra}</cpix:CPIX>'.encode()


def delivery_data(cert_b64: str) -> str:
    return (
        '<cpix:DeliveryDataList><cpix:DeliveryData id="dd1"><cpix:DeliveryKey><ds:X509Data>'
        f"<ds:X509Certificate>{cert_b64}</ds:X509Certificate></ds:X509Data></cpix:DeliveryKey>"
        "</cpix:DeliveryData></cpix:DeliveryDataList>"
    )
