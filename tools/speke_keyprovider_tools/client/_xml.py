"""XML helpers shared by the client modules: namespaces, safe parsing, small writers.

Parsing goes through defusedxml with DTDs, entities and external references forbidden, after a
size check. Elements are matched by namespace URI, never by prefix.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from xml.etree.ElementTree import Element
from xml.sax.saxutils import escape, quoteattr

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError
from defusedxml.ElementTree import fromstring as _defused_fromstring

CPIX = "urn:dashif:org:cpix"
PSKC = "urn:ietf:params:xml:ns:keyprov:pskc"
DS = "http://www.w3.org/2000/09/xmldsig#"
ENC = "http://www.w3.org/2001/04/xmlenc#"

NSMAP = {"cpix": CPIX, "pskc": PSKC, "ds": DS, "enc": ENC}
MAX_DOCUMENT_BYTES = 8 * 1024 * 1024

ALG_AES256_CBC = "http://www.w3.org/2001/04/xmlenc#aes256-cbc"
ALG_RSA_OAEP_MGF1P = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"
ALG_HMAC_SHA512 = "http://www.w3.org/2001/04/xmldsig-more#hmac-sha512"


class XmlError(ValueError):
    """The document is not well-formed, too large, or uses forbidden XML features."""


def q(ns: str, local: str) -> str:
    """ElementTree's ``{uri}local`` name."""
    return f"{{{ns}}}{local}"


def parse(document: bytes, *, max_bytes: int = MAX_DOCUMENT_BYTES) -> Element:
    """Parse untrusted XML safely. Raises ``XmlError`` with a short reason."""
    if not isinstance(document, bytes | bytearray):
        raise XmlError("document must be bytes")
    if len(document) > max_bytes:
        raise XmlError(f"document larger than {max_bytes} bytes")
    if not document.strip():
        raise XmlError("empty document")
    try:
        return _defused_fromstring(bytes(document), forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise XmlError(f"forbidden XML construct ({type(exc).__name__})") from None
    except ParseError as exc:
        raise XmlError(f"not well-formed XML ({exc})") from None
    except LookupError:  # expat: an encoding declaration naming no known codec
        raise XmlError("unknown character encoding in the XML declaration") from None


def local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def namespace(tag: str) -> str:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def children(parent: Element, ns: str, local: str) -> list[Element]:
    return [child for child in parent if child.tag == q(ns, local)]


def child(parent: Element | None, ns: str, local: str) -> Element | None:
    if parent is None:
        return None
    for item in parent:
        if item.tag == q(ns, local):
            return item
    return None


def path(parent: Element | None, *steps: tuple[str, str]) -> Element | None:
    """Follow a chain of (namespace, local-name) steps, first match at each step."""
    node = parent
    for ns, local in steps:
        node = child(node, ns, local)
        if node is None:
            return None
    return node


def text(element: Element | None) -> str:
    return "".join(element.itertext()).strip() if element is not None else ""


class Writer:
    """A tiny streaming XML writer: enough for CPIX documents, with escaping done right."""

    def __init__(self) -> None:
        self._parts: list[str] = ['<?xml version="1.0" encoding="UTF-8"?>\n']

    def open(
        self,
        tag: str,
        attrs: Mapping[str, object] | Iterable[tuple[str, object]] = (),
        *,
        empty: bool = False,
    ) -> None:
        items = attrs.items() if isinstance(attrs, Mapping) else attrs
        rendered = "".join(f" {name}={quoteattr(str(value))}" for name, value in items if value is not None)
        self._parts.append(f"<{tag}{rendered}{'/' if empty else ''}>")

    def empty(self, tag: str, attrs: Mapping[str, object] | Iterable[tuple[str, object]] = ()) -> None:
        self.open(tag, attrs, empty=True)

    def close(self, tag: str) -> None:
        self._parts.append(f"</{tag}>")

    def leaf(self, tag: str, value: str, attrs: Mapping[str, object] | Iterable[tuple[str, object]] = ()) -> None:
        self.open(tag, attrs)
        self._parts.append(escape(value))
        self.close(tag)

    def to_bytes(self) -> bytes:
        return "".join(self._parts).encode("utf-8")
