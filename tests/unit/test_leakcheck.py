"""The leak-check plugin (tests/leakcheck.py) itself: it finds every form of a secret in a log line, names
no secret in its report, and fails a session whose handler logs key material."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import textwrap

import pytest

from tests import leakcheck
from tests.conftest import MASTER_KEY, REPO

KEY = bytes.fromhex("f11a18a35cc5cb5080547aff81458d53")


@pytest.mark.parametrize(
    "shown",
    [
        KEY.hex(),
        KEY.hex().upper(),
        base64.b64encode(KEY).decode(),
        base64.urlsafe_b64encode(KEY).decode().rstrip("="),
        repr(KEY),
        KEY.decode("latin-1"),
    ],
)
@pytest.mark.parametrize("as_json", [False, True])
def test_scan_finds_every_form(shown, as_json):
    line = json.dumps({"message": "done", "detail": shown}) if as_json else f"done, detail={shown}"
    findings = leakcheck.scan([("t::x", "log", line)], {KEY: "CEK"})
    assert len(findings) == 1 and findings[0].startswith("CEK #0 (16 bytes)")
    assert KEY.hex() not in findings[0] and base64.b64encode(KEY).decode() not in findings[0]


def test_scan_ignores_kids_and_degenerate_values():
    texts = [("t::x", "log", '{"kid": "0f083e4e-b831-4a3d-917e-ce78076e54aa", "v": "AAAAAAAAAAAAAAAAAAAAAAAAAA"}')]
    assert leakcheck.scan(texts, {KEY: "CEK", bytes(16): "CEK"}) == []


def _session(tmp_path, body: str) -> subprocess.CompletedProcess:
    (tmp_path / "test_sample.py").write_text(textwrap.dedent(body))
    return subprocess.run(  # noqa: S603 - our interpreter, fixed arguments
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "tests.leakcheck",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(tmp_path),
            str(tmp_path / "test_sample.py"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


SAMPLE = """
    import logging, uuid
    from speke_keyprovider.key_derivation import derive_cek

    def test_derive_and_log():
        cek = derive_cek(b"%s", "channel-1", uuid.UUID(int=7))
        logging.getLogger("speke-keyprovider").warning("answered", extra={"detail": %s})
"""


def test_a_session_that_logs_a_cek_fails(tmp_path):
    result = _session(tmp_path, SAMPLE % (MASTER_KEY.decode(), "cek.hex()"))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "LEAK: CEK #" in result.stdout and "as hex" in result.stdout
    assert "1 passed" in result.stdout


def test_a_session_that_logs_no_key_passes(tmp_path):
    result = _session(tmp_path, SAMPLE % (MASTER_KEY.decode(), "len(cek)"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "leakcheck:" in result.stdout and "none found" in result.stdout


DELIVERY_SAMPLE = """
    import logging
    from speke_keyprovider.delivery.endpoint import DeliveryRequest, KeyDelivery
    from speke_keyprovider.delivery.tokens import StaticKeys, TokenVerifier, hmac_key
    from speke_keyprovider.key_sources import StaticMasterKey
    from speke_keyprovider.settings import DeliverySettings
    from speke_keyprovider_tools.delivery_tokens import mint_token

    SECRET = b"hs256-secret-for-the-leakcheck-test-0123"

    def test_serve_and_log():
        token = mint_token(None, content_ids=["c"], hmac_secret=SECRET)
        delivery = KeyDelivery(
            DeliverySettings(mode="aes128"),
            StaticMasterKey(b"0123456789abcdef0123456789abcdef"),
            TokenVerifier(StaticKeys([hmac_key(SECRET)]), audience="speke-keyprovider"),
        )
        answer = delivery.handle(DeliveryRequest("GET", "/keys/c/" + "1" * 32, {"Authorization": "Bearer " + token}))
        assert answer.status == 200
        logging.getLogger("speke-key-delivery").warning("served", extra={"detail": %s})
