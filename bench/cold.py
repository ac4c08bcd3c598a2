"""Cold start: fresh interpreters importing the handler module, and importing it and answering one request.

The parent (``bench/run.py``) starts one fresh ``python bench/cold.py --child MODE EVENT.json`` per
sample, round-robin over the variants so background noise spreads over all of them, and takes the
median. In the child only ``os``, ``sys``, ``time`` and ``resource`` are imported before the clock
starts; the handler is imported the way the Lambda runtime does (module ``app`` from the function's
directory on ``sys.path``). The child prints one JSON line with its own timings:

    import_ms        importing ``app`` (Lambda's INIT phase, minus the runtime's own bootstrap)
    first_ms         the first ``lambda_handler`` call (runtime built, key home read, certificate parsed)
    total_ms         import_ms + first_ms
    peak_rss_mb      peak RSS of the child at the end
"""

import os
import resource
import sys
import time


def child(mode: str, event_path: str) -> None:
    raw = open(event_path, "rb").read()  # noqa: SIM115 - no pathlib before the clock starts
    handler_dir = os.environ["SPEKE_BENCH_HANDLER_DIR"]
    sys.path.insert(0, handler_dir)
    t0 = time.perf_counter()
    import app  # the function module, as the Lambda runtime imports it

    t1 = time.perf_counter()
    first_ms = None
    status = None
    if mode == "first":
        import json  # already imported by Powertools: free here

        event = json.loads(raw)

        class Context:
            function_name = "speke-keyprovider-bench"
            function_version = "$LATEST"
            memory_limit_in_mb = 512
            invoked_function_arn = "arn:aws:lambda:us-east-1:111122223333:function:speke-keyprovider-bench"
            aws_request_id = "00000000-0000-0000-0000-000000000000"

            def get_remaining_time_in_millis(self) -> int:
                return 10_000

        sys.stdout.flush()
        saved = os.dup(1)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        t2 = time.perf_counter()
        try:
            result = app.lambda_handler(event, Context())
        finally:
            t3 = time.perf_counter()
            sys.stdout.flush()
            os.dup2(saved, 1)
        status = result["statusCode"]
        first_ms = (t3 - t2) * 1000
    import_ms = (t1 - t0) * 1000
    modules = len(sys.modules)
    line = {
        "mode": mode,
        "import_ms": round(import_ms, 3),
        "first_ms": None if first_ms is None else round(first_ms, 3),
        "total_ms": round(import_ms + (first_ms or 0.0), 3),
        "status": status,
        "modules_loaded": modules,
        "cryptography_x509_loaded": "cryptography.x509" in sys.modules,
        "boto3_loaded": "boto3" in sys.modules,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    import json

    print(json.dumps(line))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3])
    else:
        raise SystemExit("usage: cold.py --child import|first EVENT.json (run by bench/run.py)")
