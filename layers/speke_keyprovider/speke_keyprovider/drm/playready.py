"""PlayReady: the PlayReady Object (PRO) around a v4.3.0.0 PlayReady Header (WRMHEADER), and its forms.

PRO (all little-endian): u32 length of the whole object, u16 record count, then records of
u16 type (1 = PlayReady Header), u16 value length, value = the WRMHEADER XML in UTF-16LE (no BOM).

WRMHEADER 4.3.0.0, written exactly as the PlayReady Header Specification's syntax rules require (no XML
declaration, no whitespace, attributes in alphabetical order, every element closed by an end tag):

    <WRMHEADER xmlns="http://schemas.microsoft.com/DRM/2007/03/PlayReadyHeader" version="4.3.0.0"><DATA>
    <PROTECTINFO><KIDS><KID ALGID="AESCTR|AESCBC" VALUE="<b64 KID, GUID little-endian>"></KID></KIDS>
    </PROTECTINFO>[<LA_URL>escaped url</LA_URL>]</DATA></WRMHEADER>

CHECKSUM is omitted on purpose: it is optional in 4.3 (its computation is defined for AESCTR only), and
it needs the content key (AES-ECB of the KID under the CEK). Signalling is built from the KID alone, so
no value derived from key material ever lands in a manifest or a segment header.
"""

from __future__ import annotations

import struct
import uuid
from functools import lru_cache

from ..errors import ConfigurationError
from .base import AnyChild, Child, KeySignalContext, SpekeV1Child, b64, b64_text, xml_text
from .hls import HLS_CHILDREN, VALUE, attributes_around, hls_elements, quoted, sample_aes_method
from .pssh_box import cenc_pssh_element, pssh_v0

SYSTEM_ID = "9a04f079-9840-4286-ab92-e65be0885f95"
NAME = "PlayReady"
SCHEMES = frozenset({"cenc", "cbcs"})
CHILDREN = frozenset({Child.PSSH, Child.CONTENT_PROTECTION_DATA, Child.SMOOTH_STREAMING}) | HLS_CHILDREN
# SPEKE v1: speke:ProtectionHeader is the MSS manifest's ProtectionHeader, the same PRO as v2's Smooth child.
SPEKE_V1_CHILDREN = frozenset({Child.PSSH, Child.CONTENT_PROTECTION_DATA, SpekeV1Child.PROTECTION_HEADER})
KEYFORMAT = "com.microsoft.playready"
HEADER_NS = "http://schemas.microsoft.com/DRM/2007/03/PlayReadyHeader"
ALGIDS = {"cenc": "AESCTR", "cbcs": "AESCBC"}

_RECORD_PLAYREADY_HEADER = 1
_MAX_PRO = 15 * 1024  # "should not exceed 15 kilobytes" (PlayReady Header Specification, section 2)


def wrm_header(ctx: KeySignalContext) -> str:
    return _wrm_header(ctx.kid, ctx.scheme, ctx.settings.playready_la_url)


def _wrm_header(kid: uuid.UUID, scheme: str, la_url: str | None) -> str:
    kid_value = b64(kid.bytes_le)
    la = f"<LA_URL>{xml_text(la_url)}</LA_URL>" if la_url else ""
    return (
        f'<WRMHEADER xmlns="{HEADER_NS}" version="4.3.0.0"><DATA><PROTECTINFO><KIDS>'
        f'<KID ALGID="{ALGIDS[scheme]}" VALUE="{kid_value}"></KID>'
        f"</KIDS></PROTECTINFO>{la}</DATA></WRMHEADER>"
    )


def _pro_size(header: str) -> int:
    return 4 + 2 + 2 + 2 + len(header.encode("utf-16-le"))


def header_budget_problem(la_url: str) -> str | None:
    """Why a header with this LA_URL would not fit a PlayReady Object, or None. Every header holds one KID
    (one PRO per key), so the size checked here is the size of every header the renderer will write."""
    size = max(_pro_size(_wrm_header(uuid.UUID(int=0), scheme, la_url)) for scheme in ALGIDS)
    if size > _MAX_PRO:
        return f"is too long for a PlayReady Object: {size} bytes, at most {_MAX_PRO}"
    return None


def playready_object(header: str) -> bytes:
    value = header.encode("utf-16-le")
    total = _pro_size(header)
    if total > _MAX_PRO:
        raise ConfigurationError("PLAYREADY_LA_URL is too long for a PlayReady Object (15 KB)")
    return struct.pack("<IHHH", total, 1, _RECORD_PLAYREADY_HEADER, len(value)) + value


def render(ctx: KeySignalContext, children: frozenset[AnyChild]) -> dict[AnyChild, str]:
    pro = playready_object(wrm_header(ctx))
    pro_b64 = b64(pro)
    out: dict[AnyChild, str] = {}
    if children & {Child.PSSH, Child.CONTENT_PROTECTION_DATA}:
        pssh_b64 = b64(pssh_v0(SYSTEM_ID, pro))
        if Child.PSSH in children:
            out[Child.PSSH] = pssh_b64
        if Child.CONTENT_PROTECTION_DATA in children:
            out[Child.CONTENT_PROTECTION_DATA] = b64_text(
                cenc_pssh_element(pssh_b64) + f'<mspr:pro xmlns:mspr="urn:microsoft:playready">{pro_b64}</mspr:pro>'
            )
    if Child.SMOOTH_STREAMING in children:
        # The Smooth Streaming manifest's ProtectionHeader text is the base64 PlayReady Object.
        out[Child.SMOOTH_STREAMING] = pro_b64
    if SpekeV1Child.PROTECTION_HEADER in children:
        out[SpekeV1Child.PROTECTION_HEADER] = pro_b64
    if children & HLS_CHILDREN:
        before, after = _hls_attributes(ctx.scheme)
        out.update(hls_elements(before + pro_b64 + after, children))
    return out


@lru_cache(maxsize=8)
def _hls_attributes(scheme: str) -> tuple[str, str]:
    """The HLS attribute list before and after the base64 PRO (base64 needs no quoting check)."""
    return attributes_around(
        (
            ("METHOD", sample_aes_method(SYSTEM_ID, scheme)),  # raises for cbc1/cens: never cached
            ("KEYFORMAT", quoted(KEYFORMAT)),
            ("KEYFORMATVERSIONS", quoted("1")),
            ("URI", quoted(f"data:text/plain;charset=UTF-16;base64,{VALUE}")),
        )
    )
