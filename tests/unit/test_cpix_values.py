"""Attribute values are matched whole and numbers are ASCII digits, for every value the parser reads.

A pattern ending in ``$`` also matches before a final newline (``&#10;`` in the document); ``str.isdigit``
takes ``²``, ``①`` and other Unicode digits that ``int`` then refuses (or reads). Each case goes through the
whole exchange: a 4xx naming the attribute, never a 500, never a 200 for a value the rules refuse.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from speke_keyprovider.errors import SpekeError
from speke_keyprovider.key_sources import StaticMasterKey
from speke_keyprovider.service import KeyExchange
from speke_keyprovider.settings import Settings

from tests import cpixdocs as d
from tests.conftest import MASTER_KEY, REPO

K1, K2 = d.KID_VIDEO, d.KID_AUDIO
NL = "&#10;"  # a newline inside an attribute value (a literal one is normalised to a space)


def answer(body: bytes):
    return KeyExchange(Settings(), StaticMasterKey(MASTER_KEY)).answer(body)


def refused(body: bytes, message: str) -> SpekeError:
    with pytest.raises(SpekeError) as info:
        answer(body)
    assert 400 <= info.value.status < 500, info.value.public_message
    assert re.search(message, info.value.public_message), info.value.public_message
    return info.value


TRAILING_NEWLINE = {
    "ContentKey@kid": (d.document(keys=d.content_keys(kids=(K1 + NL, K2))), "Invalid ContentKey@kid"),
    "DRMSystem@kid": (d.document(systems=d.drm_systems(kids=(K1 + NL, K2))), "Invalid DRMSystem@kid"),
    "DRMSystem@systemId": (
        d.document(systems=d.drm_systems(systems=(d.WIDEVINE + NL,))),
        "Invalid DRMSystem@systemId",
    ),
    "ContentKeyUsageRule@kid": (
        d.document(usage=d.rules().replace(f'kid="{K1}"', f'kid="{K1}{NL}"')),
        "Invalid ContentKeyUsageRule@kid",
    ),
    "contentId": (d.document(root=f'contentId="test_case_generic{NL}" version="2.3"'), "Invalid CPIX@contentId"),
    "contentId of 256 + newline": (
        d.document(root=f'contentId="{"c" * 256}{NL}" version="2.3"'),
        "Invalid CPIX@contentId",
    ),
    "intendedTrackType": (d.document(usage=d.rules(video_type="VIDEO" + NL)), "invalid intendedTrackType"),
}


@pytest.mark.parametrize("name", sorted(TRAILING_NEWLINE))
def test_trailing_newline_is_refused(name):
    body, message = TRAILING_NEWLINE[name]
    refused(body, message)


def test_contentid_of_257_characters_is_refused():
    refused(d.document(root=f'contentId="{"c" * 257}" version="2.3"'), "Invalid CPIX@contentId")
    assert answer(d.document(root=f'contentId="{"c" * 256}" version="2.3"')).content_id == "c" * 256


def test_video_and_video_newline_are_not_two_track_types():
    """Two rules VIDEO / VIDEO&#10; in one period: refused (the second is not a track type at all)."""
    usage = d.rules(video_type="VIDEO", audio_type="VIDEO" + NL)
    refused(d.document(usage=usage), "invalid intendedTrackType")


