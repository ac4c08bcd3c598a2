"""FairPlay Streaming (cbcs only): the HLS ``skd://`` key tag, plus a KID-only pssh when one is asked for.

The key URI is ``FAIRPLAY_SKD_TEMPLATE`` with ``{content_id}`` (percent-encoded) and ``{kid}`` (canonical
lowercase UUID text). When an encryptor asks for a PSSH (CMAF init segments), the answer is a version-1
``pssh`` box listing the KID with no data, and ContentProtectionData is that box in ``<cenc:pssh>``.

SPEKE v1 (``SPEKE_V1_CHILDREN``): ``cpix:URIExtXKey`` is the same ``skd://`` URI, ``speke:KeyFormat`` the
KEYFORMAT and ``speke:KeyFormatVersions`` ``1``; a v1 answer has no FairPlay PSSH.
"""

from __future__ import annotations

from functools import lru_cache

from .base import SPEKE_V1_HLS_CHILDREN, AnyChild, Child, KeySignalContext, b64, b64_text, speke_v1_hls_values
from .hls import HLS_CHILDREN, VALUE, attributes_around, hls_elements, quoted, sample_aes_method
from .pssh_box import cenc_pssh_element, pssh_v1
from .uri import key_uri

SYSTEM_ID = "94ce86fb-07ff-4f43-adb8-93d2fa968ca2"
NAME = "FairPlay"
SCHEMES = frozenset({"cbcs"})
CHILDREN = frozenset({Child.PSSH, Child.CONTENT_PROTECTION_DATA}) | HLS_CHILDREN
SPEKE_V1_CHILDREN = SPEKE_V1_HLS_CHILDREN
KEYFORMAT = "com.apple.streamingkeydelivery"


def render(ctx: KeySignalContext, children: frozenset[AnyChild]) -> dict[AnyChild, str]:
    out: dict[AnyChild, str] = {}
    if children & {Child.PSSH, Child.CONTENT_PROTECTION_DATA}:
        pssh_b64 = b64(pssh_v1(SYSTEM_ID, [ctx.kid]))
        if Child.PSSH in children:
            out[Child.PSSH] = pssh_b64
        if Child.CONTENT_PROTECTION_DATA in children:
            out[Child.CONTENT_PROTECTION_DATA] = b64_text(cenc_pssh_element(pssh_b64))
    if children & (HLS_CHILDREN | SPEKE_V1_HLS_CHILDREN):
        uri = key_uri(ctx.settings.fairplay_skd_template, "FAIRPLAY_SKD_TEMPLATE", ctx)
        quoted_uri = quoted(uri, setting="FAIRPLAY_SKD_TEMPLATE")  # SPEKE v1 too: the encryptor quotes it
        if children & HLS_CHILDREN:
            before, after = _hls_attributes(ctx.scheme)
            out.update(hls_elements(before + quoted_uri + after, children))
        out.update(speke_v1_hls_values(uri, KEYFORMAT, children))
    return out


@lru_cache(maxsize=8)
def _hls_attributes(scheme: str) -> tuple[str, str]:
    """The HLS attribute list before and after the (quoted) key URI."""
    return attributes_around(
        (
            ("METHOD", sample_aes_method(SYSTEM_ID, scheme)),  # never cached for a scheme HLS cannot carry
            ("URI", VALUE),
            ("KEYFORMAT", quoted(KEYFORMAT)),
            ("KEYFORMATVERSIONS", quoted("1")),
        )
    )
