"""``make bench``: warm in-process figures of the real handler, cold-start figures, targets, JSON.

    python bench/run.py [--quick] [--cold-runs 15] [--skip-warm] [--skip-cold] [--publish] [--reference DIR]

1. Starts a moto_server on loopback (the Secrets Manager home; stopped at the end).
2. Warm (``bench/warm.py`` in a fresh process): ``lambda_handler`` and ``KeyExchange.answer`` over the
   scenario matrix, median / p90 / p99 / requests per second, peak RSS; the warm path must make no AWS call.
3. Cold (``bench/cold.py``, one fresh interpreter per sample, variants round-robin): import of the
   handler module; import + first answer with the file home and with the Secrets Manager home.
4. With ``--reference DIR`` (a checkout of awslabs/speke-reference-server, never vendored): this handler
   and the reference's, in one process, on the reference's own 2-key request (``bench/reference.py``).
5. Prints a table, writes ``bench-results/bench-<UTC time>.json`` and ``bench-results/latest.json``;
   ``--publish`` also writes ``docs/bench-results.json`` (the committed copy docs/performance.md quotes).

A benchmark, never a timed test: nothing here fails because the machine is slow; the exit code is
non-zero only when an answer is wrong or the warm path calls AWS.
"""

# ruff: noqa: S603

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common

