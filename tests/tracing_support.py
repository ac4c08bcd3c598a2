"""Running a function as Lambda runs it with ``XRAY_TRACING=true``: a child interpreter in "Lambda mode" (the X-Ray
SDK reads ``LAMBDA_TASK_ROOT`` and ``_X_AMZN_TRACE_ID`` when it is imported) against the session's X-Ray daemon
stand-in, and every segment it sent. Used by ``test_tracing.py`` (key provider) and
``test_key_delivery_tracing.py`` (key delivery)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from tests import leakcheck

WAIT_SECONDS = 30.0


def run_traced(
    argv: list[str], settings: dict[str, str], *, function_name: str, trace_id: str, segments: int, cwd: Path
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """Run ``python *argv`` traced with the function's ``settings``; wait for ``segments`` datagrams (or 30 s)."""
    daemon = leakcheck.XRayDaemonStandIn()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_", "_X_AMZN", "KEY_"))}
    env.update(
        {
            "LAMBDA_TASK_ROOT": str(cwd),
            "AWS_LAMBDA_FUNCTION_NAME": function_name,
            "AWS_REGION": "us-east-1",
            "_X_AMZN_TRACE_ID": trace_id,
            "AWS_XRAY_DAEMON_ADDRESS": daemon.address,
            "XRAY_TRACING": "true",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
            **settings,
        }
    )
    try:
        child = subprocess.run(  # noqa: S603 - our interpreter and script
            [sys.executable, *argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
        )
        if child.returncode == 0:
            deadline = time.monotonic() + WAIT_SECONDS
            while len(daemon.received()) < segments and time.monotonic() < deadline:
                time.sleep(0.05)
        return child, daemon.received()
    finally:
        daemon.close()
