"""Cold start of two checkouts, interleaved process by process: a before/after figure that the machine's
drift between two separate ``bench/run.py`` runs cannot distort.

    python bench/cold_ab.py OTHER_DIR [--runs 20]

OTHER_DIR is another checkout (e.g. ``git archive d689308 | tar -x -C /tmp/base``); this tree is "this".
Both are copied and compiled to .pyc as the layer build does; file key home; each round runs, for each
tree, one fresh ``import app`` and one fresh import + first encrypted 2-key answer (``bench/cold.py``).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common
import run


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("other", type=Path)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="speke-cold-ab-") as name:
        tmp = Path(name)
        events = run._events(tmp)
        key_file = tmp / "master.key"
        key_file.write_text(common.MASTER_KEY + "\n")
        envs = {}
        for label, source in (("this", common.REPO), ("other", args.other.resolve())):
            os.environ["SPEKE_BENCH_SOURCE"] = str(source)
            importlib.reload(common)
            where = tmp / label
            where.mkdir()
            layer, handler = run._deployed_copy(where)
            env = common.file_home_env(key_file)
            env["SPEKE_BENCH_HANDLER_DIR"] = str(handler)
            env["PYTHONPATH"] = str(layer)
            envs[label] = env
        script = str(Path(__file__).with_name("cold.py"))
        samples: dict[str, dict[str, list[float]]] = {k: {"import": [], "first_encrypted": []} for k in envs}
        for _ in range(args.runs):
            for label, env in envs.items():
                for mode, event in (("import", "clear-2"), ("first_encrypted", "encrypted-2")):
                    argv = [
                        sys.executable,
                        script,
                        "--child",
                        "import" if mode == "import" else "first",
                        str(events[event]),
                    ]
                    out = subprocess.run(  # noqa: S603 - this interpreter on our own script, fixed arguments
                        argv,
                        env=env,
                        capture_output=True,
                        text=True,
                        check=True,
                        timeout=120,
                    )
                    samples[label][mode].append(json.loads(out.stdout.strip().splitlines()[-1])["total_ms"])
    print(f"median (min) of {args.runs} interleaved fresh processes, ms")
    for label, modes in samples.items():
        cells = ", ".join(f"{mode} {statistics.median(v):.1f} ({min(v):.1f})" for mode, v in modes.items())
        print(f"  {label:<6} {cells}")


if __name__ == "__main__":
    main()
