"""Serialise the response tree: the bytes of ``ET.tostring(root, encoding="utf-8", xml_declaration=True)``,
about four times faster.

``ElementTree.tostring`` is pure Python: a namespace pass over the whole tree, then a recursive writer
that pushes every fragment through a ``TextIOWrapper``; it was ~40% of a warm request. This writer
does both in one iterative pass into a list and encodes once. Its output is byte-for-byte the same,
so everything ``tostring`` guaranteed still holds:

- prefixes: a namespace URI gets its prefix from ElementTree's registry (``cpix``, ``pskc``, ``ds``,
  ``enc`` are registered by ``namespaces``; ``xml`` is never declared), any other URI ``ns<N>`` with N
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

import xml.etree.ElementTree as ET  # noqa: S405 - serialising a tree we hold; parsing is defusedxml's
from xml.etree.ElementTree import Element  # noqa: S405

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
    except _Unexpected:
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
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
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

    parts: list[str] = [_DECLARATION]
    append = parts.append
    get_qname = qnames.get
    ns_slot = -1
    # Depth-first, iteratively (no recursion limit on deep foreign extensions): a stack of child iterators,
    # each with the text that closes its parent (end tag + tail).
    stack: list[tuple[object, str]] = [(iter((root,)), "")]
    while stack:
        children, closing = stack[-1]
        elem = next(children, None)  # type: ignore[call-overload]
        if elem is None:
            stack.pop()
            append(closing)
            continue
        tag = elem.tag
        name = get_qname(tag) if type(tag) is str else None
        if name is None:
            name = qualify(tag)
        append("<" + name)
        if ns_slot < 0:
            ns_slot = len(parts)
            append("")  # the root's namespace declarations, known once the whole tree is walked
        for key, value in elem.items():
            if type(value) is not str:
                raise _Unexpected
            key_name = get_qname(key) if type(key) is str else None
            if key_name is None:
                key_name = qualify(key)
            if "&" in value or "<" in value or ">" in value or '"' in value or "\r" in value or "\n" in value \
                    or "\t" in value:
                value = _escape_attrib(value)
            append(f' {key_name}="{value}"')
        text = elem.text
        tail = elem.tail
        if text is not None and type(text) is not str or tail is not None and type(tail) is not str:
            raise _Unexpected
        if tail:
            tail = _escape_cdata(tail)
        if len(elem):
            append(">" + _escape_cdata(text) if text else ">")
            stack.append((iter(elem), f"</{name}>{tail or ''}"))
        elif text:
            append(f">{_escape_cdata(text)}</{name}>{tail or ''}")
        else:
            append(f" />{tail or ''}")
    parts[ns_slot] = "".join(f' xmlns:{prefix}="{_escape_attrib(uri)}"'
                             for uri, prefix in sorted(namespaces.items(), key=lambda item: item[1]))
    return "".join(parts)


__all__ = ["to_bytes"]
