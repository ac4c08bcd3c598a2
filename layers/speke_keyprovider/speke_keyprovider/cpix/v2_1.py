"""SPEKE v2.1 document rules (CPIX 2.4, ``speke-v2.1.md`` section 2): the v2.0 rules (``v2``) plus

- key periods with time: ``start``/``end`` (``xs:dateTime``, live) and ``startOffset``/``endOffset``
  (``xs:duration``, VOD), with or without ``index``; ``duration`` instead of an end. The interval is
  [start, end); ``start < end``; an end and a duration never together; only the combinations CPIX 2.4 lists.
  Every period attribute is echoed exactly as sent: ``check_echoable`` refuses, before anything else happens,
  a period attribute whose text the answer could not reproduce byte for byte (see its docstring);
- the HLS methods as ``commonEncryptionScheme``: ``AES-128`` (only the HLS AES-128 system accepts it),
  ``SAMPLE-AES`` (behaves as ``cbcs``) and ``SAMPLE-AES-CTR`` (as ``cenc``), for every system and HLS ``METHOD``;
- ``HLSSignalingData@playlist`` ``master`` (what SPEKE v2.1 and MediaPackage send) and ``multiVariant`` (the
  CPIX 2.4 name), both meaning the multivariant playlist, echoed as sent.

v2.1 documents are not validated against the 2.4 XSD (its playlist enumeration has no ``master``).
"""

from __future__ import annotations

import re
from dataclasses import replace
from xml.etree.ElementTree import Element

from ..drm import SYSTEMS, aes128
from ..drm.base import scheme_incompatible
from ..errors import CpixError
from . import elements, v2
from .dialect import Dialect
from .model import CHILD_HLS_MASTER, CHILD_HLS_MEDIA, CpixRequest, KeyPeriod
from .namespaces import cpix
from .serialize import escape_attribute
from .xsd_time import DateTime, Duration, LexicalError, duration_less, parse_datetime, parse_duration

# The HLS methods as the protection scheme the DRM systems see. AES-128 is whole-segment CBC: the scheme name
# MediaPackage v2 sends for the HLS AES-128 system in v2.0 (cbc1), and only that system accepts it (``parse``).
HLS_METHOD_SCHEMES = {"AES-128": "cbc1", "SAMPLE-AES": "cbcs", "SAMPLE-AES-CTR": "cenc"}
AES_128 = "AES-128"
TIMING_ATTRIBUTES = ("start", "end", "startOffset", "endOffset", "duration")
ECHOED_ATTRIBUTES = ("id", "index", "label", *TIMING_ATTRIBUTES)

# The combinations CPIX 2.4 defines (section "ContentKeyPeriod Element"), or none of the timing attributes.
_COMBINATIONS: tuple[frozenset[str], ...] = (
    frozenset(),
    frozenset({"start", "end"}),
    frozenset({"start", "duration"}),
    frozenset({"startOffset", "endOffset"}),
    frozenset({"startOffset", "duration"}),
)


def _periods(element: Element | None) -> list[KeyPeriod]:
    periods = elements.periods(element)
    if element is None:
        return periods
    period_tag = cpix("ContentKeyPeriod")
    items = [child for child in element if child.tag == period_tag]
    return [_timed(period, item) for period, item in zip(periods, items, strict=True)]


def _timed(period: KeyPeriod, element: Element) -> KeyPeriod:
    where = f"ContentKeyPeriod {elements.quote(period.id)}"
    present = frozenset(name for name in TIMING_ATTRIBUTES if element.get(name) is not None)
    if "duration" in present and ("end" in present or "endOffset" in present):
        raise CpixError(f"Invalid {where}: @end/@endOffset and @duration never together")
    if present not in _COMBINATIONS:
        raise CpixError(
            f"Invalid {where}: timing attributes {', '.join(sorted(present))}; CPIX 2.4 allows start+end, "
            "start+duration, startOffset+endOffset or startOffset+duration"
        )
    start = _datetime(element, "start", where)
    end = _datetime(element, "end", where)
    start_offset = _duration(element, "startOffset", where)
    end_offset = _duration(element, "endOffset", where)
    duration = _duration(element, "duration", where)
    if start is not None and end is not None:
        if start.has_timezone != end.has_timezone:
            raise CpixError(f"Invalid {where}: @start and @end must both have a timezone, or neither")
        if not start.sort_key() < end.sort_key():
            raise CpixError(f"Invalid {where}: @start must be before @end")
    if start_offset is not None and start_offset.negative:
        raise CpixError(f"Invalid {where}: @startOffset must not be negative")
    if end_offset is not None and start_offset is not None and not duration_less(start_offset, end_offset):
        raise CpixError(f"Invalid {where}: @startOffset must be before @endOffset")
    if duration is not None and not duration.positive:
        raise CpixError(f"Invalid {where}: @duration must be positive")
    return replace(period, start=start)


