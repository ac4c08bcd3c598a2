"""`speke-keyprovider request` end to end: against `make run`'s server (started here, real SigV4) and
against a tiny stub server that gives deliberately broken answers."""

from __future__ import annotations

import io
import json
import os
import select
import socket
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from speke_keyprovider_tools.cli import main

from tests.conftest import MASTER_KEY
from tests.reference_responder import FAULTS, ReferenceResponder

REPO = Path(__file__).resolve().parents[2]
CERTS = REPO / "tests" / "fixtures" / "certs"
CERT, KEY = str(CERTS / "delivery.cert.pem"), str(CERTS / "delivery.key.pem")
MASTER = MASTER_KEY.decode()  # contract section 5 vectors
ACCESS, SECRET, REGION = "AKIAHTTPTEST0001", "http-test-secret-not-for-anything", "eu-west-1"


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def local_server(tmp_path_factory):
    pytest.importorskip("speke_keyprovider_tools.local_server")
    state = tmp_path_factory.mktemp("local-state")
    master = state / "master.key"
    master.write_text(MASTER + "\n")
    port = _free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "LOCAL_SIGV4_", "KEY_SOURCE", "MASTER_KEY", "TRUSTED_CERT", "REQUIRE_"))
    }
    env |= {
        "LOCAL_SIGV4_ACCESS_KEY_ID": ACCESS,
        "LOCAL_SIGV4_SECRET_ACCESS_KEY": SECRET,
        "LOCAL_SIGV4_REGION": REGION,
        "KEY_SOURCE": "file",
        "MASTER_KEY_FILE": str(master),
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "speke_keyprovider_tools.local_server",
            "--port",
            str(port),
            "--state-dir",
            str(state),
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    log = []
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([proc.stderr], [], [], 0.5)
            if ready:
                line = proc.stderr.readline()
                log.append(line)
                if "listening on" in line:
                    break
            if proc.poll() is not None:
                pytest.fail("local server exited early:\n" + "".join(log) + proc.stderr.read())
        else:
            pytest.fail("local server did not start:\n" + "".join(log))
        # keep draining its log so it never blocks on a full pipe
        threading.Thread(target=lambda: [None for _ in proc.stderr], daemon=True).start()
        yield f"http://127.0.0.1:{port}/copyProtection"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _creds(*extra: str) -> list[str]:
    return ["--access-key", ACCESS, "--secret-key", SECRET, "--region", REGION, "--no-color", *extra]


# --- against make run ---------------------------------------------------------------------------------


@pytest.mark.parametrize("periods", [1, 3])
@pytest.mark.parametrize("encrypted", [False, True], ids=["clear", "encrypted"])
def test_matrix_every_preset_pair_and_drm_combination_passes(local_server, encrypted, periods):
    """SigV4-signed MediaPackage-style requests over HTTP: every preset pair and DRM combination, cenc and cbcs."""
    extra = ["--cert", CERT, "--key", KEY] if encrypted else []
    code, out, err = _run("request", local_server, "--matrix", "--periods", str(periods), *_creds(*extra))
    assert code == 0, out + err
    assert " 0 failed: PASS" in out
    assert "FAIL" not in out.replace("0 failed", "")
    assert out.count("PASS ") >= 100  # 72 preset cases + 46 DRM combinations


def test_single_request_report_and_keys_agree_with_derive(local_server, tmp_path):
    code, out, err = _run(
        "request",
        local_server,
        "--video-preset",
        "PRESET_VIDEO_5",
        "--audio-preset",
        "PRESET_AUDIO_3",
        "--drm",
        "widevine,playready,clearkey",
        "--scheme",
        "cenc",
        "--cert",
        CERT,
        "--key",
        KEY,
        "--json",
        "--show-keys",
        "--content-id",
        "channel-1",
        "--save",
        str(tmp_path / "saved"),
        *_creds(),
    )
    assert code == 0, out + err
    report = json.loads(out)
    assert report["ok"] and report["violations"] == [] and report["status"] == 200
    assert [k["track_type"] for k in report["keys"]] == [
        "SD",
        "HD1",
        "HD2",
        "UHD1",
        "UHD2",
        "STEREO_AUDIO",
        "MULTICHANNEL_AUDIO_3_6",
        "MULTICHANNEL_AUDIO_7",
    ]
    assert report["user_agent"].startswith("speke-keyprovider/")
    kids = [k["kid"] for k in report["keys"]]
    master = tmp_path / "master.key"
    master.write_text(MASTER)
    code, derived, err = _run(
        "derive",
        "--content-id",
        "channel-1",
        "--kid",
        ",".join(kids),
        "--key-source",
        "file",
        "--master-key-file",
        str(master),
        "--show-keys",
        "--json",
    )
    assert code == 0, err
    assert [d["hex"] for d in json.loads(derived)] == [k["key_hex"] for k in report["keys"]]
    saved = tmp_path / "saved"
    assert (saved / "request.xml").read_bytes().startswith(b"<?xml")
    assert b"EncryptedValue" in (saved / "response.body").read_bytes()
    assert json.loads((saved / "response.json").read_text())["status"] == 200
    assert json.loads((saved / "report.json").read_text())["ok"] is True


def test_readable_report_hides_keys_by_default(local_server):
    code, out, _ = _run("request", local_server, "--drm", "widevine,fairplay", *_creds())
    assert code == 0, out
    assert "KEY SHA-256" in out and "KEY (hex)" not in out and "Result: PASS" in out
    assert "\033[" not in out  # no colour off a TTY


def test_wrong_credentials_are_a_failed_check(local_server):
    code, out, _ = _run("request", local_server, "--access-key", ACCESS, "--secret-key", "wrong", "--region", REGION)
    assert code == 1
    assert "HTTP status 403" in out


def test_unreachable_provider_exits_3():
    code, _, err = _run("request", f"http://127.0.0.1:{_free_port()}/copyProtection", *_creds("--timeout", "2"))
    assert code == 3
    assert "cannot reach" in err


# --- against deliberately broken answers -------------------------------------------------------------


class _StubHandler(BaseHTTPRequestHandler):
    """POST /<fault>/copyProtection answers through the reference responder with that fault."""

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        fault = self.path.strip("/").split("/")[0]
        responder = ReferenceResponder(fault=None if fault == "good" else fault)
        answer = responder.http(body, dict(self.headers.items()))
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        self.wfile.write(answer.body)

    def log_message(self, format, *args):  # noqa: A002
        return


@pytest.fixture(scope="module")
def stub_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _StubHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


EXPECTED = {
    "wrong_mac": "ValueMAC does not verify",
    "pssh_cpd_mismatch": "cenc:pssh differs from the PSSH element",
    "changed_scheme": "commonEncryptionScheme is 'cenc', the request had 'cbcs'",
    "dropped_child": "requested child PSSH is missing",
    "added_child": "was not requested",
    "added_plainvalue": "PlainValue element(s) in an answer that must carry encrypted keys only",
    "changed_kid": "kids must be echoed",
    "wrong_hls_method": "METHOD is 'SAMPLE-AES-CTR', expected SAMPLE-AES",
    "master_differs": "HLS master line differs from the media line",
    "wrong_pssh_kid": "Widevine key_ids do not include the kid",
    "changed_content_id": "CPIX@contentId is 'tampered'",
    "dropped_period": "ContentKeyPeriodList has 0 ContentKeyPeriod",
    "missing_user_agent": "X-Speke-User-Agent header missing",
    "missing_version_header": "X-Speke-Version header missing",
    "wrong_version_header": "X-Speke-Version is '1.0'",
    "wrong_content_type": "Content-Type is 'text/plain'",
    "status_500": "HTTP status 500",
    "error_with_200": "body is not a CPIX document",
}


def test_stub_expectations_cover_every_fault():
    assert set(EXPECTED) == set(FAULTS)


def test_stub_good_answer_passes(stub_server):
    code, out, err = _run(
        "request",
        f"{stub_server}/good/copyProtection",
        "--drm",
        "widevine,playready,clearkey",
        "--cert",
        CERT,
        "--key",
        KEY,
        *_creds(),
    )
    assert code == 0, out + err
    assert "Result: PASS" in out


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_each_broken_answer_is_a_violation_with_non_zero_exit(stub_server, fault):
    code, out, err = _run(
        "request",
        f"{stub_server}/{fault}/copyProtection",
        "--drm",
        "widevine,playready,clearkey",
        "--cert",
        CERT,
        "--key",
        KEY,
        *_creds(),
    )
    assert code == 1, out + err
    assert "Result: FAIL" in out
    assert EXPECTED[fault] in out


def test_broken_answer_in_json(stub_server):
    code, out, _ = _run(
        "request",
        f"{stub_server}/wrong_mac/copyProtection",
        "--drm",
        "widevine",
        "--cert",
        CERT,
        "--key",
        KEY,
        "--json",
        *_creds(),
    )
    assert code == 1
    report = json.loads(out)
    assert report["ok"] is False
    assert any("ValueMAC does not verify" in v for v in report["violations"])
    assert report["keys"][0]["key_sha256"] is None  # MAC checked before decrypting: no key reported
    uuid.UUID(report["keys"][0]["kid"])
