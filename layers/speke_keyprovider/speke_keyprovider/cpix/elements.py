"""CPIX element rules every SPEKE dialect shares: UUIDs and system ids, the top-level lists, ContentKey basics
(kid, explicitIV, no key data), DRMSystem identity, key periods, usage rules (the encryption contract's
elements), DeliveryData (the recipient's certificate), and bounded number and boolean attributes.

A dialect module (``v1``, ``v2``) composes these with its own rules; nothing here knows a SPEKE version.
Attribute values go through ``values`` (whole-value patterns, ASCII integers).

What a request may carry is bounded (``MAX_*`` below) and, inside ContentKey and DeliveryData, listed:
anything else there (unknown elements, foreign namespaces, response-only elements such as ``Data``,
``DocumentKey`` or ``MACMethod``, text) is refused, because those elements are echoed into the answer.
``check_document_content`` refuses key-bearing elements anywhere else in the document, and CPIX's structural
elements out of place or out of their namespace.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from collections.abc import Callable
from typing import Any
from xml.etree.ElementTree import Element

from ..errors import CertificateRejected, ContractError, CpixError
from . import values
from .model import AudioFilter, DrmSystemRequest, KeyPeriod, Recipient, UsageRule, VideoFilter
from .namespaces import CPIX, DS, ENC, PSKC, cpix, ds, local_name

MAX_CONTENT_KEYS = 512
MAX_DRM_SYSTEMS = 4096
MAX_RECIPIENTS = 4
MAX_KEY_PERIODS = 512  # a period needs at least one of the (at most 512) content keys
MAX_USAGE_RULES = MAX_CONTENT_KEYS  # exactly one rule per ContentKey is allowed
MAX_RULE_FILTERS = 64  # filters (video, audio, key period) in one ContentKeyUsageRule

_UUID = values.UUID_PATTERN
_TRACK_TYPE = re.compile(r"[A-Za-z0-9_+\-]{1,64}")  # matched whole (values.matches)
_CONTENT_ID = re.compile(r"[0-9A-Za-z_-]{1,256}")  # matched whole (values.matches)
LIST_TAGS = {
    "ContentKeyList": cpix("ContentKeyList"),
    "DRMSystemList": cpix("DRMSystemList"),
    "ContentKeyPeriodList": cpix("ContentKeyPeriodList"),
    "ContentKeyUsageRuleList": cpix("ContentKeyUsageRuleList"),
    "DeliveryDataList": cpix("DeliveryDataList"),
}
_KEY_DATA_TAGS = {cpix("Data")}
CPIX_PREFIX = f"{{{CPIX}}}"
_KEY_NAMESPACES = (f"{{{PSKC}}}", f"{{{ENC}}}")  # key containers: never in a request
_RESPONSE_ONLY = frozenset(cpix(n) for n in ("Data", "DocumentKey", "MACMethod", "Key"))
_KEY_LOCAL_NAMES = frozenset(
    {"Secret", "PlainValue", "EncryptedValue", "CipherData", "CipherValue", "ValueMAC", "DocumentKey", "MACMethod"}
)

ChildrenParser = Callable[[Element, uuid.UUID, str], list[tuple[str, Element]]]
"""A dialect's reading of one DRMSystem's signalling children: (child key, element) in document order."""


def parse_uuid(text: str | None, what: str) -> uuid.UUID:
    value = _UUIDS.get(text)  # type: ignore[arg-type]
    if value is not None:
        return value
    if text is None or not text.strip():
        raise CpixError(f"Missing {what}")
    if not values.matches(_UUID, text):
        raise CpixError(f"Invalid {what}: {quote(text)} is not a UUID (8-4-4-4-12 hex)")
    value = uuid.UUID(text)
    _remember(_UUIDS, text, value)
    return value


# Valid UUID texts already seen -> value: a KID appears five times in a request (ContentKey, one DRMSystem
# per system, its usage rule) and system ids in every DRMSystem. Only texts that passed validation are
# stored, so every error is raised exactly as before; the caches are bounded (cleared when full).
_UUIDS: dict[str, uuid.UUID] = {}
_SYSTEM_IDS: dict[str, str] = {}
_CACHE_MAX = 4096


def _remember(cache: dict[Any, Any], key: object, value: object) -> None:
    if len(cache) >= _CACHE_MAX:
        cache.clear()
    cache[key] = value


def _system_id(text: str | None) -> str:
    """DRMSystem@systemId as canonical lowercase UUID text."""
    value = _SYSTEM_IDS.get(text)  # type: ignore[arg-type]
    if value is None:
        value = str(parse_uuid(text, "DRMSystem@systemId"))
        _remember(_SYSTEM_IDS, text, value)
    return value


def content_id(root: Element, attribute: str) -> str:
    """The content id from the root's ``attribute`` (v2 ``contentId``, v1 ``id``): MediaPackage's resource id rules."""
    value = root.get(attribute)
    if value is None or not value.strip():
        raise CpixError(f"Missing CPIX@{attribute}")
    if not values.matches(_CONTENT_ID, value):
        raise CpixError(f"Invalid CPIX@{attribute}: 1 to 256 characters of [0-9a-zA-Z_-] expected")
    return value


def top_level_lists(root: Element) -> dict[str, Element]:
    found: dict[str, Element] = {}
    for child in root:
        for name, tag in LIST_TAGS.items():
            if child.tag == tag:
                if name in found:
                    raise CpixError(f"Duplicate {name}: at most one is allowed")
                found[name] = child
    return found


def required_list(lists: dict[str, Element], name: str, item: str) -> list[Element]:
    element = lists.get(name)
    if element is None:
        raise CpixError(f"Missing {name}")
    tag = cpix(item)
    items = [child for child in element if child.tag == tag]
    if not items:
        raise CpixError(f"Empty {name}: at least one {item} is required")
    return items


def content_key_basics(element: Element, seen: set[uuid.UUID]) -> tuple[uuid.UUID, bytes | None]:
    """ContentKey@kid (unique in the document), no key data in a request, and the optional explicitIV."""
    kid = parse_uuid(element.get("kid"), "ContentKey@kid")
    if kid in seen:
        raise CpixError(f"Duplicate ContentKey@kid {kid}")
    seen.add(kid)
    if len(element) or (element.text and element.text.strip()):
        _check_content_key_children(element, kid)
    return kid, _explicit_iv(element, kid)


# What a ContentKey may hold in a request (cpix:KeyType's string elements, in schema order, each at most
# once); ``Data`` is what the answer adds, between FriendlyName and UserId.
_CONTENT_KEY_CHILDREN = {
    cpix(n): position for position, n in enumerate(("Issuer", "KeyProfileId", "KeyReference", "FriendlyName", "UserId"))
}


def _check_content_key_children(element: Element, kid: uuid.UUID) -> None:
    if element.text and element.text.strip():
        raise CpixError(f"ContentKey {kid} holds text: a SPEKE request's ContentKey is empty")
    last = -1
    for child in element:
        if child.tag in _KEY_DATA_TAGS or child.tag in _RESPONSE_ONLY or child.tag.startswith(_KEY_NAMESPACES):
            raise CpixError(f"ContentKey {kid} carries key data: a SPEKE request must not")
        position = _CONTENT_KEY_CHILDREN.get(child.tag)
        if position is None:
            raise CpixError(f"Unsupported element {_describe(child.tag)} in ContentKey {kid} of a request")
        if position <= last:
            raise CpixError(f"ContentKey {kid} {local_name(child.tag)} is repeated or out of schema order")
        last = position
        if len(child):
            raise CpixError(f"ContentKey {kid} {local_name(child.tag)} must hold text only")


def check_content_key_count(elements: list[Element]) -> None:
    if len(elements) > MAX_CONTENT_KEYS:
        raise CpixError(f"Too many ContentKey elements: at most {MAX_CONTENT_KEYS}")


def _explicit_iv(element: Element, kid: uuid.UUID) -> bytes | None:
    text = element.get("explicitIV")
    if text is None:
        return None
    try:
        value = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        value = b""
    if len(value) != 16:
        raise CpixError(f"Invalid ContentKey@explicitIV for KID {kid}: base64 of 16 bytes expected")
    return value


def drm_systems(
    elements: list[Element], kids: set[uuid.UUID] | dict[uuid.UUID, Any], children: ChildrenParser
) -> list[DrmSystemRequest]:
    """Every DRMSystem: its kid names a ContentKey, one per (kid, systemId), children read by the dialect."""
    if len(elements) > MAX_DRM_SYSTEMS:
        raise CpixError(f"Too many DRMSystem elements: at most {MAX_DRM_SYSTEMS}")
    systems: list[DrmSystemRequest] = []
    seen: set[tuple[uuid.UUID, str]] = set()
    for element in elements:
        kid = parse_uuid(element.get("kid"), "DRMSystem@kid")
        system_id = _system_id(element.get("systemId"))
        if kid not in kids:
            raise CpixError(f"DRMSystem@kid {kid} does not match any ContentKey")
        if (kid, system_id) in seen:
            raise CpixError(f"Duplicate DRMSystem for KID {kid} and systemId {system_id}")
        seen.add((kid, system_id))
        systems.append(
            DrmSystemRequest(system_id=system_id, kid=kid, children=children(element, kid, system_id), element=element)
        )
    return systems


def check_empty_request_child(child: Element, name: str, kid: uuid.UUID, system_id: str) -> None:
    """A signalling child is a request: it must be empty (no text, no children)."""
    if (child.text and child.text.strip()) or len(child):
        raise CpixError(f"{name} in DRMSystem {system_id} for KID {kid} must be empty in a request")


def periods(element: Element | None) -> list[KeyPeriod]:
    if element is None:
        return []
    periods: list[KeyPeriod] = []
    seen: set[str] = set()
    period_tag = cpix("ContentKeyPeriod")
    for child in element:
        if child.tag != period_tag:
            continue
        if len(periods) == MAX_KEY_PERIODS:
            raise CpixError(f"Too many ContentKeyPeriod elements: at most {MAX_KEY_PERIODS}")
        period_id = child.get("id")
        if period_id is None or not period_id.strip():
            raise CpixError("Missing ContentKeyPeriod@id")
        if period_id in seen:
            raise CpixError(f"Duplicate ContentKeyPeriod@id {quote(period_id)}")
        seen.add(period_id)
        periods.append(KeyPeriod(id=period_id, index=int_attr(child, "index", "ContentKeyPeriod@index")))
    if not periods:
        raise CpixError("Empty ContentKeyPeriodList: at least one ContentKeyPeriod is required")
    return periods


def usage_rules(element: Element) -> list[UsageRule]:
    rules: list[UsageRule] = []
    rule_tag = cpix("ContentKeyUsageRule")
    for child in element:
        if child.tag != rule_tag:
            continue
        if len(rules) == MAX_USAGE_RULES:
            raise ContractError(
                f"Malformed encryption contract: more than {MAX_USAGE_RULES} ContentKeyUsageRule elements"
            )
        kid = parse_uuid(child.get("kid"), "ContentKeyUsageRule@kid")
        track_type = child.get("intendedTrackType")
        if track_type is None or not track_type.strip():
            raise ContractError(f"Missing ContentKeyUsageRule@intendedTrackType for KID {kid}")
        if not values.matches(_TRACK_TYPE, track_type):
            raise ContractError(f"Malformed encryption contract: invalid intendedTrackType {quote(track_type)}")
        rule = UsageRule(kid=kid, track_type=track_type)
        if len(child) > MAX_RULE_FILTERS:
            raise ContractError(
                f"Malformed encryption contract: more than {MAX_RULE_FILTERS} filters in the rule for KID {kid}"
            )
        for item in child:
            name = local_name(item.tag)
            if not item.tag.startswith(CPIX_PREFIX):
                rule.other_filters.append(name)
            elif name == "VideoFilter":
                rule.video_filters.append(
                    VideoFilter(
                        min_pixels=int_attr(item, "minPixels", "VideoFilter@minPixels", contract=True),
                        max_pixels=int_attr(item, "maxPixels", "VideoFilter@maxPixels", contract=True),
                        hdr=bool_attr(item, "hdr", "VideoFilter@hdr"),
                        min_fps=int_attr(item, "minFps", "VideoFilter@minFps", contract=True),
                        max_fps=int_attr(item, "maxFps", "VideoFilter@maxFps", contract=True),
                    )
                )
            elif name == "AudioFilter":
                rule.audio_filters.append(
                    AudioFilter(
                        min_channels=int_attr(item, "minChannels", "AudioFilter@minChannels", contract=True),
                        max_channels=int_attr(item, "maxChannels", "AudioFilter@maxChannels", contract=True),
                    )
                )
            elif name == "KeyPeriodFilter":
                period_id = item.get("periodId")
                if period_id is None or not period_id.strip():
                    raise ContractError("Malformed encryption contract: KeyPeriodFilter without periodId")
                rule.period_ids.append(period_id)
            else:
                rule.other_filters.append(name)
        rules.append(rule)
    return rules


def recipients(element: Element | None) -> list[Recipient]:
    if element is None:
        return []
    recipients: list[Recipient] = []
    for child in element:
        if child.tag != cpix("DeliveryData"):
            continue
        _check_delivery_data(child)
        cert = child.find(f"{cpix('DeliveryKey')}/{ds('X509Data')}/{ds('X509Certificate')}")
        if cert is None or not (cert.text or "").strip():
            raise CertificateRejected("Missing DeliveryData/DeliveryKey/ds:X509Data/ds:X509Certificate")
        if len(cert):
            raise CertificateRejected("DeliveryData X509Certificate must hold base64 text only")
        try:
            der = base64.b64decode("".join(cert.text.split()), validate=True)  # type: ignore[union-attr]
        except (binascii.Error, ValueError):
            raise CertificateRejected("DeliveryData X509Certificate is not valid base64") from None
        recipients.append(Recipient(certificate_der=der, element=child))
    if not recipients:
        raise CpixError("Empty DeliveryDataList: at least one DeliveryData is required")
    if len(recipients) > MAX_RECIPIENTS:
        raise CpixError(f"Too many DeliveryData elements: at most {MAX_RECIPIENTS}")
    return recipients


# The shape of a DeliveryData in a request: tag -> the shape of its children (None: text only). The
# answer adds DocumentKey and MACMethod; anything not listed (another namespace included) is refused.
_Shape = dict[str, "_Shape | None"]
_X509_DATA: _Shape = {
    ds("X509Certificate"): None,
    ds("X509IssuerSerial"): {ds("X509IssuerName"): None, ds("X509SerialNumber"): None},
    ds("X509SKI"): None,
    ds("X509SubjectName"): None,
}
_DELIVERY_DATA: _Shape = {
    cpix("DeliveryKey"): {ds("X509Data"): _X509_DATA, ds("KeyName"): None},
    cpix("Description"): None,
    cpix("SendingEntity"): None,
    cpix("SenderPointOfContact"): None,
    cpix("ReceivingEntity"): None,
}


_DELIVERY_DATA_ORDER = {tag: position for position, tag in enumerate(_DELIVERY_DATA)}


def _check_delivery_data(element: Element) -> None:
    certificates = 0
    last = -1
    for child in element:  # iterative walk over (element, allowed children) pairs
        position = _DELIVERY_DATA_ORDER.get(child.tag)
        if position is not None:
            if position <= last:
                raise CpixError(f"DeliveryData {local_name(child.tag)} is repeated or out of schema order")
            last = position
        stack: list[tuple[Element, _Shape | None]] = [(child, _DELIVERY_DATA)]
        while stack:
            node, allowed = stack.pop()
            if node.tag in _RESPONSE_ONLY or node.tag.startswith(_KEY_NAMESPACES):
                raise CpixError(f"DeliveryData must not carry {_describe(node.tag)} in a request")
            if allowed is None or node.tag not in allowed:
                raise CpixError(f"Unsupported element {_describe(node.tag)} in DeliveryData of a request")
            shape = allowed[node.tag]
            if node.tag == ds("X509Certificate"):
                certificates += 1
            if shape is None:
                if len(node):
                    raise CertificateRejected(f"DeliveryData {local_name(node.tag)} must hold text only")
                continue
            if node.text and node.text.strip():
                raise CpixError(f"DeliveryData {local_name(node.tag)} must not hold text")
            stack.extend((item, shape) for item in node)
    if certificates > 1:
        raise CertificateRejected("DeliveryData must carry exactly one X509Certificate")


# Where CPIX's structural elements belong: an element of these names anywhere else (or without its namespace)
# would be echoed without the rules of its kind ever seeing it.
_PLACES = {
    cpix("ContentKey"): cpix("ContentKeyList"),
    cpix("DeliveryData"): cpix("DeliveryDataList"),
    cpix("DeliveryKey"): cpix("DeliveryData"),
    cpix("DRMSystem"): cpix("DRMSystemList"),
    cpix("ContentKeyPeriod"): cpix("ContentKeyPeriodList"),
    cpix("ContentKeyUsageRule"): cpix("ContentKeyUsageRuleList"),
    **{tag: cpix("CPIX") for tag in LIST_TAGS.values()},
}
_STRUCTURAL_NAMES = frozenset(local_name(tag) for tag in _PLACES) | {"CPIX"}


def check_document_content(root: Element) -> None:
    """One walk over the whole request, refusing

    - key-bearing elements anywhere: the PSKC and XML Encryption namespaces, CPIX's response-only elements,
      and foreign elements named like key containers (a request carries none, and whatever it carries is
      echoed into the answer);
    - CPIX's structural elements (lists, ContentKey, DeliveryData, DRMSystem, periods, rules) out of place,
      or under their name in another namespace (or none): the dialect's rules would never see them."""
    for parent in root.iter():
        for node in parent:
            tag = node.tag
            if type(tag) is not str:
                continue
            if tag.startswith(_KEY_NAMESPACES) or tag in _RESPONSE_ONLY:
                raise CpixError(f"The request carries key data ({_describe(tag)}): a SPEKE request must not")
            place = _PLACES.get(tag)
            if place is not None:
                if parent.tag != place:
                    raise CpixError(f"{_describe(tag)} out of place: it belongs in {_describe(place)}")
            elif not tag.startswith(CPIX_PREFIX):
                name = local_name(tag)
                if name in _KEY_LOCAL_NAMES:
                    raise CpixError(f"The request carries key data ({_describe(tag)}, named like a key container)")
                if name in _STRUCTURAL_NAMES:
                    raise CpixError(f"{_describe(tag)} is not in the CPIX namespace {CPIX}")


def _describe(tag: str) -> str:
    if tag.startswith("{"):
        uri, _, name = tag[1:].partition("}")
        known = {CPIX: "cpix", PSKC: "pskc", ENC: "enc", DS: "ds"}.get(uri)
        return f"{known}:{name}" if known else f"{name} (namespace {quote(uri)})"
    return f"{quote(tag)} (no namespace)"


def int_attr(element: Element, name: str, what: str, *, contract: bool = False) -> int | None:
    """A non-negative integer attribute (ASCII digits only: ``values.parse_uint``), ``None`` when absent."""
    text = element.get(name)
    if text is None:
        return None
    return values.uint_or_error(text, what, contract=contract)


def bool_attr(element: Element, name: str, what: str) -> bool | None:
    text = element.get(name)
    if text is None:
        return None
    value = values.parse_bool(text)
    if value is None:
        raise ContractError(f"Malformed encryption contract: {what} must be true or false")
    return value


def quote(text: str) -> str:
    """Quote request text for an error message, bounded and printable."""
    clean = "".join(ch if ch.isprintable() else "?" for ch in text[:80])
    return repr(clean + ("..." if len(text) > 80 else ""))
