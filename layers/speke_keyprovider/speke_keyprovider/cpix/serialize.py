"""Serialise the response tree: the bytes of ``ET.tostring(root, encoding="utf-8", xml_declaration=True)``,
about four times faster.

``ElementTree.tostring`` is pure Python: a namespace pass over the whole tree, then a recursive writer
that pushes every fragment through a ``TextIOWrapper``; it was ~40% of a warm request. This writer
does both in one recursive pass into a list and encodes once. Its output is byte-for-byte the same,
so everything ``tostring`` guaranteed still holds:

- prefixes: a namespace URI gets its prefix from ElementTree's registry (``cpix``, ``pskc``, ``ds``,
  ``enc``, ``speke`` are registered by ``namespaces``; ``xml`` is never declared), any other URI ``ns<N>`` with N
  the number of URIs met before it in document order; every declaration goes on the root, sorted by prefix;
- every element, attribute (in document order), text and tail of the request is echoed, foreign
  namespaces included; the legacy root ``id`` is dropped by the renderer, not here;
- escaping: text and tails escape ``& < >``; attribute values also ``"`` and CR, LF, TAB as character
  references, so the output is well-formed whatever the request carried;
- empty elements as ``<tag />``; the declaration ``<?xml version='1.0' encoding='utf-8'?>`` and a newline.

Anything this writer does not expect (comments, processing instructions, ``QName`` objects, non-string
attribute values: none can come out of the parser and the renderer) is handed to ``ET.tostring`` itself,
so the result, or the error, is always ElementTree's.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from xml.etree.ElementTree import Element

_DECLARATION = "<?xml version='1.0' encoding='utf-8'?>\n"
# ElementTree's process-wide prefix registry (``register_namespace`` updates this very dict).
_REGISTRY: dict[str, str] = getattr(ET, "_namespace_map", {})
_SPLIT_CACHE: dict[str, tuple[str, str]] = {}
_SPLIT_CACHE_MAX = 1024


class _Unexpected(Exception):
    """A tree shape this writer leaves to ElementTree."""


def to_bytes(root: Element) -> bytes:
    """``ET.tostring(root, encoding="utf-8", xml_declaration=True)``, byte for byte."""
    try:
        text = _serialize(root)
    except (_Unexpected, RecursionError):  # ElementTree's own recursion limit then applies, as before
        return ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return text.encode("utf-8", "xmlcharrefreplace")


def _escape_cdata(text: str) -> str:
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    return text


def _escape_attrib(text: str) -> str:
    text = _escape_cdata(text)
    if '"' in text:
        text = text.replace('"', "&quot;")
    if "\r" in text:
        text = text.replace("\r", "&#13;")
    if "\n" in text:
        text = text.replace("\n", "&#10;")
    if "\t" in text:
        text = text.replace("\t", "&#09;")
    return text


def _serialize(root: Element) -> str:
    namespaces: dict[str, str] = {}  # uri -> prefix, in the order ElementTree would meet them
    qnames: dict[str, str] = {}  # Clark name -> prefixed name
    attr_values: dict[str, str] = {}  # attribute value -> escaped (KIDs, system ids... repeat)

    def qualify(name: object) -> str:
        if type(name) is not str:
            raise _Unexpected
        if name[:1] != "{":
            qnames[name] = name
            return name
        split = _SPLIT_CACHE.get(name)
        if split is None:
            uri, _, local = name[1:].rpartition("}")
            split = (uri, local)
            if len(_SPLIT_CACHE) < _SPLIT_CACHE_MAX:
                _SPLIT_CACHE[name] = split
        uri, local = split
        prefix = namespaces.get(uri)
        if prefix is None:
            prefix = _REGISTRY.get(uri)
            if prefix is None:
                prefix = f"ns{len(namespaces)}"
            if prefix != "xml":
                namespaces[uri] = prefix
        qualified = f"{prefix}:{local}"
        qnames[name] = qualified
        return qualified

    get_qname = qnames.get
    get_value = attr_values.get
    parts: list[str] = [_DECLARATION, "<" + qualify(root.tag), ""]
    append = parts.append

    def walk(elem: Element, name: str, items: Iterable[tuple[str, str]]) -> None:
        """The attributes (after ``<name``), text, children, end tag and tail of ``elem``."""
        for key, value in items:
            escaped = get_value(value)
            if escaped is None:
                if type(value) is not str:
                    raise _Unexpected
                escaped = attr_values[value] = _escape_attrib(value)
            append(f' {get_qname(key) or qualify(key)}="{escaped}"')
        text = elem.text
        if text:
            if type(text) is not str:
                raise _Unexpected
            if "&" in text or "<" in text or ">" in text:
                text = _escape_cdata(text)
        if len(elem):
            append(">" + text if text else ">")
            for child in elem:
                tag = child.tag
                child_name = get_qname(tag) or qualify(tag)
                append("<" + child_name)
                walk(child, child_name, child.items())
            append(f"</{name}>")
        elif text:
            append(f">{text}</{name}>")
        else:
            append(" />")
        tail = elem.tail
        if tail:
            if type(tail) is not str:
                raise _Unexpected
            if "&" in tail or "<" in tail or ">" in tail:
                tail = _escape_cdata(tail)
            append(tail)

    try:
        walk(root, qnames[root.tag], root.items())
    finally:
        # ``walk`` refers to itself (it recurses): break that cycle, or it would keep ``parts`` (twice the
        # response) alive until the cyclic garbage collector ran. Measured: +12 MB peak RSS without this.
        walk = None  # type: ignore[assignment]
    parts[2] = "".join(
        f' xmlns:{prefix}="{_escape_attrib(uri)}"'
        for uri, prefix in sorted(namespaces.items(), key=lambda item: item[1])
    )
    return "".join(parts)


escape_attribute = _escape_attrib  # how every attribute value is written (the v2.1 echo check relies on it)

__all__ = ["escape_attribute", "to_bytes"]
