"""Instructions per answer, counted by valgrind (callgrind): a figure no neighbour on a shared machine can
move, for before/after comparisons.

    python bench/instructions.py [--source DIR] [--scenarios clear-2,encrypted-24] [--jobs 2]
                                 [--target library|handler|handler-stub]

``--target library`` (default) counts ``KeyExchange.answer``; ``handler`` the real ``lambda_handler``
(route table, Powertools Logger and Metrics; file key home; stdout to /dev/null, so the log line and the EMF blob
are formatted and written); ``handler-stub`` the same handler around a library whose answer is fixed, i.e.
what the handler costs on its own.

For each scenario a child process builds 16 distinct requests, answers 50 as warm-up, then N more; the
count for N = 0 is subtracted from the count for N = ``--answers`` and divided by it. PYTHONHASHSEED is
fixed, so the count is the same on every run. Needs ``valgrind`` (Debian package ``valgrind``).
Prints a table and writes ``bench-results/instructions-<label>.json``.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common

CHILD = """
import os, sys
from speke_keyprovider_tools.client.request_builder import build_request
video, audio, periods, encrypted, n, cert_path, master, target = sys.argv[1:9]
cert = open(cert_path, "rb").read() if encrypted == "1" else None
pool = [build_request(content_id=f"instructions-{i}", video_preset=video, audio_preset=audio, periods=int(periods),
                      drm_systems=["widevine", "playready", "fairplay"], scheme="cbcs", certificate_der=cert).xml
        for i in range(16)]
if target == "library":
    from speke_keyprovider.key_sources import StaticMasterKey
    from speke_keyprovider.service import KeyExchange
    from speke_keyprovider.settings import Settings
    exchange = KeyExchange(Settings(), StaticMasterKey(master.encode()))
    call = exchange.answer
else:  # the real lambda_handler (Powertools), file key home; "handler-stub": the library's answer replaced
    sys.path.insert(0, os.environ["SPEKE_BENCH_HANDLER_DIR"])
    sys.path.insert(0, os.environ["SPEKE_BENCH_DIR"])
    import common
    import app
    events = [common.rest_event(body) for body in pool]
    context = common.LambdaContext()
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # the log line and EMF blob are written, to /dev/null
    if target == "handler-stub":
        from speke_keyprovider.runtime import get_runtime
        exchange = get_runtime().exchange
        fixed = exchange.answer(pool[0])
        exchange.answer = lambda body, version=None: fixed
    by_body = dict(zip(pool, events))
    call = lambda body: app.lambda_handler(by_body[body], context)
for i in range(50):
    call(pool[i % 16])
for i in range(int(n)):
    call(pool[i % 16])
"""


def count(sc: common.Scenario, answers: int, env: dict[str, str], target: str) -> int:
    proc = subprocess.run(  # noqa: S603 - this interpreter under valgrind, fixed arguments
        [  # noqa: S607 - valgrind from PATH, as the user installed it
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            "-c",
            CHILD,
            sc.video_preset,
            sc.audio_preset,
            str(sc.periods),
            "1" if sc.encrypted else "0",
            str(answers),
            str(common.CERT_DER),
            common.MASTER_KEY,
            target,
        ],
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
    parser.add_argument("--source", type=Path, help="count another checkout (see bench/run.py --source)")
    parser.add_argument("--scenarios", default=",".join(sc.name for sc in common.scenarios()))
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--label", default="")
    parser.add_argument("--target", choices=("library", "handler", "handler-stub"), default="library")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    layer = (args.source.resolve() if args.source else common.REPO) / "layers" / "speke_keyprovider"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env.update(PYTHONHASHSEED="0", PYTHONPATH=str(layer), PYTHONDONTWRITEBYTECODE="1")
    if args.target != "library":
        key_file = common.RESULTS_DIR / "instructions-master.key"
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key_file.write_text(common.MASTER_KEY + "\n")
        handler_env = common.file_home_env(key_file)
        handler_env.update(PYTHONHASHSEED="0", PYTHONPATH=str(layer), PYTHONDONTWRITEBYTECODE="1")
        handler_env["SPEKE_BENCH_HANDLER_DIR"] = str(layer.parents[1] / "functions" / "key_provider")
        handler_env["SPEKE_BENCH_DIR"] = str(Path(__file__).resolve().parent)
        env = handler_env
    wanted = [sc for sc in common.scenarios() if sc.name in args.scenarios.split(",")]

    def per_answer(sc: common.Scenario) -> tuple[str, int]:
        answers = 100 if sc.keys <= 2 else (40 if sc.keys <= 8 else 15)
        return sc.name, (count(sc, answers, env, args.target) - count(sc, 0, env, args.target)) // answers

    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        results = dict(pool.map(per_answer, wanted))
    print(f"instructions per answer, target {args.target} ({layer})")
    for name, value in results.items():
        print(f"  {name:<14}{value:>14,}")
    label = (args.label or ("source" if args.source else "tree")) + (
        "" if args.target == "library" else f"-{args.target}"
    )
    common.write_json(
        common.RESULTS_DIR / f"instructions-{label}.json",
        {
            "source": str(layer),
            "instructions_per_answer": results,
            "tool": "valgrind --tool=callgrind, PYTHONHASHSEED=0",
        },
    )


if __name__ == "__main__":
    main()
