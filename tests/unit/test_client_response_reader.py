"""client.response_reader: clear and encrypted content keys, DASH-IF vectors and a round trip."""

from __future__ import annotations

import base64
import re
import uuid
import warnings
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key, pkcs12
from speke_keyprovider_tools.client.request_builder import build_request
from speke_keyprovider_tools.client.response_reader import CpixReadError, read_content_keys

from tests.conftest import CPIX_XSD
from tests.conftest import DASHIF as VECTORS
from tests.reference_responder import ReferenceResponder

CERTS = Path(__file__).parents[1] / "fixtures" / "certs"
CERT_DER = (CERTS / "delivery.cert.der").read_bytes()

EXPECTED = {
    "bd5adf51-cf04-410f-aac3-ec63a69e929e": "3rWoHYasQubO6HbJGrGtLw==",
    "d2920429-87ab-41e6-a4c5-a8c836b6312e": "O5w9FdZiwmQK4uIXzAziaQ==",
    "e17ba4b8-faff-4d30-bcba-7485e3f2e884": "Cwu/3hSBBRQ7SurBdZD5ow==",
    "0ae6b9ad-92d2-4ebe-882b-1d07dee70715": "FB6/Eck9Y9SXy6bY8UU/Mw==",
}


def _pfx_key(n: int):
    with warnings.catch_warnings():  # Cert2/Cert4 have negative serial numbers: cryptography warns
        warnings.simplefilter("ignore")
        key, _cert, _extra = pkcs12.load_key_and_certificates(
            (VECTORS / f"Cert{n}.pfx").read_bytes(), f"Cert{n}".encode()
        )
    return key


@pytest.fixture(scope="module")
def delivery_key():
    return load_pem_private_key((CERTS / "delivery.key.pem").read_bytes(), password=None)


def _vector(name: str) -> bytes:
    return (VECTORS / name).read_bytes()


def test_dashif_encrypted_content_keys_decrypt_to_the_readme_values():
    keys = read_content_keys(_vector("EncryptedContentKeys.xml"), _pfx_key(1))
    assert {kid: base64.b64encode(v).decode() for kid, v in keys.items()} == EXPECTED


def test_dashif_wrong_mac_is_refused():
    with pytest.raises(CpixReadError, match="ValueMAC does not verify"):
        read_content_keys(_vector("Invalid_WrongMac.xml"), _pfx_key(1))


def test_dashif_clear_keys():
    keys = read_content_keys(_vector("ClearContentKeysOnly.xml"))
    assert base64.b64encode(keys["40d02dd1-61a3-4787-a155-572325d47b80"]).decode() == "gPxt0PMwrHM4TdjwdQmhhQ=="
    assert len(keys) == 4 and all(len(v) == 16 for v in keys.values())


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_dashif_multiple_recipients_each_can_decrypt(n):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the reader itself must not trip over negative serials
        keys = read_content_keys(_vector("EncryptedContentKeysWithMultipleRecipients.xml"), _pfx_key(n))
    assert len(keys) == 4 and all(len(v) == 16 for v in keys.values())


def test_encrypted_without_private_key_or_with_a_stranger_key():
    doc = _vector("EncryptedContentKeys.xml")
    with pytest.raises(CpixReadError, match="private key is needed"):
        read_content_keys(doc)
    with pytest.raises(CpixReadError, match="no DeliveryData"):
        read_content_keys(doc, rsa.generate_private_key(public_exponent=65537, key_size=2048))


@pytest.mark.parametrize("form", ["aws", "dashif", "rfc6030"])
def test_round_trip_with_every_mac_key_form(delivery_key, form):
    built = build_request(
        content_id="rt",
        video_preset="PRESET_VIDEO_2",
        audio_preset="PRESET_AUDIO_1",
        drm_systems=["widevine"],
        certificate_der=CERT_DER,
    )
    responder = ReferenceResponder(mac_key_form=form)
    answer = responder.respond(built.xml)
    assert b"PlainValue" not in answer
    keys = read_content_keys(answer, delivery_key)
    assert keys == responder.keys_served
    assert set(keys) == {str(k.kid) for k in built.keys}