TARGETS = {  # name: (what, limit, unit, direction) -- medians on the project's 2-core machine, one run
    "reference_encrypted_ratio": (
        "encrypted 2 keys (reference request): times faster than the reference",
        15.0,
        "x",
        ">=",
    ),
    "reference_encrypted_median_ms": ("encrypted 2 keys (reference request), this handler", 0.25, "ms", "<="),
    "reference_clear_ratio": ("clear 2 keys (reference request): times faster than the reference", 20.0, "x", ">="),
    "handler_encrypted_2_median_ms": ("warm handler, 2 keys encrypted (bench scenario)", 0.25, "ms", "<="),
    "handler_encrypted_24_median_ms": ("warm handler, 24 keys, encrypted", 1.5, "ms", "<="),
    "cold_import_median_ms": ("fresh-process import of the handler", 120.0, "ms", "<="),
    "cold_first_file_encrypted_median_ms": ("import + first answer, file home, 2 keys encrypted", 170.0, "ms", "<="),
    "warm_peak_rss_mb": ("peak RSS of the warm handler process", 69.0, "MB", "<="),
    "delivery_key_get_median_ms": ("warm key GET, ES256 token verified", 1.0, "ms", "<="),
    "delivery_licence_2_median_ms": ("warm ClearKey licence, 2 kids, EdDSA token verified", 1.5, "ms", "<="),
    "cold_delivery_first_key_get_median_ms": ("key delivery import + first key GET, file home", 250.0, "ms", "<="),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer rounds and 5 cold runs (a smoke test)")
    parser.add_argument("--cold-runs", type=int, default=15, help="fresh processes per cold-start variant")
    parser.add_argument("--skip-warm", action="store_true")
    parser.add_argument("--skip-cold", action="store_true")
    parser.add_argument("--skip-delivery", action="store_true", help="no key delivery figures (warm)")
    parser.add_argument("--publish", action="store_true", help="also write docs/bench-results.json")
    parser.add_argument(
        "--source",
        type=Path,
        help="benchmark another checkout of the project (e.g. an older "
        "commit unpacked with git archive) with this tree's scripts; results go to "
        "bench-results/ only",
    )
    parser.add_argument("--label", default="", help="a name for this run, stored in the JSON")
    parser.add_argument(
        "--reference",
        type=Path,
        help="a checkout of awslabs/speke-reference-server (never vendored): time its handler on its own "
        "2-key request next to this one, in the same process, and print the ratio",
    )
    args = parser.parse_args()
    if args.source:
        os.environ["SPEKE_BENCH_SOURCE"] = str(args.source.resolve())
        importlib.reload(common)
        if args.publish:
            parser.error("--publish is for the tree itself, not --source")
    cold_runs = 5 if args.quick and args.cold_runs == 15 else args.cold_runs

    started = dt.datetime.now(dt.UTC)
    results: dict[str, Any] = {
        "schema": "speke-keyprovider-bench/1",
        "started_utc": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": " ".join(["python", "bench/run.py", *sys.argv[1:]]),
        "label": args.label,
        "source": str(common.SOURCE),
        "machine": common.machine_info(),
        "method": {
            "warm": "bench/warm.py in a fresh process: the real lambda_handler (route table, Powertools Logger, "
            "Metrics) and KeyExchange.answer alone; Secrets Manager home against a loopback "
            "moto_server, secret fetched once then cached (timed runs make no AWS call); "
            f"{common.scenarios().__len__()} scenarios, each cycling 16 distinct requests; per-call "
            "perf_counter_ns after warm-up, blocks interleaved over scenarios and targets; gc enabled; "
            "stdout (JSON log line + EMF metrics) written to /dev/null.",
            "cold": f"bench/cold.py: {cold_runs} fresh interpreters per variant, variants round-robin; "
            "timings taken inside the child (import of module app from functions/key_provider; first "
            "lambda_handler call); the function and library copied and compiled to .pyc as the layer "
            "build does (import_without_pyc: straight from the source tree, nothing compiled ahead); "
            "third-party packages with the .pyc pip wrote.",
            "delivery": "bench/delivery.py in a fresh process: the key delivery lambda_handler (Powertools Logger, "
            "Metrics) over HTTP API events, each case cycling 16 distinct (contentId, kid, "
            "token), every token verified (ES256 / RS256 / EdDSA from an inline JWKS, HS256 from a Secrets "
            "Manager secret on a loopback moto_server, cached); TokenVerifier.verify alone per algorithm; "
            "timed runs make no AWS call; every key checked against derive_cek.",
        },
    }
    with tempfile.TemporaryDirectory(prefix="speke-bench-") as tmp_name, common.MotoServer() as moto:
        tmp = Path(tmp_name)
        if not args.skip_warm:
            results["warm"] = run_warm(tmp, moto, quick=args.quick)
        if not args.skip_delivery and common.DELIVERY_HANDLER_DIR.is_dir():
            results["delivery"] = run_delivery(tmp, moto, quick=args.quick)
        if args.reference:
            results["reference"] = run_reference(tmp, args.reference, quick=args.quick)
        if not args.skip_cold:
            results["cold"] = run_cold(tmp, moto, cold_runs)
    results["finished_utc"] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    results["targets"] = evaluate_targets(results)
    print_table(results)

    out_dir = common.RESULTS_DIR
    stamp = started.strftime("%Y%m%dT%H%M%SZ") + (f"-{args.label}" if args.label else "")
    common.write_json(out_dir / f"bench-{stamp}.json", results)
    if not args.source:
        common.write_json(out_dir / "latest.json", results)
    print(f"\nwrote {out_dir / f'bench-{stamp}.json'}" + ("" if args.source else f" and {out_dir / 'latest.json'}"))
    if args.publish:
        common.write_json(common.REPO / "docs" / "bench-results.json", results)
        print(f"wrote {common.REPO / 'docs' / 'bench-results.json'}")
    warm = results.get("warm", {})
    failed = [name for name, v in warm.get("verification", {}).items() if not v["ok"]]
    delivery = results.get("delivery", {})
    failed += [name for name, v in delivery.get("verification", {}).items() if not v["ok"]]
    failed += [f"reference-{n}" for n, v in results.get("reference", {}).get("verification", {}).items() if not v["ok"]]
    if failed or warm.get("aws_calls_during_timed_runs") or delivery.get("aws_calls_during_timed_runs"):
        print(f"ERROR: wrong answers in {failed} or AWS calls on the warm path", file=sys.stderr)
        return 1
    return 0


def run_warm(tmp: Path, moto: common.MotoServer, *, quick: bool) -> dict[str, Any]:
    out = tmp / "warm.json"
    command = [sys.executable, str(Path(__file__).with_name("warm.py")), str(out)] + (["--quick"] if quick else [])
    print("warm: lambda_handler and KeyExchange.answer over 6 scenarios ...", flush=True)
    subprocess.run(command, env=common.secrets_manager_env(moto.endpoint), check=True, timeout=900)
    return json.loads(out.read_text())


def run_delivery(tmp: Path, moto: common.MotoServer, *, quick: bool) -> dict[str, Any]:
    out = tmp / "delivery.json"
    command = [sys.executable, str(Path(__file__).with_name("delivery.py")), str(out)] + (["--quick"] if quick else [])
    print("warm: key delivery lambda_handler (key GET, ClearKey licence) and token verification ...", flush=True)
    env = common.delivery_env(common.secrets_manager_env(moto.endpoint))
    subprocess.run(command, env=env, check=True, timeout=900)
    return json.loads(out.read_text())


def _delivery_cold(tmp: Path, key_file: Path) -> tuple[Path, dict[str, str], Path] | None:
    """The key delivery function compiled like the layer, its environment (file home, a JWKS of one ES256
    key) and an event: a key GET with a token of that key. None when the tree has no key delivery."""
    if not common.DELIVERY_HANDLER_DIR.is_dir():
        return None
    import shutil

    from speke_keyprovider_tools.apigw_event import http_api_event
    from speke_keyprovider_tools.delivery_tokens import generate_es256_jwk, mint_token, public_jwks

    handler = tmp / "delivery-function"
    shutil.copytree(common.DELIVERY_HANDLER_DIR, handler, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "--invalidation-mode", "unchecked-hash", str(handler)],
        check=True,
        timeout=300,
    )
    jwk = generate_es256_jwk()
    token = mint_token(jwk, content_ids=["bench-cold"], ttl=3600)
    event = http_api_event(
        "GET", "/keys/bench-cold/0f083e4e-b831-4a3d-917e-ce78076e54aa", headers={"Authorization": f"Bearer {token}"}
    )
    event_path = tmp / "event-delivery-key-get.json"
    event_path.write_text(json.dumps(event))
    env = common.delivery_env(common.file_home_env(key_file))
    env.pop("KEY_DELIVERY_HMAC_SECRET_ID")
    env["KEY_DELIVERY_JWKS"] = json.dumps(public_jwks([jwk]))
    return handler, env, event_path


