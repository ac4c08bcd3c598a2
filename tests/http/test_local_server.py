"""`make run`'s server over real HTTP on loopback, with requests SigV4-signed by botocore."""

import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from speke_keyprovider.key_derivation import derive_cek
from speke_keyprovider_tools.client.request_builder import build_request
from speke_keyprovider_tools.client.response_reader import read_content_keys

from tests import cpixdocs as d
from tests.conftest import MASTER_KEY, REPO

AK, SK = "AKIALOCALTEST", "local-test-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(tmp_path, env_extra=None):
    port = free_port()
    master = tmp_path / "master.key"
    master.write_bytes(MASTER_KEY)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LOCAL_SIGV4", "KEY_SOURCE", "MASTER_KEY"))}
    env.update(
        {
            "LOCAL_SIGV4_ACCESS_KEY_ID": AK,
            "LOCAL_SIGV4_SECRET_ACCESS_KEY": SK,
            "KEY_SOURCE": "file",
            "MASTER_KEY_FILE": str(master),
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(env_extra or {})
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "speke_keyprovider_tools.local_server",
            "--port",
            str(port),
            "--state-dir",
            str(tmp_path / "state"),
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, f"http://127.0.0.1:{port}/copyProtection"
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(proc.stdout.read()) from None
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    proc, url = start_server(tmp_path_factory.mktemp("srv"))
    yield url
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=10)


def send(url, body, *, sign=True, creds=(AK, SK), service="execute-api", region="us-east-1", headers=None, when=None):
    headers = {"Content-Type": "application/xml", "X-Speke-Version": "2.0", **(headers or {})}
    request = AWSRequest(method="POST", url=url, data=body, headers=headers)
    if sign:
        signer = SigV4Auth(Credentials(*creds), service, region)
        if when is None:
            signer.add_auth(request)
        else:
            request.context["timestamp"] = when.strftime("%Y%m%dT%H%M%SZ")
            request.headers["X-Amz-Date"] = request.context["timestamp"]
            signer._modify_request_before_signing = lambda r: None  # keep our timestamp
            canonical = signer.canonical_request(request)
            signature = signer.signature(signer.string_to_sign(request, canonical), request)
            signer._inject_signature_to_request(request, signature)
    prepared = request.prepare()
    req = urllib.request.Request(url, data=body, headers=dict(prepared.headers), method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def test_signed_request_answered(server, delivery_cert_der, delivery_private_key):
    built = build_request(
        content_id="channel-1",
        video_preset="PRESET_VIDEO_2",
        audio_preset="PRESET_AUDIO_1",
        drm_systems=["widevine", "playready", "fairplay"],
        scheme="cbcs",
        periods=3,
        certificate_der=delivery_cert_der,
    )
    status, headers, body = send(server, built.xml)
    assert status == 200, body[:300]
    assert headers["X-Speke-Version"] == "2.0" and headers["Content-Type"] == "application/xml"
    keys = read_content_keys(body, delivery_private_key)
    assert keys == {str(k.kid): derive_cek(MASTER_KEY, "channel-1", k.kid) for k in built.keys}


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"sign": False}, b"Missing Authentication Token"),
        ({"creds": ("AKIAOTHER", SK)}, b"security token"),
        ({"creds": (AK, "wrong-secret")}, b"signature"),
        ({"service": "s3"}, b"service"),
        ({"region": "eu-west-1"}, b"region"),
        ({"when": -6}, b"expired"),  # minutes from now, taken when the test runs (not when it is collected)
        ({"when": +6}, b"expired"),
    ],
)
def test_auth_failures_are_403(server, kwargs, reason):
    if "when" in kwargs:
        kwargs = {**kwargs, "when": dt.datetime.now(dt.UTC) + dt.timedelta(minutes=kwargs["when"])}
    status, _, body = send(server, d.document(), **kwargs)
    assert status == 403 and reason in body


def test_tampered_body_is_403(server):
    body = d.document()
    request = AWSRequest(
        method="POST", url=server, data=body, headers={"Content-Type": "application/xml", "X-Speke-Version": "2.0"}
    )
    SigV4Auth(Credentials(AK, SK), "execute-api", "us-east-1").add_auth(request)
    tampered = body.replace(b"test_case_generic", b"test_case_generix")
    req = urllib.request.Request(server, data=tampered, headers=dict(request.prepare().headers), method="POST")
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(req, timeout=10)
    assert info.value.code == 403


def test_cpix_errors_pass_through(server):
    status, _, body = send(server, d.document(root='contentId="c" version="2.2"'))
    assert status == 422 and body == b"Unsupported CPIX@version"
    status, _, body = send(server, d.document(), headers={"X-Speke-Version": "1.0"})
    assert status == 422 and body == b"Unsupported SPEKE version"


def test_first_run_creates_master_key_and_credentials(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOCAL_SIGV4", "KEY_SOURCE", "MASTER_KEY"))}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "speke_keyprovider_tools.local_server",
            "--port",
            str(port),
            "--state-dir",
            str(tmp_path / "state"),
        ],
        cwd=REPO,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = [proc.stderr.readline() for _ in range(5)]
        assert any("AWS_ACCESS_KEY_ID=" in line for line in lines), lines
        master = tmp_path / "state" / "master.key"
        assert master.exists() and (master.stat().st_mode & 0o777) == 0o600
        assert len(master.read_text()) >= 32
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    assert "stopped" in proc.stderr.read()
