"""The rendered response: schema-valid, every echo rule kept, keys right, encrypted keys decrypt."""

import base64
import hashlib
import hmac
import uuid
import xml.etree.ElementTree as ET

import pytest
import xmlschema
from speke_keyprovider.key_derivation import derive_cek
from speke_keyprovider.key_sources import StaticMasterKey
from speke_keyprovider.key_wrapping import DeliveryKeys, SealedKey, open_content_key, rsa_oaep_unwrap
from speke_keyprovider.service import KeyExchange
from speke_keyprovider.settings import Settings, SignallingSettings
from speke_keyprovider_tools.client.request_builder import build_request
from speke_keyprovider_tools.client.response_reader import read_content_keys

from tests import cpixdocs as d
from tests.conftest import CPIX_XSD, MASTER_KEY

NS = {
    "cpix": "urn:dashif:org:cpix",
    "pskc": "urn:ietf:params:xml:ns:keyprov:pskc",
    "enc": "http://www.w3.org/2001/04/xmlenc#",
    "ds": "http://www.w3.org/2000/09/xmldsig#",
}


@pytest.fixture(scope="module")
def schema():
    return xmlschema.XMLSchema10(str(CPIX_XSD), allow="local")


def exchange(**settings):
    return KeyExchange(Settings(**settings), StaticMasterKey(MASTER_KEY))


def canonical(element: ET.Element) -> list:
    """Tag, attributes and children of an element, recursively (for echo comparisons)."""
    return [
        element.tag,
        sorted(element.attrib.items()),
        (element.text or "").strip(),
        [canonical(child) for child in element],
    ]


@pytest.mark.parametrize("encrypted", [False, True])
@pytest.mark.parametrize("scheme", ["cenc", "cbcs"])
def test_response_is_schema_valid_and_echoes(schema, delivery_cert_der, delivery_private_key, encrypted, scheme):
    systems = ["widevine", "playready"] + (["fairplay"] if scheme == "cbcs" else ["clearkey"])
    built = build_request(
        content_id="channel-1",
        video_preset="PRESET_VIDEO_3",
        audio_preset="PRESET_AUDIO_2",
        drm_systems=systems,
        scheme=scheme,
        periods=2,
        certificate_der=delivery_cert_der if encrypted else None,
    )
    body = exchange().answer(built.xml).body
    schema.validate(body.decode())
    request, response = ET.fromstring(built.xml), ET.fromstring(body)
    assert response.attrib == request.attrib
    for name in ("ContentKeyPeriodList", "ContentKeyUsageRuleList"):
        assert canonical(response.find(f"cpix:{name}", NS)) == canonical(request.find(f"cpix:{name}", NS))
    req_keys = request.findall("cpix:ContentKeyList/cpix:ContentKey", NS)
    resp_keys = response.findall("cpix:ContentKeyList/cpix:ContentKey", NS)
    assert [k.attrib for k in resp_keys] == [k.attrib for k in req_keys]
    req_systems = request.findall("cpix:DRMSystemList/cpix:DRMSystem", NS)
    resp_systems = response.findall("cpix:DRMSystemList/cpix:DRMSystem", NS)
    assert [s.attrib for s in resp_systems] == [s.attrib for s in req_systems]
    for req_system, resp_system in zip(req_systems, resp_systems, strict=True):
        assert [(c.tag, c.attrib) for c in resp_system] == [(c.tag, c.attrib) for c in req_system]
        assert all((c.text or "").strip() for c in resp_system), "every requested child is filled"
    keys = read_content_keys(body, delivery_private_key if encrypted else None)
    assert keys == {str(k.kid): derive_cek(MASTER_KEY, "channel-1", k.kid) for k in built.keys}
    assert (b"PlainValue" in body) is not encrypted


def test_encrypted_response_by_hand(delivery_cert_der, delivery_private_key):
    """Decrypt following contract section 3 step by step, MAC checked before decrypting."""
    cert_b64 = base64.b64encode(delivery_cert_der).decode()
    body = exchange().answer(d.document(delivery=d.delivery_data(cert_b64))).body
    root = ET.fromstring(body)
    delivery = root.find("cpix:DeliveryDataList/cpix:DeliveryData", NS)
    assert [child.tag.split("}")[1] for child in delivery] == ["DeliveryKey", "DocumentKey", "MACMethod"]
    assert delivery.get("id") == "dd1"
    document_key_el = delivery.find("cpix:DocumentKey", NS)
    assert document_key_el.get("Algorithm") == "http://www.w3.org/2001/04/xmlenc#aes256-cbc"
    wrapped_doc = document_key_el.find("cpix:Data/pskc:Secret/pskc:EncryptedValue", NS)
    assert (
        wrapped_doc.find("enc:EncryptionMethod", NS).get("Algorithm")
        == "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"
    )
    document_key = rsa_oaep_unwrap(
        delivery_private_key, base64.b64decode(wrapped_doc.find("enc:CipherData/enc:CipherValue", NS).text)
    )
    mac_method = delivery.find("cpix:MACMethod", NS)
    assert mac_method.get("Algorithm") == "http://www.w3.org/2001/04/xmldsig-more#hmac-sha512"
    mac_key = rsa_oaep_unwrap(
        delivery_private_key,
        base64.b64decode(mac_method.find("cpix:Key/pskc:EncryptedValue/enc:CipherData/enc:CipherValue", NS).text),
    )
    assert len(document_key) == 32 and len(mac_key) == 64
    for key in root.findall("cpix:ContentKeyList/cpix:ContentKey", NS):
        secret = key.find("cpix:Data/pskc:Secret", NS)
        assert secret.find("pskc:PlainValue", NS) is None
        assert (
            secret.find("pskc:EncryptedValue/enc:EncryptionMethod", NS).get("Algorithm")
            == "http://www.w3.org/2001/04/xmlenc#aes256-cbc"
        )
        cipher_value = base64.b64decode(secret.find("pskc:EncryptedValue/enc:CipherData/enc:CipherValue", NS).text)
        value_mac = base64.b64decode(secret.find("pskc:ValueMAC", NS).text)
        assert len(cipher_value) == 48 and len(value_mac) == 64
        cek = open_content_key(DeliveryKeys(document_key, mac_key), SealedKey(cipher_value, value_mac))
        assert cek == derive_cek(MASTER_KEY, "test_case_generic", uuid.UUID(key.get("kid")))


