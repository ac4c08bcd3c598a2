"""SPEKE v2 document rules (CPIX 2.3, contract section 2): what a v2 request must carry, on top of the
shared element rules in ``elements``.

``CPIX@contentId`` (a legacy ``id`` is ignored and dropped from the answer), one
``commonEncryptionScheme`` per document, mandatory ContentKeyList / DRMSystemList / ContentKeyUsageRuleList,
and the v2 signalling children (PSSH, ContentProtectionData, HLSSignalingData media/master,
SmoothStreamingProtectionHeaderData), each empty in a request. The encryption contract itself is checked in
``speke_keyprovider.contract``.
"""

from __future__ import annotations

import re
import uuid
from xml.etree.ElementTree import Element

from ..errors import CpixError
from . import elements, values
from .dialect import Dialect
from .model import (
    CHILD_CPD,
    CHILD_HLS_MASTER,
    CHILD_HLS_MEDIA,
    CHILD_PSSH,
    CHILD_SMOOTH,
    ContentKeyRequest,
    CpixRequest,
)
from .namespaces import cpix, local_name

SCHEMES = frozenset({"cenc", "cbcs", "cbc1", "cens"})

_CONTENT_ID = re.compile(r"[0-9A-Za-z_-]{1,256}")  # matched whole (values.matches)
_SIMPLE_CHILDREN = {
    "PSSH": CHILD_PSSH,
    "ContentProtectionData": CHILD_CPD,
    "SmoothStreamingProtectionHeaderData": CHILD_SMOOTH,
}
_HLS_CHILDREN = {"media": CHILD_HLS_MEDIA, "master": CHILD_HLS_MASTER}
_SIGNAL_TAGS = {cpix(name): name for name in ("HLSSignalingData", *_SIMPLE_CHILDREN)}


def parse(root: Element, dialect: Dialect) -> CpixRequest:
    """A v2 request from its parsed root (already known to be ``cpix:CPIX`` of this dialect's version)."""
    content_id = root.get("contentId")
    if content_id is None or not content_id.strip():
        raise CpixError("Missing CPIX@contentId")
    if not values.matches(_CONTENT_ID, content_id):
        raise CpixError("Invalid CPIX@contentId: 1 to 256 characters of [0-9a-zA-Z_-] expected")

    lists = elements.top_level_lists(root)
    content_keys = _content_keys(elements.required_list(lists, "ContentKeyList", "ContentKey"))
    kids = {key.kid for key in content_keys}
    drm_systems = elements.drm_systems(
        elements.required_list(lists, "DRMSystemList", "DRMSystem"), kids, _signalling_children
    )
    periods = elements.periods(lists.get("ContentKeyPeriodList"))
    usage_list = lists.get("ContentKeyUsageRuleList")
    if usage_list is None:
        raise CpixError("Missing CPIX encryption contract: no ContentKeyUsageRuleList", reason="contract_missing")
    usage_rules = elements.usage_rules(usage_list)
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


def _content_keys(items: list[Element]) -> list[ContentKeyRequest]:
    elements.check_content_key_count(items)
    keys: list[ContentKeyRequest] = []
    seen: set[uuid.UUID] = set()
    schemes: set[str] = set()
    for element in items:
        kid, explicit_iv = elements.content_key_basics(element, seen)
        scheme = element.get("commonEncryptionScheme")
        if scheme is None or not scheme.strip():
            raise CpixError(f"Missing ContentKey@commonEncryptionScheme for KID {kid}")
        if scheme not in SCHEMES:
            raise CpixError(f"Unsupported ContentKey@commonEncryptionScheme {elements.quote(scheme)} for KID {kid}")
        schemes.add(scheme)
        keys.append(ContentKeyRequest(kid=kid, scheme=scheme, explicit_iv=explicit_iv, element=element))
    if len(schemes) > 1:
        raise CpixError("Non compliant ContentKey@commonEncryptionScheme combination")
    return keys


def _signalling_children(element: Element, kid: uuid.UUID, system_id: str) -> list[tuple[str, Element]]:
    children: list[tuple[str, Element]] = []
    seen: set[str] = set()
    for child in element:
        tag = child.tag
        name = _SIGNAL_TAGS.get(tag)  # the local name of a known cpix child, in one lookup
        if name is None:
            if not tag.startswith(elements.CPIX_PREFIX):
                continue  # foreign extensions (xs:any ##other) are echoed untouched
            name = local_name(tag)
        if name == "HLSSignalingData":
            playlist = child.get("playlist")
            if playlist is None:
                raise CpixError(f"Missing HLSSignalingData@playlist in DRMSystem {system_id} for KID {kid}")
            key = _HLS_CHILDREN.get(playlist)
            if key is None:
                raise CpixError(
                    f"Invalid HLSSignalingData@playlist {elements.quote(playlist)}: media or master expected"
                )
        elif name in _SIMPLE_CHILDREN:
            key = _SIMPLE_CHILDREN[name]
        else:
            raise CpixError(
                f"Unsupported DRMSystem child {name} in DRMSystem {system_id} for KID {kid}", reason="drm_unsupported"
            )
        if key in seen:
            raise CpixError(f"Duplicate {name} in DRMSystem {system_id} for KID {kid}")
        seen.add(key)
        elements.check_empty_request_child(child, name, kid, system_id)
        children.append((key, child))
    return children
