"""Check a SPEKE v2 answer the way MediaPackage v2 would take it (contract sections 1-4).

``check_response(built, status, headers, body, private_key)`` compares the answer with the request it
answers and returns a ``Report``: every violation (each a sentence naming what is wrong and where),
warnings (legal but unusual), one row per content key and the decoded signalling per DRM system.
MACs are verified before anything is decrypted. The signalling rules of each DRM system live in
``checks/`` (one module per system); this module holds the rules of the exchange itself. Nothing here
imports the provider: the checker must work against any SPEKE v2 key provider.

Key material is only ever in ``KeyRow.key_bytes``; violation and warning texts never carry it.
"""

from __future__ import annotations

import base64
import hashlib
import re
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import Element

from cryptography.hazmat.primitives.asymmetric import rsa

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
    local_name,
    parse,
    path,
    q,
    text,
)
from .checks import check_for
from .kid_override import override_kid, period_id
from .request_builder import HLS_SIGNALING_DATA, SYSTEM_NAMES, BuiltRequest, RequestedSystem
from .response_reader import CEK_BYTES, CpixReadError, DeliveryKeys, content_key_value, unwrap_delivery_keys
from .signalling import (
    SignallingError,
    b64decode,
)


@dataclass(frozen=True)
class KeyRow:
    kid: str
    track_type: str
    period_id: str | None
    scheme: str
    sha256_fingerprint_of_key: str | None
    key_bytes: bytes | None

    def __repr__(self) -> str:  # keep the key out of reprs and tracebacks
        return (
            f"KeyRow(kid={self.kid!r}, track_type={self.track_type!r}, period_id={self.period_id!r}, "
            f"scheme={self.scheme!r}, sha256_fingerprint_of_key={self.sha256_fingerprint_of_key!r})"
        )


@dataclass
class Report:
    violations: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    keys: list[KeyRow] = field(default_factory=list)
    signalling: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    status: int | None = None

    @property
    def ok(self) -> bool:
        return not self.violations

    def to_dict(self, *, show_keys: bool = False) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "status": self.status,
            "violations": list(self.violations),
            "warnings": list(self.warnings),
            "keys": [
                {
                    "kid": k.kid,
                    "track_type": k.track_type,
                    "period_id": k.period_id,
                    "scheme": k.scheme,
                    "key_sha256": k.sha256_fingerprint_of_key,
                }
                | (
                    {
                        "key_hex": k.key_bytes.hex() if k.key_bytes else None,
                        "key_base64": base64.b64encode(k.key_bytes).decode() if k.key_bytes else None,
                    }
                    if show_keys
                    else {}
                )
                for k in self.keys
            ],
            "signalling": self.signalling,
        }


def check_response(
    built: BuiltRequest,
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    private_key: rsa.RSAPrivateKey | None = None,
    *,
    kid_override: bool = False,
    master_key: bytes | None = None,
) -> Report:
    """``kid_override``: the provider is expected to answer its own KIDs (SPEKE v2.1, docs/kid-override.md),
    consistently in every element; with ``master_key`` each must also be the one the formula gives."""
    report = Report(status=status)
    checker = _Checker if built.speke_version is not None else _dialect_checker_v1()
    try:
        checker(built, report, private_key, kid_override=kid_override, master_key=master_key).run(status, headers, body)
    except Exception as exc:  # a hostile or broken answer must give a report, never a traceback
        report.violations.append(f"the answer could not be checked any further ({type(exc).__name__})")
    return report


def _dialect_checker_v1() -> type[_Checker]:
    from .conformance_v1 import SpekeV1Checker  # SPEKE v1's rules, over the exchange rules here

    return SpekeV1Checker


def _snippet(body: bytes) -> str:
    shown = body[:200].decode("utf-8", "replace").replace("\n", " ").strip()
    return shown + ("..." if len(body) > 200 else "")


def _canon(element: Element | None) -> list[tuple[str, tuple[tuple[str, str], ...], tuple[Any, ...]]]:
    """Order-insensitive canonical form of a list element's children (tag, attributes, sub-elements)."""
    if element is None:
        return []

    def one(e: Element, depth: int) -> tuple[str, tuple[tuple[str, str], ...], tuple[Any, ...]]:
        if depth > 4:  # CPIX lists are two levels deep; anything deeper differs from the request anyway
            return ("<too deep>", (), ())
        return (e.tag, tuple(sorted(e.attrib.items())), tuple(sorted(one(c, depth + 1) for c in e)))

    return sorted(one(e, 1) for e in element)


