#!/usr/bin/env python3
"""Bounded load test of the key provider as ``make run`` serves it, on loopback only.

Starts ``python -m speke_keyprovider_tools.local_server`` as a subprocess on a free 127.0.0.1 port with fixed
SigV4 credentials and a fresh random master key in a temporary file, then runs ``--clients`` concurrent
clients for ``--duration`` seconds sending a mix of

* valid requests, clear and encrypted (MediaPackage-v2-shaped, several presets / DRM systems / periods),
  each SigV4-signed; every answer must be a 200 whose keys (decrypted with the test certificate's
  private key when encrypted) equal the derivation from the master key;
* hostile requests: unsigned, badly signed, wrong SPEKE version, wrong content type, malformed or
  truncated XML, a DTD / external entity, entity expansion, random bytes, an oversize body, unknown
  DRM system, FairPlay with cenc, duplicate kids, no contentId, a GET; each must be a 4xx.

It reports throughput, latency percentiles (p50 / p99, valid requests), errors (must be 0 for valid
requests; a 5xx, a 200 or a dropped connection counts as an error for hostile ones), the keys checked,
and whether the server's output (its log lines) shows any key material or a traceback. Exit status 0
only when all of that holds.

    python scripts/load_test.py                       # 16 clients, 60 s
    python scripts/load_test.py --duration 5 --clients 4 --json build/load.json

Loops are bounded by time and by ``--max-requests``; the only address ever used is 127.0.0.1.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import http.client
import json
import os
import random
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"  # never anything else
ACCESS_KEY = "AKIALOADTEST00000001"  # pragma: allowlist secret - local load-test credential
SECRET_KEY = "load-test-secret-not-a-real-credential"  # noqa: S105  # pragma: allowlist secret - fixed local test credential
REGION = "us-east-1"
MAX_DURATION = 1800
MAX_CLIENTS = 64

# --- requests -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prepared:
    kind: str
    method: str
    body: bytes
    headers: dict[str, str]
    sign: str  # "ok", "none", "bad"
    expected: dict[str, bytes] | None = None  # valid requests: kid -> CEK
    encrypted: bool = False


def _certificate() -> tuple[bytes, Any]:
    """A fresh RSA-2048 self-signed certificate (valid now) and its private key: the encryptor's."""
    from speke_keyprovider_tools.certificates import self_signed

    made = self_signed(cn="speke load test encryptor", digest="sha256", days=2)
    return made.der, made.private_key


_SHAPES: list[dict[str, Any]] = [
    dict(
        video_preset="PRESET_VIDEO_3",
        audio_preset="PRESET_AUDIO_2",
        drm_systems=["widevine", "playready", "fairplay"],
        scheme="cbcs",
    ),
    dict(
        video_preset="PRESET_VIDEO_1",
        audio_preset="PRESET_AUDIO_1",
        drm_systems=["widevine", "playready", "clearkey"],
        scheme="cenc",
    ),
    dict(
        video_preset="SHARED",
        audio_preset="SHARED",
        drm_systems=["fairplay", "aes128"],
        scheme="cbcs",
        periods=2,
    ),
    dict(video_preset="PRESET_VIDEO_8", audio_preset="PRESET_AUDIO_3", drm_systems=["widevine"], scheme="cbcs"),
    dict(
        video_preset="PRESET_VIDEO_2",
        audio_preset="UNENCRYPTED",
        drm_systems=["playready"],
        scheme="cenc",
        periods=3,
    ),
]
SPEKE = {"Content-Type": "application/xml", "X-Speke-Version": "2.0"}


