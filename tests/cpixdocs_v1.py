"""Small hand-written SPEKE v1 documents (MediaPackage v1 / MediaConvert shapes) for rule-by-rule tests,
independent of the request builders. No X-Speke-Version header, no CPIX@version."""

from __future__ import annotations

from tests import cpixdocs as v2docs

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


V1_DOC = document()
V2_DOC = v2docs.document()


def hostile_v1_cases(cert_b64: str) -> dict[str, tuple[bytes, str | None, str]]:
    """name -> (body, X-Speke-Version header, start of the expected error text)."""
    fp = FAIRPLAY
    return {
        "v1 document with contentId": (
            document(root='contentId="c1"'),
            None,
            "CPIX@contentId is SPEKE v2",
        ),
        "v1 document with id and contentId": (
            document(root='id="c1" contentId="c1"'),
            None,
            "CPIX@contentId is SPEKE v2",
        ),
        "v1 without id": (document(root=""), None, "Missing CPIX@id"),
        "v1 bad id": (document(root='id="../etc"'), None, "Invalid CPIX@id"),
        "v1 with header but no version": (V1_DOC, "2.0", "Missing CPIX@version"),
        "v2 without header": (V2_DOC, None, "Unsupported SPEKE version: the document has CPIX@version"),
        "v2 with speke children": (
            v2docs.document(
                systems=f'<cpix:DRMSystemList><cpix:DRMSystem kid="{v2docs.KID_VIDEO}" systemId="{fp}" '
                f'xmlns:speke="{SPEKE}"><speke:KeyFormat/></cpix:DRMSystem>'
                f'<cpix:DRMSystem kid="{v2docs.KID_AUDIO}" systemId="{fp}"/></cpix:DRMSystemList>'
            ),
            "2.0",
            "speke:KeyFormat in DRMSystem",
        ),
        "scheme in v1": (
            document(
                keys=f'<cpix:ContentKeyList><cpix:ContentKey kid="{KID}" commonEncryptionScheme="cbcs"/>'
                "</cpix:ContentKeyList>"
            ),
            None,
            "ContentKey@commonEncryptionScheme for KID",
        ),
        "unknown system": (
            document(systems=system("11111111-2222-4333-8444-555555555555")),
            None,
            "Unsupported DRMSystem@systemId 11111111-2222-4333-8444-555555555555",
        ),
        "unknown speke child": (
            document(systems=system(fp, "<speke:KeyUri/>")),
            None,
            "Unsupported DRMSystem child speke:KeyUri",
        ),
        "unknown cpix child": (
            document(systems=system(fp, "<cpix:KeyFormat/>")),
            None,
            "Unsupported DRMSystem child cpix:KeyFormat",
        ),
        "foreign child": (
            document(systems=system(fp, '<x:Thing xmlns:x="urn:example"/>')),
            None,
            "Unsupported DRMSystem child {urn:example}Thing",
        ),
        "v2 child in v1": (
            document(systems=system(fp, '<cpix:HLSSignalingData playlist="media"/>')),
            None,
            "cpix:HLSSignalingData in DRMSystem",
        ),
        "duplicate child": (
            document(systems=system(fp, "<cpix:URIExtXKey/><cpix:URIExtXKey/>")),
            None,
            "Duplicate cpix:URIExtXKey",
        ),
        "duplicate undefined child": (
            document(systems=system(fp, "<cpix:PSSH/><cpix:PSSH/>")),
            None,
            "Duplicate cpix:PSSH",
        ),
        "non-empty child": (
            document(systems=system(fp, "<cpix:URIExtXKey>c2tkOi8vZXZpbA==</cpix:URIExtXKey>")),
            None,
            "cpix:URIExtXKey in DRMSystem",
        ),
        "non-empty undefined child": (
            document(systems=system(fp, "<speke:ProtectionHeader>AAAA</speke:ProtectionHeader>")),
            None,
            "speke:ProtectionHeader in DRMSystem",
        ),
        "no ContentKeyList": (document(keys=""), None, "Missing ContentKeyList"),
        "empty ContentKeyList": (document(keys="<cpix:ContentKeyList/>"), None, "Empty ContentKeyList"),
        "no DRMSystemList": (
            document().replace(b"<cpix:DRMSystemList>", b"<cpix:X>").replace(b"</cpix:DRMSystemList>", b"</cpix:X>"),
            None,
            "cpix:DRMSystem out of place: it belongs in cpix:DRMSystemList",  # refused wherever it stands
        ),
        "system for another kid": (document(systems=system(fp, kid=KID_2)), None, "DRMSystem@kid"),
        "duplicate kid": (
            document(
                keys=f'<cpix:ContentKeyList><cpix:ContentKey kid="{KID}"/><cpix:ContentKey kid="{KID}"/></cpix:ContentKeyList>'
            ),
            None,
            "Duplicate ContentKey@kid",
        ),
        "key data in request": (
            document(
                keys=f'<cpix:ContentKeyList><cpix:ContentKey kid="{KID}"><cpix:Data/></cpix:ContentKey></cpix:ContentKeyList>'
            ),
            None,
            "The request carries key data (cpix:Data)",
        ),
        "bad explicitIV": (
            document(
                keys=f'<cpix:ContentKeyList><cpix:ContentKey kid="{KID}" explicitIV="AAAA"/></cpix:ContentKeyList>'
            ),
            None,
            "Invalid ContentKey@explicitIV",
        ),
        "usage rule for another kid": (
            V1_DOC.replace(
                f'<cpix:ContentKeyUsageRule kid="{KID}">'.encode(),
                f'<cpix:ContentKeyUsageRule kid="{KID_2}">'.encode(),
            ),
            None,
            "ContentKeyUsageRule@kid",
        ),
        "period filter to nowhere": (
            V1_DOC.replace(f'periodId="{PERIOD}"'.encode(), b'periodId="keyPeriod_other"'),
            None,
            "KeyPeriodFilter@periodId",
        ),
        "bad period index": (V1_DOC.replace(b'index="11425"', b'index="-1"'), None, "ContentKeyPeriod@index"),
        "bad certificate": (document(delivery=delivery_data("AAAA")), None, ""),
        "unbound prefix": (V1_DOC.replace(f' xmlns:speke="{SPEKE}"'.encode(), b""), None, ""),
        "certificate not base64": (document(delivery=delivery_data("@@@")), None, "DeliveryData X509Certificate"),
    }