def run_reference(tmp: Path, reference: Path, *, quick: bool) -> dict[str, Any]:
    out = tmp / "reference.json"
    key_file = tmp / "reference-master.key"
    key_file.write_text(common.MASTER_KEY + "\n")
    command = [sys.executable, str(Path(__file__).with_name("reference.py")), str(out), "--reference", str(reference)]
    print("reference: this handler and the reference server's, side by side ...", flush=True)
    subprocess.run(
        command + (["--quick"] if quick else []), env=common.file_home_env(key_file), check=True, timeout=900
    )
    return json.loads(out.read_text())


def _events(tmp: Path) -> dict[str, Path]:
    from speke_keyprovider_tools.client.request_builder import build_request

    cert = common.CERT_DER.read_bytes()
    paths = {}
    for name, der in (("clear-2", None), ("encrypted-2", cert)):
        built = build_request(
            content_id="bench-cold",
            video_preset="PRESET_VIDEO_1",
            audio_preset="PRESET_AUDIO_1",
            drm_systems=list(common.DRM_SYSTEMS),
            scheme="cbcs",
            certificate_der=der,
        )
        paths[name] = tmp / f"event-{name}.json"
        paths[name].write_text(json.dumps(common.rest_event(built.xml)))
    return paths


def _deployed_copy(tmp: Path) -> tuple[Path, Path]:
    """The function and the library as the deployment package has them: copied, then compiled to .pyc
    (``compileall --invalidation-mode unchecked-hash``, as the layer build does: Lambda's file system is
    read-only, so modules shipped without .pyc are compiled again at every cold start)."""
    import shutil

    layer = tmp / "layer"
    handler = tmp / "function"
    shutil.copytree(
        common.LAYER_DIR / "speke_keyprovider",
        layer / "speke_keyprovider",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    shutil.copytree(common.HANDLER_DIR, handler, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "compileall",
            "-q",
            "--invalidation-mode",
            "unchecked-hash",
            str(layer),
            str(handler),
        ],
        check=True,
        timeout=300,
    )
    return layer, handler


