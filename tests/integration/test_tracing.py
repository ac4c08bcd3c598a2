"""With ``XRAY_TRACING=true`` the tracer sends no key material: the handler's response (clear PlainValues,
wrapped keys) and its errors are never captured as trace metadata.

The function runs as Lambda runs it (a child process in "Lambda mode", see ``traced_invoke.py``) against a
local stand-in for the X-Ray daemon; every segment it sends is searched for every key the requests were
answered with (the CEKs, the document and MAC keys, the master key) and handed to the session's leak check."""

from __future__ import annotations

import base64
import json
import uuid

import pytest
from speke_keyprovider.key_derivation import derive_cek
from speke_keyprovider_tools.client.request_builder import build_request

from tests import cpixdocs as d
from tests import leakcheck
from tests.conftest import MASTER_KEY, REPO
from tests.fuzz.fuzz_support import find_leak
from tests.tracing_support import run_traced

TRACE_ID = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"


def _requests(cert_der: bytes) -> list[tuple[str, bytes, int, str, list[uuid.UUID]]]:
    """(name, body, expected status, contentId, kids)."""
    clear = build_request(
        content_id="traced-clear",
        video_preset="PRESET_VIDEO_3",
        audio_preset="PRESET_AUDIO_1",
        drm_systems=["widevine", "playready"],
        scheme="cenc",
        periods=2,
    )
    encrypted = build_request(
        content_id="traced-encrypted",
        video_preset="PRESET_VIDEO_1",
        audio_preset="PRESET_AUDIO_1",
        drm_systems=["widevine", "fairplay"],
        scheme="cbcs",
        certificate_der=cert_der,
    )
    kids = [uuid.UUID(d.KID_VIDEO), uuid.UUID(d.KID_AUDIO)]
    return [
        ("clear", clear.xml, 200, clear.content_id, [k.kid for k in clear.keys]),
        ("encrypted", encrypted.xml, 200, encrypted.content_id, [k.kid for k in encrypted.keys]),
        ("minimal clear", d.document(), 200, "test_case_generic", kids),
        ("refused", d.document(root='contentId="test_case_generic" version="2.2"'), 422, "", []),
    ]


@pytest.fixture(scope="module")
def traced(tmp_path_factory, delivery_cert_der):
    tmp = tmp_path_factory.mktemp("traced")
    (tmp / "master.key").write_bytes(MASTER_KEY)
    requests = _requests(delivery_cert_der)
    paths = []
    for n, (_, body, *_rest) in enumerate(requests):
        path = tmp / f"request-{n}.xml"
        path.write_bytes(body)
        paths.append(str(path))
    child, datagrams = run_traced(
        [str(REPO / "tests" / "integration" / "traced_invoke.py"), "--keys", str(tmp / "keys"), *paths],
        {"KEY_SOURCE": "file", "MASTER_KEY_FILE": str(tmp / "master.key")},
        function_name="speke-traced",
        trace_id=TRACE_ID,
        segments=len(requests),
        cwd=REPO,
    )
    assert child.returncode == 0, child.stderr[-2000:]
    answers = json.loads(child.stderr.strip().splitlines()[-1])
    generated = [bytes.fromhex(line) for line in (tmp / "keys").read_text().split()]
    ceks = [derive_cek(MASTER_KEY, cid, kid) for _, _, _, cid, kids in requests for kid in kids]
    secrets = [*ceks, *generated, MASTER_KEY]
    for secret in ceks:
        leakcheck.record_secret(secret, "CEK")
    for secret in generated:
        leakcheck.record_secret(secret, "document / MAC key")
    for text in datagrams:
        leakcheck.record_text("x-ray segment (traced child)", text)
    return requests, answers, datagrams, secrets


def _segments(datagrams: list[str]) -> list[dict]:
    out = []
    for text in datagrams:
        header, _, document = text.partition("\n")
        assert json.loads(header) == {"format": "json", "version": 1}
        out.append(json.loads(document))
    return out


def test_requests_were_answered_and_traced(traced):
    requests, answers, datagrams, _ = traced
    assert [a["status"] for a in answers] == [expected for _, _, expected, _, _ in requests]
    handler_segments = [s for s in _segments(datagrams) if s.get("name") == "## lambda_handler"]
    assert len(handler_segments) == len(requests)  # the stand-in saw every invocation: the check below can fail
    assert all(s["annotations"].get("ColdStart") is not None for s in handler_segments)


def test_answers_really_hold_keys(traced):
    """The premise: what a captured response would have put in a trace holds the keys."""
    _, answers, _, secrets = traced
    assert find_leak(answers[0]["body"].encode(), secrets) is not None  # clear PlainValues


def test_no_segment_carries_key_material(traced):
    _, _, datagrams, secrets = traced
    assert datagrams
    for text in datagrams:
        leak = find_leak(text.encode(), secrets)
        assert leak is None, leak


def test_no_segment_carries_responses_or_errors(traced):
    _, answers, datagrams, _ = traced
    for segment in _segments(datagrams):
        assert "metadata" not in segment or not any(
            "response" in key or "error" in key for ns in segment["metadata"].values() for key in ns
        ), segment.get("metadata")
        assert "cause" not in segment
    for text in datagrams:
        for answer in answers:
            assert answer["body"][:200] not in text and "PlainValue" not in text and "CipherValue" not in text


def test_response_headers_carry_no_key_material(traced):
    _, answers, _, secrets = traced
    for answer in answers:
        shown = json.dumps(answer["headers"]).encode()
        assert find_leak(shown, secrets) is None
        assert set(answer["headers"]) <= {"Content-Type", "X-Speke-User-Agent", "X-Speke-Version", "Retry-After"}
        assert base64.b64encode(MASTER_KEY) not in shown
