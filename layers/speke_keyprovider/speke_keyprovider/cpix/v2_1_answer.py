"""What a SPEKE v2.1 answer may add (``speke-v2.1.md`` section 3), from ``settings_v21``, where the CPIX 2.4
schema puts it:

- ``cpix:HDCPData`` as the first child of a ``ContentKey`` (before ``cpix:Data``), with ``@HLSHDCPLevel``
  and/or ``cpix:HDCPOutputProtectionData``, per intendedTrackType;
- ``ContentProtectionData@robustness`` on a requested ContentProtectionData, per DRM system and track type;
- ``DRMSystem@HLSAllowedCPC`` = ``KEYFORMAT:LABEL[/LABEL]`` on a DRMSystem that asks for HLS signalling.

Never called for a v2.0 answer. Whatever the request itself carried there is left as it was.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element, SubElement

from ..drm import aes128, fairplay, playready, widevine
from ..settings_v21 import V21Settings, for_system_track, for_track
from .model import CHILD_CPD, CHILD_HLS_MASTER, CHILD_HLS_MEDIA, CpixRequest
from .namespaces import cpix

KEYFORMATS = {module.SYSTEM_ID: module.KEYFORMAT for module in (widevine, playready, fairplay, aes128)}
_HLS = {CHILD_HLS_MEDIA, CHILD_HLS_MASTER}


def add_signalling(request: CpixRequest, settings: V21Settings) -> None:
    if not (settings.signals_hdcp or settings.robustness or settings.allowed_cpc):
        return
    track_types = {rule.kid: rule.track_type for rule in request.usage_rules}
    if settings.signals_hdcp:
        for key in request.content_keys:
            _hdcp(key.element, settings, track_types[key.kid])
    for system in request.drm_systems:
        track_type = track_types[system.kid]
        robustness = for_system_track(settings.robustness, system.system_id, track_type)
        cpc = for_system_track(settings.allowed_cpc, system.system_id, track_type)
        if robustness is not None:
            for name, element in system.children:
                if name == CHILD_CPD and element.get("robustness") is None:
                    element.set("robustness", robustness)
        if (
            cpc is not None
            and any(name in _HLS for name, _ in system.children)
            and system.element.get("HLSAllowedCPC") is None
        ):
            system.element.set("HLSAllowedCPC", f"{KEYFORMATS[system.system_id]}:{cpc}")


def _hdcp(content_key: Element, settings: V21Settings, track_type: str) -> None:
    level = for_track(settings.hdcp_levels, track_type)
    fragment = for_track(settings.output_protection, track_type)
    if (level is None and fragment is None) or content_key.find(cpix("HDCPData")) is not None:
        return
    hdcp = Element(cpix("HDCPData"))
    if level is not None:
        hdcp.set("HLSHDCPLevel", level)
    if fragment is not None:
        SubElement(hdcp, cpix("HDCPOutputProtectionData")).text = fragment
    content_key.insert(0, hdcp)
