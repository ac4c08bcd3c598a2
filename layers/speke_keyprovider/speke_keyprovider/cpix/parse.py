"""Parse and validate a SPEKE v2 request (CPIX 2.3) into a ``CpixRequest``.

XML goes through defusedxml with DTDs, entities and external references forbidden; the caller
caps the size before calling. Every rule of contract section 2 that concerns the document's
structure is checked here with the spec's error text; the encryption contract is checked in
``speke_keyprovider.contract``.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from typing import Any
from xml.etree.ElementTree import Element, ParseError, TreeBuilder

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from ..errors import CpixError
from .model import (
    CHILD_CPD,
    CHILD_HLS_MASTER,
    CHILD_HLS_MEDIA,
    CHILD_PSSH,
    CHILD_SMOOTH,
    AudioFilter,
    ContentKeyRequest,
    CpixRequest,
    DrmSystemRequest,
    KeyPeriod,
    Recipient,
    UsageRule,
    VideoFilter,
)
from .namespaces import CPIX, DS, cpix, ds, local_name

SUPPORTED_CPIX_VERSION = "2.3"
SCHEMES = frozenset({"cenc", "cbcs", "cbc1", "cens"})
MAX_CONTENT_KEYS = 512
MAX_DRM_SYSTEMS = 4096
MAX_RECIPIENTS = 4

_CONTENT_ID = re.compile(r"^[0-9A-Za-z_-]{1,256}$")
_UUID = re.compile(r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$")
_TRACK_TYPE = re.compile(r"^[A-Za-z0-9_+\-]{1,64}$")
_SIMPLE_CHILDREN = {
    "PSSH": CHILD_PSSH,
    "ContentProtectionData": CHILD_CPD,
    "SmoothStreamingProtectionHeaderData": CHILD_SMOOTH,
}
_HLS_CHILDREN = {"media": CHILD_HLS_MEDIA, "master": CHILD_HLS_MASTER}
_LIST_TAGS = {
    "ContentKeyList": cpix("ContentKeyList"),
    "DRMSystemList": cpix("DRMSystemList"),
    "ContentKeyPeriodList": cpix("ContentKeyPeriodList"),
    "ContentKeyUsageRuleList": cpix("ContentKeyUsageRuleList"),
    "DeliveryDataList": cpix("DeliveryDataList"),
}
_KEY_DATA_TAGS = {cpix("Data")}
_CPIX_PREFIX = f"{{{CPIX}}}"
_SIGNAL_TAGS = {cpix(name): name for name in ("HLSSignalingData", *_SIMPLE_CHILDREN)}
MAX_XML_DEPTH = 32  # a response is 9 levels deep; foreign extensions get the rest


class _DefusedParser(DefusedXMLParser):
    """defusedxml's parser, its DTD / entity / external-reference handlers untouched, with leaner element
    callbacks and a nesting limit.

    ``DefusedXMLParser`` is ElementTree's pure-Python ``XMLParser``: for every element it calls a Python
    ``_start`` that rebuilds the attribute dict from a flat list and expands each name through a method
    call. Here expat hands over the attributes as a dict and names are expanded through a per-document
    dict, the tree is built by the same (C) ``TreeBuilder``: same tree, under half the parse time. The
    start handler also counts depth, so a document nested deeper than ``MAX_XML_DEPTH`` is refused while
    it is read (nothing downstream then walks a pathological tree).
    """

    def __init__(self) -> None:
        super().__init__(target=TreeBuilder(), forbid_dtd=True, forbid_entities=True, forbid_external=True)
        target_start = self.target.start
        target_end = self.target.end
        names: dict[str, str] = {}
        depth = 0

        def start(tag: str, attrib: dict[str, str]) -> Element:
            nonlocal depth
            depth += 1
            if depth > MAX_XML_DEPTH:
                raise CpixError(
                    f"XML nested too deeply: at most {MAX_XML_DEPTH} levels of elements", reason="xml_too_deep"
                )
            name = names.get(tag)
            if name is None:
                name = names[tag] = "{" + tag if "}" in tag else tag
            for key in attrib:
                if "}" in key:  # a namespaced attribute: expand every name, keeping document order
                    attrib = {("{" + k if "}" in k else k): v for k, v in attrib.items()}
                    break
            return target_start(name, attrib)

        def end(tag: str) -> Element:
            nonlocal depth
            depth -= 1
            return target_end(names[tag])

        parser = self.parser
        parser.ordered_attributes = False  # attributes as a dict, in document order
        parser.StartElementHandler = start
        parser.EndElementHandler = end


def parse_xml(body: bytes) -> Element:
    """Parse bytes with defusedxml; any DTD, entity or external reference is refused."""
    try:
        parser = _DefusedParser()
        parser.feed(body)
        return parser.close()
    except DefusedXmlException as exc:
        kind = type(exc).__name__.replace("Forbidden", "")
        raise CpixError(
            f"Forbidden XML construct: {kind} (DTDs, entities and external references are refused)",
            reason="xml_forbidden",
        ) from None
    except ParseError as exc:
        line, column = getattr(exc, "position", (0, 0))
        raise CpixError(f"Malformed XML at line {line}, column {column}", reason="xml_malformed") from None
    except (LookupError, ValueError):  # unknown (LookupError) or multi-byte (expat ValueError) encodings
        raise CpixError(
            "Unsupported XML encoding declaration: UTF-8 or UTF-16 expected", reason="xml_encoding"
        ) from None


def parse_request(body: bytes) -> CpixRequest:
    root = parse_xml(body)
    if root.tag != cpix("CPIX"):
        ns = root.tag[1:].split("}", 1)[0] if root.tag.startswith("{") else ""
        raise CpixError(
            f"Root element must be CPIX in namespace {CPIX} (got {local_name(root.tag)!r} in {ns or 'no namespace'!r})",
            reason="xml_namespace",
        )
    content_id = root.get("contentId")
    if content_id is None or not content_id.strip():
        raise CpixError("Missing CPIX@contentId")
    if not _CONTENT_ID.match(content_id):
        raise CpixError("Invalid CPIX@contentId: 1 to 256 characters of [0-9a-zA-Z_-] expected")
    version = root.get("version")
    if version is None or not version.strip():
        raise CpixError("Missing CPIX@version")
    if version != SUPPORTED_CPIX_VERSION:
        raise CpixError("Unsupported CPIX@version")

    lists = _top_level_lists(root)
    content_keys = _content_keys(_required_list(lists, "ContentKeyList", "ContentKey"))
    by_kid = {key.kid: key for key in content_keys}
    drm_systems = _drm_systems(_required_list(lists, "DRMSystemList", "DRMSystem"), by_kid)
    periods = _periods(lists.get("ContentKeyPeriodList"))
    usage_list = lists.get("ContentKeyUsageRuleList")
    if usage_list is None:
        raise CpixError("Missing CPIX encryption contract: no ContentKeyUsageRuleList", reason="contract_missing")
    usage_rules = _usage_rules(usage_list)
    recipients = _recipients(lists.get("DeliveryDataList"))
    return CpixRequest(
        root=root,
        content_id=content_id,
        content_keys=content_keys,
        drm_systems=drm_systems,
        usage_rules=usage_rules,
        periods=periods,
        recipients=recipients,
    )


def parse_uuid(text: str | None, what: str) -> uuid.UUID:
    value = _UUIDS.get(text)  # type: ignore[arg-type]
    if value is not None:
        return value
    if text is None or not text.strip():
        raise CpixError(f"Missing {what}")
    if not _UUID.match(text):
        raise CpixError(f"Invalid {what}: {_quote(text)} is not a UUID (8-4-4-4-12 hex)")
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


def _top_level_lists(root: Element) -> dict[str, Element]:
    found: dict[str, Element] = {}
    for child in root:
        for name, tag in _LIST_TAGS.items():
            if child.tag == tag:
                if name in found:
                    raise CpixError(f"Duplicate {name}: at most one is allowed")
                found[name] = child
    return found


def _required_list(lists: dict[str, Element], name: str, item: str) -> list[Element]:
    element = lists.get(name)
    if element is None:
        raise CpixError(f"Missing {name}")
    tag = cpix(item)
    items = [child for child in element if child.tag == tag]
    if not items:
        raise CpixError(f"Empty {name}: at least one {item} is required")
    return items


def _content_keys(elements: list[Element]) -> list[ContentKeyRequest]:
    if len(elements) > MAX_CONTENT_KEYS:
        raise CpixError(f"Too many ContentKey elements: at most {MAX_CONTENT_KEYS}")
    keys: list[ContentKeyRequest] = []
    seen: set[uuid.UUID] = set()
    schemes: set[str] = set()
    for element in elements:
        kid = parse_uuid(element.get("kid"), "ContentKey@kid")
        if kid in seen:
            raise CpixError(f"Duplicate ContentKey@kid {kid}")
        seen.add(kid)
        scheme = element.get("commonEncryptionScheme")
        if scheme is None or not scheme.strip():
            raise CpixError(f"Missing ContentKey@commonEncryptionScheme for KID {kid}")
        if scheme not in SCHEMES:
            raise CpixError(f"Unsupported ContentKey@commonEncryptionScheme {_quote(scheme)} for KID {kid}")
        schemes.add(scheme)
        if len(element) and any(child.tag in _KEY_DATA_TAGS for child in element):
            raise CpixError(f"ContentKey {kid} carries key data: a SPEKE request must not")
        keys.append(ContentKeyRequest(kid=kid, scheme=scheme, explicit_iv=_explicit_iv(element, kid), element=element))
    if len(schemes) > 1:
        raise CpixError("Non compliant ContentKey@commonEncryptionScheme combination")
    return keys


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


def _drm_systems(elements: list[Element], by_kid: dict[uuid.UUID, ContentKeyRequest]) -> list[DrmSystemRequest]:
    if len(elements) > MAX_DRM_SYSTEMS:
        raise CpixError(f"Too many DRMSystem elements: at most {MAX_DRM_SYSTEMS}")
    systems: list[DrmSystemRequest] = []
    seen: set[tuple[uuid.UUID, str]] = set()
    for element in elements:
        kid = parse_uuid(element.get("kid"), "DRMSystem@kid")
        system_id = _system_id(element.get("systemId"))
        if kid not in by_kid:
            raise CpixError(f"DRMSystem@kid {kid} does not match any ContentKey")
        if (kid, system_id) in seen:
            raise CpixError(f"Duplicate DRMSystem for KID {kid} and systemId {system_id}")
        seen.add((kid, system_id))
        systems.append(
            DrmSystemRequest(
                system_id=system_id, kid=kid, children=_signalling_children(element, kid, system_id), element=element
            )
        )
    return systems


def _signalling_children(element: Element, kid: uuid.UUID, system_id: str) -> list[tuple[str, Element]]:
    children: list[tuple[str, Element]] = []
    seen: set[str] = set()
    for child in element:
        tag = child.tag
        name = _SIGNAL_TAGS.get(tag)  # the local name of a known cpix child, in one lookup
        if name is None:
            if not tag.startswith(_CPIX_PREFIX):
                continue  # foreign extensions (xs:any ##other) are echoed untouched
            name = local_name(tag)
        if name == "HLSSignalingData":
            playlist = child.get("playlist")
            if playlist is None:
                raise CpixError(f"Missing HLSSignalingData@playlist in DRMSystem {system_id} for KID {kid}")
            key = _HLS_CHILDREN.get(playlist)
            if key is None:
                raise CpixError(f"Invalid HLSSignalingData@playlist {_quote(playlist)}: media or master expected")
        elif name in _SIMPLE_CHILDREN:
            key = _SIMPLE_CHILDREN[name]
        else:
            raise CpixError(
                f"Unsupported DRMSystem child {name} in DRMSystem {system_id} for KID {kid}", reason="drm_unsupported"
            )
        if key in seen:
            raise CpixError(f"Duplicate {name} in DRMSystem {system_id} for KID {kid}")
        seen.add(key)
        if (child.text and child.text.strip()) or len(child):
            raise CpixError(f"{name} in DRMSystem {system_id} for KID {kid} must be empty in a request")
        children.append((key, child))
    return children


def _periods(element: Element | None) -> list[KeyPeriod]:
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
            raise CpixError(f"Duplicate ContentKeyPeriod@id {_quote(period_id)}")
        seen.add(period_id)
        periods.append(KeyPeriod(id=period_id, index=_int_attr(child, "index", "ContentKeyPeriod@index")))
    if not periods:
        raise CpixError("Empty ContentKeyPeriodList: at least one ContentKeyPeriod is required")
    return periods


def _usage_rules(element: Element) -> list[UsageRule]:
    rules: list[UsageRule] = []
    rule_tag = cpix("ContentKeyUsageRule")
    for child in element:
        if child.tag != rule_tag:
            continue
        kid = parse_uuid(child.get("kid"), "ContentKeyUsageRule@kid")
        track_type = child.get("intendedTrackType")
        if track_type is None or not track_type.strip():
            raise CpixError(f"Missing ContentKeyUsageRule@intendedTrackType for KID {kid}", reason="contract_invalid")
        if not _TRACK_TYPE.match(track_type):
            raise CpixError(
                f"Malformed encryption contract: invalid intendedTrackType {_quote(track_type)}",
                reason="contract_invalid",
            )
        rule = UsageRule(kid=kid, track_type=track_type)
        for item in child:
            name = local_name(item.tag)
            if not item.tag.startswith(_CPIX_PREFIX):
                rule.other_filters.append(name)
            elif name == "VideoFilter":
                rule.video_filters.append(
                    VideoFilter(
                        min_pixels=_int_attr(item, "minPixels", "VideoFilter@minPixels", contract=True),
                        max_pixels=_int_attr(item, "maxPixels", "VideoFilter@maxPixels", contract=True),
                        hdr=_bool_attr(item, "hdr", "VideoFilter@hdr"),
                        min_fps=_int_attr(item, "minFps", "VideoFilter@minFps", contract=True),
                        max_fps=_int_attr(item, "maxFps", "VideoFilter@maxFps", contract=True),
                    )
                )
            elif name == "AudioFilter":
                rule.audio_filters.append(
                    AudioFilter(
                        min_channels=_int_attr(item, "minChannels", "AudioFilter@minChannels", contract=True),
                        max_channels=_int_attr(item, "maxChannels", "AudioFilter@maxChannels", contract=True),
                    )
                )
            elif name == "KeyPeriodFilter":
                period_id = item.get("periodId")
                if period_id is None or not period_id.strip():
                    raise CpixError(
                        "Malformed encryption contract: KeyPeriodFilter without periodId", reason="contract_invalid"
                    )
                rule.period_ids.append(period_id)
            else:
                rule.other_filters.append(name)
        rules.append(rule)
    return rules


def _recipients(element: Element | None) -> list[Recipient]:
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
            raise CpixError(
                "Missing DeliveryData/DeliveryKey/ds:X509Data/ds:X509Certificate", reason="certificate_rejected"
            )
        if len(cert):
            raise CpixError("DeliveryData X509Certificate must hold base64 text only", reason="certificate_rejected")
        try:
            der = base64.b64decode("".join(cert.text.split()), validate=True)  # type: ignore[union-attr]
        except (binascii.Error, ValueError):
            raise CpixError("DeliveryData X509Certificate is not valid base64", reason="certificate_rejected") from None
        recipients.append(Recipient(certificate_der=der, element=child))
    if not recipients:
        raise CpixError("Empty DeliveryDataList: at least one DeliveryData is required")
    if len(recipients) > MAX_RECIPIENTS:
        raise CpixError(f"Too many DeliveryData elements: at most {MAX_RECIPIENTS}")
    return recipients


def _int_attr(element: Element, name: str, what: str, *, contract: bool = False) -> int | None:
    text = element.get(name)
    if text is None:
        return None
    text = text.strip()
    if not text.isdigit() or len(text) > 12:
        prefix = "Malformed encryption contract: " if contract else ""
        raise CpixError(
            f"{prefix}{what} must be a non-negative integer", reason="contract_invalid" if contract else "cpix_invalid"
        )
    return int(text)


def _bool_attr(element: Element, name: str, what: str) -> bool | None:
    text = element.get(name)
    if text is None:
        return None
    if text.strip() in ("true", "1"):
        return True
    if text.strip() in ("false", "0"):
        return False
    raise CpixError(f"Malformed encryption contract: {what} must be true or false", reason="contract_invalid")


def _quote(text: str) -> str:
    """Quote request text for an error message, bounded and printable."""
    clean = "".join(ch if ch.isprintable() else "?" for ch in text[:80])
    return repr(clean + ("..." if len(text) > 80 else ""))


__all__ = ["DS", "MAX_CONTENT_KEYS", "SCHEMES", "parse_request", "parse_uuid", "parse_xml"]