"""


@pytest.mark.parametrize(
    ("shown", "kind"),
    [
        ("token", "entitlement token #"),
        ("token.rsplit('.', 1)[1]", "entitlement token signature #"),
        ("answer.body.hex()", "CEK #"),  # the delivered key (a CEK of the master)
        ("SECRET.decode()", "token secret #"),
    ],
)
def test_a_session_that_logs_a_token_or_a_delivered_key_fails(tmp_path, shown, kind):
    result = _session(tmp_path, DELIVERY_SAMPLE % shown)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"LEAK: {kind}" in result.stdout


def test_a_delivery_session_that_logs_the_decision_only_passes(tmp_path):
    result = _session(tmp_path, DELIVERY_SAMPLE % "answer.log")
    assert result.returncode == 0, result.stdout + result.stderr


SAMPLE_TRACE = """
    import os, socket, uuid
    from speke_keyprovider.key_derivation import derive_cek

    def test_trace_a_key():
        cek = derive_cek(b"0123456789abcdef0123456789abcdef", "channel-1", uuid.UUID(int=7))
        host, port = os.environ["AWS_XRAY_DAEMON_ADDRESS"].split(":")
        segment = '{"format":"json","version":1}\\n{"name": "## h", "metadata": {"r": "%s"}}' % (SHOWN,)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.sendto(segment.encode(), (host, int(port)))
"""


@pytest.mark.parametrize(("shown", "leaks"), [("cek.hex()", True), ("len(cek)", False)])
def test_what_a_tracer_sends_is_scanned(tmp_path, shown, leaks):
    result = _session(tmp_path, SAMPLE_TRACE.replace("SHOWN", shown))
    assert "1 passed" in result.stdout, result.stdout + result.stderr
    if leaks:
        assert result.returncode == 1 and "LEAK: CEK #" in result.stdout and "x-ray segment" in result.stdout
    else:
        assert result.returncode == 0, result.stdout


SAMPLE_ANSWER = """
    import uuid
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
    from speke_keyprovider.key_derivation import derive_cek
    from speke_keyprovider_tools.apigw_event import rest_proxy_event

    app = APIGatewayRestResolver()

    @app.post("/copyProtection")
    def answer():
        cek = derive_cek(b"0123456789abcdef0123456789abcdef", "channel-1", uuid.UUID(int=7))
        return Response(status_code=%d, body=%s, headers={"X-Detail": %s})

    def test_answer():
        app.resolve(rest_proxy_event(b"<x/>"), None)
"""


SAMPLE_ROUTE_ANSWER = """
    import uuid
    from speke_keyprovider.key_derivation import derive_cek
    from speke_keyprovider.lambda_proxy import Answer

    def test_answer():
        cek = derive_cek(b"0123456789abcdef0123456789abcdef", "channel-1", uuid.UUID(int=7))
        Answer(%d, %s, {"X-Detail": %s}).proxy_result()
"""


SAMPLES = [SAMPLE_ANSWER, SAMPLE_ROUTE_ANSWER, SAMPLE_ROUTE_ANSWER.replace(".proxy_result()", ".http_api_result()")]
SAMPLE_IDS = ["resolver", "rest-proxy-answer", "http-api-answer"]


@pytest.mark.parametrize("sample", SAMPLES, ids=SAMPLE_IDS)
@pytest.mark.parametrize(
    ("status", "body", "header", "where"),
    [
        (200, '"ok"', "cek.hex()", "response headers"),
        (422, "cek.hex()", '"none"', "error body (422)"),
        (503, '"Retry " + repr(cek)', '"none"', "error body (503)"),
    ],
)
def test_response_headers_and_error_bodies_are_scanned(tmp_path, sample, status, body, header, where):
    result = _session(tmp_path, sample % (status, body, header))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "LEAK: CEK #" in result.stdout and where in result.stdout


@pytest.mark.parametrize("sample", SAMPLES, ids=SAMPLE_IDS)
def test_a_clean_answer_passes(tmp_path, sample):
    result = _session(tmp_path, sample % (200, '"ok"', '"none"'))
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_clear_200_body_is_not_an_error_body(tmp_path):
    result = _session(tmp_path, SAMPLE_ANSWER % (200, "cek.hex()", '"none"'))
    assert result.returncode == 0, result.stdout + result.stderr
