"""Child process of ``test_tracing.py``: the function as Lambda runs it with ``XRAY_TRACING=true`` (the X-Ray
SDK needs a fresh interpreter in "Lambda mode": ``LAMBDA_TASK_ROOT`` and ``_X_AMZN_TRACE_ID`` set before it is
imported). It answers each request file given, prints one JSON line per answer (status, headers, body) and
writes the document / MAC keys it generated to ``--keys`` (hex, one per line) so the parent can look for them
in what the tracer sent.

    python tests/integration/traced_invoke.py --keys KEYS.txt REQUEST.xml [REQUEST.xml ...]
"""

from __future__ import annotations

import argparse
import base64
import importlib.util
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keys", type=Path, required=True)
    parser.add_argument("requests", type=Path, nargs="+")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    from speke_keyprovider import key_wrapping
    from speke_keyprovider_tools.apigw_event import rest_proxy_event

    generated: list[bytes] = []
    original = key_wrapping.DeliveryKeys.__dict__["generate"].__func__

    def generate(cls: type) -> key_wrapping.DeliveryKeys:
        keys = original(cls)
        generated.extend((keys.document_key, keys.mac_key))
        return keys

    key_wrapping.DeliveryKeys.generate = classmethod(generate)  # type: ignore[method-assign]
    spec = importlib.util.spec_from_file_location("traced_app", REPO / "functions" / "key_provider" / "app.py")
    assert spec is not None and spec.loader is not None
    app = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(app)
    context = type(
        "Context",
        (),
        {
            "function_name": "speke-traced",
            "function_version": "$LATEST",
            "memory_limit_in_mb": 512,
            "aws_request_id": "traced",
            "invoked_function_arn": "arn:aws:lambda:us-east-1:111122223333:function:speke-traced",
            "get_remaining_time_in_millis": staticmethod(lambda: 29_000),
        },
    )()
    out = []
    for path in args.requests:
        headers = {"Content-Type": "application/xml", "X-Speke-Version": "2.0"}
        result = app.lambda_handler(rest_proxy_event(path.read_bytes(), headers=headers), context)
        body = result.get("body") or ""
        raw = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
        out.append({"status": result["statusCode"], "headers": result.get("headers") or {}, "body": raw.decode()})
    args.keys.write_text("".join(key.hex() + "\n" for key in generated))
    sys.stderr.write(json.dumps(out) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
