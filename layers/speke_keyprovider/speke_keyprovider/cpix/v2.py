"""SPEKE v2 document rules (CPIX 2.3, contract section 2): what a v2 request must carry, on top of the
shared element rules in ``elements``.

``CPIX@contentId`` (a legacy ``id`` is ignored and dropped from the answer), one
``commonEncryptionScheme`` per document, mandatory ContentKeyList / DRMSystemList / ContentKeyUsageRuleList,
and the v2 signalling children (PSSH, ContentProtectionData, HLSSignalingData media/master,
SmoothStreamingProtectionHeaderData), each empty in a request. The encryption contract itself is checked in
``speke_keyprovider.contract``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from xml.etree.ElementTree import Element

from ..drm.base import CENC_SCHEMES
from ..errors import ContractError, CpixError, Reason, UnsupportedDrmSystem, UnsupportedVersion
from . import elements
from .dialect import Dialect
from .model import (
    CHILD_CPD,
    CHILD_HLS_MASTER,
    CHILD_HLS_MEDIA,
    CHILD_PSSH,
    CHILD_SMOOTH,
    HLS_SIGNALING_DATA,
    ContentKeyRequest,
    CpixRequest,
    KeyPeriod,
)
from .namespaces import SPEKE_V1, cpix, local_name

SCHEMES = CENC_SCHEMES

_SIMPLE_CHILDREN = {name: name for name in (CHILD_PSSH, CHILD_CPD, CHILD_SMOOTH)}  # local name == Child value
_HLS_CHILDREN = {child.partition("/")[2]: child for child in (CHILD_HLS_MEDIA, CHILD_HLS_MASTER)}
_SIGNAL_TAGS = {cpix(name): name for name in (HLS_SIGNALING_DATA, *_SIMPLE_CHILDREN)}
_SPEKE_V1_PREFIX = f"{{{SPEKE_V1}}}"


@dataclass(frozen=True, slots=True)
class DocumentRules:
    """What a v2 minor version accepts where versions differ; everything else is shared (``parse_with``)."""

    schemes: Mapping[str, str]  # commonEncryptionScheme value -> the protection scheme the DRM systems see
    playlists: Mapping[str, str]  # HLSSignalingData@playlist value -> signalling child key
    periods: Callable[[Element | None], list[KeyPeriod]]

    @property
    def playlist_names(self) -> str:
        names = list(self.playlists)
        return ", ".join(names[:-1]) + " or " + names[-1]


RULES = DocumentRules(schemes={s: s for s in sorted(SCHEMES)}, playlists=_HLS_CHILDREN, periods=elements.periods)
"""SPEKE v2.0 (CPIX 2.3)."""


def parse(root: Element, dialect: Dialect) -> CpixRequest:
    """A v2.0 request from its parsed root (already known to be ``cpix:CPIX`` of this dialect's version)."""
    return parse_with(root, dialect, RULES)


def parse_with(root: Element, dialect: Dialect, rules: DocumentRules) -> CpixRequest:
    """A v2 request read with one minor version's ``rules``."""
    content_id = elements.content_id(root, "contentId")

    lists = elements.top_level_lists(root)
    content_keys = _content_keys(elements.required_list(lists, "ContentKeyList", "ContentKey"), rules.schemes)
    kids = {key.kid for key in content_keys}
    drm_systems = elements.drm_systems(
        elements.required_list(lists, "DRMSystemList", "DRMSystem"), kids, partial(_signalling_children, rules)
    )
    periods = rules.periods(lists.get("ContentKeyPeriodList"))
    usage_list = lists.get("ContentKeyUsageRuleList")
    if usage_list is None:
        raise ContractError(
            "Missing CPIX encryption contract: no ContentKeyUsageRuleList", reason=Reason.CONTRACT_MISSING
        )
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


def _content_keys(items: list[Element], accepted: Mapping[str, str]) -> list[ContentKeyRequest]:
    elements.check_content_key_count(items)
    keys: list[ContentKeyRequest] = []
    seen: set[uuid.UUID] = set()
    schemes: set[str] = set()
    for element in items:
        kid, explicit_iv = elements.content_key_basics(element, seen)
        scheme = element.get("commonEncryptionScheme")
        if scheme is None or not scheme.strip():
            raise CpixError(f"Missing ContentKey@commonEncryptionScheme for KID {kid}")
        protection = accepted.get(scheme)
        if protection is None:
            raise CpixError(f"Unsupported ContentKey@commonEncryptionScheme {elements.quote(scheme)} for KID {kid}")
        schemes.add(scheme)  # one value per document, as sent (SAMPLE-AES and cbcs are two values)
        keys.append(ContentKeyRequest(kid=kid, scheme=protection, explicit_iv=explicit_iv, element=element))
    if len(schemes) > 1:
        raise CpixError("Non compliant ContentKey@commonEncryptionScheme combination")
    return keys


def _signalling_children(
    rules: DocumentRules, element: Element, kid: uuid.UUID, system_id: str
) -> list[tuple[str, Element]]:
    children: list[tuple[str, Element]] = []
    seen: set[str] = set()
    for child in element:
        tag = child.tag
        name = _SIGNAL_TAGS.get(tag)  # the local name of a known cpix child, in one lookup
        if name is None:
            if tag.startswith(_SPEKE_V1_PREFIX):
                raise UnsupportedVersion(
                    f"speke:{local_name(tag)} in DRMSystem {system_id} for KID {kid} is SPEKE v1 "
                    f"({SPEKE_V1}): a SPEKE v2 document must not carry it"
                )
            if not tag.startswith(elements.CPIX_PREFIX):
                continue  # foreign extensions (xs:any ##other) are echoed untouched
            name = local_name(tag)
        if name == HLS_SIGNALING_DATA:
            playlist = child.get("playlist")
            if playlist is None:
                raise CpixError(f"Missing HLSSignalingData@playlist in DRMSystem {system_id} for KID {kid}")
            key = rules.playlists.get(playlist)
            if key is None:
                raise CpixError(
                    f"Invalid HLSSignalingData@playlist {elements.quote(playlist)}: {rules.playlist_names} expected"
                )
        elif name in _SIMPLE_CHILDREN:
            key = _SIMPLE_CHILDREN[name]
        else:
            raise UnsupportedDrmSystem(f"Unsupported DRMSystem child {name} in DRMSystem {system_id} for KID {kid}")
        if key in seen:
            raise CpixError(f"Duplicate {name} in DRMSystem {system_id} for KID {kid}")
        seen.add(key)
        elements.check_empty_request_child(child, name, kid, system_id)
        children.append((key, child))
    return children