def _datetime(element: Element, name: str, where: str) -> DateTime | None:
    text = element.get(name)
    if text is None:
        return None
    try:
        return parse_datetime(text)
    except LexicalError as exc:
        raise CpixError(f"Invalid {where}: @{name} {elements.quote(text)}: {exc}") from None


def _duration(element: Element, name: str, where: str) -> Duration | None:
    text = element.get(name)
    if text is None:
        return None
    try:
        return parse_duration(text)
    except LexicalError as exc:
        raise CpixError(f"Invalid {where}: @{name} {elements.quote(text)}: {exc}") from None


RULES = v2.DocumentRules(
    schemes={**v2.RULES.schemes, **HLS_METHOD_SCHEMES},
    playlists={"media": CHILD_HLS_MEDIA, "master": CHILD_HLS_MASTER, "multiVariant": CHILD_HLS_MASTER},
    periods=_periods,
)
"""SPEKE v2.1 (CPIX 2.4)."""


def parse(root: Element, dialect: Dialect) -> CpixRequest:
    """A v2.1 request from its parsed root (already known to be ``cpix:CPIX`` of this dialect's version)."""
    request = v2.parse_with(root, dialect, RULES)
    if request.content_keys[0].element.get("commonEncryptionScheme") == AES_128:
        for system in request.drm_systems:
            if system.system_id != aes128.SYSTEM_ID and system.system_id in SYSTEMS:
                raise scheme_incompatible(system.system_id)
    return request


_PERIOD_START_TAG = re.compile(r"<(?:[A-Za-z_][\w.\-]*:)?ContentKeyPeriod(?=[\s/>])[^>]*>")


def check_echoable(body: bytes, request: CpixRequest) -> None:
    """Refuse a key period attribute the answer could not echo byte for byte.

    The answer is the request tree serialised again, so an attribute comes out as its parsed value escaped
    the one way the serialiser escapes (``&amp; &lt; &gt; &quot; &#10; &#13; &#09;``). The parser has
    already replaced character and entity references by the characters they name and turned literal tabs
    and line breaks into spaces: for those the answer would carry an equivalent text, not the same bytes,
    and MediaPackage rejects altered boundaries. So the raw start tag of every period must hold each of its
    CPIX attributes exactly as the serialiser will write it (either quote style: the quotes are not part of
    the value); otherwise the request is refused with a 422 naming the attribute.
    """
    if not request.periods:
        return
    text = _decoded(body)
    tags = _PERIOD_START_TAG.findall(text)
    for period in request.periods:
        element = _period_element(request, period.id)
        id_form = _form("id", period.id)
        tag = next((tag for tag in tags if id_form.search(tag)), None)
        if tag is None or element is None:
            raise _not_echoable(period.id, "id")
        for name in ECHOED_ATTRIBUTES:
            value = element.get(name)
            if value is not None and not _form(name, value).search(tag):
                raise _not_echoable(period.id, name)


def _form(name: str, value: str) -> re.Pattern[str]:
    """The attribute as the serialiser writes it, in either quote style, in a raw start tag."""
    escaped = escape_attribute(value)
    single = escaped.replace("&quot;", '"')
    return re.compile(rf"""\s{re.escape(name)}\s*=\s*(?:"{re.escape(escaped)}"|'{re.escape(single)}')""")


def _not_echoable(period_id: str, name: str) -> CpixError:
    return CpixError(
        f"ContentKeyPeriod {elements.quote(period_id)}: @{name} must be written literally (no character "
        "references, tabs or line breaks): the answer echoes it byte for byte"
    )


def _period_element(request: CpixRequest, period_id: str) -> Element | None:
    period_list = request.root.find(cpix("ContentKeyPeriodList"))
    if period_list is None:
        return None
    tag = cpix("ContentKeyPeriod")
    for child in period_list:
        if child.tag == tag and child.get("id") == period_id:
            return child
    return None


def _decoded(body: bytes) -> str:
    """The document text, for the raw-tag check: UTF-16 when it starts like UTF-16, else UTF-8 (the ASCII
    characters of the tags read the same in every ASCII-compatible encoding)."""
    head = body[:4]
    if head[:2] in (b"\xff\xfe", b"\xfe\xff") or head[:2] in (b"<\x00", b"\x00<"):
        encoding = "utf-16" if head[:2] in (b"\xff\xfe", b"\xfe\xff") else ("utf-16-le" if head[0] else "utf-16-be")
        return body.decode(encoding, errors="replace")
    return body.decode("utf-8", errors="replace")
