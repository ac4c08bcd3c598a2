"""W3C Common PSSH (ClearKey, DASH-IF system id 1077efec-...): a version-1 ``pssh`` listing the KID, no data.

Defined by the W3C "Common SystemID and PSSH Box Format" registry entry of EME. No HLS form exists.
With ClearKey delivery on, ``ContentProtectionData`` also carries the licence URL as DASH-IF
``dashif:Laurl`` (capital L: Shaka Player ignores a lowercase ``laurl``; dash.js reads either).
"""

from __future__ import annotations

from .base import CENC_SCHEMES, AnyChild, Child, KeySignalContext, b64, b64_text, xml_text
from .pssh_box import cenc_pssh_element, pssh_v1
from .uri import key_uri

SYSTEM_ID = "1077efec-c0b2-4d02-ace3-3c1e52e2fb4b"
NAME = "ClearKey"
SCHEMES = CENC_SCHEMES
CHILDREN = frozenset({Child.PSSH, Child.CONTENT_PROTECTION_DATA})
SPEKE_V1_CHILDREN = CHILDREN
DASHIF_CPS_NS = "https://dashif.org/CPS"


def licence_url(ctx: KeySignalContext) -> str | None:
    """The W3C ClearKey licence URL for ``ctx.content_id``, or None when ClearKey delivery is off."""
    template = ctx.settings.clearkey_laurl_template
    return None if template is None else key_uri(template, "KEY_DELIVERY_URL", ctx)


def render(ctx: KeySignalContext, children: frozenset[AnyChild]) -> dict[AnyChild, str]:
    pssh_b64 = b64(pssh_v1(SYSTEM_ID, [ctx.kid]))
    out: dict[AnyChild, str] = {}
    if Child.PSSH in children:
        out[Child.PSSH] = pssh_b64
    if Child.CONTENT_PROTECTION_DATA in children:
        fragment = cenc_pssh_element(pssh_b64)
        url = licence_url(ctx)
        if url is not None:
            fragment += f'<dashif:Laurl xmlns:dashif="{DASHIF_CPS_NS}">{xml_text(url)}</dashif:Laurl>'
        out[Child.CONTENT_PROTECTION_DATA] = b64_text(fragment)
    return out
