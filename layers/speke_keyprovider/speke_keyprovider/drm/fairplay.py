"""FairPlay Streaming (cbcs only): the HLS ``skd://`` key tag, plus a KID-only pssh when one is asked for.

The key URI is ``FAIRPLAY_SKD_TEMPLATE`` with ``{content_id}`` (percent-encoded) and ``{kid}`` (canonical
lowercase UUID text). When an encryptor asks for a PSSH (CMAF init segments), the answer is a version-1
``pssh`` box listing the KID with no data, and ContentProtectionData is that box in ``<cenc:pssh>``.
"""

from __future__ import annotations

from functools import lru_cache

from .base import Child, KeySignalContext, b64, b64_text
from .hls import HLS_CHILDREN, VALUE, attributes_around, hls_elements, quoted, sample_aes_method
from .pssh_box import cenc_pssh_element, pssh_v1
from .uri import key_uri

SYSTEM_ID = "94ce86fb-07ff-4f43-adb8-93d2fa968ca2"
NAME = "FairPlay"
SCHEMES = frozenset({"cbcs"})
CHILDREN = frozenset({Child.PSSH, Child.CONTENT_PROTECTION_DATA}) | HLS_CHILDREN
KEYFORMAT = "com.apple.streamingkeydelivery"


def render(ctx: KeySignalContext, children: frozenset[Child]) -> dict[Child, str]:
    out: dict[Child, str] = {}
    if children & {Child.PSSH, Child.CONTENT_PROTECTION_DATA}:
        pssh_b64 = b64(pssh_v1(SYSTEM_ID, [ctx.kid]))
        if Child.PSSH in children:
            out[Child.PSSH] = pssh_b64
        if Child.CONTENT_PROTECTION_DATA in children:
            out[Child.CONTENT_PROTECTION_DATA] = b64_text(cenc_pssh_element(pssh_b64))
    if children & HLS_CHILDREN:
        uri = key_uri(ctx.settings.fairplay_skd_template, "FAIRPLAY_SKD_TEMPLATE", ctx)
        before, after = _hls_attributes(ctx.scheme)
        out.update(hls_elements(before + quoted(uri, setting="FAIRPLAY_SKD_TEMPLATE") + after, children))
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
