"""The client side of SPEKE v2.1 (the independent oracle): requests shaped like MediaPackage's for each
ContentKeyPeriodTiming, and a checker that catches altered echoes and checks overriding KIDs with its own
implementation of the formula."""

import datetime as dt
import re
import uuid

import pytest
from speke_keyprovider.key_sources import StaticMasterKey
from speke_keyprovider.service import KeyExchange
from speke_keyprovider.settings import Settings
from speke_keyprovider.settings_v21 import V21Settings
from speke_keyprovider_tools.client.conformance import check_response
from speke_keyprovider_tools.client.kid_override import override_kid, period_id
from speke_keyprovider_tools.client.request_builder import build_request

from tests.conftest import MASTER_KEY
from tests.unit.test_kid_override import VECTORS

START = dt.datetime(2026, 12, 1, 20, 0, tzinfo=dt.UTC)
HEADERS = {"Content-Type": "application/xml", "X-Speke-Version": "2.1", "X-Speke-User-Agent": "test/1"}


def built(**kwargs):
    args = dict(
        content_id="channel-1",
        video_preset="PRESET_VIDEO_2",
        audio_preset="PRESET_AUDIO_1",
        drm_systems=["widevine", "playready", "fairplay"],
        speke_version="2.1",
        period_timing="start-end",
        start=START,
        periods=2,
    )
    args.update(kwargs)
    return build_request(**args)


def answered(request, *, override=False) -> bytes:
    settings = Settings(v21=V21Settings(kid_override=override))
    return KeyExchange(settings, StaticMasterKey(MASTER_KEY)).answer(request.xml, "2.1").body


@pytest.mark.parametrize(("timing", "attrs"), [
    ("index", {"id", "index"}),
    ("start-end", {"id", "start", "end"}),
    ("index+start-end", {"id", "index", "start", "end"}),
])  # fmt: skip
def test_builder_timing_modes(timing, attrs):
    request = built(period_timing=timing)
    assert b'version="2.4"' in request.xml
    assert [set(a) for a in request.period_attributes] == [attrs, attrs]
    if "start" in attrs:
        assert request.period_attributes[0]["start"] == "2026-12-01T20:00:00Z"
        assert request.period_attributes[1]["start"] == request.period_attributes[0]["end"] == "2026-12-01T20:15:00Z"
    if timing == "index+start-end":  # epoch-locked: the same index in every Region for the same window
        assert request.period_attributes[0]["index"] == str(int(START.timestamp()) // 900)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"speke_version": "2.0"},  # start/end needs 2.1
        {"speke_version": "2.0", "period_timing": "index", "scheme": "SAMPLE-AES"},
        {"scheme": "AES-128"},  # with Widevine
        {"scheme": "SAMPLE-AES-CTR"},  # with FairPlay
        {"playlist": "Master"},
        {"start": dt.datetime(2026, 12, 1)},  # no timezone
    ],
)
def test_builder_refuses_what_mediapackage_cannot_send(kwargs):
    with pytest.raises(ValueError):
        built(**kwargs)


def test_v20_requests_unchanged():
    request = build_request(
        content_id="c", video_preset="PRESET_VIDEO_1", audio_preset="PRESET_AUDIO_1", drm_systems=["widevine"]
    )
    assert b'version="2.3"' in request.xml and request.speke_version == "2.0"
    assert re.search(rb'<cpix:ContentKeyPeriod id="keyPeriod_[0-9a-f-]{36}" index="1"/>', request.xml)


def test_checker_passes_a_good_answer_and_catches_altered_echoes():
    request = built(playlist="multiVariant")
    body = answered(request)
    assert check_response(request, 200, HEADERS, body).ok
    altered = {
        "start as +00:00": body.replace(b'start="2026-12-01T20:00:00Z"', b'start="2026-12-01T20:00:00+00:00"'),
        "end escaped": body.replace(b'end="2026-12-01T20:15:00Z"', b'end="2026-12-01T20:15:00&#90;"', 1),
        "playlist renamed": body.replace(b'playlist="multiVariant"', b'playlist="master"', 1),
        "kid changed": body.replace(str(request.keys[0].kid).encode(), str(uuid.uuid4()).encode()),
    }
    for name, changed in altered.items():
        report = check_response(request, 200, HEADERS, changed)
        assert not report.ok, name
    assert any(
        "byte for byte" in v for v in check_response(request, 200, HEADERS, altered["start as +00:00"]).violations
    )
    assert not check_response(request, 200, {**HEADERS, "X-Speke-Version": "2.0"}, body).ok


def test_checker_checks_overriding_kids_with_its_own_formula():
    request = built(periods=3)
    body = answered(request, override=True)
    assert check_response(request, 200, HEADERS, body, kid_override=True, master_key=MASTER_KEY).ok
    assert check_response(request, 200, HEADERS, body, kid_override=True).ok  # consistency only
    wrong = check_response(request, 200, HEADERS, body, kid_override=True, master_key=b"x" * 32)
    assert any("not the formula's" in v for v in wrong.violations)
    echoed = answered(request)  # a provider that does not override
    assert any("echoed" in v for v in check_response(request, 200, HEADERS, echoed, kid_override=True).violations)


@pytest.mark.parametrize(("content_id", "track_type", "period", "kid", "_cek"), VECTORS)
def test_client_formula_reproduces_the_published_vectors(content_id, track_type, period, kid, _cek):
    assert str(override_kid(MASTER_KEY, content_id, track_type, period)) == kid


def test_client_period_id():
    assert period_id({"id": "p", "start": "2026-12-01T21:00:00.5+01:00", "index": "3"}) == "2026-12-01T20:00:00Z"
    assert period_id({"id": "p", "index": "007"}) == "7"
    assert period_id(None) == "-" and period_id({"id": "p"}) == "-"
