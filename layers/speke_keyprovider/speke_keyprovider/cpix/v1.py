"""SPEKE v1 document rules (speke-v1.md section 4): what a v1 request must carry, on top of the shared element
rules in ``elements``.

- The content id is ``CPIX@id`` (same characters as v2's contentId); a ``CPIX@contentId`` is a v2 marker: 422.
- ``ContentKeyList`` with one ``ContentKey`` (more are accepted when each follows every rule), empty, with an
  optional ``explicitIV``; no ``commonEncryptionScheme`` (a v2 marker: 422). The scheme the signalling is built
  for is chosen by ``scheme_for`` from the systems the document names (v1 has no scheme field).
- ``DRMSystemList``: one ``DRMSystem`` per (kid, systemId) whose empty children are the requests:
  ``cpix:PSSH``, ``cpix:ContentProtectionData``, ``cpix:URIExtXKey``, ``speke:KeyFormat``,
  ``speke:KeyFormatVersions``, ``speke:ProtectionHeader``. Any other child (v2's HLSSignalingData included),
  a duplicate or a non-empty one: 422. Which of them a system fills, and which are dropped from the answer,
  is the dialect's answer rule (``answer_rules``).
- Live only: ``ContentKeyPeriodList`` and ``ContentKeyUsageRuleList`` (``ContentKeyUsageRule kid`` with
  ``KeyPeriodFilter periodId``); both echoed. Only the period ``index`` matters; other settings are ignored.
- ``DeliveryDataList``: as v2 (the recipient's certificate).
"""

from __future__ import annotations

import uuid
from xml.etree.ElementTree import Element

from ..drm import aes128, fairplay
from ..errors import CpixError, UnsupportedDrmSystem, UnsupportedVersion
from . import elements
from .dialect import Dialect
from .model import (
    CHILD_CPD,
    CHILD_KEY_FORMAT,
    CHILD_KEY_FORMAT_VERSIONS,
    CHILD_PROTECTION_HEADER,
    CHILD_PSSH,
    CHILD_URI_EXT_X_KEY,
    ContentKeyRequest,
    CpixRequest,
    UsageRule,
)
from .namespaces import CPIX, SPEKE_V1, cpix, local_name, speke

# The v1 request children: element tag -> (child key, name as written in errors).
_CHILDREN = {
    cpix("PSSH"): (CHILD_PSSH, "cpix:PSSH"),
    cpix("ContentProtectionData"): (CHILD_CPD, "cpix:ContentProtectionData"),
    cpix("URIExtXKey"): (CHILD_URI_EXT_X_KEY, "cpix:URIExtXKey"),
    speke("KeyFormat"): (CHILD_KEY_FORMAT, "speke:KeyFormat"),
    speke("KeyFormatVersions"): (CHILD_KEY_FORMAT_VERSIONS, "speke:KeyFormatVersions"),
    speke("ProtectionHeader"): (CHILD_PROTECTION_HEADER, "speke:ProtectionHeader"),
}
_V2_CHILDREN = {cpix("HLSSignalingData"), cpix("SmoothStreamingProtectionHeaderData")}
_CBCS_SYSTEMS = frozenset({fairplay.SYSTEM_ID})
_HLS_AES_128_SYSTEMS = frozenset(aes128.SPEKE_V1_SYSTEM_IDS)


def scheme_for(system_ids: set[str]) -> str:
    """The protection scheme a v1 document's signalling is built for (v1 carries none; docs/speke-v1.md).

    FairPlay anywhere (HLS SAMPLE-AES, CMAF with FairPlay): ``cbcs``. HLS AES-128 alone (whole-segment
    AES-128-CBC): ``cbc1``, the name MediaPackage v2 sends for it. Otherwise (DASH, MSS, CMAF with
    Widevine/PlayReady, ClearKey): ``cenc``.
    """
    if system_ids & _CBCS_SYSTEMS:
        return "cbcs"
    if system_ids and system_ids <= _HLS_AES_128_SYSTEMS:
        return "cbc1"
    return "cenc"