def test_each_response_has_fresh_document_and_mac_keys(delivery_cert_der, delivery_private_key):
    cert_b64 = base64.b64encode(delivery_cert_der).decode()
    body = d.document(delivery=d.delivery_data(cert_b64))
    first, second = exchange().answer(body).body, exchange().answer(body).body
    assert first != second
    assert read_content_keys(first, delivery_private_key) == read_content_keys(second, delivery_private_key)


def test_same_request_twice_same_keys_other_content_id_other_keys():
    body = d.document()
    assert read_content_keys(exchange().answer(body).body) == read_content_keys(exchange().answer(body).body)
    other = body.replace(b'contentId="test_case_generic"', b'contentId="channel-1"')
    a, b = read_content_keys(exchange().answer(body).body), read_content_keys(exchange().answer(other).body)
    assert a[d.KID_VIDEO] != b[d.KID_VIDEO]
    assert a[d.KID_VIDEO].hex() == "f11a18a35cc5cb5080547aff81458d53"
    assert b[d.KID_VIDEO].hex() == "cd5c270734dae433313b53838fdf7a1d"


def test_legacy_root_id_is_dropped_and_foreign_content_kept():
    body = d.document(root='contentId="test_case_generic" version="2.3" id="legacy"')
    body = body.replace(b"<cpix:PSSH/>", b'<cpix:PSSH/><x:Ext xmlns:x="urn:example:ext">keep</x:Ext>', 1)
    response = exchange().answer(body).body
    root = ET.fromstring(response)
    assert "id" not in root.attrib
    assert root.find(".//{urn:example:ext}Ext").text == "keep"


def test_uppercase_kids_are_echoed_as_sent():
    upper = d.KID_VIDEO.upper()
    body = d.document().replace(d.KID_VIDEO.encode(), upper.encode())
    response = exchange().answer(body).body
    assert f'kid="{upper}"'.encode() in response and d.KID_VIDEO.encode() not in response
    assert read_content_keys(response)[d.KID_VIDEO].hex() == "f11a18a35cc5cb5080547aff81458d53"


def test_explicit_iv_echoed_and_never_invented_by_default():
    iv = base64.b64encode(bytes(range(16))).decode()
    body = d.document().replace(
        f'kid="{d.KID_VIDEO}" commonEncryptionScheme="cbcs"'.encode(),
        f'kid="{d.KID_VIDEO}" commonEncryptionScheme="cbcs" explicitIV="{iv}"'.encode(),
    )
    root = ET.fromstring(exchange().answer(body).body)
    ivs = [k.get("explicitIV") for k in root.findall("cpix:ContentKeyList/cpix:ContentKey", NS)]
    assert ivs == [iv, None]
    derived = exchange(signalling=SignallingSettings(derived_explicit_iv=True))
    root = ET.fromstring(derived.answer(body).body)
    ivs = [k.get("explicitIV") for k in root.findall("cpix:ContentKeyList/cpix:ContentKey", NS)]
    # speke-v1.md section 5: the KDF with the label speke-iv-v1, computed here from the formula itself.
    message = (
        b"\x00\x00\x00\x01speke-iv-v1\x00" + uuid.UUID(d.KID_AUDIO).bytes + b"test_case_generic" + b"\x00\x00\x00\x80"
    )
    assert ivs[0] == iv, "the request's own IV is echoed"
    assert base64.b64decode(ivs[1]) == hmac.digest(MASTER_KEY, message, "sha256")[:16]
    again = ET.fromstring(derived.answer(body).body).findall("cpix:ContentKeyList/cpix:ContentKey", NS)
    assert [k.get("explicitIV") for k in again] == ivs, "retries get the same IV"
    keys = read_content_keys(exchange().answer(body).body)
    assert base64.b64decode(ivs[1]) not in keys.values(), "the IV is never the key"


def test_certificate_fingerprint_reported(delivery_cert_der):
    cert_b64 = base64.b64encode(delivery_cert_der).decode()
    result = exchange().answer(d.document(delivery=d.delivery_data(cert_b64)))
    assert result.certificate_sha256 == (hashlib.sha256(delivery_cert_der).hexdigest(),)
    assert result.encrypted