def run_cold(tmp: Path, moto: common.MotoServer, runs: int) -> dict[str, Any]:
    key_file = tmp / "master.key"
    key_file.write_text(common.MASTER_KEY + "\n")
    events = _events(tmp)
    layer, handler = _deployed_copy(tmp)
    file_env = common.file_home_env(key_file)
    sm_env = common.secrets_manager_env(moto.endpoint)
    source_env = dict(file_env, SPEKE_BENCH_HANDLER_DIR=str(common.HANDLER_DIR), PYTHONDONTWRITEBYTECODE="1")
    for env in (file_env, sm_env):
        env["SPEKE_BENCH_HANDLER_DIR"] = str(handler)
        env["PYTHONPATH"] = os.pathsep.join([str(layer), *env["PYTHONPATH"].split(os.pathsep)[1:]])
    variants: dict[str, tuple[list[str], dict[str, str]]] = {
        "import": (["import", str(events["clear-2"])], file_env),
        "first_file_clear": (["first", str(events["clear-2"])], file_env),
        "first_file_encrypted": (["first", str(events["encrypted-2"])], file_env),
        "first_secretsmanager_encrypted": (["first", str(events["encrypted-2"])], sm_env),
        "import_without_pyc": (["import", str(events["clear-2"])], source_env),
    }
    delivery_cold = _delivery_cold(tmp, key_file)
    if delivery_cold is not None:
        delivery_handler, delivery_env, delivery_event = delivery_cold
        delivery_env["SPEKE_BENCH_HANDLER_DIR"] = str(delivery_handler)
        delivery_env["PYTHONPATH"] = file_env["PYTHONPATH"]
        variants["delivery_import"] = (["import", str(delivery_event)], delivery_env)
        variants["delivery_first_key_get"] = (["first", str(delivery_event)], delivery_env)
    if _has_module("aws_xray_sdk"):
        xray_env = dict(
            file_env,
            XRAY_TRACING="true",
            AWS_XRAY_CONTEXT_MISSING="IGNORE_ERROR",
            AWS_XRAY_SDK_ENABLED="true",
        )
        variants["import_xray_tracing"] = (["import", str(events["clear-2"])], xray_env)
    script = str(Path(__file__).with_name("cold.py"))
    # Compile every .pyc once (a deployed layer ships them), then the samples.
    for argv, env in variants.values():
        _child(script, argv, env)
    samples: dict[str, list[dict[str, Any]]] = {name: [] for name in variants}
    startup: list[float] = []
    print(f"cold: {runs} fresh processes x {len(variants)} variants ...", flush=True)
    for _ in range(runs):
        startup.append(_interpreter_startup_ms(file_env))
        for name, (argv, env) in variants.items():
            samples[name].append(_child(script, argv, env))
    out: dict[str, Any] = {"runs": runs, "interpreter_startup_median_ms": round(common.median(startup), 1)}
    for name, rows in samples.items():
        bad = [r for r in rows if r.get("status") not in (None, 200)]
        if bad:
            raise SystemExit(f"cold {name}: status {bad[0].get('status')}")
        entry: dict[str, Any] = {
            "import_median_ms": round(common.median([r["import_ms"] for r in rows]), 1),
            "import_min_ms": round(min(r["import_ms"] for r in rows), 1),
            "total_median_ms": round(common.median([r["total_ms"] for r in rows]), 1),
            "total_min_ms": round(min(r["total_ms"] for r in rows), 1),
            "process_wall_median_ms": round(common.median([r["wall_ms"] for r in rows]), 1),
            "peak_rss_mb": round(common.median([r["peak_rss_mb"] for r in rows]), 1),
            "modules_loaded": rows[-1]["modules_loaded"],
            "cryptography_x509_loaded": rows[-1]["cryptography_x509_loaded"],
            "boto3_loaded": rows[-1]["boto3_loaded"],
        }
        if rows[0]["first_ms"] is not None:
            entry["first_answer_median_ms"] = round(common.median([r["first_ms"] for r in rows]), 1)
        out[name] = entry
    out["import_profile"] = _import_profile(script, variants["first_file_encrypted"])
    return out


