"""``make run``'s server under abuse: log injection through the request path, half-open and slow
connections, large unsigned bodies, malformed Host headers. Each gets a bounded answer (or a cut
connection) and the server keeps serving signed requests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests import cpixdocs as d
from tests.conftest import MASTER_KEY, REPO
from tests.http.test_local_server import AK, SK, free_port

MAX_CONNECTIONS = 6
WAIT = 30.0  # how long a test waits for the server (far above the limits below; never a measured time)


@pytest.fixture(scope="module")
def limited(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("limited")
    port = free_port()
    (tmp / "master.key").write_bytes(MASTER_KEY)
    log = tmp / "server.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LOCAL_", "KEY_SOURCE", "MASTER_KEY"))}
    env.update(
        {
            "LOCAL_SIGV4_ACCESS_KEY_ID": AK,
            "LOCAL_SIGV4_SECRET_ACCESS_KEY": SK,
            "KEY_SOURCE": "file",
            "MASTER_KEY_FILE": str(tmp / "master.key"),
            "PYTHONUNBUFFERED": "1",
            "LOCAL_SERVER_SOCKET_TIMEOUT": "1",
            "LOCAL_SERVER_REQUEST_DEADLINE": "3",
            "LOCAL_SERVER_MAX_CONNECTIONS": str(MAX_CONNECTIONS),
        }
    )
    with log.open("w") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "speke_keyprovider_tools.local_server",
                "--port",
                str(port),
                "--state-dir",
                str(tmp / "s"),
            ],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + WAIT
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(log.read_text()) from None
            time.sleep(0.1)
    yield port, log
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=10)


def exchange(port: int, data: bytes, *, then_wait: bool = True) -> bytes:
    """Send raw bytes (HTTP/1.0: the server closes after answering) and read until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as sock:
        sock.sendall(data)
        chunks = []
        while then_wait:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)


def status(answer: bytes) -> int:
    assert answer.startswith(b"HTTP/"), answer[:100]
    return int(answer.split(b" ", 2)[1])


def signed_request(port: int, body: bytes, host: str | None = None) -> bytes:
    url = f"http://127.0.0.1:{port}/copyProtection"
    headers = {"Content-Type": "application/xml", "X-Speke-Version": "2.0"}
    if host is not None:
        headers["Host"] = host
    request = AWSRequest(method="POST", url=url, data=body, headers=headers)
    SigV4Auth(Credentials(AK, SK), "execute-api", "us-east-1").add_auth(request)
    lines = [b"POST /copyProtection HTTP/1.0"]
    names = {k.lower() for k in request.headers}
    if "host" not in names:
        lines.append(f"Host: 127.0.0.1:{port}".encode())
    lines += [f"{k}: {v}".encode() for k, v in request.headers.items()]
    lines.append(f"Content-Length: {len(body)}".encode())
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def test_a_signed_request_is_answered(limited):
    port, _ = limited
    assert status(exchange(port, signed_request(port, d.document()))) == 200


@pytest.mark.parametrize(
    "path",
    [
        b"/x\x1b[2K\x1b[1G12:00:00",  # erase the line, then write over it
        b"/x\x1b[1A\x1b[2K",  # cursor up: erase the previous line
        b"/copyProtection\x08\x08\x08\x08ok\x7f",
        b"/a\xe2\x80\xa8b",  # U+2028 (as latin-1 bytes) and other non-ASCII
        b"/\x00\x07",
    ],
)
def test_logged_request_text_is_escaped(limited, path):
    port, log = limited
    before = log.read_bytes()
    answer = exchange(port, b"GET " + path + b" HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
    assert status(answer) == 403
    assert status(exchange(port, signed_request(port, d.document()))) == 200  # its log line follows the GET's
    new = log.read_bytes()[len(before) :]
    lines = new.decode("latin-1").splitlines()
    assert len(lines) == 2, lines
    for line in lines:
        assert all(" " <= ch <= "~" for ch in line), repr(line)  # no control character, no non-ASCII
    assert " GET " in lines[0] and lines[0].rstrip().endswith("B") and " 403 " in lines[0]


@pytest.mark.parametrize("host", ["[::1", "[::1]:x", "exa mple", "a/b", "[zz]", "host:999999"])
def test_malformed_host_is_400_and_the_server_keeps_serving(limited, host):
    port, _ = limited
    answer = exchange(port, signed_request(port, d.document(), host=host))
    assert status(answer) == 400 and b"Host" in answer
    assert status(exchange(port, signed_request(port, d.document()))) == 200


@pytest.mark.parametrize(
    "auth",
    [
        b"",
        b"Authorization: AWS4-HMAC-SHA256 Credential=AKIAOTHER/20260101/us-east-1/execute-api/aws4_request, SignedHeaders=host, Signature="
        + b"0" * 64
        + b"\r\n",
    ],
)
def test_large_unsigned_body_is_refused_before_it_is_read(limited, auth):
    """Content-Length of 10 MiB, no body sent: the answer comes without the server waiting for it."""
    port, _ = limited
    head = b"POST /copyProtection HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: 10485760\r\n" + auth + b"\r\n"
    answer = exchange(port, head + b"<" * 1000)
    assert status(answer) == 403


@pytest.mark.parametrize("length", [b"10485761", b"99999999999999999999", b"\xd9\xa1", b"-1"])
def test_oversize_or_malformed_content_length(limited, length):
    port, _ = limited
    answer = exchange(
        port, b"POST /copyProtection HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: " + length + b"\r\n\r\n"
    )
    assert status(answer) in (400, 413)


def _closed_by_server(sock: socket.socket) -> bool:
    sock.settimeout(WAIT)
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return True
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def test_half_open_connections_are_bounded_and_cut(limited):
    port, _ = limited
    idle = [socket.create_connection(("127.0.0.1", port), timeout=WAIT) for _ in range(MAX_CONNECTIONS + 4)]
    try:
        assert all(_closed_by_server(sock) for sock in idle)  # the extra ones at once, the rest on timeout
    finally:
        for sock in idle:
            sock.close()
    assert status(exchange(port, signed_request(port, d.document()))) == 200


def test_a_slow_sender_is_cut_at_the_deadline(limited):
    port, _ = limited
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as sock:
        started = time.monotonic()
        cut = False
        for byte in b"POST /copyProtection HTTP/1.0\r\nX-Slow: " + b"a" * 200:
            try:
                sock.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                cut = True
                break
            time.sleep(0.3)  # under the socket timeout, so only the whole-connection deadline can stop it
            if time.monotonic() - started > WAIT:
                break
        assert cut or _closed_by_server(sock)
    assert status(exchange(port, signed_request(port, d.document()))) == 200
