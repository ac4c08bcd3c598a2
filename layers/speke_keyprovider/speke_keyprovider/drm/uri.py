"""Key URIs built from a deployment template (FAIRPLAY_SKD_TEMPLATE, AES128_KEY_URI_TEMPLATE)."""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import quote

from ..errors import ConfigurationError
from .base import KeySignalContext


def key_uri(template: str, setting: str, ctx: KeySignalContext) -> str:
    """``template`` with ``{content_id}`` percent-encoded as one path segment and ``{kid}`` as UUID text.

    MediaPackage content ids are ``[0-9a-zA-Z_-]`` and come out unchanged; anything else another
    encryptor sends is escaped so it can never break out of the URI or the quoted HLS attribute.
    """
    try:
        uri = template.format(content_id=_path_segment(ctx.content_id), kid=str(ctx.kid))
    except (KeyError, IndexError, ValueError):
        raise ConfigurationError(f"{setting} may only use the placeholders {{content_id}} and {{kid}}") from None
    if not uri:
        raise ConfigurationError(f"{setting} yields an empty URI")
    return uri


@lru_cache(maxsize=256)
def _path_segment(content_id: str) -> str:
    """The contentId percent-encoded as one path segment (a channel's every key repeats it)."""
    return quote(content_id, safe="")