def _child(script: str, argv: list[str], env: dict[str, str]) -> dict[str, Any]:
    import time

    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, script, "--child", *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    wall = (time.perf_counter() - t0) * 1000
    if proc.returncode != 0:
        raise SystemExit(f"cold child {argv} failed:\n{proc.stderr[-2000:]}")
    row = json.loads(proc.stdout.strip().splitlines()[-1])
    row["wall_ms"] = wall
    return row


def _interpreter_startup_ms(env: dict[str, str]) -> float:
    import time

    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], env=env, check=True, timeout=60)
    return (time.perf_counter() - t0) * 1000


def _import_profile(script: str, variant: tuple[list[str], dict[str, str]]) -> dict[str, Any]:
    """``-X importtime`` of import + first answer (file home, encrypted): self time per top-level package."""
    argv, env = variant
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", script, "--child", *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    per_package: dict[str, int] = {}
    pattern = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")
    for line in proc.stderr.splitlines():
        match = pattern.match(line)
        if match:
            top = match.group(4).split(".")[0]
            per_package[top] = per_package.get(top, 0) + int(match.group(1))
    total = sum(per_package.values())
    top = sorted(per_package.items(), key=lambda kv: -kv[1])[:15]
    return {
        "note": "one run with -X importtime (which itself slows imports); self time summed per top-level package, ms",
        "total_ms": round(total / 1000, 1),
        "by_package_ms": {name: round(us / 1000, 1) for name, us in top},
    }


