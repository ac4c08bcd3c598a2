"""Parse a SPEKE request into the one request model, whatever its dialect.

The body is read once with defusedxml (``xml_reader``; the caller caps the size first), the root is checked,
the dialect is decided once (``dialect.detect``, from the X-Speke-Version header and CPIX@version), key-bearing
elements and misplaced CPIX elements are refused wherever they are (``elements.check_document_content``), and that
dialect's document rules build the ``CpixRequest`` (``v1``, ``v2``, ``v2_1``; shared element rules in ``elements``).
"""

from __future__ import annotations

from collections.abc import Callable
from xml.etree.ElementTree import Element

from ..errors import CpixError, Reason
from . import v1, v2, v2_1
from .dialect import V1, V2_0, V2_1, Dialect, detect
from .elements import MAX_CONTENT_KEYS, check_document_content, parse_uuid
from .model import CpixRequest
from .namespaces import CPIX, cpix, local_name
from .xml_reader import MAX_XML_DEPTH, parse_xml

DocumentRules = Callable[[Element, Dialect], CpixRequest]
_RULES: dict[Dialect, DocumentRules] = {V1: v1.parse, V2_0: v2.parse, V2_1: v2_1.parse}
# Checks a dialect runs on the raw body once its model is built (v2.1: period attributes echoable byte for byte).
_RAW_CHECKS: dict[Dialect, Callable[[bytes, CpixRequest], None]] = {V2_1: v2_1.check_echoable}


def parse_request(body: bytes, speke_version: str | None = V2_0.speke_version) -> CpixRequest:
    """The request model of a CPIX body sent with ``X-Speke-Version: speke_version`` (``None``: no header)."""
    root = parse_xml(body)
    if root.tag != cpix("CPIX"):
        ns = root.tag[1:].split("}", 1)[0] if root.tag.startswith("{") else ""
        raise CpixError(
            f"Root element must be CPIX in namespace {CPIX} (got {local_name(root.tag)!r} in {ns or 'no namespace'!r})",
            reason=Reason.XML_NAMESPACE,
        )
    dialect = detect(speke_version, root.get("version"))
    check_document_content(root)  # every dialect: whatever a request carries is echoed into the answer
    request = _RULES[dialect](root, dialect)
    raw_check = _RAW_CHECKS.get(dialect)
    if raw_check is not None:
        raw_check(body, request)
    return request


__all__ = ["MAX_CONTENT_KEYS", "MAX_XML_DEPTH", "parse_request", "parse_uuid", "parse_xml"]
