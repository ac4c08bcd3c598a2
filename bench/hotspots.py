"""Where a warm request spends its time: cProfile of one scenario, handler or library.

    python bench/hotspots.py [SCENARIO] [--target handler|library] [--calls N] [--sort tottime|cumtime]

SCENARIO is one of clear-2, encrypted-2, clear-8, encrypted-8, clear-24, encrypted-24 (default
encrypted-2). File key home (the warm path is the same as Secrets Manager's once the secret is cached);
16 distinct requests cycled, as in ``bench/warm.py``. cProfile inflates Python-level calls several
times over, so read the shares, not the absolute times; ``bench/run.py`` gives the real figures.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib
import os
import pstats
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("scenario", nargs="?", default="encrypted-2", choices=[sc.name for sc in common.scenarios()])
    parser.add_argument("--target", choices=("handler", "library"), default="library")
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--sort", choices=("tottime", "cumtime"), default="tottime")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    sc = next(s for s in common.scenarios() if s.name == args.scenario)

    tmp = Path(tempfile.mkdtemp(prefix="speke-profile-"))
    key_file = tmp / "master.key"
    key_file.write_text(common.MASTER_KEY + "\n")
    for name, value in common.file_home_env(key_file).items():
        os.environ[name] = value

    pool = []
    for i in range(16):
        built = common.scenario_request(sc, f"profile-{i}")
        pool.append((common.rest_event(built.xml), built.xml))
    sys.path.insert(0, str(common.HANDLER_DIR))
    app = importlib.import_module("app")
    context = common.LambdaContext()
    devnull = os.open(os.devnull, os.O_WRONLY)
    saved = os.dup(1)
    sys.stdout.flush()
    os.dup2(devnull, 1)
    try:
        assert app.lambda_handler(pool[0][0], context)["statusCode"] == 200
        from speke_keyprovider.runtime import get_runtime

        exchange = get_runtime().exchange
        if args.target == "handler":

            def call(i: int) -> None:
                app.lambda_handler(pool[i % 16][0], context)
        else:

            def call(i: int) -> None:
                exchange.answer(pool[i % 16][1])

        for i in range(300):
            call(i)
        profiler = cProfile.Profile()
        profiler.enable()
        for i in range(args.calls):
            call(i)
        profiler.disable()
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
    print(f"{args.target}, {sc.name}, {args.calls} calls (cProfile inflates Python-level calls)")
    pstats.Stats(profiler).strip_dirs().sort_stats(args.sort).print_stats(args.top)


if __name__ == "__main__":
    main()
