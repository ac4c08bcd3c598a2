#!/usr/bin/env python3
"""Coverage-guided fuzzing (atheris / libFuzzer) of the CPIX request parser and the Lambda handler.

Each input is a request body. It goes (1) to ``cpix.parse.parse_request`` alone, which may only answer or
raise a ``SpekeError``, and (2) to the handler in a REST proxy event (text when UTF-8, base64 otherwise),
whose answer must pass the oracle of ``tests/fuzz/fuzz_support.py``: a 200 that passes the contract
checks (keys equal the derivation, encrypted keys decrypt with the test private key) or a 4xx with a
text; never a 5xx, never key material in an error body, a header, the handler's log lines or what the tracer
sends: the function runs with ``XRAY_TRACING=true`` in Lambda mode against a stand-in for the X-Ray daemon (a
UDP socket on 127.0.0.1), whose segments are read after every input (``--no-trace`` turns this off).

A custom mutator mixes libFuzzer's byte mutations with structural ones (drop / duplicate / reorder /
relocate elements, hostile attribute values such as trailing newlines and Unicode digits, key data planted
anywhere, renamed and foreign elements), re-encodings, deep nesting, odd certificates (keys that cannot wrap or
wrap to the identity, bad X.509 versions) and echo inflation (raw quotes that grow on escaping).

    python fuzz/fuzz_handler.py --seconds 900            # seeds + corpus under build/fuzz/
    python fuzz/fuzz_handler.py --make-seeds build/fuzz/seeds
    python fuzz/fuzz_handler.py build/fuzz/artifacts/crash-...   # replay one input

Anything after the options goes to libFuzzer (e.g. ``-runs=100000``, ``-max_len=65536``).
Crashes land in ``build/fuzz/artifacts/``; each one becomes a test in ``tests/fuzz/test_fuzz_regressions.py``.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import importlib
import importlib.util
import io
import json
import os
import pkgutil
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
BUILD = REPO / "build" / "fuzz"
# The contract's section 5 test-vector master key (the fixture the tests use).
MASTER_KEY = json.loads((REPO / "tests" / "fixtures" / "kdf" / "vectors.json").read_text())["master_key"].encode()


def _xray_daemon() -> Any:
    """A non-blocking UDP socket on 127.0.0.1 standing in for the X-Ray daemon (read after every input:
    loopback datagrams are in its buffer when the handler returns)."""
    import socket

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    return sock


def _drain(sock: Any) -> bytes:
    chunks = []
    while True:
        try:
            chunks.append(sock.recv(65536))
        except BlockingIOError:
            return b"\n".join(chunks)


def _environment(xray_address: str | None = None) -> None:
    state = Path(tempfile.mkdtemp(prefix="speke-fuzz-"))
    (state / "master.key").write_bytes(MASTER_KEY + b"\n")
    os.environ.update(
        {
            "KEY_SOURCE": "file",
            "MASTER_KEY_FILE": str(state / "master.key"),
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": "INFO",
            "POWERTOOLS_SERVICE_NAME": "speke-keyprovider",
        }
    )
    for name in (
        "MASTER_KEY_SECRET_ID",
        "KMS_HMAC_KEY_ID",
        "TRUSTED_CERT_SHA256",
        "REQUIRE_ENCRYPTED_KEYS",
        "ALLOWED_CALLER_ARNS",
        "XRAY_TRACING",
    ):
        os.environ.pop(name, None)
    if xray_address is not None:  # Lambda mode for the X-Ray SDK, set before it is imported
        os.environ.update(
            {
                "XRAY_TRACING": "true",
                "LAMBDA_TASK_ROOT": str(REPO),
                "AWS_LAMBDA_FUNCTION_NAME": "speke-fuzz",
                "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
                "AWS_XRAY_DAEMON_ADDRESS": xray_address,
            }
        )
    sys.path.insert(0, str(REPO))


def make_seeds(directory: Path) -> int:
    """Write the seed corpus: ``events/*.json`` bodies and request-builder documents."""
    from tests.fuzz import fuzz_support as fz

    directory.mkdir(parents=True, exist_ok=True)
    count = 0
    for name, body in fz.event_bodies():
        (directory / f"event-{name}.xml").write_bytes(body)
        count += 1
    specs: list[tuple[str, dict[str, Any]]] = [
        (
            "v1-a1-wv-cenc",
            dict(
                video_preset="PRESET_VIDEO_1",
                audio_preset="PRESET_AUDIO_1",
                drm_systems=["widevine"],
                scheme="cenc",
            ),
        ),
        (
            "v2-unenc-pr-cenc",
            dict(
                video_preset="PRESET_VIDEO_2",
                audio_preset="UNENCRYPTED",
                drm_systems=["playready"],
                scheme="cenc",
            ),
        ),
        (
            "v5-a3-all-cbcs",
            dict(
                video_preset="PRESET_VIDEO_5",
                audio_preset="PRESET_AUDIO_3",
                drm_systems=["widevine", "playready", "fairplay", "clearkey", "aes128"],
                scheme="cbcs",
            ),
        ),
        (
            "v8-a2-fp-3periods",
            dict(
                video_preset="PRESET_VIDEO_8",
                audio_preset="PRESET_AUDIO_2",
                drm_systems=["fairplay"],
                scheme="cbcs",
                periods=3,
            ),
        ),
        (
            "shared-ck-cenc-enc",
            dict(
                video_preset="SHARED",
                audio_preset="SHARED",
                drm_systems=["clearkey"],
                scheme="cenc",
                encrypted=True,
            ),
        ),
        (
            "v4-a1-wv-pr-enc-2periods",
            dict(
                video_preset="PRESET_VIDEO_4",
                audio_preset="PRESET_AUDIO_1",
                drm_systems=["widevine", "playready"],
                scheme="cbcs",
                periods=2,
                encrypted=True,
            ),
        ),
    ]
    for name, built in fz.seeds():
        (directory / f"builder-{name}.xml").write_bytes(built.xml)
        count += 1
    for name, spec in specs:
        (directory / f"builder-{name}.xml").write_bytes(fz.build_seed(name, **spec).xml)
        count += 1
    for n, (name, der) in enumerate(sorted(fz.odd_certificates().items())):
        slug = "".join(ch if ch.isalnum() else "-" for ch in name)
        (directory / f"odd-certificate-{slug}.xml").write_bytes(fz.with_certificate(der, n))
        count += 1
    for n, snippet in enumerate(fz.KEY_DATA_SNIPPETS):
        xml = fz.seeds()[1][1].xml
        planted = xml.replace(b"</cpix:ContentKey>", snippet.encode() + b"</cpix:ContentKey>", 1)
        if planted == xml:
            planted = xml.replace(
                b'commonEncryptionScheme="cenc"/>',
                b'commonEncryptionScheme="cenc">' + snippet.encode() + b"</cpix:ContentKey>",
                1,
            )
        (directory / f"key-data-{n}.xml").write_bytes(planted)
        count += 1
    return count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=None, help="stop after this long (libFuzzer -max_total_time)")
    parser.add_argument("--make-seeds", type=Path, default=None, help="only write the seed corpus there")
    parser.add_argument(
        "--structural",
        type=float,
        default=0.5,
        help="share of mutations that are structural / encoding / nesting (rest: libFuzzer's)",
    )
    parser.add_argument("--no-trace", action="store_true", help="run without X-Ray tracing (and its leak check)")
    args, libfuzzer_args = parser.parse_known_args()
    daemon = None if args.no_trace or args.make_seeds is not None else _xray_daemon()
    _environment(None if daemon is None else f"127.0.0.1:{daemon.getsockname()[1]}")
    if args.make_seeds is not None:
        print(f"{make_seeds(args.make_seeds)} seed documents in {args.make_seeds}")
        return 0

    import atheris

    with atheris.instrument_imports(include=["speke_keyprovider", "defusedxml"]):
        import speke_keyprovider

        for module in pkgutil.walk_packages(speke_keyprovider.__path__, "speke_keyprovider."):
            if module.name.rsplit(".", 1)[-1] in ("__main__", "cli", "local_server", "aws_key_sources"):
                continue
            importlib.import_module(module.name)
        import defusedxml.ElementTree  # noqa: F401

    from speke_keyprovider.cpix.parse import parse_request
    from speke_keyprovider.errors import SpekeError

    from tests.fuzz import fuzz_support as fz

    # Everything the handler prints (Powertools log lines and metrics) goes to this buffer, scanned for
    # key material after every input; libFuzzer and this harness report on stderr.
    log_buffer = io.StringIO()
    sys.stdout = log_buffer
    spec = importlib.util.spec_from_file_location("speke_fuzz_app", REPO / "functions" / "key_provider" / "app.py")
    assert spec is not None and spec.loader is not None
    app = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(app)
    private_key = fz.delivery_private_key()
    context = type(
        "Context",
        (),
        {
            "function_name": "speke-fuzz",
            "function_version": "$LATEST",
            "memory_limit_in_mb": 512,
            "aws_request_id": "fuzz",
            "invoked_function_arn": "arn:aws:lambda:us-east-1:111122223333:function:fuzz",
            "get_remaining_time_in_millis": staticmethod(lambda: 29_000),
        },
    )()
    started = time.monotonic()

    def test_one_input(data: bytes) -> None:
        # (1) the parser alone: answers or refuses with a SpekeError
        with contextlib.suppress(SpekeError):
            parse_request(data)
        # (2) the handler, held to the oracle; its log lines must not show key material
        log_buffer.seek(0)
        log_buffer.truncate()
        if daemon is not None:
            _drain(daemon)
        with fz.recording() as recorded:
            status, headers, body = fz.call(app.lambda_handler, fz.proxy_event(data), context)
        traces = _drain(daemon) if daemon is not None else b""
        fz.check_answer(data, status, headers, body, recorded, private_key=private_key)
        leak = fz.find_leak(log_buffer.getvalue().encode("utf-8", "replace"), recorded.secrets())
        if leak:
            raise fz.OracleFailure(f"key material in the handler's log lines: {leak}")
        leak = fz.find_leak(traces, recorded.secrets())
        if leak:
            raise fz.OracleFailure(f"key material in what the tracer sent: {leak}")

    def mutate(data: bytes, max_size: int, seed: int) -> bytes:
        rng = random.Random(seed)  # noqa: S311 - mutation choices, not cryptography
        roll = rng.random()
        out = data
        try:
            out = _structured(data, rng, roll)
        except Exception:
            out = data
        if out == data:
            out = atheris.Mutate(data, max_size)
        return out[:max_size]

    odd = list(fz.odd_certificates().values())

    def _structured(data: bytes, rng: random.Random, roll: float) -> bytes:
        out = data
        if roll < args.structural * 0.6:
            out = fz.random_structural(data, rng)
        elif roll < args.structural * 0.65:  # another certificate, odd or not, in place of the test one
            out = data.replace(fz.b64_delivery_cert(), base64.b64encode(rng.choice(odd)))
        elif roll < args.structural * 0.7:  # echo inflation: raw quotes in a foreign attribute
            quotes = b'"' * rng.choice([1, 64, 4096, 65536])
            out = data.replace(b"<cpix:CPIX ", b"<cpix:CPIX xmlns:q='urn:q' q:a='" + quotes + b"' ", 1)
        elif roll < args.structural * 0.9:
            try:
                out = fz.reencode(data, rng.choice(fz.ENCODINGS), rng.randrange(1 << 16))
            except (UnicodeError, ValueError):
                out = data
        elif roll < args.structural:
            out = fz.deep_nesting(
                data, rng.choice([2, 10, 100, 990, 1000, 5000]), rng.randrange(64), rng.random() < 0.8
            )
        return out

    def report() -> None:
        elapsed = time.monotonic() - started
        print(
            f"\n[fuzz_handler] {elapsed:.0f} s, no oracle failure",
            file=sys.stderr,
            flush=True,
        )

    import atexit

    atexit.register(report)
    seeds = BUILD / "seeds"
    corpus = BUILD / "corpus"
    artifacts = BUILD / "artifacts"
    argv = [sys.argv[0], *libfuzzer_args]
    if not any(not a.startswith("-") for a in libfuzzer_args):  # no corpus / input given: use ours
        make_seeds(seeds)
        corpus.mkdir(parents=True, exist_ok=True)
        argv += [str(corpus), str(seeds)]
    artifacts.mkdir(parents=True, exist_ok=True)
    if not any(a.startswith("-artifact_prefix=") for a in libfuzzer_args):
        argv.append(f"-artifact_prefix={artifacts}/")
    if not any(a.startswith("-max_len=") for a in libfuzzer_args):
        argv.append("-max_len=131072")
    if args.seconds is not None:
        argv.append(f"-max_total_time={args.seconds}")
    argv += ["-print_final_stats=1", "-timeout=30", "-rss_limit_mb=4096"]
    atheris.Setup(argv, test_one_input, custom_mutator=mutate)
    atheris.Fuzz()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