def test_round_trip_clear():
    built = build_request(
        content_id="rt",
        video_preset="PRESET_VIDEO_1",
        audio_preset="PRESET_AUDIO_1",
        drm_systems=["widevine"],
    )
    responder = ReferenceResponder(cek_for=lambda cid, kid: kid.bytes[::-1])
    keys = read_content_keys(responder.respond(built.xml))
    assert keys == {str(k.kid): k.kid.bytes[::-1] for k in built.keys}


def _encrypted_answer(fault=None):
    built = build_request(
        content_id="rt",
        video_preset="PRESET_VIDEO_1",
        audio_preset="UNENCRYPTED",
        drm_systems=["widevine"],
        certificate_der=CERT_DER,
    )
    return ReferenceResponder(fault=fault).respond(built.xml)


def test_round_trip_wrong_mac_is_refused(delivery_key):
    with pytest.raises(CpixReadError, match="ValueMAC"):
        read_content_keys(_encrypted_answer("wrong_mac"), delivery_key)


def test_plain_value_in_an_encrypted_answer_is_refused(delivery_key):
    with pytest.raises(CpixReadError, match="PlainValue"):
        read_content_keys(_encrypted_answer("added_plainvalue"), delivery_key)


def test_tampered_ciphertext_fails_the_mac_before_decrypting(delivery_key):
    doc = _encrypted_answer().decode()
    cipher = re.search(
        r"<enc:CipherValue>([^<]+)</enc:CipherValue></enc:CipherData></pskc:EncryptedValue>"
        r"<pskc:ValueMAC>",
        doc,
    )
    blob = bytearray(base64.b64decode(cipher.group(1)))
    blob[-1] ^= 0xFF  # would also break the padding: the MAC must be what reports it
    doc = doc.replace(cipher.group(1), base64.b64encode(bytes(blob)).decode())
    with pytest.raises(CpixReadError, match="ValueMAC does not verify"):
        read_content_keys(doc.encode(), delivery_key)


def _doc(keys: bytes) -> bytes:
    return (
        b'<CPIX xmlns="urn:dashif:org:cpix" xmlns:p="urn:ietf:params:xml:ns:keyprov:pskc">'
        b"<ContentKeyList>" + keys + b"</ContentKeyList></CPIX>"
    )


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (b"", "empty"),
        (b"<not-xml", "well-formed"),
        (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>', "forbidden"),
        (b'<x xmlns="urn:other"/>', "root element"),
        (b'<CPIX xmlns="urn:dashif:org:cpix"/>', "no ContentKeyList"),
        (
            _doc(b'<ContentKey kid="nope"/>'),
            "not a UUID",
        ),
        (
            _doc(b'<ContentKey kid="%s"/>' % str(uuid.UUID(int=5)).encode()),
            "no Data/Secret",
        ),
        (
            _doc(
                b'<ContentKey kid="%s"><Data><p:Secret><p:PlainValue>AAAA</p:PlainValue></p:Secret></Data>'
                b"</ContentKey>" % str(uuid.UUID(int=5)).encode()
            ),
            "3 bytes",
        ),
    ],
)
def test_malformed_documents(document, message):
    with pytest.raises(CpixReadError, match=message):
        read_content_keys(document)


def test_errors_never_carry_key_material(delivery_key):
    responder = ReferenceResponder(fault="wrong_mac")
    built = build_request(
        content_id="rt",
        video_preset="PRESET_VIDEO_1",
        audio_preset="UNENCRYPTED",
        drm_systems=["widevine"],
        certificate_der=CERT_DER,
    )
    answer = responder.respond(built.xml)
    with pytest.raises(CpixReadError) as info:
        read_content_keys(answer, delivery_key)
    for value in responder.keys_served.values():
        assert value.hex() not in str(info.value) and base64.b64encode(value).decode() not in str(info.value)


@pytest.mark.parametrize("encrypted", [False, True])
def test_reference_answers_validate_against_the_cpix_schema(encrypted):
    xmlschema = pytest.importorskip("xmlschema")
    schema = xmlschema.XMLSchema10(str(CPIX_XSD), allow="local")
    built = build_request(
        content_id="xsd",
        video_preset="PRESET_VIDEO_8",
        audio_preset="PRESET_AUDIO_3",
        drm_systems=["widevine", "playready", "fairplay", "clearkey", "aes128"],
        periods=2,
        certificate_der=CERT_DER if encrypted else None,
    )
    schema.validate(ReferenceResponder().respond(built.xml).decode())
