"""Whatever a request carries is echoed into the answer, so a request carries no key data anywhere, and
inside ContentKey and DeliveryData nothing but the elements a request may hold (any other element, any
namespace, response-only ones, text) is refused. Otherwise an encrypted answer would carry a request's
PlainValue, or two DocumentKeys, and fail the schema."""

from __future__ import annotations

import base64
from functools import cache

import pytest
import xmlschema
from speke_keyprovider.errors import SpekeError
from speke_keyprovider.key_sources import StaticMasterKey
from speke_keyprovider.service import KeyExchange
from speke_keyprovider.settings import Settings
from speke_keyprovider_tools.client.response_reader import read_content_keys

from tests import cpixdocs as d
from tests.conftest import CERTS, CPIX_XSD, MASTER_KEY

K1 = d.KID_VIDEO
X = 'xmlns:x="urn:example:other"'
SECRET = "<pskc:Secret><pskc:PlainValue>QUFBQUFBQUFBQUFBQUFBQQ==</pskc:PlainValue></pskc:Secret>"
ENCRYPTED = (
    '<pskc:Secret><pskc:EncryptedValue><enc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes256-cbc"/>'
    "<enc:CipherData><enc:CipherValue>AAAA</enc:CipherValue></enc:CipherData></pskc:EncryptedValue></pskc:Secret>"
)
DOCUMENT_KEY = f'<cpix:DocumentKey Algorithm="http://www.w3.org/2001/04/xmlenc#aes256-cbc"><cpix:Data>{ENCRYPTED}</cpix:Data></cpix:DocumentKey>'


@cache
def cert_b64() -> str:
    return base64.b64encode((CERTS / "delivery.cert.der").read_bytes()).decode()


def answer(body: bytes):
    return KeyExchange(Settings(), StaticMasterKey(MASTER_KEY)).answer(body)


def with_content_key_child(inner: str, kid: str = K1) -> bytes:
    keys = d.content_keys().replace(
        f'<cpix:ContentKey kid="{kid}" commonEncryptionScheme="cbcs"/>',
        f'<cpix:ContentKey kid="{kid}" commonEncryptionScheme="cbcs">{inner}</cpix:ContentKey>',
    )
    return d.document(keys=keys, delivery=d.delivery_data(cert_b64()))


def with_delivery_data(inner_after_key: str = "", inside_key: str = "", inside_x509: str = "") -> bytes:
    delivery = (
        '<cpix:DeliveryDataList><cpix:DeliveryData id="dd1"><cpix:DeliveryKey><ds:X509Data>'
        f"<ds:X509Certificate>{cert_b64()}</ds:X509Certificate>{inside_x509}</ds:X509Data>{inside_key}"
        f"</cpix:DeliveryKey>{inner_after_key}</cpix:DeliveryData></cpix:DeliveryDataList>"
    )
    return d.document(delivery=delivery)