def prepare(
    master: bytes, cert_der: bytes, per_shape: int, rng: random.Random
) -> tuple[list[Prepared], list[Prepared]]:
    """Valid requests (clear and encrypted, with their expected keys) and hostile ones."""
    from speke_keyprovider.key_derivation import derive_cek
    from speke_keyprovider_tools.client.request_builder import build_request

    valid: list[Prepared] = []
    for n in range(per_shape):
        for s, shape in enumerate(_SHAPES):
            for encrypted in (False, True):
                content_id = f"load-{s}-{n}-{'enc' if encrypted else 'clear'}"
                built = build_request(content_id=content_id, certificate_der=cert_der if encrypted else None, **shape)
                expected = {str(k.kid): derive_cek(master, content_id, k.kid) for k in built.keys}
                valid.append(
                    Prepared(
                        "valid-encrypted" if encrypted else "valid-clear",
                        "POST",
                        built.xml,
                        dict(SPEKE),
                        "ok",
                        expected,
                        encrypted,
                    )
                )
    good = valid[0].body
    enc_good = next(p.body for p in valid if p.encrypted)
    kid = re.search(rb'kid="([^"]+)"', good).group(1)  # type: ignore[union-attr]
    hostile = [
        Prepared("unsigned", "POST", good, dict(SPEKE), "none"),
        Prepared("bad-signature", "POST", good, dict(SPEKE), "bad"),
        Prepared("speke-version-1.0", "POST", good, {**SPEKE, "X-Speke-Version": "1.0"}, "ok"),
        Prepared("content-type-json", "POST", good, {**SPEKE, "Content-Type": "application/json"}, "ok"),
        Prepared("truncated-xml", "POST", good[: len(good) // 2], dict(SPEKE), "ok"),
        Prepared(
            "xxe",
            "POST",
            b'<?xml version="1.0"?><!DOCTYPE c [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            b'<cpix:CPIX xmlns:cpix="urn:dashif:org:cpix" contentId="&x;" version="2.3"/>',
            dict(SPEKE),
            "ok",
        ),
        Prepared(
            "entity-expansion",
            "POST",
            b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
            + b"".join(b'<!ENTITY %s "%s">' % (bytes([98 + i]), (b"&" + bytes([97 + i]) + b";") * 10) for i in range(8))
            + b"]><l>&i;</l>",
            dict(SPEKE),
            "ok",
        ),
        Prepared("random-bytes", "POST", rng.randbytes(2048), dict(SPEKE), "ok"),
        Prepared("oversize", "POST", good + b"<!--" + b"x" * (1024 * 1024 + 16) + b"-->", dict(SPEKE), "ok"),
        Prepared(
            "unknown-drm-system",
            "POST",
            good.replace(b"edef8ba9-79d6-4ace-a3c8-27dcd51d21ed", b"01234567-89ab-4cde-8f01-23456789abcd"),
            dict(SPEKE),
            "ok",
        ),
        Prepared("fairplay-with-cenc", "POST", good.replace(b'"cbcs"', b'"cenc"'), dict(SPEKE), "ok"),
        Prepared(
            "duplicate-kid",
            "POST",
            good.replace(
                b"</cpix:ContentKeyList>",
                b'<cpix:ContentKey kid="' + kid + b'" commonEncryptionScheme="cbcs"/></cpix:ContentKeyList>',
            ),
            dict(SPEKE),
            "ok",
        ),
        Prepared("no-content-id", "POST", re.sub(rb' contentId="[^"]*"', b"", enc_good, count=1), dict(SPEKE), "ok"),
        Prepared("get", "GET", b"", {}, "ok"),
    ]
    return valid, hostile


def _signed_headers(method: str, port: int, body: bytes, headers: dict[str, str], sign: str) -> dict[str, str]:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    if sign == "none":
        return dict(headers)
    request = AWSRequest(method=method, url=f"http://{HOST}:{port}/copyProtection", data=body, headers=dict(headers))
    secret = SECRET_KEY if sign == "ok" else SECRET_KEY + "-wrong"
    SigV4Auth(Credentials(ACCESS_KEY, secret), "execute-api", REGION).add_auth(request)
    return {k: str(v) for k, v in request.headers.items()}


# --- the server -----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def local_server(master: bytes, workdir: Path, *, log_level: str = "INFO") -> Iterator[tuple[int, Path]]:
    """``make run``'s server on a free loopback port; yields (port, output file). Stopped on exit."""
    key_file = workdir / "master.key"
    key_file.write_bytes(master + b"\n")
    key_file.chmod(0o600)
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in (
            "MASTER_KEY_SECRET_ID",
            "KMS_HMAC_KEY_ID",
            "TRUSTED_CERT_SHA256",
            "REQUIRE_ENCRYPTED_KEYS",
            "ALLOWED_CALLER_ARNS",
            "AWS_ENDPOINT_URL",
            "XRAY_TRACING",
        )
    }
    env.update(
        {
            "KEY_SOURCE": "file",
            "MASTER_KEY_FILE": str(key_file),
            "LOCAL_SIGV4_ACCESS_KEY_ID": ACCESS_KEY,
            "LOCAL_SIGV4_SECRET_ACCESS_KEY": SECRET_KEY,
            "LOCAL_SIGV4_REGION": REGION,
            "POWERTOOLS_LOG_LEVEL": log_level,
            "POWERTOOLS_METRICS_DISABLED": "true",
            "PYTHONUNBUFFERED": "1",
        }
    )
    output = workdir / "server.log"
    last_error = ""
    for _ in range(3):  # a free port can be taken between the probe and the bind: try again
        port = _free_port()
        with open(output, "wb") as sink:
            process = subprocess.Popen(  # noqa: S603 - our own interpreter and module, fixed arguments
                [
                    sys.executable,
                    "-m",
                    "speke_keyprovider_tools.local_server",
                    "--host",
                    HOST,
                    "--port",
                    str(port),
                    "--handler",
                    str(REPO / "functions" / "key_provider" / "app.py"),
                    "--state-dir",
                    str(workdir / "state"),
                ],
                cwd=REPO,
                env=env,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        try:
            if _wait_until_listening(port, process):
                yield port, output
                return
            last_error = output.read_text(errors="replace")[-2000:]
        finally:
            _stop(process)
    raise RuntimeError(f"the local server did not start:\n{last_error}")


def _wait_until_listening(port: int, process: subprocess.Popen, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=1):
            return True
        time.sleep(0.1)
    return False


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


# --- clients --------------------------------------------------------------------------------------


@dataclass
class Results:
    started: float = 0.0
    elapsed: float = 0.0
    latencies: dict[str, list[float]] = field(default_factory=lambda: {"valid": [], "hostile": []})
    statuses: dict[str, Counter[int]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    hostile_unexpected: list[str] = field(default_factory=list)
    keys_checked: int = 0
    answers_checked: int = 0
    delivery_keys: list[bytes] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, kind: str, status: int) -> None:
        self.statuses.setdefault(kind, Counter())[status] += 1


def _send(port: int, item: Prepared, timeout: float) -> tuple[int, bytes]:
    headers = _signed_headers(item.method, port, item.body, item.headers, item.sign)
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request(
            item.method, "/copyProtection", body=item.body if item.method == "POST" else None, headers=headers
        )
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _open_keys(body: bytes, private_key: Any) -> tuple[dict[str, bytes], list[bytes]]:
    """The content keys of an answer, plus the document / MAC keys it was wrapped with."""
    from speke_keyprovider_tools.client._xml import CPIX, children
    from speke_keyprovider_tools.client.response_reader import (
        content_key_value,
        normalise_kid,
        parse_document,
        unwrap_delivery_keys,
    )

    root = parse_document(body)
    delivery = unwrap_delivery_keys(root, private_key) if private_key is not None else None
    key_list = next(iter(children(root, CPIX, "ContentKeyList")), None)
    keys = {
        normalise_kid(ck.get("kid")): content_key_value(ck, delivery)
        for ck in (children(key_list, CPIX, "ContentKey") if key_list is not None else [])
    }
    return keys, ([delivery.document_key, delivery.mac_key] if delivery is not None else [])


def _client(
    port: int,
    deadline: float,
    budget: Callable[[], bool],
    valid: list[Prepared],
    hostile: list[Prepared],
    hostile_share: float,
    private_key: Any,
    results: Results,
    seed: int,
) -> None:
    rng = random.Random(seed)  # noqa: S311 - traffic mix, not cryptography
    while time.monotonic() < deadline and budget():
        is_hostile = rng.random() < hostile_share
        item = rng.choice(hostile if is_hostile else valid)
        started = time.perf_counter()
        try:
            status, body = _send(port, item, timeout=30)
        except (OSError, http.client.HTTPException) as exc:
            status, body = -1, type(exc).__name__.encode()
        latency = time.perf_counter() - started
        problem = None
        opened: list[bytes] = []
        checked = 0
        if is_hostile:
            if not 400 <= status < 500:
                problem = f"{item.kind}: status {status}"
        elif status != 200:
            problem = f"{item.kind}: status {status}: {body[:120]!r}"
        else:
            try:
                keys, opened = _open_keys(body, private_key if item.encrypted else None)
            except Exception as exc:
                problem = f"{item.kind}: unreadable answer ({type(exc).__name__}: {str(exc)[:120]})"
            else:
                if keys != item.expected:
                    problem = f"{item.kind}: keys differ from the derivation"
                elif item.encrypted and b"PlainValue" in body:
                    problem = f"{item.kind}: PlainValue in an encrypted answer"
                checked = len(keys)
        with results.lock:
            results.count(item.kind, status)
            results.latencies["hostile" if is_hostile else "valid"].append(latency)
            if problem:
                (results.hostile_unexpected if is_hostile else results.errors).append(problem)
            if checked:
                results.keys_checked += checked
                results.answers_checked += 1
            results.delivery_keys.extend(opened)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


# --- key material in the server's output ----------------------------------------------------------


def leaked(text: str, secrets_: list[bytes]) -> list[str]:
    """Which secrets (by index and form) appear in ``text``: raw (printable ones), hex, base64."""
    needles: dict[str, str] = {}
    for n, secret in enumerate(secrets_):
        forms = {
            "hex": secret.hex(),
            "HEX": secret.hex().upper(),
            "base64": base64.b64encode(secret).decode(),
            "base64url": base64.urlsafe_b64encode(secret).decode(),
        }
        if secret.isascii() and secret.decode("ascii").isprintable():
            forms["raw"] = secret.decode("ascii")
        for name, form in forms.items():
            needles[form.rstrip("=")] = f"secret #{n} as {name}"
    lengths = sorted({len(k) for k in needles})
    found = set()
    for run in re.findall(r"[A-Za-z0-9+/=_-]{16,}", text):
        for length in lengths:
            for i in range(0, len(run) - length + 1):
                hit = needles.get(run[i : i + length])
                if hit:
                    found.add(hit)
    return sorted(found)


# --- the run --------------------------------------------------------------------------------------


def run(
    duration: float = 60,
    clients: int = 16,
    *,
    hostile_share: float = 0.3,
    max_requests: int = 1_000_000,
    seed: int = 7,
    per_shape: int = 4,
) -> dict[str, Any]:
    if not 0 < duration <= MAX_DURATION:
        raise ValueError(f"duration must be in (0, {MAX_DURATION}] seconds")
    if not 1 <= clients <= MAX_CLIENTS:
        raise ValueError(f"clients must be in [1, {MAX_CLIENTS}]")
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not cryptography
    master = secrets.token_urlsafe(48).encode()  # a fresh master key for this run only
    cert_der, private_key = _certificate()
    valid, hostile = prepare(master, cert_der, per_shape, rng)
    results = Results()
    sent = iter(range(max_requests))

    def budget() -> bool:
        return next(sent, None) is not None

    with (
        tempfile.TemporaryDirectory(prefix="speke-load-") as tmp,
        local_server(master, Path(tmp)) as (port, output),
    ):
        for item in valid[:2]:  # warm up (cold start) outside the measurement
            _send(port, item, timeout=60)
        results.started = time.monotonic()
        deadline = results.started + duration
        threads = [
            threading.Thread(
                target=_client,
                args=(
                    port,
                    deadline,
                    budget,
                    valid,
                    hostile,
                    hostile_share,
                    private_key,
                    results,
                    seed * 1000 + n,
                ),
                daemon=True,
            )
            for n in range(clients)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=duration + 120)
        results.elapsed = time.monotonic() - results.started
        stuck = sum(thread.is_alive() for thread in threads)
        time.sleep(0.2)
        server_output = output.read_text(errors="replace")
    expected_keys = sorted({cek for item in valid for cek in (item.expected or {}).values()})
    leaks = leaked(server_output, [master, *expected_keys, *results.delivery_keys])
    valid_lat, hostile_lat = results.latencies["valid"], results.latencies["hostile"]
    total = len(valid_lat) + len(hostile_lat)
    server_5xx = sum(n for counts in results.statuses.values() for status, n in counts.items() if status >= 500)
    report: dict[str, Any] = {
        "duration_s": round(results.elapsed, 2),
        "clients": clients,
        "requests": total,
        "throughput_rps": round(total / results.elapsed, 1) if results.elapsed else 0.0,
        "valid": {
            "requests": len(valid_lat),
            "errors": len(results.errors),
            "answers_checked": results.answers_checked,
            "keys_checked": results.keys_checked,
            "p50_ms": round(percentile(valid_lat, 50) * 1000, 1),
            "p99_ms": round(percentile(valid_lat, 99) * 1000, 1),
            "max_ms": round(max(valid_lat, default=0) * 1000, 1),
            "clear": sum(results.statuses.get("valid-clear", Counter()).values()),
            "encrypted": sum(results.statuses.get("valid-encrypted", Counter()).values()),
        },
        "hostile": {
            "requests": len(hostile_lat),
            "unexpected": len(results.hostile_unexpected),
            "p50_ms": round(percentile(hostile_lat, 50) * 1000, 1),
            "p99_ms": round(percentile(hostile_lat, 99) * 1000, 1),
            "statuses": {
                kind: dict(sorted(counts.items()))
                for kind, counts in sorted(results.statuses.items())
                if not kind.startswith("valid")
            },
        },
        "server": {
            "5xx": server_5xx,
            "tracebacks": server_output.count("Traceback"),
            "key_material_in_output": leaks,
            "stuck_clients": stuck,
        },
        "first_errors": results.errors[:10],
        "first_hostile_unexpected": results.hostile_unexpected[:10],
    }
    report["ok"] = (
        not results.errors
        and not results.hostile_unexpected
        and not leaks
        and not stuck
        and not report["server"]["tracebacks"]
        and report["valid"]["requests"] > 0
        and results.answers_checked == report["valid"]["requests"]
    )
    return report


def render(report: dict[str, Any]) -> str:
    v, h, s = report["valid"], report["hostile"], report["server"]
    lines = [
        f"load test: {report['clients']} clients, {report['duration_s']} s, {report['requests']} requests, "
        f"{report['throughput_rps']} req/s",
        f"  valid   : {v['requests']} ({v['clear']} clear, {v['encrypted']} encrypted), "
        f"errors {v['errors']}, "
        f"p50 {v['p50_ms']} ms, p99 {v['p99_ms']} ms, max {v['max_ms']} ms; "
        f"{v['answers_checked']} answers / {v['keys_checked']} keys equal the derivation",
        f"  hostile : {h['requests']}, unexpected answers {h['unexpected']}, "
        f"p50 {h['p50_ms']} ms, p99 {h['p99_ms']} ms",
    ]
    for kind, counts in h["statuses"].items():
        lines.append(f"            {kind:<20} {counts}")
    lines.append(
        f"  server  : 5xx {s['5xx']}, tracebacks {s['tracebacks']}, key material in its output: "
        f"{', '.join(s['key_material_in_output']) or 'none'}"
    )
    for problem in report["first_errors"] + report["first_hostile_unexpected"]:
        lines.append(f"  ! {problem}")
    lines.append("  result  : " + ("OK" if report["ok"] else "FAILED"))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Bounded loopback load test of the local key provider.")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load (default 60)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (default 16)")
    parser.add_argument("--hostile-share", type=float, default=0.3, help="share of hostile requests (default 0.3)")
    parser.add_argument("--max-requests", type=int, default=1_000_000, help="stop after this many requests")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, default=None, help="also write the report as JSON here")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO / "layers" / "speke_keyprovider"))
    report = run(
        args.duration,
        args.clients,
        hostile_share=args.hostile_share,
        max_requests=args.max_requests,
        seed=args.seed,
    )
    print(render(report))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