_PERIOD_TAG = re.compile(r"<(?:[A-Za-z_][\w.\-]*:)?ContentKeyPeriod(?=[\s/>])[^>]*>")


class _Checker:
    def __init__(
        self,
        built: BuiltRequest,
        report: Report,
        private_key: rsa.RSAPrivateKey | None,
        *,
        kid_override: bool = False,
        master_key: bytes | None = None,
    ) -> None:
        self.built = built
        self.report = report
        self.private_key = private_key
        self.request = parse(built.xml)
        self.ivs: set[bytes] = set()
        self.kid_override = kid_override
        self.master_key = master_key
        self.body = b""
        self.kid_map: dict[str, str] = {str(key.kid): str(key.kid) for key in built.keys}  # request -> answer

    def fail(self, message: str) -> None:
        if message not in self.report.violations:
            self.report.violations.append(message)

    def warn(self, message: str) -> None:
        if message not in self.report.warnings:
            self.report.warnings.append(message)

    # -- HTTP ------------------------------------------------------------------------------------

    def run(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        lower = {k.lower(): v for k, v in headers.items()}
        if status != 200:
            self.fail(f"HTTP status {status}, expected 200 (body: {_snippet(body)!r})")
            return
        self.headers(lower)
        self.body = body
        try:
            root = parse(body)
        except XmlError as exc:
            self.fail(f"body is not a CPIX document: {exc} (body: {_snippet(body)!r})")
            return
        if root.tag != q(CPIX, "CPIX"):
            self.fail(f"root element is {root.tag!r}, expected cpix:CPIX")
            return
        self.document(root)

    def headers(self, lower: Mapping[str, str]) -> None:
        self.content_type(lower)
        version = lower.get("x-speke-version")
        expected_version = self.built.speke_version
        if version is None:
            self.fail(f"X-Speke-Version header missing, expected {expected_version}")
        elif version.strip() != expected_version:
            self.fail(f"X-Speke-Version is {version!r}, expected {expected_version} (the request's, echoed)")
        if not lower.get("x-speke-user-agent", "").strip():
            self.fail("X-Speke-User-Agent header missing")

    def content_type(self, lower: Mapping[str, str]) -> None:
        content_type = lower.get("content-type")
        if content_type is None:
            self.fail("Content-Type header missing, expected application/xml")
        else:
            media, *params = (p.strip().lower() for p in content_type.split(";"))
            if media != "application/xml":
                self.fail(f"Content-Type is {content_type!r}, expected application/xml")
            for param in params:
                name, _, value = param.partition("=")
                if name.strip() == "charset" and value.strip().strip('"') != "utf-8":
                    self.fail(f"Content-Type charset is {value.strip()!r}, expected utf-8")

    # -- document --------------------------------------------------------------------------------

    def document(self, root: Element) -> None:
        self.root_attributes(root)
        if self.kid_override:
            self.overridden_kids(root)
        delivery = self.delivery(root)
        self.content_keys(root, delivery)
        self.drm_systems(root)
        self.echoed(root, "ContentKeyPeriodList", "ContentKeyPeriod", "key periods")
        self.echoed(root, "ContentKeyUsageRuleList", "ContentKeyUsageRule", "encryption contract")
        if self.built.period_attributes:
            self.periods_echoed_byte_for_byte()

    def root_attributes(self, root: Element) -> None:
        built = self.built
        if root.get("contentId") != built.content_id:
            self.fail(f"CPIX@contentId is {root.get('contentId')!r}, expected {built.content_id!r}")
        if root.get("version") != self.request.get("version"):
            self.fail(f"CPIX@version is {root.get('version')!r}, expected {self.request.get('version')!r}")
        for name in ("ContentKeyList", "DRMSystemList", "ContentKeyUsageRuleList"):
            count = len(children(root, CPIX, name))
            if count != 1:
                self.fail(f"{name} appears {count} times, expected once")

    def periods_echoed_byte_for_byte(self) -> None:
        """Every period attribute in the answer's raw text exactly as the request wrote it (MediaPackage rejects
        altered boundaries, even an equivalent spelling such as +00:00 for Z or a character reference)."""
        text_body = self.body.decode("utf-8", "replace")
        tags = _PERIOD_TAG.findall(text_body)
        for attrs in self.built.period_attributes:
            tag = next((t for t in tags if re.search(rf'\sid\s*=\s*"{re.escape(attrs["id"])}"', t)), None)
            if tag is None:
                self.fail(f"ContentKeyPeriod {attrs['id']!r} is not in the answer as sent")
                continue
            for name, value in attrs.items():
                if not re.search(rf'\s{re.escape(name)}\s*=\s*"{re.escape(value)}"', tag):
                    self.fail(f"ContentKeyPeriod {attrs['id']!r} @{name} is not echoed byte for byte (sent {value!r})")

    def overridden_kids(self, root: Element) -> None:
        """Map each requested key to the KID the provider answered, through the answer's usage rules (track type
        and KeyPeriodFilter are echoed, the kid is the provider's); each must be a UUIDv8, distinct, and with
        ``master_key`` the formula's."""
        rule_list = child(root, CPIX, "ContentKeyUsageRuleList")
        answered: dict[tuple[str, str | None], str] = {}
        for rule in children(rule_list, CPIX, "ContentKeyUsageRule") if rule_list is not None else []:
            period = child(rule, CPIX, "KeyPeriodFilter")
            try:
                kid = str(uuid.UUID(rule.get("kid", "")))
            except ValueError:
                self.fail(f"ContentKeyUsageRule@kid {rule.get('kid')!r} is not a UUID")
                continue
            answered[(rule.get("intendedTrackType", ""), period.get("periodId") if period is not None else None)] = kid
        periods = {attrs["id"]: attrs for attrs in self.built.period_attributes}
        for key in self.built.keys:
            found = answered.get((key.track_type, key.period_id))
            if found is None:
                self.fail(f"no ContentKeyUsageRule for {key.track_type} in period {key.period_id!r} in the answer")
                continue
            kid = found
            if kid == str(key.kid):
                self.fail(f"KID {kid} ({key.track_type}) echoed: KID override expected the provider's own KID")
            elif uuid.UUID(kid).version != 8:
                self.fail(f"overriding KID {kid} ({key.track_type}) is not a UUIDv8")
            if self.master_key is not None:
                try:
                    expected = str(
                        override_kid(
                            self.master_key,
                            self.built.content_id,
                            key.track_type,
                            period_id(periods.get(key.period_id or "")),
                        )
                    )
                except ValueError as exc:
                    self.fail(f"KID override for {key.track_type}: {exc}")
                else:
                    if kid != expected:
                        self.fail(f"overriding KID {kid} ({key.track_type}) is not the formula's {expected}")
            self.kid_map[str(key.kid)] = kid
        if len(set(self.kid_map.values())) != len(self.kid_map):
            self.fail("two requested keys got the same overriding KID")

    def echoed(self, root: Element, list_name: str, item_name: str, what: str) -> None:
        asked = child(self.request, CPIX, list_name)
        got = child(root, CPIX, list_name)
        if asked is None:
            return
        if got is None:
            self.fail(f"{list_name} missing: the {what} must be echoed")
            return
        n_asked, n_got = len(children(asked, CPIX, item_name)), len(children(got, CPIX, item_name))
        if n_asked != n_got:
            self.fail(f"{list_name} has {n_got} {item_name}, the request had {n_asked}")
        if self.kid_override and list_name == "ContentKeyUsageRuleList":
            asked_list = child(parse(self.built.xml), CPIX, list_name)
            if asked_list is not None:
                asked = asked_list  # the request's contract with the answered KIDs
                for rule in children(asked, CPIX, item_name):
                    rule.set("kid", self.kid_map.get(str(uuid.UUID(rule.get("kid", ""))), rule.get("kid", "")))
        if _canon(asked) != _canon(got):
            self.fail(f"{list_name} differs from the request: the {what} must be echoed unchanged")

    # -- keys ------------------------------------------------------------------------------------

    def delivery(self, root: Element) -> DeliveryKeys | None:
        built = self.built
        got = child(root, CPIX, "DeliveryDataList")
        if not built.encrypted:
            if got is not None:
                self.fail("DeliveryDataList in the answer to a request without one")
            return None
        plain = [e for e in root.iter(q(PSKC, "PlainValue"))]
        if plain:
            self.fail(f"{len(plain)} PlainValue element(s) in an answer that must carry encrypted keys only")
        if got is None:
            self.fail("DeliveryDataList missing: the request asked for encrypted content keys")
            return None
        asked_dd = path(self.request, (CPIX, "DeliveryDataList"), (CPIX, "DeliveryData"))
        cert = text(path(asked_dd, (CPIX, "DeliveryKey"), (DS, "X509Data"), (DS, "X509Certificate")))
        match = None
        for dd in children(got, CPIX, "DeliveryData"):
            echoed = text(path(dd, (CPIX, "DeliveryKey"), (DS, "X509Data"), (DS, "X509Certificate")))
            if "".join(echoed.split()) == "".join(cert.split()):
                match = dd
        if match is None:
            self.fail("no DeliveryData echoes the request's DeliveryKey certificate")
            return None
        if asked_dd is not None and match.get("id") != asked_dd.get("id"):
            self.fail(f"DeliveryData@id is {match.get('id')!r}, expected {asked_dd.get('id')!r}")
        self.delivery_shape(match)
        if self.private_key is None:
            self.warn("no private key given: content keys checked for shape only, not decrypted")
            return None
        try:
            keys = unwrap_delivery_keys(root, self.private_key)
        except CpixReadError as exc:
            self.fail(f"DeliveryData: {exc}")
            return None
        if len(keys.mac_key) != 64:
            self.warn(f"MAC key is {len(keys.mac_key)} bytes; the SPEKE profile uses a random 64-byte key")
        return keys

    def delivery_shape(self, dd: Element) -> None:
        document_key = child(dd, CPIX, "DocumentKey")
        if document_key is None:
            self.fail("DeliveryData has no DocumentKey")
        else:
            if document_key.get("Algorithm") != ALG_AES256_CBC:
                self.fail(f"DocumentKey@Algorithm is {document_key.get('Algorithm')!r}, expected {ALG_AES256_CBC}")
            self.rsa_value(
                path(document_key, (CPIX, "Data"), (PSKC, "Secret"), (PSKC, "EncryptedValue")), "DocumentKey"
            )
        mac = child(dd, CPIX, "MACMethod")
        if mac is None:
            self.fail("DeliveryData has no MACMethod")
            return
        if mac.get("Algorithm") != ALG_HMAC_SHA512:
            self.fail(f"MACMethod@Algorithm is {mac.get('Algorithm')!r}, expected {ALG_HMAC_SHA512}")
        aws = path(mac, (CPIX, "Key"), (PSKC, "EncryptedValue"))
        if aws is not None:
            self.rsa_value(aws, "MACMethod key")
        elif child(child(mac, CPIX, "Key"), ENC, "CipherData") is not None:
            self.warn(
                "MAC key is in the DASH-IF vectors' form (cpix:Key/enc:*), not AWS's cpix:Key/pskc:EncryptedValue"
            )
            self.rsa_value(child(mac, CPIX, "Key"), "MACMethod key")
        elif child(mac, PSKC, "MACKey") is not None:
            self.warn("MAC key is in RFC 6030's pskc:MACKey form, not AWS's cpix:Key/pskc:EncryptedValue")
            self.rsa_value(child(mac, PSKC, "MACKey"), "MACMethod key")
        else:
            self.fail("MACMethod carries no encrypted MAC key")

    def rsa_value(self, container: Element | None, what: str) -> None:
        if container is None:
            self.fail(f"{what} has no EncryptedValue")
            return
        method = child(container, ENC, "EncryptionMethod")
        if method is None or method.get("Algorithm") != ALG_RSA_OAEP_MGF1P:
            got = method.get("Algorithm") if method is not None else None
            self.fail(f"{what} EncryptionMethod is {got!r}, expected {ALG_RSA_OAEP_MGF1P}")
        if not text(path(container, (ENC, "CipherData"), (ENC, "CipherValue"))):
            self.fail(f"{what} has no CipherValue")

    def content_keys(self, root: Element, delivery: DeliveryKeys | None) -> None:
        built = self.built
        key_list = child(root, CPIX, "ContentKeyList")
        if key_list is None:
            self.fail("ContentKeyList missing")
            return
        elements = children(key_list, CPIX, "ContentKey")
        if len(elements) != len(built.keys):
            self.fail(f"{len(elements)} ContentKey elements, the request had {len(built.keys)}")
        asked_list = child(self.request, CPIX, "ContentKeyList")
        asked_attrs = {
            (ck.get("kid") or "").lower(): ck
            for ck in (children(asked_list, CPIX, "ContentKey") if asked_list is not None else [])
        }
        by_kid: dict[str, Element] = {}
        for ck in elements:
            raw = ck.get("kid") or ""
            try:
                kid = str(uuid.UUID(raw))
            except ValueError:
                self.fail(f"ContentKey@kid {raw[:40]!r} is not a UUID")
                continue
            if kid in by_kid:
                self.fail(f"ContentKey {kid} appears twice")
            by_kid[kid] = ck
        for key in built.keys:
            kid = self.kid_map[str(key.kid)]
            answered = by_kid.get(kid)
            if answered is None:
                self.fail(f"ContentKey {kid} ({key.track_type}) is missing: kids must be echoed")
                continue
            scheme = answered.get("commonEncryptionScheme")
            expected_scheme = self.scheme_attribute()
            if scheme != expected_scheme:
                self.fail(f"ContentKey {kid} commonEncryptionScheme is {scheme!r}, the request had {expected_scheme!r}")
            asked = asked_attrs.get(kid)
            if asked is not None:
                for name, asked_value in asked.attrib.items():
                    if name not in ("kid", "commonEncryptionScheme") and answered.get(name) not in (
                        None,
                        asked_value,
                    ):
                        self.fail(f"ContentKey {kid} @{name} changed from {asked_value!r} to {answered.get(name)!r}")
            explicit_iv = answered.get("explicitIV")
            if explicit_iv is not None:
                try:
                    if len(b64decode(explicit_iv, "explicitIV")) != 16:
                        self.fail(f"ContentKey {kid} explicitIV is not 16 bytes")
                except SignallingError:
                    self.fail(f"ContentKey {kid} explicitIV is not valid base64")
            cek = self.key_value(answered, kid, delivery)
            self.report.keys.append(
                KeyRow(
                    kid=kid,
                    track_type=key.track_type,
                    period_id=key.period_id,
                    scheme=scheme or built.scheme,
                    sha256_fingerprint_of_key=hashlib.sha256(cek).hexdigest() if cek else None,
                    key_bytes=cek,
                )
            )
        for kid in by_kid:
            if kid not in set(self.kid_map.values()):
                if self.kid_override:
                    self.fail(f"ContentKey {kid} answers no requested key")
                else:
                    self.fail(f"ContentKey {kid} was not requested (without KID override kids are echoed)")

    def scheme_attribute(self) -> str | None:
        """What ContentKey@commonEncryptionScheme must be in the answer (the request's, echoed)."""
        return self.built.scheme

    def key_value(self, ck: Element, kid: str, delivery: DeliveryKeys | None) -> bytes | None:
        secret = path(ck, (CPIX, "Data"), (PSKC, "Secret"))
        if secret is None:
            self.fail(f"ContentKey {kid} has no Data/Secret")
            return None
        if self.built.encrypted:
            encrypted = child(secret, PSKC, "EncryptedValue")
            if encrypted is None:
                self.fail(f"ContentKey {kid} has no EncryptedValue")
                return None
            method = child(encrypted, ENC, "EncryptionMethod")
            if method is None or method.get("Algorithm") != ALG_AES256_CBC:
                self.fail(f"ContentKey {kid} EncryptionMethod is not {ALG_AES256_CBC}")
            try:
                blob = b64decode(text(path(encrypted, (ENC, "CipherData"), (ENC, "CipherValue"))), "CipherValue")
                mac = b64decode(text(child(secret, PSKC, "ValueMAC")), "ValueMAC")
            except SignallingError as exc:
                self.fail(f"ContentKey {kid}: {exc}")
                return None
            if len(blob) != 48:
                self.fail(
                    f"ContentKey {kid} CipherValue is {len(blob)} bytes, expected 48 "
                    "(16-byte IV and 32 bytes of AES-256-CBC ciphertext)"
                )
            if len(mac) != 64:
                self.fail(f"ContentKey {kid} ValueMAC is {len(mac)} bytes, expected 64 (HMAC-SHA512)")
            if blob[:16] in self.ivs:
                self.fail(f"ContentKey {kid} reuses another content key's IV (each needs a fresh random IV)")
            self.ivs.add(blob[:16])
            if delivery is None:
                return None
            try:
                return content_key_value(ck, delivery)  # verifies the MAC before decrypting
            except CpixReadError as exc:
                self.fail(str(exc))
                return None
        if child(secret, PSKC, "EncryptedValue") is not None:
            self.fail(f"ContentKey {kid} is encrypted although the request asked for clear keys")
            return None
        plain = child(secret, PSKC, "PlainValue")
        if plain is None:
            self.fail(f"ContentKey {kid} has no PlainValue")
            return None
        try:
            value = b64decode(text(plain), "PlainValue")
        except SignallingError:
            self.fail(f"ContentKey {kid} PlainValue is not valid base64")
            return None
        if len(value) != CEK_BYTES:
            self.fail(f"ContentKey {kid} PlainValue is {len(value)} bytes, expected {CEK_BYTES}")
            return None
        return value

    # -- DRM systems -----------------------------------------------------------------------------

    def drm_systems(self, root: Element) -> None:
        built = self.built
        drm_list = child(root, CPIX, "DRMSystemList")
        if drm_list is None:
            self.fail("DRMSystemList missing")
            return
        elements = children(drm_list, CPIX, "DRMSystem")
        if len(elements) != len(built.systems):
            self.fail(f"{len(elements)} DRMSystem elements, the request had {len(built.systems)}")
        found: dict[tuple[str, str], Element] = {}
        for element in elements:
            try:
                pair = (str(uuid.UUID(element.get("kid", ""))), str(uuid.UUID(element.get("systemId", ""))))
            except ValueError:
                self.fail(f"DRMSystem with a bad kid/systemId: {element.get('kid')!r} / {element.get('systemId')!r}")
                continue
            if pair in found:
                self.fail(f"DRMSystem {_name(pair[1])} for {pair[0]} appears twice")
            found[pair] = element
        for system in built.systems:
            kid, system_id = self.kid_map[str(system.kid)], system.system_id
            answered_system = found.pop((kid, system_id), None)
            if answered_system is None:
                self.fail(f"DRMSystem {_name(system_id)} for {kid} is missing")
                continue
            element = answered_system
            if element.get("systemId") != system_id and element.get("systemId", "").lower() == system_id:
                self.warn(f"DRMSystem systemId {element.get('systemId')!r} differs in case from the request")
            got = Counter(self.child_key(c) for c in element)
            for item in element:
                if local_name(item.tag) == HLS_SIGNALING_DATA and item.get("playlist") not in (
                    "media",
                    built.playlist,
                ):
                    self.fail(
                        f"DRMSystem {_name(system_id)} for {kid}: HLSSignalingData@playlist "
                        f"{item.get('playlist')!r}, the request had {built.playlist!r}"
                    )
            wanted = self.wanted_children(system)
            for name in wanted:
                if got[name] == 0:
                    self.fail(f"DRMSystem {_name(system_id)} for {kid}: requested child {name} is missing")
            for name, count in got.items():
                if name not in wanted:
                    self.fail(self.unwanted_child(system, name))
                elif count > wanted[name]:
                    self.fail(f"DRMSystem {_name(system_id)} for {kid}: child {name} appears {count} times")
            values = {}
            for item in element:
                name = self.child_key(item)
                if name in wanted:
                    value = text(item)
                    if not value:
                        self.fail(f"DRMSystem {_name(system_id)} for {kid}: requested child {name} is empty")
                    else:
                        values[name] = value
            check_for(system_id)(
                system_id=system_id,
                name=_name(system_id),
                kid=uuid.UUID(kid),
                scheme=built.effective_scheme,
                fail=self.fail,
                warn=self.warn,
                signalling=self.report.signalling,
            ).check(values)
        for kid, system_id in found:
            self.fail(f"DRMSystem {_name(system_id)} for {kid} was not requested")

    def wanted_children(self, system: RequestedSystem) -> Counter[str]:
        """The children the answer must fill for a requested DRMSystem (v2: every one asked for)."""
        return Counter(system.children)

    def child_key(self, item: Element) -> str:
        return _child_key(item)

    def unwanted_child(self, system: RequestedSystem, name: str) -> str:
        return f"DRMSystem {_name(system.system_id)} for {system.kid}: child {name} was not requested"


def _name(system_id: str) -> str:
    return SYSTEM_NAMES.get(system_id, system_id)


def _child_key(item: Element) -> str:
    name = local_name(item.tag)
    if name == HLS_SIGNALING_DATA:
        playlist = item.get("playlist", "")
        return f"{HLS_SIGNALING_DATA}:{'master' if playlist == 'multiVariant' else playlist}"  # CPIX 2.4's name
    return name
