"""HLS AES-128 (whole-segment AES-128-CBC, RFC 8216 4.3.2.4): an ``identity`` key tag and nothing else.

The segment is encrypted whole, so the CENC scheme of the ContentKey does not change the signalling:
any of the four CENC scheme names is accepted and METHOD is always AES-128. The key URI is
``aes128_key_uri``: the deployment's own key delivery (``KEY_DELIVERY_URL/keys/<contentId>/<kid>``) when
``KEY_DELIVERY`` is on, unless ``AES128_KEY_URI_TEMPLATE`` is set, with ``{content_id}`` (percent-encoded)
and ``{kid}`` (UUID text). Every dialect (SPEKE v1 ``URIExtXKey`` too) takes the URI from that one function.

SPEKE v1 (``SPEKE_V1_CHILDREN``): ``cpix:URIExtXKey`` is the same URI, ``speke:KeyFormat`` ``identity`` and
``speke:KeyFormatVersions`` ``1``. v1 encryptors also name the system ``81376844-...`` (``SPEKE_V1_SYSTEM_IDS``).
"""

from __future__ import annotations

from .base import CENC_SCHEMES, SPEKE_V1_HLS_CHILDREN, AnyChild, KeySignalContext, speke_v1_hls_values
from .hls import HLS_CHILDREN, attribute_list, hls_elements, quoted
from .uri import key_uri

SYSTEM_ID = "3ea8778f-7742-4bf9-b18b-e834b2acbd47"
NAME = "HLS AES-128"
SCHEMES = CENC_SCHEMES
CHILDREN = HLS_CHILDREN
SPEKE_V1_CHILDREN = SPEKE_V1_HLS_CHILDREN
KEYFORMAT = "identity"
LEGACY_SYSTEM_ID = "81376844-f976-481e-a84e-cc25d39b0b33"  # the SPEKE v1 documents' id for AES-128
SPEKE_V1_SYSTEM_IDS = (SYSTEM_ID, LEGACY_SYSTEM_ID)


def aes128_key_uri(ctx: KeySignalContext) -> str:
    """The URI players GET the 16-byte key of ``ctx.kid`` from (``Settings`` resolved the template)."""
    return key_uri(ctx.settings.aes128_key_uri_template, "AES128_KEY_URI_TEMPLATE", ctx)


def render(ctx: KeySignalContext, children: frozenset[AnyChild]) -> dict[AnyChild, str]:
    uri = aes128_key_uri(ctx)  # one URI for both dialects: v2's EXT-X-KEY line and v1's URIExtXKey
    quoted_uri = quoted(uri, setting="AES128_KEY_URI_TEMPLATE")  # SPEKE v1 too: the encryptor quotes it
    out = speke_v1_hls_values(uri, KEYFORMAT, children)
    if children & HLS_CHILDREN:
        attributes = attribute_list(
            (
                ("METHOD", "AES-128"),
                ("URI", quoted_uri),
                ("KEYFORMAT", quoted(KEYFORMAT)),
                ("KEYFORMATVERSIONS", quoted("1")),
            )
        )
        out.update(hls_elements(attributes, children))
    return out
