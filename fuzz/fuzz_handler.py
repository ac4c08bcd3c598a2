#!/usr/bin/env python3
"""Coverage-guided fuzzing (atheris / libFuzzer) of the CPIX request parser and the Lambda handler.

Each input is a request body. It goes (1) to ``cpix.parse.parse_request`` alone, which may only answer or
raise a ``SpekeError``, and (2) to the handler in a REST proxy event (text when UTF-8, base64 otherwise),
whose answer must pass the oracle of ``tests/fuzz/fuzz_support.py``: a 200 that passes the contract
checks (keys equal the derivation, encrypted keys decrypt with the test private key) or a 4xx with a
text; never a 5xx, never key material in an error body or in the handler's log lines.

A custom mutator mixes libFuzzer's byte mutations with structural ones (drop / duplicate / reorder /
relocate elements, hostile attribute values, renamed and foreign elements), re-encodings and deep
nesting.

    python fuzz/fuzz_handler.py --seconds 900            # seeds + corpus under build/fuzz/
    python fuzz/fuzz_handler.py --make-seeds build/fuzz/seeds
    python fuzz/fuzz_handler.py build/fuzz/artifacts/crash-...   # replay one input

Anything after the options goes to libFuzzer (e.g. ``-runs=100000``, ``-max_len=65536``).
Crashes land in ``build/fuzz/artifacts/``; each one becomes a test in ``tests/fuzz/test_fuzz_regressions.py``.
"""

from __future__ import annotations

import argparse
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


def _environment() -> None:
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
    args, libfuzzer_args = parser.parse_known_args()
    _environment()
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
        with fz.recording() as recorded:
            status, headers, body = fz.call(app.lambda_handler, fz.proxy_event(data), context)
        fz.check_answer(data, status, headers, body, recorded, private_key=private_key)
        leak = fz.find_leak(log_buffer.getvalue().encode("utf-8", "replace"), recorded.secrets())
        if leak:
            raise fz.OracleFailure(f"key material in the handler's log lines: {leak}")

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

    def _structured(data: bytes, rng: random.Random, roll: float) -> bytes:
        out = data
        if roll < args.structural * 0.7:
            out = fz.random_structural(data, rng)
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
