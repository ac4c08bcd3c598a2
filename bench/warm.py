"""Warm benchmark worker: the real ``lambda_handler`` in-process, Secrets Manager home, secret cached.

Run by ``bench/run.py`` in a fresh process with the function's environment (``KEY_SOURCE=secretsmanager``,
``AWS_ENDPOINT_URL`` = the loopback moto_server it started). The first request fetches the secret
(one AWS call); every timed request afterwards must make none, which is checked by counting the
requests botocore sends. Each scenario cycles through a pool of distinct requests (fresh KIDs and
content ids), so no per-KID cache can flatter the figures. stdout (Powertools' JSON log line and
EMF metrics per request) goes to /dev/null at the file-descriptor level: the formatting and the
write are timed, as they are paid on Lambda.

    python bench/warm.py OUT.json [--quick]
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common

POOL = 16  # distinct requests per scenario
# (block size, blocks) per key count: about 0.1 s per block on this machine, blocks interleaved across
# scenarios so background noise spreads over all of them.
ROUNDS = {2: (300, 10), 8: (120, 10), 24: (50, 10)}
WARMUP = 200


def _count_aws_calls() -> list[int]:
    """Count every HTTP request any botocore client sends from now on."""
    import botocore.endpoint

    counter = [0]
    original = botocore.endpoint.Endpoint._send

    def counting_send(self: Any, request: Any) -> Any:
        counter[0] += 1
        return original(self, request)

    botocore.endpoint.Endpoint._send = counting_send  # type: ignore[method-assign]
    return counter


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--quick", action="store_true", help="a fifth of the rounds (smoke test)")
    args = parser.parse_args()
    scale = 5 if args.quick else 1

    pools: dict[str, list[tuple[Any, dict[str, Any], bytes]]] = {}
    for sc in common.scenarios():
        pools[sc.name] = []
        for i in range(POOL):
            built = common.scenario_request(sc, f"bench-channel-{sc.name}-{i}")
            assert len(built.keys) == sc.keys
            pools[sc.name].append((built, common.rest_event(built.xml), built.xml))

    aws_calls = _count_aws_calls()
    sys.path.insert(0, str(common.HANDLER_DIR))
    app = importlib.import_module("app")
    context = common.LambdaContext()

    devnull = os.open(os.devnull, os.O_WRONLY)
    saved_stdout = os.dup(1)

    def quiet() -> None:
        sys.stdout.flush()
        os.dup2(devnull, 1)

    def loud() -> None:
        sys.stdout.flush()
        os.dup2(saved_stdout, 1)

    # First request: builds the runtime and fetches the secret (the only AWS call).
    quiet()
    first = {}
    for sc in common.scenarios():
        result = app.lambda_handler(pools[sc.name][0][1], context)
        first[sc.name] = result
    loud()
    for name, result in first.items():
        if result["statusCode"] != 200:
            raise SystemExit(f"{name}: status {result['statusCode']}: {result.get('body')}")
    calls_at_warm = aws_calls[0]
    rss_after_first_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    from speke_keyprovider.runtime import get_runtime

    exchange = get_runtime().exchange
    targets = {
        "handler": lambda item: app.lambda_handler(item[1], context),
        "library": lambda item: exchange.answer(item[2]),
    }
    samples: dict[str, dict[str, list[int]]] = {t: {sc.name: [] for sc in common.scenarios()} for t in targets}
    cpu_samples: dict[str, dict[str, list[int]]] = {t: {sc.name: [] for sc in common.scenarios()} for t in targets}
    block_medians: dict[str, dict[str, list[float]]] = {t: {sc.name: [] for sc in common.scenarios()} for t in targets}
    perf = time.perf_counter_ns
    cpu = time.thread_time_ns  # CPU time of this thread: what other processes on the machine cannot inflate
    calibration: list[float] = []
    quiet()
    try:
        for call in targets.values():
            for sc in common.scenarios():  # warm-up: every code path, caches (certificate) filled
                pool = pools[sc.name]
                for i in range(WARMUP // max(1, sc.keys // 4)):
                    call(pool[i % POOL])
        gc.collect()
        blocks = max(count for _, count in ROUNDS.values())
        for block in range(blocks):  # blocks interleaved over scenarios and targets
            calibration.append(_calibrate())
            for sc in common.scenarios():
                size = max(1, ROUNDS[sc.keys][0] // scale)
                pool = pools[sc.name]
                for target, call in targets.items():
                    out = samples[target][sc.name]
                    cpu_out = cpu_samples[target][sc.name]
                    block_out = []
                    for i in range(size):
                        item = pool[(block * size + i) % POOL]
                        c0 = cpu()
                        t0 = perf()
                        call(item)
                        t1 = perf()
                        c1 = cpu()
                        out.append(t1 - t0)
                        cpu_out.append(c1 - c0)
                        block_out.append(t1 - t0)
                    block_medians[target][sc.name].append(sorted(block_out)[len(block_out) // 2] / 1e6)
    finally:
        loud()
    warm_aws_calls = aws_calls[0] - calls_at_warm
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    # Correctness of what was timed (after the RSS reading: the checker's imports are not the function's).
    quiet()
    try:
        verification = _verify(app, context, pools)
    finally:
        loud()

    result: dict[str, Any] = {
        "scenarios": {},
        "aws_calls_during_warmup": calls_at_warm,
        "aws_calls_during_timed_runs": warm_aws_calls,
        "peak_rss_mb": round(peak_rss_mb, 1),
        "rss_after_first_requests_mb": round(rss_after_first_mb, 1),
        "pool_per_scenario": POOL,
        "calibration_ms": {
            "what": "a fixed pure-Python loop timed before every block: its spread is the machine's noise",
            "median": round(common.median(calibration), 3),
            "min": round(min(calibration), 3),
            "max": round(max(calibration), 3),
        },
        "gc": "enabled (as on Lambda)",
        "verification": verification,
    }
    for sc in common.scenarios():
        body = pools[sc.name][0][2]
        result["scenarios"][sc.name] = {
            "keys": sc.keys,
            "periods": sc.periods,
            "encrypted": sc.encrypted,
            "drm_systems": list(common.DRM_SYSTEMS),
            "scheme": "cbcs",
            "video_preset": sc.video_preset,
            "audio_preset": sc.audio_preset,
            "request_bytes": len(body),
            "response_bytes": len(first[sc.name]["body"].encode()),
            "handler": common.summarise_ns(
                samples["handler"][sc.name],
                cpu_samples["handler"][sc.name],
                block_medians["handler"][sc.name],
            ),
            "library": common.summarise_ns(
                samples["library"][sc.name],
                cpu_samples["library"][sc.name],
                block_medians["library"][sc.name],
            ),
        }
        h, lib = result["scenarios"][sc.name]["handler"], result["scenarios"][sc.name]["library"]
        result["scenarios"][sc.name]["powertools_overhead_ms"] = round(h["median_ms"] - lib["median_ms"], 4)
    if warm_aws_calls:
        result["error"] = f"the warm path made {warm_aws_calls} AWS call(s)"
    common.write_json(args.out, result)
    if warm_aws_calls:
        raise SystemExit(result["error"])


def _calibrate() -> float:
    """Milliseconds for a fixed CPU-bound loop (best of three)."""
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        total = 0
        for i in range(20_000):
            total += i * i
        best = min(best, time.perf_counter() - t0)
    return best * 1000


def _verify(app: Any, context: Any, pools: dict[str, list[tuple[Any, dict[str, Any], bytes]]]) -> dict[str, Any]:
    """Every scenario's answer passes the client conformance checker (MACs, decryption, KDF keys,
    signalling) and the CPIX XSD; the keys equal the contract's KDF of the master key."""
    import hashlib
    import hmac

    from cryptography.hazmat.primitives.serialization import load_pem_private_key
    from speke_keyprovider_tools.client.conformance import check_response

    private_key = load_pem_private_key(common.CERT_KEY_PEM.read_bytes(), password=None)
    try:
        import xmlschema

        schema = xmlschema.XMLSchema(str(common.CPIX_XSD))
    except Exception as exc:
        schema = None
        schema_error = f"{type(exc).__name__}"
    out: dict[str, Any] = {}
    master = common.MASTER_KEY.encode()
    for name, pool in pools.items():
        built, event, _ = pool[1]
        result = app.lambda_handler(event, context)
        body = result["body"].encode()
        headers = dict(result.get("headers") or {})
        for header, values in (result.get("multiValueHeaders") or {}).items():
            headers.setdefault(header, ", ".join(values))
        report = check_response(built, result["statusCode"], headers, body, private_key)
        problems = list(report.violations)
        for row in report.keys:
            kid = __import__("uuid").UUID(row.kid)
            message = (
                (1).to_bytes(4, "big")
                + b"speke-cek-v1\x00"
                + kid.bytes
                + built.content_id.encode()
                + (128).to_bytes(4, "big")
            )
            if row.key_bytes != hmac.digest(master, message, hashlib.sha256)[:16]:
                problems.append(f"key for {row.kid} is not the contract's KDF output")
        if schema is not None:
            errors = [str(e.reason) for e in schema.iter_errors(body.decode())][:3]
            problems.extend(f"XSD: {e}" for e in errors)
        out[name] = {
            "ok": not problems,
            "problems": problems[:5],
            "keys_checked": len(report.keys),
            "xsd": "valid"
            if schema is not None and not any(p.startswith("XSD") for p in problems)
            else ("skipped: " + schema_error if schema is None else "invalid"),
        }
    bad = [n for n, v in out.items() if not v["ok"]]
    if bad:
        sys.stdout.flush()
        print(
            f"verification failed for {', '.join(bad)}: {[out[n]['problems'] for n in bad]}",
            file=sys.stderr,
            flush=True,
        )
    return out


if __name__ == "__main__":
    main()
