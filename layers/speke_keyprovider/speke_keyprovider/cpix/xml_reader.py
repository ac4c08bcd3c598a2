"""Read XML safely: defusedxml with DTDs, entities and external references forbidden, and a nesting limit.

The caller caps the size before calling. Every failure is a ``CpixError`` (422) naming the problem.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element, ParseError, TreeBuilder

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from ..errors import CpixError, Reason

MAX_XML_DEPTH = 32  # a response is 9 levels deep; foreign extensions get the rest


class _DefusedParser(DefusedXMLParser):
    """defusedxml's parser, its DTD / entity / external-reference handlers untouched, with leaner element
    callbacks and a nesting limit.

    ``DefusedXMLParser`` is ElementTree's pure-Python ``XMLParser``: for every element it calls a Python
    ``_start`` that rebuilds the attribute dict from a flat list and expands each name through a method
    call. Here expat hands over the attributes as a dict and names are expanded through a per-document
    dict, the tree is built by the same (C) ``TreeBuilder``: same tree, under half the parse time. The
    start handler also counts depth, so a document nested deeper than ``MAX_XML_DEPTH`` is refused while
    it is read (nothing downstream then walks a pathological tree).
    """

    def __init__(self) -> None:
        super().__init__(target=TreeBuilder(), forbid_dtd=True, forbid_entities=True, forbid_external=True)
        target_start = self.target.start
        target_end = self.target.end
        names: dict[str, str] = {}
        depth = 0

        def start(tag: str, attrib: dict[str, str]) -> Element:
            nonlocal depth
            depth += 1
            if depth > MAX_XML_DEPTH:
                raise CpixError(
                    f"XML nested too deeply: at most {MAX_XML_DEPTH} levels of elements", reason=Reason.XML_TOO_DEEP
                )
            name = names.get(tag)
            if name is None:
                name = names[tag] = "{" + tag if "}" in tag else tag
            for key in attrib:
                if "}" in key:  # a namespaced attribute: expand every name, keeping document order
                    attrib = {("{" + k if "}" in k else k): v for k, v in attrib.items()}
                    break
            return target_start(name, attrib)

        def end(tag: str) -> Element:
            nonlocal depth
            depth -= 1
            return target_end(names[tag])

        parser = self.parser
        parser.ordered_attributes = False  # attributes as a dict, in document order
        parser.StartElementHandler = start
        parser.EndElementHandler = end


def parse_xml(body: bytes) -> Element:
    """Parse bytes with defusedxml; any DTD, entity or external reference is refused."""
    try:
        parser = _DefusedParser()
        parser.feed(body)
        return parser.close()
    except DefusedXmlException as exc:
        kind = type(exc).__name__.replace("Forbidden", "")
        raise CpixError(
            f"Forbidden XML construct: {kind} (DTDs, entities and external references are refused)",
            reason=Reason.XML_FORBIDDEN,
        ) from None
    except ParseError as exc:
        line, column = getattr(exc, "position", (0, 0))
        raise CpixError(f"Malformed XML at line {line}, column {column}", reason=Reason.XML_MALFORMED) from None
    except (LookupError, ValueError):  # unknown (LookupError) or multi-byte (expat ValueError) encodings
        raise CpixError(
            "Unsupported XML encoding declaration: UTF-8 or UTF-16 expected", reason=Reason.XML_ENCODING
        ) from None
