"""HLS key tags (RFC 8216 section 4.3.2.4 EXT-X-KEY, 4.3.4.5 EXT-X-SESSION-KEY) as CPIX HLSSignalingData.

The media playlist line and the master playlist line differ only in the tag name: the attribute list is
the same. Each element's text is base64 of the line's UTF-8 bytes (no trailing line break).
"""

from __future__ import annotations

from collections.abc import Iterable

from ..errors import ConfigurationError
from .base import AnyChild, Child, b64_text, scheme_incompatible

_TAGS = {Child.HLS_MEDIA: "#EXT-X-KEY:", Child.HLS_MASTER: "#EXT-X-SESSION-KEY:"}
_SAMPLE_AES_METHODS = {"cbcs": "SAMPLE-AES", "cenc": "SAMPLE-AES-CTR"}

HLS_CHILDREN = frozenset(_TAGS)


def sample_aes_method(system_id: str, scheme: str) -> str:
    """METHOD for sample encryption: SAMPLE-AES for cbcs, SAMPLE-AES-CTR for cenc.

    HLS has no method for ``cbc1``/``cens``: asking for HLS signalling with them is refused with the
    spec's scheme-compatibility error rather than answered with a METHOD that would not decrypt.
    """
    try:
        return _SAMPLE_AES_METHODS[scheme]
    except KeyError:
        raise scheme_incompatible(system_id) from None


def quoted_string_problem(value: str) -> str | None:
    """What keeps ``value`` from being an RFC 8216 quoted-string (a double quote, CR or LF), or None."""
    if '"' in value or "\r" in value or "\n" in value:
        return "yields a value with a double quote or a line break"
    return None


def quoted(value: str, *, setting: str | None = None) -> str:
    """An RFC 8216 quoted-string: no double quote, CR or LF inside.

    The values we quote come from fixed text, base64 or a deployment template (``setting`` names it).
    Settings refuse such a template when first read; this check stays as the renderer's own guard.
    """
    problem = quoted_string_problem(value)
    if problem:
        raise ConfigurationError(f"{setting or 'HLS attribute'} {problem}")
    return f'"{value}"'


def attribute_list(attributes: Iterable[tuple[str, str]]) -> str:
    """``NAME=value,NAME=value`` in the given order (values already quoted where RFC 8216 wants it)."""
    return ",".join(f"{name}={value}" for name, value in attributes)


def attributes_around(attributes: Iterable[tuple[str, str]]) -> tuple[str, str]:
    """``attribute_list`` split around the one value given as ``VALUE``: the fixed text before and after it.

    A system computes its attribute list once per scheme and only splices the per-key value in. Used for
    values that need no check (base64) or that the caller passes through ``quoted`` itself.
    """
    before, found, after = attribute_list(attributes).partition(VALUE)
    if not found:
        raise ValueError("no VALUE placeholder in the attribute list")
    return before, after


VALUE = "\x00"  # placeholder for ``attributes_around``: never part of a real attribute list


def hls_elements(attributes: str, children: Iterable[AnyChild]) -> dict[AnyChild, str]:
    """The base64 element text for each HLS child in ``children`` (others are ignored)."""
    return {child: b64_text(_TAGS[child] + attributes) for child in children if child in _TAGS}