UNICODE_DIGITS = ["\u00b2", "\u2460", "\u0663", "\uff11", "1\u00b2", "\u0661\u0662", "\U0001d7ce"]
NUMBER_ATTRIBUTES = {
    "ContentKeyPeriod@index": lambda v: d.document(
        period_list=f'<cpix:ContentKeyPeriodList><cpix:ContentKeyPeriod id="{d.PERIOD}" index="{v}"/>'
        "</cpix:ContentKeyPeriodList>"
    ),
    "VideoFilter@minPixels": lambda v: d.document(usage=d.rules(video_filter=f'<cpix:VideoFilter minPixels="{v}"/>')),
    "VideoFilter@maxPixels": lambda v: d.document(usage=d.rules(video_filter=f'<cpix:VideoFilter maxPixels="{v}"/>')),
    "VideoFilter@minFps": lambda v: d.document(usage=d.rules(video_filter=f'<cpix:VideoFilter minFps="{v}"/>')),
    "VideoFilter@maxFps": lambda v: d.document(usage=d.rules(video_filter=f'<cpix:VideoFilter maxFps="{v}"/>')),
    "AudioFilter@minChannels": lambda v: d.document(
        usage=d.rules(audio_filter=f'<cpix:AudioFilter minChannels="{v}"/>')
    ),
    "AudioFilter@maxChannels": lambda v: d.document(
        usage=d.rules(audio_filter=f'<cpix:AudioFilter maxChannels="{v}"/>')
    ),
}


@pytest.mark.parametrize("digits", UNICODE_DIGITS)
@pytest.mark.parametrize("attribute", sorted(NUMBER_ATTRIBUTES))
def test_unicode_digits_are_refused(attribute, digits):
    refused(NUMBER_ATTRIBUTES[attribute](digits), re.escape(attribute) + " must be a non-negative integer")


@pytest.mark.parametrize("attribute", sorted(NUMBER_ATTRIBUTES))
@pytest.mark.parametrize("text", ["7", " 7 ", "0007", "&#9;7&#10;"])
def test_ascii_numbers_are_read(attribute, text):
    assert answer(NUMBER_ATTRIBUTES[attribute](text)).key_count == 2


@pytest.mark.parametrize("text", ["-1", "+7", "7.0", "1e3", "9" * 13, "", "0x10", "7\u00a0"])
def test_other_non_numbers_are_refused(text):
    refused(NUMBER_ATTRIBUTES["VideoFilter@minPixels"](text), "VideoFilter@minPixels must be a non-negative integer")


@pytest.mark.parametrize("text", ["true" + NL + "x", "\u0661", "TRUE", "yes"])
def test_booleans_are_whole_values(text):
    refused(d.document(usage=d.rules(video_filter=f'<cpix:VideoFilter hdr="{text}"/>')), "hdr must be true or false")


# --- the mechanism: no pattern of the server package can match a prefix, no isdigit anywhere ----------------

PACKAGE = REPO / "layers" / "speke_keyprovider" / "speke_keyprovider"
LOCAL_TOOLS = [REPO / "tools" / "speke_keyprovider_tools" / name for name in ("local_sigv4.py", "local_server.py")]


def _sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py")) + LOCAL_TOOLS


def _string_constants(path: Path) -> list[str]:
    return [node.value for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.Constant)]


@pytest.mark.parametrize("path", _sources(), ids=lambda p: p.name)
def test_no_dollar_anchored_pattern_and_no_match_calls(path):
    """Every compiled pattern is used with fullmatch: none ends in ``$`` and no ``.match(`` call on one."""
    source = path.read_text()
    for value in _string_constants(path):
        if isinstance(value, str) and value.endswith("$") and ("[" in value or "\\" in value):
            pytest.fail(f"{path.name}: pattern {value[:60]!r} ends in $ (matches before a final newline)")
    assert not re.search(r"\b_?[A-Z][A-Z0-9_]*\.match\(", source), f"{path.name}: use fullmatch for whole values"


@pytest.mark.parametrize("path", _sources(), ids=lambda p: p.name)
def test_no_unicode_digit_checks(path):
    """``isdigit`` / ``isdecimal`` / ``isnumeric`` accept non-ASCII digits: numbers go through cpix.values."""
    source = path.read_text()
    for call in re.findall(r"\.(isdigit|isdecimal|isnumeric)\(\)", source):
        line = next(line for line in source.splitlines() if f".{call}()" in line)
        assert "isascii()" in line, f"{path.name}: {line.strip()}"
