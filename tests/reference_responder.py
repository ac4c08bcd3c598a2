"""Test support: a small, independent *reference* SPEKE v2 responder, and named ways to break it.

It answers a request the way the contract (sections 1-4) says a key provider must, with its own
signalling writers and its own content-key encryption, so that the client side (reader, checker,
CLI) can be tested without the provider, and so that each deliberately broken answer (``FAULTS``)
can be produced on demand. It shares no code with the provider on purpose.

Not for production use: keys come from the caller (``cek_for``) or are random.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import struct
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element

from cryptography import x509
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.padding import MGF1, OAEP
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from speke_keyprovider_tools.client._xml import (
    ALG_AES256_CBC,
    ALG_HMAC_SHA512,
    ALG_RSA_OAEP_MGF1P,
    CPIX,
    DS,
    ENC,
    PSKC,
    Writer,
    child,
    children,
    local_name,
    namespace,
    parse,
    path,
    q,
    text,
)
from speke_keyprovider_tools.client.request_builder import AES128, CHILDREN, CLEARKEY, FAIRPLAY, PLAYREADY, WIDEVINE

PLAYREADY_NS = "http://schemas.microsoft.com/DRM/2007/03/PlayReadyHeader"
USER_AGENT = "speke-reference-responder/1"

FAULTS: dict[str, str] = {
    "wrong_mac": "the first ValueMAC does not verify",
    "pssh_cpd_mismatch": "the first ContentProtectionData carries a different pssh than the PSSH element",
    "changed_scheme": "the first ContentKey comes back with the other commonEncryptionScheme",
    "dropped_child": "the first requested signalling child is missing",
    "added_child": "a signalling child nobody asked for is added",
    "added_plainvalue": "an encrypted answer also carries a PlainValue",
    "changed_kid": "the first ContentKey comes back with another kid",
    "wrong_hls_method": "HLS media playlist METHOD does not follow the scheme",
    "master_differs": "the HLS master line differs from the media line by more than the tag",
    "wrong_pssh_kid": "the first PSSH lists another kid",
    "changed_content_id": "CPIX@contentId is not echoed",
    "dropped_period": "a ContentKeyPeriod is missing",
    "missing_user_agent": "no X-Speke-User-Agent header",
    "missing_version_header": "no X-Speke-Version header",
    "wrong_version_header": "X-Speke-Version: 1.0",
    "wrong_content_type": "Content-Type: text/plain",
    "status_500": "HTTP 500 with a text body",
    "error_with_200": "a plain-text error body with status 200",
}


# --- signalling writers ---------------------------------------------------------------------------


def pssh_box(system_id: str, data: bytes = b"", kids: list[uuid.UUID] | None = None) -> bytes:
    """ISO/IEC 23001-7 pssh box: v1 when ``kids`` is given, else v0."""
    version = 1 if kids is not None else 0
    body = struct.pack(">I", version << 24) + uuid.UUID(system_id).bytes
    if kids is not None:
        body += struct.pack(">I", len(kids)) + b"".join(k.bytes for k in kids)
    body += struct.pack(">I", len(data)) + data
    return struct.pack(">I", 8 + len(body)) + b"pssh" + body


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def widevine_pssh_data(kid: uuid.UUID, content_id: str, scheme: str, provider: str = "reference") -> bytes:
    def field_bytes(number: int, value: bytes) -> bytes:
        return _varint(number << 3 | 2) + _varint(len(value)) + value

    out = field_bytes(2, kid.bytes) + field_bytes(3, provider.encode()) + field_bytes(4, content_id.encode())
    out += _varint(9 << 3) + _varint(int.from_bytes(scheme.encode("ascii"), "big"))
    return out


def playready_pro(kid: uuid.UUID, scheme: str, la_url: str | None = None) -> bytes:
    kid_b64 = base64.b64encode(kid.bytes_le).decode("ascii")
    algid = "AESCBC" if scheme == "cbcs" else "AESCTR"
    la = f"<LA_URL>{la_url}</LA_URL>" if la_url else ""
    header = (
        f'<WRMHEADER xmlns="{PLAYREADY_NS}" version="4.3.0.0"><DATA><PROTECTINFO><KIDS>'
        f'<KID ALGID="{algid}" VALUE="{kid_b64}"></KID></KIDS></PROTECTINFO>{la}</DATA></WRMHEADER>'
    ).encode("utf-16-le")
    record = struct.pack("<HH", 1, len(header)) + header
    return struct.pack("<IH", 6 + len(record), 1) + record


def _hls(system_id: str, kid: uuid.UUID, scheme: str, content_id: str, pssh: bytes | None, pro: bytes | None) -> str:
    method = "SAMPLE-AES" if scheme == "cbcs" else "SAMPLE-AES-CTR"
    if system_id == WIDEVINE:
        uri = "data:text/plain;base64," + base64.b64encode(pssh or b"").decode()
        return f'#EXT-X-KEY:METHOD={method},URI="{uri}",KEYFORMAT="urn:uuid:{WIDEVINE}",KEYFORMATVERSIONS="1"'
    if system_id == PLAYREADY:
        uri = "data:text/plain;charset=UTF-16;base64," + base64.b64encode(pro or b"").decode()
        return f'#EXT-X-KEY:METHOD={method},KEYFORMAT="com.microsoft.playready",KEYFORMATVERSIONS="1",URI="{uri}"'
    if system_id == FAIRPLAY:
        return (
            f'#EXT-X-KEY:METHOD=SAMPLE-AES,URI="skd://{content_id}/{kid}",'
            f'KEYFORMAT="com.apple.streamingkeydelivery",KEYFORMATVERSIONS="1"'
        )
    if system_id == AES128:
        return (
            f'#EXT-X-KEY:METHOD=AES-128,URI="https://keys.example.com/{content_id}/{kid}",'
            f'KEYFORMAT="identity",KEYFORMATVERSIONS="1"'
        )
    raise ValueError(f"no HLS signalling for {system_id}")


def signal(system_id: str, kid: uuid.UUID, scheme: str, content_id: str) -> dict[str, str]:
    """Every child this responder can fill for (system, kid): child name -> element text (base64)."""
    pssh: bytes | None = None
    pro: bytes | None = None
    out: dict[str, bytes] = {}
    if system_id == WIDEVINE:
        pssh = pssh_box(WIDEVINE, widevine_pssh_data(kid, content_id, scheme))
        out["ContentProtectionData"] = _cenc_pssh(pssh)
    elif system_id == PLAYREADY:
        pro = playready_pro(kid, scheme)
        pssh = pssh_box(PLAYREADY, pro)
        out["ContentProtectionData"] = (
            _cenc_pssh(pssh)
            + (
                '<mspr:pro xmlns:mspr="urn:microsoft:playready">' + base64.b64encode(pro).decode() + "</mspr:pro>"
            ).encode()
        )
        out["SmoothStreamingProtectionHeaderData"] = pro
    elif system_id in (FAIRPLAY, CLEARKEY):
        pssh = pssh_box(system_id, kids=[kid])
        if system_id == CLEARKEY:
            out["ContentProtectionData"] = _cenc_pssh(pssh)
    if pssh is not None:
        out["PSSH"] = pssh
    if system_id in (WIDEVINE, PLAYREADY, FAIRPLAY, AES128):
        media = _hls(system_id, kid, scheme, content_id, pssh, pro)
        out["HLSSignalingData:media"] = media.encode()
        out["HLSSignalingData:master"] = media.replace("#EXT-X-KEY:", "#EXT-X-SESSION-KEY:", 1).encode()
    return {name: base64.b64encode(value).decode("ascii") for name, value in out.items()}


def _cenc_pssh(pssh: bytes) -> bytes:
    return ('<cenc:pssh xmlns:cenc="urn:mpeg:cenc:2013">' + base64.b64encode(pssh).decode() + "</cenc:pssh>").encode()


# --- content key encryption (the provider's side of contract section 3) ------------------------------

_OAEP = OAEP(mgf=MGF1(algorithm=hashes.SHA1()), algorithm=hashes.SHA1(), label=None)  # noqa: S303


def rsa_wrap(public_key: rsa.RSAPublicKey, secret: bytes) -> bytes:
    return public_key.encrypt(secret, _OAEP)


def encrypt_content_key(
    cek: bytes, document_key: bytes, mac_key: bytes, iv: bytes | None = None
) -> tuple[bytes, bytes]:
    """(IV || AES-256-CBC(PKCS#7(cek)), HMAC-SHA512(mac_key, that))."""
    iv = os.urandom(16) if iv is None else iv
    padder = padding.PKCS7(128).padder()
    padded = padder.update(cek) + padder.finalize()
    encryptor = Cipher(algorithms.AES(document_key), modes.CBC(iv)).encryptor()
    blob = iv + encryptor.update(padded) + encryptor.finalize()
    return blob, hmac.new(mac_key, blob, hashlib.sha512).digest()


# --- the responder --------------------------------------------------------------------------------


@dataclass
class HttpAnswer:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass
class ReferenceResponder:
    """Answers requests per the contract; ``fault`` (a key of ``FAULTS``) breaks one thing on purpose.

    ``mac_key_form``: ``aws`` (cpix:Key/pskc:EncryptedValue), ``dashif`` (cpix:Key/enc:*) or ``rfc6030``
    (pskc:MACKey).
    """

    cek_for: Callable[[str, uuid.UUID], bytes] | None = None
    fault: str | None = None
    mac_key_form: str = "aws"
    keys_served: dict[str, bytes] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.fault is not None and self.fault not in FAULTS:
            raise ValueError(f"unknown fault {self.fault!r}")

    def http(self, request_xml: bytes, headers: Mapping[str, str] | None = None) -> HttpAnswer:
        fault = self.fault
        if fault == "status_500":
            return HttpAnswer(500, {"Content-Type": "text/plain"}, b"internal error")
        if fault == "error_with_200":
            return HttpAnswer(
                200,
                {"Content-Type": "text/plain", "X-Speke-Version": "2.0", "X-Speke-User-Agent": USER_AGENT},
                b"Missing CPIX@contentId",
            )
        out_headers = {
            "Content-Type": "application/xml",
            "X-Speke-Version": "2.0",
            "X-Speke-User-Agent": USER_AGENT,
        }
        if fault == "missing_user_agent":
            del out_headers["X-Speke-User-Agent"]
        elif fault == "missing_version_header":
            del out_headers["X-Speke-Version"]
        elif fault == "wrong_version_header":
            out_headers["X-Speke-Version"] = "1.0"
        elif fault == "wrong_content_type":
            out_headers["Content-Type"] = "text/plain"
        return HttpAnswer(200, out_headers, self.respond(request_xml))

    def respond(self, request_xml: bytes) -> bytes:
        root = parse(request_xml)
        fault = self.fault
        content_id = root.get("contentId", "")
        version = root.get("version", "")
        key_list = child(root, CPIX, "ContentKeyList")
        drm_list = child(root, CPIX, "DRMSystemList")
        period_list = child(root, CPIX, "ContentKeyPeriodList")
        rule_list = child(root, CPIX, "ContentKeyUsageRuleList")
        if key_list is None or drm_list is None or rule_list is None:
            raise ValueError("request lacks a mandatory list")
        schemes = {ck.get("kid", "").lower(): ck.get("commonEncryptionScheme", "") for ck in key_list}

        w = Writer()
        w.open(
            "cpix:CPIX",
            {
                "xmlns:cpix": CPIX,
                "xmlns:pskc": PSKC,
                "xmlns:ds": DS,
                "xmlns:enc": ENC,
                "contentId": "tampered" if fault == "changed_content_id" else content_id,
                "version": version,
            },
        )
        delivery = child(root, CPIX, "DeliveryDataList")
        keys: tuple[bytes, bytes] | None = None
        if delivery is not None:
            keys = self._write_delivery(w, delivery)

        w.open("cpix:ContentKeyList")
        for n, ck in enumerate(children(key_list, CPIX, "ContentKey")):
            kid = uuid.UUID(ck.get("kid", ""))
            cek = self.cek_for(content_id, kid) if self.cek_for else os.urandom(16)
            self.keys_served[str(kid)] = cek
            attrs = dict(ck.attrib)
            if n == 0 and fault == "changed_scheme":
                attrs["commonEncryptionScheme"] = "cenc" if attrs.get("commonEncryptionScheme") == "cbcs" else "cbcs"
            if n == 0 and fault == "changed_kid":
                attrs["kid"] = str(uuid.uuid4())
            w.open("cpix:ContentKey", attrs)
            w.open("cpix:Data")
            w.open("pskc:Secret")
            if keys is None:
                w.leaf("pskc:PlainValue", base64.b64encode(cek).decode())
            else:
                blob, mac = encrypt_content_key(cek, *keys)
                if n == 0 and fault == "wrong_mac":
                    mac = bytes([mac[0] ^ 1]) + mac[1:]
                w.open("pskc:EncryptedValue")
                w.empty("enc:EncryptionMethod", {"Algorithm": ALG_AES256_CBC})
                w.open("enc:CipherData")
                w.leaf("enc:CipherValue", base64.b64encode(blob).decode())
                w.close("enc:CipherData")
                w.close("pskc:EncryptedValue")
                w.leaf("pskc:ValueMAC", base64.b64encode(mac).decode())
                if n == 0 and fault == "added_plainvalue":
                    w.leaf("pskc:PlainValue", base64.b64encode(cek).decode())
            w.close("pskc:Secret")
            w.close("cpix:Data")
            w.close("cpix:ContentKey")
        w.close("cpix:ContentKeyList")

        w.open("cpix:DRMSystemList")
        first_child_done = False
        for n, system in enumerate(children(drm_list, CPIX, "DRMSystem")):
            kid = uuid.UUID(system.get("kid", ""))
            system_id = system.get("systemId", "").lower()
            signalled = signal(system_id, kid, schemes.get(str(kid), "cbcs"), content_id)
            if n == 0 and fault == "wrong_pssh_kid" and "PSSH" in signalled:
                signalled["PSSH"] = signal(system_id, uuid.uuid4(), schemes.get(str(kid), "cbcs"), content_id)["PSSH"]
            w.open("cpix:DRMSystem", dict(system.attrib))
            requested = list(system)
            if n == 0 and fault == "added_child":
                names = {_child_key(c) for c in requested}
                extra = next((k for k in CHILDREN if k not in names), "SmoothStreamingProtectionHeaderData")
                signalled.setdefault(extra, base64.b64encode(b"unrequested").decode())
                tag, _, playlist = extra.partition(":")
                requested.append(Element(q(CPIX, tag), {"playlist": playlist} if playlist else {}))
            for item in requested:
                name = _child_key(item)
                if fault == "dropped_child" and not first_child_done:
                    first_child_done = True
                    continue
                value = signalled.get(name)
                if value is None:
                    raise ValueError(f"cannot fill {name} for {system_id}")
                if name == "ContentProtectionData" and fault == "pssh_cpd_mismatch" and not first_child_done:
                    first_child_done = True
                    other = signal(system_id, uuid.uuid4(), schemes.get(str(kid), "cbcs"), content_id)
                    value = other["ContentProtectionData"]
                if name == "HLSSignalingData:media" and fault == "wrong_hls_method" and not first_child_done:
                    first_child_done = True
                    line = base64.b64decode(value).decode()
                    line = (
                        line.replace("METHOD=SAMPLE-AES-CTR,", "METHOD=X,")
                        .replace("METHOD=SAMPLE-AES,", "METHOD=SAMPLE-AES-CTR,")
                        .replace("METHOD=X,", "METHOD=SAMPLE-AES,")
                    )
                    value = base64.b64encode(line.encode()).decode()
                if name == "HLSSignalingData:master" and fault == "master_differs" and not first_child_done:
                    first_child_done = True
                    line = base64.b64decode(value).decode().replace('KEYFORMATVERSIONS="1"', 'KEYFORMATVERSIONS="2"')
                    value = base64.b64encode(line.encode()).decode()
                w.leaf(f"cpix:{item.tag.rsplit('}', 1)[-1]}", value, dict(item.attrib))
            w.close("cpix:DRMSystem")
        w.close("cpix:DRMSystemList")

        if period_list is not None:
            w.open("cpix:ContentKeyPeriodList", dict(period_list.attrib))
            for n, period in enumerate(children(period_list, CPIX, "ContentKeyPeriod")):
                if n == 0 and fault == "dropped_period":
                    continue
                w.empty("cpix:ContentKeyPeriod", dict(period.attrib))
            w.close("cpix:ContentKeyPeriodList")
        _echo(w, rule_list)
        w.close("cpix:CPIX")
        return w.to_bytes()

    def _write_delivery(self, w: Writer, delivery_list: Element) -> tuple[bytes, bytes]:
        delivery = child(delivery_list, CPIX, "DeliveryData")
        cert_text = text(path(delivery, (CPIX, "DeliveryKey"), (DS, "X509Data"), (DS, "X509Certificate")))
        cert = x509.load_der_x509_certificate(base64.b64decode(cert_text))
        public_key = cert.public_key()
        if not isinstance(public_key, rsa.RSAPublicKey):
            raise ValueError("delivery certificate is not RSA")
        document_key, mac_key = os.urandom(32), os.urandom(64)
        w.open("cpix:DeliveryDataList")
        w.open("cpix:DeliveryData", dict(delivery.attrib) if delivery is not None else {})
        w.open("cpix:DeliveryKey")
        w.open("ds:X509Data")
        w.leaf("ds:X509Certificate", cert_text)
        w.close("ds:X509Data")
        w.close("cpix:DeliveryKey")
        w.open("cpix:DocumentKey", {"Algorithm": ALG_AES256_CBC})
        w.open("cpix:Data")
        w.open("pskc:Secret")
        _write_rsa_value(w, "pskc:EncryptedValue", rsa_wrap(public_key, document_key))
        w.close("pskc:Secret")
        w.close("cpix:Data")
        w.close("cpix:DocumentKey")
        w.open("cpix:MACMethod", {"Algorithm": ALG_HMAC_SHA512})
        wrapped = rsa_wrap(public_key, mac_key)
        if self.mac_key_form == "aws":
            w.open("cpix:Key")
            _write_rsa_value(w, "pskc:EncryptedValue", wrapped)
            w.close("cpix:Key")
        elif self.mac_key_form == "dashif":
            _write_rsa_value(w, "cpix:Key", wrapped)
        else:
            _write_rsa_value(w, "pskc:MACKey", wrapped)
        w.close("cpix:MACMethod")
        w.close("cpix:DeliveryData")
        w.close("cpix:DeliveryDataList")
        return document_key, mac_key


def _write_rsa_value(w: Writer, tag: str, ciphertext: bytes) -> None:
    w.open(tag)
    w.empty("enc:EncryptionMethod", {"Algorithm": ALG_RSA_OAEP_MGF1P})
    w.open("enc:CipherData")
    w.leaf("enc:CipherValue", base64.b64encode(ciphertext).decode())
    w.close("enc:CipherData")
    w.close(tag)


def _child_key(item: Element) -> str:
    name = local_name(item.tag)
    playlist = item.get("playlist")
    return f"{name}:{playlist}" if name == "HLSSignalingData" and playlist else name


_PREFIX = {CPIX: "cpix", PSKC: "pskc", DS: "ds", ENC: "enc"}


def _echo(w: Writer, element: Element) -> None:
    """Write ``element`` back (CPIX-namespace elements and attributes only, which is all a contract holds)."""
    tag = f"{_PREFIX.get(namespace(element.tag), 'cpix')}:{local_name(element.tag)}"
    kids = list(element)
    if not kids:
        w.empty(tag, dict(element.attrib))
        return
    w.open(tag, dict(element.attrib))
    for item in kids:
        _echo(w, item)
    w.close(tag)