def parse(root: Element, dialect: Dialect) -> CpixRequest:
    """A v1 request from its parsed root (``cpix:CPIX`` without ``version``, sent without X-Speke-Version)."""
    if root.get("contentId") is not None:
        raise UnsupportedVersion(
            "CPIX@contentId is SPEKE v2: a SPEKE v1 document (no X-Speke-Version, no CPIX@version) names its "
            "content in CPIX@id"
        )
    content_id = elements.content_id(root, "id")
    lists = elements.top_level_lists(root)
    key_elements = elements.required_list(lists, "ContentKeyList", "ContentKey")
    system_elements = elements.required_list(lists, "DRMSystemList", "DRMSystem")
    system_ids = {elements.parse_uuid(e.get("systemId"), "DRMSystem@systemId") for e in system_elements}
    scheme = scheme_for({str(value) for value in system_ids})
    content_keys = _content_keys(key_elements, scheme)
    kids = {key.kid for key in content_keys}
    drm_systems = elements.drm_systems(system_elements, kids, _signalling_children)
    periods = elements.periods(lists.get("ContentKeyPeriodList"))
    usage_rules = _usage_rules(lists.get("ContentKeyUsageRuleList"), kids, {period.id for period in periods})
    recipients = elements.recipients(lists.get("DeliveryDataList"))
    return CpixRequest(
        dialect=dialect,
        root=root,
        content_id=content_id,
        content_keys=content_keys,
        drm_systems=drm_systems,
        usage_rules=usage_rules,
        periods=periods,
        recipients=recipients,
    )


def _content_keys(items: list[Element], scheme: str) -> list[ContentKeyRequest]:
    elements.check_content_key_count(items)
    keys: list[ContentKeyRequest] = []
    seen: set[uuid.UUID] = set()
    for element in items:
        kid, explicit_iv = elements.content_key_basics(element, seen)
        if element.get("commonEncryptionScheme") is not None:
            raise UnsupportedVersion(
                f"ContentKey@commonEncryptionScheme for KID {kid} is SPEKE v2: a SPEKE v1 document carries none"
            )
        keys.append(ContentKeyRequest(kid=kid, scheme=scheme, explicit_iv=explicit_iv, element=element))
    return keys


def _signalling_children(element: Element, kid: uuid.UUID, system_id: str) -> list[tuple[str, Element]]:
    children: list[tuple[str, Element]] = []
    seen: set[str] = set()
    for child in element:
        known = _CHILDREN.get(child.tag)
        if known is None:
            raise UnsupportedDrmSystem(_unknown_child(child.tag, kid, system_id))
        key, name = known
        if key in seen:
            raise CpixError(f"Duplicate {name} in DRMSystem {system_id} for KID {kid}")
        seen.add(key)
        elements.check_empty_request_child(child, name, kid, system_id)
        children.append((key, child))
    return children


def _unknown_child(tag: str, kid: uuid.UUID, system_id: str) -> str:
    where = f"in DRMSystem {system_id} for KID {kid}"
    name = local_name(tag)
    if tag in _V2_CHILDREN:
        return f"cpix:{name} {where} is SPEKE v2: a SPEKE v1 document asks for cpix:URIExtXKey and speke: children"
    namespace = tag[1:].split("}", 1)[0] if tag.startswith("{") else ""
    prefix = {CPIX: "cpix:", SPEKE_V1: "speke:"}.get(namespace, f"{{{namespace}}}" if namespace else "")
    return f"Unsupported DRMSystem child {prefix}{elements.quote(name)[1:-1]} {where}"


def _usage_rules(element: Element | None, kids: set[uuid.UUID], period_ids: set[str]) -> list[UsageRule]:
    """v1 usage rules tie a key to key periods: the kid names a ContentKey, each periodId a ContentKeyPeriod."""
    if element is None:
        return []
    rules: list[UsageRule] = []
    rule_tag, filter_tag = cpix("ContentKeyUsageRule"), cpix("KeyPeriodFilter")
    for child in element:
        if child.tag != rule_tag:
            continue
        kid = elements.parse_uuid(child.get("kid"), "ContentKeyUsageRule@kid")
        if kid not in kids:
            raise CpixError(f"ContentKeyUsageRule@kid {kid} does not match any ContentKey")
        rule = UsageRule(kid=kid, track_type=child.get("intendedTrackType") or "")
        for item in child.iter(filter_tag):
            period_id = item.get("periodId")
            if period_id is None or not period_id.strip():
                raise CpixError(f"KeyPeriodFilter without periodId in the ContentKeyUsageRule for KID {kid}")
            if period_id not in period_ids:
                raise CpixError(
                    f"KeyPeriodFilter@periodId {elements.quote(period_id)} for KID {kid} "
                    "does not match any ContentKeyPeriod"
                )
            rule.period_ids.append(period_id)
        rules.append(rule)
    return rules