REFUSED = {
    "pskc:Secret directly in ContentKey": with_content_key_child(SECRET),
    "pskc:PlainValue directly in ContentKey": with_content_key_child(
        "<pskc:PlainValue>QUFBQUFBQUFBQUFBQUFBQQ==</pskc:PlainValue>"
    ),
    "foreign-namespace Data in ContentKey": with_content_key_child(f"<x:Data {X}>{SECRET}</x:Data>"),
    "foreign Data with foreign PlainValue": with_content_key_child(
        f"<x:Data {X}><x:PlainValue>QUFBQUFBQUFBQUFBQUFBQQ==</x:PlainValue></x:Data>"
    ),
    "unnamespaced Data in ContentKey": with_content_key_child('<Data xmlns="">QUFBQUFBQUFBQUFBQUFBQQ==</Data>'),
    "cpix:Data in ContentKey": with_content_key_child(f"<cpix:Data>{SECRET}</cpix:Data>"),
    "Secret inside FriendlyName": with_content_key_child(f"<cpix:FriendlyName>{SECRET}</cpix:FriendlyName>"),
    "FriendlyName before KeyReference": with_content_key_child(
        "<cpix:FriendlyName>main video</cpix:FriendlyName><cpix:KeyReference>ref-1</cpix:KeyReference>"
    ),
    "two FriendlyNames": with_content_key_child("<cpix:FriendlyName>a</cpix:FriendlyName>" * 2),
    "Description before DeliveryKey": d.document(
        delivery=d.delivery_data(cert_b64()).replace(
            "<cpix:DeliveryKey>", "<cpix:Description>x</cpix:Description><cpix:DeliveryKey>"
        )
    ),
    "cpix:Policy in ContentKey": with_content_key_child("<cpix:Policy/>"),
    "unknown cpix element in ContentKey": with_content_key_child("<cpix:Whatever/>"),
    "foreign element in ContentKey": with_content_key_child(f"<x:note {X}>hello</x:note>"),
    "text in ContentKey": with_content_key_child("QUFBQUFBQUFBQUFBQUFBQQ=="),
    "wrapped DocumentKey in DeliveryData": with_delivery_data(f"<x:wrap {X}>{DOCUMENT_KEY}</x:wrap>"),
    "DocumentKey in DeliveryData": with_delivery_data(DOCUMENT_KEY),
    "DocumentKey inside DeliveryKey": with_delivery_data(inside_key=DOCUMENT_KEY),
    "MACMethod inside X509Data": with_delivery_data(
        inside_x509='<cpix:MACMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#hmac-sha512"/>'
    ),
    "foreign element in DeliveryData": with_delivery_data(f"<x:extra {X}/>"),
    "foreign element in DeliveryKey": with_delivery_data(inside_key=f"<x:extra {X}/>"),
    "ds:KeyValue in DeliveryKey": with_delivery_data(inside_key="<ds:KeyValue/>"),
    "second X509Certificate": with_delivery_data(inside_x509=f"<ds:X509Certificate>{cert_b64()}</ds:X509Certificate>"),
    "Secret inside Description": with_delivery_data(f"<cpix:Description>{SECRET}</cpix:Description>"),
    "PlainValue in a DRMSystem extension": d.document(
        systems=d.drm_systems().replace(
            "<cpix:PSSH/>", f"<cpix:PSSH/><x:ext {X}><pskc:PlainValue>QUFB</pskc:PlainValue></x:ext>", 1
        )
    ),
    "foreign PlainValue in a DRMSystem extension": d.document(
        systems=d.drm_systems().replace("<cpix:PSSH/>", f"<cpix:PSSH/><x:PlainValue {X}>QUFB</x:PlainValue>", 1)
    ),
    "cpix:Data under the root": d.document(keys=d.content_keys() + f"<cpix:Data>{SECRET}</cpix:Data>"),
    # found by the coverage-guided fuzzer: a DeliveryDataList without its namespace, its cpix:DeliveryData echoed
    "unnamespaced DeliveryDataList": d.document(
        delivery=d.delivery_data(cert_b64())
        .replace("<cpix:DeliveryDataList>", '<DeliveryDataList xmlns="">')
        .replace("</cpix:DeliveryDataList>", "</DeliveryDataList>")
    ),
    "DeliveryData inside ContentKeyList": d.document(
        keys=d.content_keys().replace(
            "</cpix:ContentKeyList>",
            d.delivery_data(cert_b64()).removeprefix("<cpix:DeliveryDataList>").removesuffix("</cpix:DeliveryDataList>")
            + "</cpix:ContentKeyList>",
        )
    ),
    "ContentKey inside DRMSystemList": d.document(
        systems=d.drm_systems().replace(
            "</cpix:DRMSystemList>", f'<cpix:ContentKey kid="{d.KID_AUDIO}"/></cpix:DRMSystemList>'
        )
    ),
    "foreign-namespace ContentKey": d.document(
        keys=d.content_keys().replace("</cpix:ContentKeyList>", f'<x:ContentKey {X} kid="{K1}"/></cpix:ContentKeyList>')
    ),
    "ContentKeyList inside ContentKeyList": d.document(
        keys=d.content_keys().replace("</cpix:ContentKeyList>", d.content_keys() + "</cpix:ContentKeyList>")
    ),
    "DocumentKey in ContentKeyPeriodList": d.document(
        period_list=d.periods().replace("</cpix:ContentKeyPeriodList>", DOCUMENT_KEY + "</cpix:ContentKeyPeriodList>")
    ),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_key_data_and_unknown_content_are_refused(name):
    with pytest.raises(SpekeError) as info:
        answer(REFUSED[name])
    assert info.value.status == 422, info.value.public_message


ACCEPTED = {
    "KeyReference and FriendlyName": with_content_key_child(
        "<cpix:KeyReference>ref-1</cpix:KeyReference><cpix:FriendlyName>main video</cpix:FriendlyName>"
    ),
    "Description and ReceivingEntity": with_delivery_data(
        "<cpix:Description>MediaPackage</cpix:Description><cpix:ReceivingEntity>mp</cpix:ReceivingEntity>"
    ),
    "X509SubjectName beside the certificate": with_delivery_data(
        inside_x509="<ds:X509SubjectName>CN=www.test.example</ds:X509SubjectName>"
    ),
}


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_what_a_request_may_hold_is_answered_and_the_answer_is_valid(name, delivery_private_key):
    result = answer(ACCEPTED[name])
    assert result.encrypted
    assert b"PlainValue" not in result.body and result.body.count(b"<cpix:DocumentKey ") == 1
    xmlschema.XMLSchema10(str(CPIX_XSD), allow="local").validate(result.body)
    assert len(read_content_keys(result.body, delivery_private_key)) == 2
