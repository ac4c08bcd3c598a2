"""From measured figures to Lambda figures: duration, billed duration and cost per million requests per
memory size, cold start, and concurrency for N channels. A model, with its assumptions printed.

    python bench/lambda_model.py [RESULTS.json] [--graviton-factor 1.3] [--channels 500 --endpoints 2
                                  --rotation 300 --burst-window 1]

Model: Lambda gives a function CPU in proportion to memory, one full vCPU at 1,769 MB; this function is
single-threaded and CPU-bound, so a duration measured on one full core here becomes
``t * max(1, 1769 / MB) * graviton_factor`` (the factor: how much slower one arm64 Graviton core runs
this CPython code than one core of the benchmark machine -- an assumption; check it against the
``REPORT`` lines of a deployed stack). Billing rounds each invocation up to the next millisecond.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FULL_VCPU_MB = 1769
# AWS Lambda list prices, arm64, US East (N. Virginia), first pricing tier -- assumed, check your region.
PRICE_GB_SECOND = 0.0000133334
PRICE_PER_MILLION_REQUESTS = 0.20
PRICE_PROVISIONED_GB_SECOND = 0.0000033334
SECONDS_PER_MONTH = 30 * 24 * 3600


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("results", nargs="?", type=Path, default=REPO / "docs" / "bench-results.json")
    parser.add_argument("--graviton-factor", type=float, default=1.3)
    parser.add_argument("--memory", default="512,1024,1769")
    parser.add_argument("--channels", type=int, default=500)
    parser.add_argument("--endpoints", type=int, default=2, help="MediaPackage endpoints per channel")
    parser.add_argument("--rotation", type=float, default=300.0, help="key rotation interval, seconds")
    parser.add_argument(
        "--burst-window", type=float, default=1.0, help="seconds over which aligned rotations of all channels arrive"
    )
    args = parser.parse_args()
    data = json.loads(args.results.read_text())
    warm = data["warm"]["scenarios"]
    cold = data["cold"]
    k = args.graviton_factor
    print(
        f"source: {args.results} ({data['machine']['cpu_model']}, {data['started_utc']}); "
        f"graviton factor {k}; prices: ${PRICE_GB_SECOND}/GB-s, ${PRICE_PER_MILLION_REQUESTS}/M requests (arm64)"
    )
    memories = [int(m) for m in args.memory.split(",")]
    print("\nwarm handler, per request: modelled duration ms -> billed ms -> $ per million requests")
    print(f"{'scenario':<14}" + "".join(f"{m:>26} MB" for m in memories))
    for name, s in warm.items():
        cells = []
        for mb in memories:
            duration = s["handler"]["median_ms"] * max(1.0, FULL_VCPU_MB / mb) * k
            billed = math.ceil(duration)
            cost = billed / 1000 * mb / 1024 * PRICE_GB_SECOND * 1e6 + PRICE_PER_MILLION_REQUESTS
            cells.append(f"{duration:7.2f} -> {billed:3d} ms -> ${cost:.3f}")
        print(f"{name:<14}" + "".join(f"{c:>29}" for c in cells))
    print("\ncold start (INIT + first answer), modelled seconds")
    variants = {
        "file home, encrypted": "first_file_encrypted",
        "Secrets Manager home, encrypted": "first_secretsmanager_encrypted",
    }
    startup = cold["interpreter_startup_median_ms"]
    for label, key in variants.items():
        total = (cold[key]["total_median_ms"] + startup) / 1000
        print(
            f"  {label:<34}"
            + "".join(f"{total * max(1.0, FULL_VCPU_MB / mb) * k:>8.2f} s @ {mb} MB" for mb in memories)
        )
    rate = args.channels * args.endpoints / args.rotation
    burst = args.channels * args.endpoints
    print(
        f"\nconcurrency for {args.channels} channels x {args.endpoints} endpoints, rotation every "
        f"{args.rotation:.0f} s: {rate:.2f} requests/s on average"
    )
    for mb in memories:
        d = warm["encrypted-8"]["handler"]["median_ms"] * max(1.0, FULL_VCPU_MB / mb) * k / 1000
        steady = rate * d
        peak = min(burst, burst * d / args.burst_window)
        pc_month = math.ceil(peak) * mb / 1024 * SECONDS_PER_MONTH * PRICE_PROVISIONED_GB_SECOND
        print(
            f"  {mb:>5} MB: steady {steady:.3f} concurrent; all rotations within {args.burst_window:g} s: "
            f"{peak:.1f} concurrent; provisioned concurrency for that peak ~${pc_month:.0f}/month"
        )


if __name__ == "__main__":
    main()
