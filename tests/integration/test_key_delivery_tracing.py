"""With ``XRAY_TRACING=true`` the key delivery function sends no key and no token to X-Ray.

Its answers are the keys themselves (an AES-128 key, a ClearKey licence), so a tracer that captured the
handler's response would put every served key in a trace. The function runs as Lambda runs it (a child process
in "Lambda mode", as ``test_tracing.py`` does for the key provider) against the session's X-Ray daemon
stand-in; every segment it sends is searched for the served keys and the tokens, and handed to the leak check.
"""

from __future__ import annotations

import base64
import json
import uuid

from speke_keyprovider.key_derivation import derive_cek

from tests import leakcheck
from tests.conftest import MASTER_KEY, REPO
from tests.delivery_support import b64url, token, trust_jwks
from tests.fuzz.fuzz_support import find_leak
from tests.tracing_support import run_traced

TRACE_ID = "Root=1-5759e988-bd862e3fe1be46a994272794;Parent=53995c3f42cd8ad9;Sampled=1"
CONTENT_ID = "traced-delivery"
KIDS = [uuid.UUID(int=0x1234), uuid.UUID(int=0x5678)]

CHILD = r"""
import importlib.util, json, sys
from pathlib import Path
repo = Path(sys.argv[1])
sys.path.insert(0, str(repo))
from speke_keyprovider_tools.apigw_event import http_api_event
spec = importlib.util.spec_from_file_location("traced_delivery_app", repo / "functions" / "key_delivery" / "app.py")
app = importlib.util.module_from_spec(spec)
spec.loader.exec_module(app)
class Context:
    function_name = "speke-traced-delivery"; memory_limit_in_mb = 512; aws_request_id = "r"
    invoked_function_arn = "arn:aws:lambda:us-east-1:111122223333:function:speke-traced-delivery"
    def get_remaining_time_in_millis(self): return 30000
out = []
for method, path, tok, body in json.loads(sys.argv[2]):
    event = http_api_event(method, path, headers={"authorization": "Bearer " + tok}, body=body and body.encode())
    out.append(app.lambda_handler(event, Context()))
print(json.dumps(out))
"""


def test_no_segment_carries_a_served_key_or_a_token(tmp_path):
    (tmp_path / "master.key").write_bytes(MASTER_KEY)
    tok = token("ES256", content_ids=[CONTENT_ID])
    licence_request = json.dumps({"kids": [b64url(k.bytes) for k in KIDS], "type": "temporary"})
    calls = [
        ("GET", f"/keys/{CONTENT_ID}/{KIDS[0]}", tok, None),
        ("POST", f"/clearkey/{CONTENT_ID}", tok, licence_request),
        ("GET", f"/keys/{CONTENT_ID}/{KIDS[1]}", "not-a-token", None),  # a refusal is traced too
    ]
    child, datagrams = run_traced(
        ["-c", CHILD, str(REPO), json.dumps(calls)],
        {
            "KEY_SOURCE": "file",
            "MASTER_KEY_FILE": str(tmp_path / "master.key"),
            "KEY_DELIVERY": "aes128+clearkey",
            "KEY_DELIVERY_URL": "https://delivery.example.test",
            "KEY_DELIVERY_JWKS": trust_jwks("ES256"),
        },
        function_name="speke-traced-delivery",
        trace_id=TRACE_ID,
        segments=len(calls),
        cwd=REPO,
    )
    assert child.returncode == 0, child.stderr[-2000:]
    answers = json.loads(child.stdout.strip().splitlines()[-1])

    ceks = [derive_cek(MASTER_KEY, CONTENT_ID, kid) for kid in KIDS]
    for secret in ceks:
        leakcheck.record_secret(secret, "CEK")
    for text in datagrams:
        leakcheck.record_text("x-ray segment (traced key delivery)", text)

    # the answers really hold the keys, so their absence from the traces means something
    assert [a["statusCode"] for a in answers] == [200, 200, 401]
    assert base64.b64decode(answers[0]["body"]) == ceks[0]
    licence = json.loads(answers[1]["body"])
    assert {e["k"] for e in licence["keys"]} == {b64url(c) for c in ceks}
    assert len(datagrams) >= len(calls), "the tracer sent no segments: nothing was checked"
    segments = [json.loads(text.partition("\n")[2]) for text in datagrams]
    assert any(s.get("name") == "## lambda_handler" or "subsegments" in s for s in segments)
    everything = "\n".join(datagrams).encode()
    assert find_leak(everything, [*ceks, tok.encode(), tok.rsplit(".", 1)[1].encode()]) is None
    assert b'"response"' not in everything and b"lambda_handler response" not in everything
