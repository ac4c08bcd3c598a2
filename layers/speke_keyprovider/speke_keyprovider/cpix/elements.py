"""CPIX element rules every SPEKE dialect shares: UUIDs and system ids, the top-level lists, ContentKey basics
(kid, explicitIV, no key data), DRMSystem identity, key periods, usage rules (the encryption contract's
elements), DeliveryData (the recipient's certificate), and bounded number and boolean attributes.

A dialect module (``v1``, ``v2``) composes these with its own rules; nothing here knows a SPEKE version.
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
from .model import AudioFilter, DrmSystemRequest, KeyPeriod, Recipient, UsageRule, VideoFilter
from .namespaces import CPIX, cpix, ds, local_name

MAX_CONTENT_KEYS = 512
MAX_DRM_SYSTEMS = 4096
MAX_RECIPIENTS = 4

_UUID = re.compile(r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$")
_CONTENT_ID = re.compile(r"^[0-9A-Za-z_-]{1,256}$")
_TRACK_TYPE = re.compile(r"^[A-Za-z0-9_+\-]{1,64}$")
LIST_TAGS = {
    "ContentKeyList": cpix("ContentKeyList"),
    "DRMSystemList": cpix("DRMSystemList"),
    "ContentKeyPeriodList": cpix("ContentKeyPeriodList"),
    "ContentKeyUsageRuleList": cpix("ContentKeyUsageRuleList"),
    "DeliveryDataList": cpix("DeliveryDataList"),
}
_KEY_DATA_TAGS = {cpix("Data")}
CPIX_PREFIX = f"{{{CPIX}}}"

ChildrenParser = Callable[[Element, uuid.UUID, str], list[tuple[str, Element]]]
"""A dialect's reading of one DRMSystem's signalling children: (child key, element) in document order."""


def parse_uuid(text: str | None, what: str) -> uuid.UUID:
    value = _UUIDS.get(text)  # type: ignore[arg-type]
    if value is not None:
        return value
    if text is None or not text.strip():
        raise CpixError(f"Missing {what}")
    if not _UUID.match(text):
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
    if not _CONTENT_ID.match(value):
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
    if len(element) and any(child.tag in _KEY_DATA_TAGS for child in element):
        raise CpixError(f"ContentKey {kid} carries key data: a SPEKE request must not")
    return kid, _explicit_iv(element, kid)


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
        kid = parse_uuid(child.get("kid"), "ContentKeyUsageRule@kid")
        track_type = child.get("intendedTrackType")
        if track_type is None or not track_type.strip():
            raise ContractError(f"Missing ContentKeyUsageRule@intendedTrackType for KID {kid}")
        if not _TRACK_TYPE.match(track_type):
            raise ContractError(f"Malformed encryption contract: invalid intendedTrackType {quote(track_type)}")
        rule = UsageRule(kid=kid, track_type=track_type)
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
        if child.find(cpix("DocumentKey")) is not None or child.find(cpix("MACMethod")) is not None:
            raise CpixError("DeliveryData must not carry a DocumentKey or MACMethod in a request")
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


def int_attr(element: Element, name: str, what: str, *, contract: bool = False) -> int | None:
    text = element.get(name)
    if text is None:
        return None
    text = text.strip()
    if not text.isdigit() or len(text) > 12:
        prefix = "Malformed encryption contract: " if contract else ""
        raise (ContractError if contract else CpixError)(f"{prefix}{what} must be a non-negative integer")
    return int(text)


def bool_attr(element: Element, name: str, what: str) -> bool | None:
    text = element.get(name)
    if text is None:
        return None
    if text.strip() in ("true", "1"):
        return True
    if text.strip() in ("false", "0"):
        return False
    raise ContractError(f"Malformed encryption contract: {what} must be true or false")


def quote(text: str) -> str:
    """Quote request text for an error message, bounded and printable."""
    clean = "".join(ch if ch.isprintable() else "?" for ch in text[:80])
    return repr(clean + ("..." if len(text) > 80 else ""))
