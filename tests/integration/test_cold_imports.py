"""What a cold start loads: the key provider's import brings in only what its first request needs.

Each module named here was once on the import path and cost measurable cold start (docs/performance.md):
Powertools' event_handler package (every resolver, AppSync's asyncio with it), xml.sax (urllib.request,
http.client, email), cryptography (only an encrypted answer needs it), boto3 (only an AWS key home, at first use)
and the X-Ray SDK (only with XRAY_TRACING). A fresh interpreter imports the handler with the template's
environment and reports what it loaded; then answers one clear request and reports again.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests import cpixdocs as d
from tests.conftest import HANDLER_PATH, REPO, rest_event

NEVER_AT_IMPORT = (
    "aws_lambda_powertools.event_handler",
    "asyncio",
    "xml.sax",
    "urllib.request",
    "http.client",
    "email",
    "cryptography",
    "boto3",
    "aws_xray_sdk",
)
NEVER_FOR_A_CLEAR_ANSWER = ("aws_lambda_powertools.event_handler", "asyncio", "xml.sax", "cryptography", "boto3")

CHILD = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
import app
loaded_at_import = sorted(sys.modules)
event = json.loads(sys.argv[2])
class Context:
    function_name = "f"; memory_limit_in_mb = 1024; aws_request_id = "r"
    invoked_function_arn = "arn:aws:lambda:us-east-1:111122223333:function:f"
    def get_remaining_time_in_millis(self): return 30000
status = app.lambda_handler(event, Context())["statusCode"]
print(json.dumps({"import": loaded_at_import, "answer": sorted(sys.modules), "status": status}))
"""


def _child_env() -> dict[str, str]:
    """This process's environment (the handler_env fixture's: file key home), the layer on the path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "layers" / "speke_keyprovider"), env.get("PYTHONPATH", "")])
    return env


def _loaded() -> dict:
    env = _child_env()
    event = rest_event(d.document())
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(HANDLER_PATH.parent), json.dumps(event)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _hits(modules: list[str], banned: tuple[str, ...]) -> list[str]:
    return [m for m in modules if any(m == b or m.startswith(b + ".") for b in banned)]


def test_the_import_loads_only_what_the_first_request_needs(handler_env):
    loaded = _loaded()
    assert "speke_keyprovider.service" in loaded["import"]  # the check can see the library's own modules
    assert _hits(loaded["import"], NEVER_AT_IMPORT) == []
    assert loaded["status"] == 200
    assert _hits(loaded["answer"], NEVER_FOR_A_CLEAR_ANSWER) == []


DELIVERY_CHILD = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
import app
print(json.dumps(sorted(sys.modules)))
"""


def test_the_key_delivery_import_has_no_resolver_and_no_boto3(handler_env):
    """Key delivery needs PyJWT and cryptography for its first request (every request carries a token), but
    not Powertools' resolvers or boto3 (an AWS key home loads it at first use)."""
    env = _child_env()
    out = subprocess.run(
        [sys.executable, "-c", DELIVERY_CHILD, str(REPO / "functions" / "key_delivery")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert "speke_keyprovider.delivery.endpoint" in loaded
    assert _hits(loaded, ("aws_lambda_powertools.event_handler", "asyncio", "boto3", "aws_xray_sdk")) == []
