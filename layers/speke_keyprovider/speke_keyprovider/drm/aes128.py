"""HLS AES-128 (whole-segment AES-128-CBC, RFC 8216 4.3.2.4): an ``identity`` key tag and nothing else.

The segment is encrypted whole, so the CENC scheme of the ContentKey does not change the signalling:
any of the four CENC scheme names is accepted and METHOD is always AES-128. The key URI is
``aes128_key_uri``: the deployment's own key delivery (``KEY_DELIVERY_URL/keys/<contentId>/<kid>``) when
``KEY_DELIVERY`` is on, unless ``AES128_KEY_URI_TEMPLATE`` is set, with ``{content_id}`` (percent-encoded)
and ``{kid}`` (UUID text). Every dialect (SPEKE v1 ``URIExtXKey`` too) takes the URI from that one function.
"""

from __future__ import annotations

from .base import CENC_SCHEMES, Child, KeySignalContext
from .hls import HLS_CHILDREN, attribute_list, hls_elements, quoted
from .uri import key_uri

SYSTEM_ID = "3ea8778f-7742-4bf9-b18b-e834b2acbd47"
NAME = "HLS AES-128"
SCHEMES = CENC_SCHEMES
CHILDREN = HLS_CHILDREN
KEYFORMAT = "identity"


def aes128_key_uri(ctx: KeySignalContext) -> str:
    """The URI players GET the 16-byte key of ``ctx.kid`` from (``Settings`` resolved the template)."""
    return key_uri(ctx.settings.aes128_key_uri_template, "AES128_KEY_URI_TEMPLATE", ctx)


def render(ctx: KeySignalContext, children: frozenset[Child]) -> dict[Child, str]:
    uri = aes128_key_uri(ctx)
    attributes = attribute_list(
        (
            ("METHOD", "AES-128"),
            ("URI", quoted(uri, setting="AES128_KEY_URI_TEMPLATE")),
            ("KEYFORMAT", quoted(KEYFORMAT)),
            ("KEYFORMATVERSIONS", quoted("1")),
        )
    )
    return hls_elements(attributes, children)
