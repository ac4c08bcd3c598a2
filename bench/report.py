"""Markdown tables for docs/performance.md from bench/run.py JSON (and optionally a "before" run).

python bench/report.py [AFTER.json] [--before BEFORE.json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("after", nargs="?", type=Path, default=REPO / "docs" / "bench-results.json")
    parser.add_argument("--before", type=Path)
    args = parser.parse_args()
    after = json.loads(args.after.read_text())
    before = json.loads(args.before.read_text()) if args.before else None

    print(
        "| scenario | request / response bytes | handler median | p99 | req/s | handler CPU | library median "
        "| p99 | req/s |" + (" handler median before | library median before |" if before else "")
    )
    print("|---|---|---|---|---|---|---|---|---|" + ("---|---|" if before else ""))
    for name, s in after["warm"]["scenarios"].items():
        h, lib = s["handler"], s["library"]
        row = (
            f"| {name} | {s['request_bytes']:,} / {s['response_bytes']:,} | {h['median_ms']:.3f} ms | "
            f"{h['p99_ms']:.2f} | {h['requests_per_s']:,.0f} | {h['cpu_median_ms']:.3f} | "
            f"{lib['median_ms']:.3f} ms | "
            f"{lib['p99_ms']:.2f} | {lib['requests_per_s']:,.0f} |"
        )
        if before:
            b = before["warm"]["scenarios"][name]
            row += f" {b['handler']['median_ms']:.3f} ms | {b['library']['median_ms']:.3f} ms |"
        print(row)
    w = after["warm"]
    print(
        f"\npeak RSS {w['peak_rss_mb']} MB; calibration loop median {w['calibration_ms']['median']} ms "
        f"(min {w['calibration_ms']['min']})"
        + (
            f"; before: calibration median "
            f"{before['warm']['calibration_ms']['median']} ms, peak RSS "
            f"{before['warm']['peak_rss_mb']} MB"
            if before
            else ""
        )
    )
    print(
        f"\n| cold start (median of {after['cold']['runs']}) | import | first answer | total |"
        + (" total before |" if before else "")
    )
    print("|---|---|---|---|" + ("---|" if before else ""))
    for name, c in after["cold"].items():
        if not isinstance(c, dict) or "import_median_ms" not in c:
            continue
        first = c.get("first_answer_median_ms")
        row = (
            f"| {name} | {c['import_median_ms']:.0f} ms | {'-' if first is None else f'{first:.0f} ms'} | "
            f"{c['total_median_ms']:.0f} ms |"
        )
        if before:
            row += f" {before['cold'].get(name, {}).get('total_median_ms', float('nan')):.0f} ms |"
        print(row)
    print(f"\ninterpreter start-up (not included): {after['cold']['interpreter_startup_median_ms']} ms")
    print("\n| target | measured | limit | |")
    print("|---|---|---|---|")
    for t in after["targets"].values():
        if t["met"] is None:
            state = "not measured"
        else:
            state = "met" if t["met"] else f"missed by {t['margin']:+.2f} {t['unit']}"
        limit = f"{t.get('direction', '<=')} {t['target']} {t['unit']}"
        print(f"| {t['what']} | {t['measured']} {t['unit']} | {limit} | {state} |")


if __name__ == "__main__":
    main()
