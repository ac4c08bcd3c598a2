"""Signalling checks, one module per DRM system (as the provider's ``drm/`` is per system).

    base        the children every system may carry, decoded and cross-checked (``SystemCheck``)
    widevine    v0 box with WidevinePsshData; data: URI in HLS
    playready   PlayReady Object / WRMHEADER in PSSH, mspr:pro, HLS and Smooth Streaming
    fairplay    SAMPLE-AES, skd:// URIs
    clearkey    W3C kid-list box
    aes128      HLS AES-128 key URLs

``check_for(system_id)`` is the check class of a system id; a system with no module gets the base rules.
"""

from __future__ import annotations

from .aes128 import Aes128Check
from .base import SystemCheck
from .clearkey import ClearKeyCheck
from .fairplay import FairPlayCheck
from .playready import PlayReadyCheck
from .widevine import WidevineCheck

AES128_V1 = "81376844-f976-481e-a84e-cc25d39b0b33"

SYSTEM_CHECKS: dict[str, type[SystemCheck]] = {
    check.system_id: check
    for check in (WidevineCheck, PlayReadyCheck, FairPlayCheck, ClearKeyCheck, Aes128Check)
    if check.system_id is not None
}


SYSTEM_CHECKS[AES128_V1] = Aes128Check  # the SPEKE v1 documents' id for HLS AES-128


def check_for(system_id: str) -> type[SystemCheck]:
    return SYSTEM_CHECKS.get(system_id, SystemCheck)


__all__ = ["SYSTEM_CHECKS", "SystemCheck", "check_for"]