def _has_module(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def evaluate_targets(results: dict[str, Any]) -> dict[str, Any]:
    warm = results.get("warm", {}).get("scenarios", {})
    cold = results.get("cold", {})
    delivery = results.get("delivery", {}).get("cases", {})
    ref = results.get("reference", {}).get("variants", {})
    measured = {
        "reference_encrypted_ratio": ref.get("encrypted", {}).get("ratio_median"),
        "reference_encrypted_median_ms": ref.get("encrypted", {}).get("this", {}).get("median_ms"),
        "reference_clear_ratio": ref.get("clear", {}).get("ratio_median"),
        "handler_encrypted_2_median_ms": warm.get("encrypted-2", {}).get("handler", {}).get("median_ms"),
        "handler_encrypted_24_median_ms": warm.get("encrypted-24", {}).get("handler", {}).get("median_ms"),
        "cold_import_median_ms": cold.get("import", {}).get("import_median_ms"),
        "cold_first_file_encrypted_median_ms": cold.get("first_file_encrypted", {}).get("total_median_ms"),
        "warm_peak_rss_mb": results.get("warm", {}).get("peak_rss_mb"),
        "delivery_key_get_median_ms": delivery.get("key_get_es256", {}).get("median_ms"),
        "delivery_licence_2_median_ms": delivery.get("licence_2_eddsa", {}).get("median_ms"),
        "cold_delivery_first_key_get_median_ms": cold.get("delivery_first_key_get", {}).get("total_median_ms"),
    }
    out = {}
    for name, (what, limit, unit, direction) in TARGETS.items():
        value = measured[name]
        met = None if value is None else (value >= limit if direction == ">=" else value <= limit)
        out[name] = {
            "what": what,
            "target": limit,
            "unit": unit,
            "direction": direction,
            "measured": value,
            "met": met,
            "margin": None if value is None else round(value - limit, 3),
        }
    return out


def print_table(results: dict[str, Any]) -> None:
    m = results["machine"]
    print(f"\nmachine: {m['nproc']} cores, {m['cpu_model']}, Python {m['python']}, commit {m['git_commit']}")
    warm = results.get("warm")
    if warm:
        print(
            "\nwarm, ms per request (handler = lambda_handler with Powertools; library = KeyExchange.answer;"
            " cpu = the thread's CPU time)"
        )
        print(
            f"{'scenario':<14}{'req B':>7}{'resp B':>8} | {'handler median':>14}{'p99':>8}{'req/s':>8}"
            f"{'cpu':>7} | {'library median':>14}{'p99':>8}{'req/s':>8}{'cpu':>7} | {'Powertools':>10}"
        )
        for name, s in warm["scenarios"].items():
            h, lib = s["handler"], s["library"]
            print(
                f"{name:<14}{s['request_bytes']:>7}{s['response_bytes']:>8} | {h['median_ms']:>14.3f}"
                f"{h['p99_ms']:>8.3f}{h['requests_per_s']:>8.0f}{h.get('cpu_median_ms', 0):>7.3f} | "
                f"{lib['median_ms']:>14.3f}{lib['p99_ms']:>8.3f}{lib['requests_per_s']:>8.0f}"
                f"{lib.get('cpu_median_ms', 0):>7.3f} | {s['powertools_overhead_ms']:>10.3f}"
            )
        cal = warm.get("calibration_ms", {})
        print(f"calibration loop: median {cal.get('median')} ms, min {cal.get('min')}, max {cal.get('max')}")
        print(
            f"peak RSS {warm['peak_rss_mb']} MB; AWS calls: warm-up {warm['aws_calls_during_warmup']}, "
            f"timed runs {warm['aws_calls_during_timed_runs']}; answers verified: "
            f"{all(v['ok'] for v in warm['verification'].values())}"
        )
    delivery = results.get("delivery")
    if delivery:
        print("\nkey delivery, warm, ms per request (lambda_handler with Powertools, token verification included)")
        print(f"{'case':<22}{'median':>9}{'p90':>9}{'p99':>9}{'req/s':>9}{'cpu':>8}")
        for name, c in delivery["cases"].items():
            print(
                f"{name:<22}{c['median_ms']:>9.3f}{c['p90_ms']:>9.3f}{c['p99_ms']:>9.3f}"
                f"{c['requests_per_s']:>9.0f}{c.get('cpu_median_ms', 0):>8.3f}"
            )
        print(
            f"peak RSS {delivery['peak_rss_mb']} MB; AWS calls: warm-up {delivery['aws_calls_during_warmup']}, "
            f"timed runs {delivery['aws_calls_during_timed_runs']}; answers verified: "
            f"{all(v['ok'] for v in delivery['verification'].values())}"
        )
    cold = results.get("cold")
    if cold:
        print(
            f"\ncold start (median of {cold['runs']} fresh processes; bare interpreter start-up "
            f"{cold['interpreter_startup_median_ms']} ms not included)"
        )
        print(f"{'variant':<32}{'import':>9}{'first':>9}{'total':>9}{'wall':>9}{'RSS MB':>8}")
        for name, c in cold.items():
            if not isinstance(c, dict) or "import_median_ms" not in c:
                continue
            first = c.get("first_answer_median_ms")
            first = float("nan") if first is None else first
            print(
                f"{name:<32}{c['import_median_ms']:>9.1f}{first:>9.1f}"
                f"{c['total_median_ms']:>9.1f}{c['process_wall_median_ms']:>9.1f}{c['peak_rss_mb']:>8.1f}"
            )
    ref = results.get("reference")
    if ref:
        print(f"\nside by side with the reference server ({ref['reference']['path']}, {ref['reference']['commit']})")
        print(f"{'request':<12}{'this median':>12}{'p99':>8}{'reference median':>18}{'p99':>8}{'ratio':>8}")
        for name, v in ref["variants"].items():
            print(
                f"{name:<12}{v['this']['median_ms']:>12.3f}{v['this']['p99_ms']:>8.3f}"
                f"{v['reference']['median_ms']:>18.3f}{v['reference']['p99_ms']:>8.3f}{v['ratio_median']:>7.1f}x"
            )
        print(f"answers verified: {all(v['ok'] for v in ref['verification'].values())}")
    print("\ntargets")
    for t in results["targets"].values():
        state = "n/a" if t["met"] is None else ("met" if t["met"] else "MISSED")
        print(f"  {t['what']:<68} {t['measured']!s:>8} {t['unit']} {t['direction']} {t['target']:<6} {state}")


if __name__ == "__main__":
    raise SystemExit(main())
