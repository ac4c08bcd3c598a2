"""Value parsers every SPEKE dialect uses for attribute text: whole-value patterns, ASCII integers, booleans.

Two rules hold for every value here, so no dialect can get them wrong:

- a pattern matches the **whole** value (``re.fullmatch``): ``$`` would also match before a final newline, so
  ``"VIDEO\\n"`` (a ``&#10;`` reference in the document) would pass as a track type or a kid;
- a number is ASCII digits only (``str.isdigit`` and ``int`` also take ``²``, ``①`` or Arabic-Indic digits),
  parsed by one function, bounded in length.

Surrounding XML whitespace (space, tab, CR, LF) is ignored where the schema type collapses it (numbers,
booleans); nowhere else.
"""

from __future__ import annotations

import re
import uuid

from ..errors import ContractError, CpixError

XML_WHITESPACE = " \t\r\n"
MAX_INT_DIGITS = 12

UUID_PATTERN = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")
_ASCII_UINT = re.compile(rf"[0-9]{{1,{MAX_INT_DIGITS}}}")
_TRUE = frozenset({"true", "1"})
_FALSE = frozenset({"false", "0"})


def matches(pattern: re.Pattern[str], text: str) -> bool:
    """Whether ``pattern`` matches all of ``text`` (never a prefix, never up to a final newline)."""
    return pattern.fullmatch(text) is not None


def is_uuid_text(text: str) -> bool:
    return UUID_PATTERN.fullmatch(text) is not None


def parse_uuid_text(text: str) -> uuid.UUID | None:
    """The UUID of an 8-4-4-4-12 hex text, else ``None`` (no braces, no ``urn:uuid:``, no whitespace)."""
    return uuid.UUID(text) if UUID_PATTERN.fullmatch(text) else None


def parse_uint(text: str) -> int | None:
    """A non-negative integer of ASCII digits (at most ``MAX_INT_DIGITS``), XML whitespace around it
    ignored; ``None`` for anything else."""
    value = text.strip(XML_WHITESPACE)
    if _ASCII_UINT.fullmatch(value) is None:
        return None
    return int(value)


def parse_bool(text: str) -> bool | None:
    """xs:boolean (``true``/``false``/``1``/``0``), XML whitespace around it ignored; ``None`` otherwise."""
    value = text.strip(XML_WHITESPACE)
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    return None


def uint_or_error(text: str, what: str, *, contract: bool = False) -> int:
    """``parse_uint`` or a 422 naming the attribute (``contract``: an encryption-contract attribute)."""
    value = parse_uint(text)
    if value is None:
        prefix = "Malformed encryption contract: " if contract else ""
        error = ContractError if contract else CpixError
        raise error(f"{prefix}{what} must be a non-negative integer of at most {MAX_INT_DIGITS} ASCII digits")
    return value


__all__ = [
    "MAX_INT_DIGITS",
    "UUID_PATTERN",
    "XML_WHITESPACE",
    "is_uuid_text",
    "matches",
    "parse_bool",
    "parse_uint",
    "parse_uuid_text",
    "uint_or_error",
]
