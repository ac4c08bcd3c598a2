"""W3C Common PSSH (ClearKey, DASH-IF system id 1077efec-...): a version-1 ``pssh`` listing the KID, no data.

Defined by the W3C "Common SystemID and PSSH Box Format" registry entry of EME. No HLS form exists.
"""

from __future__ import annotations

from .base import CENC_SCHEMES, AnyChild, Child, KeySignalContext, b64, b64_text
from .pssh_box import cenc_pssh_element, pssh_v1

SYSTEM_ID = "1077efec-c0b2-4d02-ace3-3c1e52e2fb4b"
NAME = "ClearKey"
SCHEMES = CENC_SCHEMES
CHILDREN = frozenset({Child.PSSH, Child.CONTENT_PROTECTION_DATA})
SPEKE_V1_CHILDREN = CHILDREN


def render(ctx: KeySignalContext, children: frozenset[AnyChild]) -> dict[AnyChild, str]:
    pssh_b64 = b64(pssh_v1(SYSTEM_ID, [ctx.kid]))
    out: dict[AnyChild, str] = {}
    if Child.PSSH in children:
        out[Child.PSSH] = pssh_b64
    if Child.CONTENT_PROTECTION_DATA in children:
        out[Child.CONTENT_PROTECTION_DATA] = b64_text(cenc_pssh_element(pssh_b64))
    return out
