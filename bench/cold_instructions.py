"""Cold start in instructions (valgrind callgrind): ``import app`` and import + first answer, as
``bench/cold.py`` does them, less the bare interpreter start-up; a figure the machine's load cannot move.

    python bench/cold_instructions.py [--source DIR] [--label NAME]

The function and library are copied and compiled to .pyc as the layer build does (``run._deployed_copy``);
file key home; the first answer is the 2-key encrypted request (Widevine + PlayReady + FairPlay, cbcs).
Writes ``bench-results/cold-instructions-<label>.json``.
"""

# ruff: noqa: S603, S607

from __future__ import annotations

import argparse
import importlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common


def _count(argv: list[str], env: dict[str, str]) -> int:
    proc = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
        check=True,
    )
    match = re.search(r"Collected : (\d+)", proc.stderr)
    if not match:
        raise SystemExit(f"no callgrind total in:\n{proc.stderr[-2000:]}")
    return int(match.group(1))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", type=Path, help="another checkout (see bench/run.py --source)")
    parser.add_argument("--label", default="")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    if args.source:
        os.environ["SPEKE_BENCH_SOURCE"] = str(args.source.resolve())
        importlib.reload(common)
    import run

    with tempfile.TemporaryDirectory(prefix="speke-cold-instructions-") as name:
        tmp = Path(name)
        events = run._events(tmp)
        layer, handler = run._deployed_copy(tmp)
        key_file = tmp / "master.key"
        key_file.write_text(common.MASTER_KEY + "\n")
        env = common.file_home_env(key_file)
        env.update(PYTHONHASHSEED="0", PYTHONPATH=str(layer), SPEKE_BENCH_HANDLER_DIR=str(handler))
        script = str(Path(__file__).with_name("cold.py"))
        runs = {
            "bare": ["-c", "import os, resource, sys, time"],
            "import": [script, "--child", "import", str(events["clear-2"])],
            "first_file_clear": [script, "--child", "first", str(events["clear-2"])],
            "first_file_encrypted": [script, "--child", "first", str(events["encrypted-2"])],
        }
        with ThreadPoolExecutor(max_workers=2) as pool:
            counts = dict(zip(runs, pool.map(lambda argv: _count(argv, env), runs.values()), strict=True))
    bare = counts.pop("bare")
    results = {name: value - bare for name, value in counts.items()}
    print(f"instructions above a bare interpreter ({common.SOURCE})")
    for name, value in results.items():
        print(f"  {name:<24}{value:>16,}")
    label = args.label or ("source" if args.source else "tree")
    common.write_json(
        common.RESULTS_DIR / f"cold-instructions-{label}.json",
        {"source": str(common.SOURCE), "instructions": results, "bare_interpreter": bare},
    )


if __name__ == "__main__":
    main()
