"""Read content keys out of a CPIX response, as an encryptor (MediaPackage) does.

Clear keys come from ``pskc:PlainValue``. Encrypted keys (CPIX 2.3 section 5 / SPEKE v2 "content key
encryption"): the DeliveryData whose certificate carries the caller's public key holds the document
key and the MAC key, each RSA-OAEP (SHA-1, MGF1-SHA-1, empty label) encrypted. Every content key is
``IV || AES-256-CBC(document key, PKCS#7(CEK))``; its ``pskc:ValueMAC`` = HMAC-SHA512(MAC key,
IV || ciphertext) is verified in constant time *before* anything is decrypted.

Errors are ``CpixReadError`` whose text never holds key material.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import uuid
import warnings
from dataclasses import dataclass
from hashlib import sha512
from xml.etree.ElementTree import Element

from cryptography import x509
from cryptography.hazmat.primitives import hashes, padding, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.padding import MGF1, OAEP
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from ._xml import (
    ALG_AES256_CBC,
    ALG_HMAC_SHA512,
    ALG_RSA_OAEP_MGF1P,
    CPIX,
    DS,
    ENC,
    PSKC,
    XmlError,
    child,
    children,
    parse,
    path,
    q,
    text,
)

CEK_BYTES = 16
DOCUMENT_KEY_BYTES = 32


class CpixReadError(ValueError):
    """The response cannot be read: malformed, incomplete, wrong MAC, not for this key."""


@dataclass(frozen=True)
class DeliveryKeys:
    """The unwrapped keys of one DeliveryData (secret: never log, never print)."""

    delivery_data: Element
    document_key: bytes
    mac_key: bytes
    document_key_algorithm: str
    mac_algorithm: str

    def __repr__(self) -> str:  # keep the keys out of tracebacks and debug output
        return f"DeliveryKeys(id={self.delivery_data.get('id')!r})"


def read_content_keys(cpix_xml: bytes, private_key: rsa.RSAPrivateKey | None = None) -> dict[str, bytes]:
    """Map lowercase kid text -> 16-byte content key.

    Without ``private_key`` only clear keys can be read; a document with encrypted keys then fails.
    """
    root = parse_document(cpix_xml)
    key_list = child(root, CPIX, "ContentKeyList")
    if key_list is None:
        raise CpixReadError("no ContentKeyList")
    content_keys = children(key_list, CPIX, "ContentKey")
    delivery: DeliveryKeys | None = None
    if any(path(ck, (CPIX, "Data"), (PSKC, "Secret"), (PSKC, "EncryptedValue")) is not None for ck in content_keys):
        if private_key is None:
            raise CpixReadError("content keys are encrypted: a private key is needed")
        delivery = unwrap_delivery_keys(root, private_key)
    out: dict[str, bytes] = {}
    for ck in content_keys:
        kid = normalise_kid(ck.get("kid"))
        if kid in out:
            raise CpixReadError(f"ContentKey {kid} appears twice")
        out[kid] = content_key_value(ck, delivery)
    return out


def parse_document(cpix_xml: bytes) -> Element:
    try:
        root = parse(cpix_xml)
    except XmlError as exc:
        raise CpixReadError(str(exc)) from None
    if root.tag != q(CPIX, "CPIX"):
        raise CpixReadError("root element is not cpix:CPIX")
    return root


def normalise_kid(value: str | None) -> str:
    if not value:
        raise CpixReadError("ContentKey without kid")
    try:
        return str(uuid.UUID(value.strip()))
    except ValueError:
        raise CpixReadError(f"kid is not a UUID: {value[:40]!r}") from None


def content_key_value(content_key: Element, delivery: DeliveryKeys | None) -> bytes:
    """The CEK of one ContentKey element: clear, or MAC-verified then decrypted."""
    kid = content_key.get("kid", "?")
    secret = path(content_key, (CPIX, "Data"), (PSKC, "Secret"))
    if secret is None:
        raise CpixReadError(f"ContentKey {kid} has no Data/Secret")
    plain = child(secret, PSKC, "PlainValue")
    encrypted = child(secret, PSKC, "EncryptedValue")
    if plain is not None and encrypted is not None:
        raise CpixReadError(f"ContentKey {kid} has both PlainValue and EncryptedValue")
    if plain is not None:
        if delivery is not None:
            raise CpixReadError(f"ContentKey {kid} is in the clear in an encrypted document")
        value = b64(text(plain), f"PlainValue of {kid}")
        if len(value) != CEK_BYTES:
            raise CpixReadError(f"ContentKey {kid} is {len(value)} bytes, expected {CEK_BYTES}")
        return value
    if encrypted is None:
        raise CpixReadError(f"ContentKey {kid} has neither PlainValue nor EncryptedValue")
    if delivery is None:
        raise CpixReadError(f"ContentKey {kid} is encrypted: a private key is needed")
    method = child(encrypted, ENC, "EncryptionMethod")
    algorithm = method.get("Algorithm") if method is not None else None
    if algorithm != ALG_AES256_CBC:
        raise CpixReadError(f"ContentKey {kid} EncryptionMethod is {algorithm!r}, expected aes256-cbc")
    blob = b64(text(path(encrypted, (ENC, "CipherData"), (ENC, "CipherValue"))), f"CipherValue of {kid}")
    mac_element = child(secret, PSKC, "ValueMAC")
    if mac_element is None:
        raise CpixReadError(f"ContentKey {kid} has no ValueMAC")
    expected_mac = b64(text(mac_element), f"ValueMAC of {kid}")
    if len(blob) < 32 or len(blob) % 16:
        raise CpixReadError(f"ContentKey {kid} CipherValue has a bad length ({len(blob)} bytes)")
    actual_mac = hmac.new(delivery.mac_key, blob, sha512).digest()
    if not hmac.compare_digest(actual_mac, expected_mac):
        raise CpixReadError(f"ContentKey {kid} ValueMAC does not verify")
    iv, ciphertext = blob[:16], blob[16:]
    decryptor = Cipher(algorithms.AES(delivery.document_key), modes.CBC(iv)).decryptor()
    padded = decryptor.update(ciphertext) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        value = unpadder.update(padded) + unpadder.finalize()
    except ValueError:
        raise CpixReadError(f"ContentKey {kid} has bad padding after decryption") from None
    if len(value) != CEK_BYTES:
        raise CpixReadError(f"ContentKey {kid} decrypts to {len(value)} bytes, expected {CEK_BYTES}")
    return value


def unwrap_delivery_keys(root: Element, private_key: rsa.RSAPrivateKey) -> DeliveryKeys:
    """Find the DeliveryData for ``private_key`` and RSA-OAEP-decrypt its document and MAC keys."""
    if not isinstance(private_key, rsa.RSAPrivateKey):
        raise CpixReadError("the private key must be RSA")
    delivery_list = child(root, CPIX, "DeliveryDataList")
    if delivery_list is None:
        raise CpixReadError("content keys are encrypted but there is no DeliveryDataList")
    ours = private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    match = None
    for delivery_data in children(delivery_list, CPIX, "DeliveryData"):
        cert_text = text(path(delivery_data, (CPIX, "DeliveryKey"), (DS, "X509Data"), (DS, "X509Certificate")))
        if cert_text and certificate_spki(b64(cert_text, "X509Certificate")) == ours:
            match = delivery_data
            break
    if match is None:
        raise CpixReadError("no DeliveryData carries a certificate for this private key")

    document_key_element = child(match, CPIX, "DocumentKey")
    if document_key_element is None:
        raise CpixReadError("DeliveryData has no DocumentKey")
    document_key_algorithm = document_key_element.get("Algorithm", "")
    if document_key_algorithm != ALG_AES256_CBC:
        raise CpixReadError(f"DocumentKey Algorithm is {document_key_algorithm!r}, expected aes256-cbc")
    document_key = _rsa_unwrap(
        path(document_key_element, (CPIX, "Data"), (PSKC, "Secret"), (PSKC, "EncryptedValue")),
        private_key,
        "DocumentKey",
    )
    if len(document_key) != DOCUMENT_KEY_BYTES:
        raise CpixReadError(f"DocumentKey is {len(document_key)} bytes, expected {DOCUMENT_KEY_BYTES}")

    mac_method = child(match, CPIX, "MACMethod")
    if mac_method is None:
        raise CpixReadError("DeliveryData has no MACMethod")
    mac_algorithm = mac_method.get("Algorithm", "")
    if mac_algorithm != ALG_HMAC_SHA512:
        raise CpixReadError(f"MACMethod Algorithm is {mac_algorithm!r}, expected hmac-sha512")
    mac_key = _rsa_unwrap(_mac_key_container(mac_method), private_key, "MAC key")
    if len(mac_key) < 32:
        raise CpixReadError(f"MAC key is only {len(mac_key)} bytes")
    return DeliveryKeys(match, document_key, mac_key, document_key_algorithm, mac_algorithm)


def _mac_key_container(mac_method: Element) -> Element | None:
    """The element holding enc:EncryptionMethod + enc:CipherData of the MAC key, in any of three forms."""
    key = child(mac_method, CPIX, "Key")
    if key is not None:
        aws_form = child(key, PSKC, "EncryptedValue")  # cpix:Key/pskc:EncryptedValue/enc:*  (AWS)
        if aws_form is not None:
            return aws_form
        if child(key, ENC, "CipherData") is not None:  # cpix:Key/enc:*  (DASH-IF test vectors)
            return key
    return child(mac_method, PSKC, "MACKey")  # pskc:MACKey/enc:*  (RFC 6030)


def _rsa_unwrap(container: Element | None, private_key: rsa.RSAPrivateKey, what: str) -> bytes:
    if container is None:
        raise CpixReadError(f"{what} has no encrypted value")
    method = child(container, ENC, "EncryptionMethod")
    algorithm = method.get("Algorithm") if method is not None else None
    if algorithm != ALG_RSA_OAEP_MGF1P:
        raise CpixReadError(f"{what} EncryptionMethod is {algorithm!r}, expected rsa-oaep-mgf1p")
    ciphertext = b64(text(path(container, (ENC, "CipherData"), (ENC, "CipherValue"))), f"{what} CipherValue")
    try:
        return private_key.decrypt(
            ciphertext,
            OAEP(mgf=MGF1(algorithm=hashes.SHA1()), algorithm=hashes.SHA1(), label=None),  # noqa: S303  # nosec B303 - xmlenc rsa-oaep-mgf1p mandates SHA-1
        )
    except ValueError:
        raise CpixReadError(f"{what} does not decrypt with this private key") from None


def b64(value: str, what: str) -> bytes:
    if not value:
        raise CpixReadError(f"{what} is empty")
    try:
        return base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        raise CpixReadError(f"{what} is not valid base64") from None


# --- certificates ---------------------------------------------------------------------------------


def certificate_spki(der: bytes) -> bytes:
    """The DER SubjectPublicKeyInfo of an X.509 certificate.

    Walks the DER directly so certificates cryptography frowns on (negative serial numbers, as in the
    DASH-IF vectors' Cert2/Cert4) still match; falls back to cryptography, with its warning silenced.
    """
    try:
        return _spki_from_der(der)
    except (IndexError, ValueError):
        pass
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cert = x509.load_der_x509_certificate(der)
            return cert.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
    except ValueError:
        raise CpixReadError("X509Certificate is not a DER certificate") from None


def _der_item(data: bytes, offset: int) -> tuple[int, int, int]:
    """(tag, start of content, end of content) of the DER item at ``offset``."""
    tag = data[offset]
    length = data[offset + 1]
    start = offset + 2
    if length & 0x80:
        count = length & 0x7F
        if not 1 <= count <= 4:
            raise ValueError("bad DER length")
        length = int.from_bytes(data[start : start + count], "big")
        start += count
    end = start + length
    if end > len(data):
        raise ValueError("truncated DER")
    return tag, start, end


def _spki_from_der(der: bytes) -> bytes:
    tag, start, _ = _der_item(der, 0)  # Certificate
    if tag != 0x30:
        raise ValueError("not a SEQUENCE")
    tag, offset, tbs_end = _der_item(der, start)  # TBSCertificate
    if tag != 0x30:
        raise ValueError("not a SEQUENCE")
    fields: list[tuple[int, int, int]] = []
    while offset < tbs_end and len(fields) < 7:
        tag, _, end = _der_item(der, offset)
        fields.append((tag, offset, end))
        offset = end
    if fields and fields[0][0] == 0xA0:  # [0] version
        fields = fields[1:]
    # serial, signature, issuer, validity, subject, subjectPublicKeyInfo
    tag, spki_start, spki_end = fields[5]
    if tag != 0x30:
        raise ValueError("SubjectPublicKeyInfo is not a SEQUENCE")
    return der[spki_start:spki_end]
