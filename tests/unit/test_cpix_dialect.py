"""Dialect detection: decided once, from the X-Speke-Version header and CPIX@version (docs/speke-v1.md §2,
speke-v2.1.md §1); every inconsistency is a 422 naming it, never a guess."""

from __future__ import annotations

import pytest
from speke_keyprovider.cpix import dialect
from speke_keyprovider.cpix.dialect import V1, V2_0, V2_1, detect
from speke_keyprovider.cpix.parse import parse_request
from speke_keyprovider.errors import CpixError, UnsupportedVersion


@pytest.fixture
def served(monkeypatch):
    """Pretend every dialect is served, to test the detection rules on their own."""
    monkeypatch.setattr(dialect, "SERVED", frozenset({V1, V2_0, V2_1}))


@pytest.mark.parametrize(
    ("header", "version", "expected"),
    [(None, None, V1), ("2.0", "2.3", V2_0), ("2.1", "2.4", V2_1), (" 2.0 ", "2.3", V2_0)],
)
def test_consistent_pairs(served, header, version, expected):
    assert detect(header, version) is expected


@pytest.mark.parametrize(
    ("header", "version", "error", "text"),
    [
        (None, "2.3", UnsupportedVersion, "Unsupported SPEKE version: the document has CPIX@version but"),
        ("2.0", None, CpixError, "Missing CPIX@version"),
        ("2.1", None, CpixError, "Missing CPIX@version"),
        ("2.0", "2.4", CpixError, "Unsupported CPIX@version: 2.4 is SPEKE v2.1"),
        ("2.1", "2.3", CpixError, "Unsupported CPIX@version: 2.3 is SPEKE v2.0"),
        ("2.0", "2.2", CpixError, "Unsupported CPIX@version"),
        ("1.0", None, UnsupportedVersion, "Unsupported SPEKE version"),
        ("3.0", "2.3", UnsupportedVersion, "Unsupported SPEKE version"),
    ],
)
def test_inconsistencies_are_refused_naming_them(served, header, version, error, text):
    with pytest.raises(error) as info:
        detect(header, version)
    assert info.value.status == 422
    assert info.value.public_message.startswith(text)


def test_dialects_not_served_are_refused_by_name(monkeypatch):
    monkeypatch.setattr(dialect, "SERVED", frozenset({V2_0}))
    with pytest.raises(UnsupportedVersion, match="SPEKE v2.1 is not served"):
        detect("2.1", "2.4")


def test_the_parser_detects_from_the_document_root():
    doc = b'<cpix:CPIX xmlns:cpix="urn:dashif:org:cpix" contentId="c" version="2.3"/>'
    with pytest.raises(UnsupportedVersion, match="no X-Speke-Version header"):
        parse_request(doc, None)
    with pytest.raises(CpixError, match="^Missing ContentKeyList$"):
        parse_request(doc, "2.0")
