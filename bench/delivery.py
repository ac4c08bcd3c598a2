"""Warm key delivery benchmark worker: the real key delivery ``lambda_handler`` in-process, token verification
included, Secrets Manager home (loopback moto_server), master cached.

Run by ``bench/run.py`` in a fresh process. Cases, each over a pool of 16 distinct (contentId, kid, token):

    key_get_es256        GET /keys/{contentId}/{kid}, Bearer ES256 token
    key_get_hs256        the same with an HS256 token (secret from Secrets Manager, cached)
    key_get_query_rs256  the token in the query string, RS256
    licence_2_eddsa      POST /clearkey/{contentId} for 2 kids, EdDSA token
    licence_8_es256      POST /clearkey/{contentId} for 8 kids, ES256 token
    verify_<alg>         TokenVerifier.verify alone, per algorithm

Every timed request must make no AWS call (counted), and every answer is checked against ``derive_cek``.

    python bench/delivery.py OUT.json [--quick]
"""

from __future__ import annotations

import argparse
import base64
import gc
import importlib.util
import json
import os
import resource
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common
from warm import _calibrate, _count_aws_calls

POOL = 16
BLOCK, BLOCKS, WARMUP = 300, 10, 200


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    scale = 5 if args.quick else 1

    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
    from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm
    from speke_keyprovider.key_derivation import derive_cek
    from speke_keyprovider_tools.apigw_event import http_api_event
    from speke_keyprovider_tools.delivery_tokens import mint_token, public_jwks

    jwks = {
        "ES256": ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256R1()), as_dict=True),
        "RS256": RSAAlgorithm.to_jwk(rsa.generate_private_key(public_exponent=65537, key_size=2048), as_dict=True),
        "EdDSA": OKPAlgorithm.to_jwk(ed25519.Ed25519PrivateKey.generate(), as_dict=True),
    }
    for alg, jwk in jwks.items():
        jwk.update({"alg": alg, "kid": f"bench-{alg.lower()}"})
    os.environ["KEY_DELIVERY_JWKS"] = json.dumps(public_jwks(jwks.values()))
    hmac_secret = common.DELIVERY_HMAC_SECRET.encode()

    def tok(alg: str, content_id: str) -> str:
        if alg == "HS256":
            return mint_token(None, content_ids=[content_id], hmac_secret=hmac_secret)
        return mint_token(jwks[alg], content_ids=[content_id])

    def b64u(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    def key_get(alg: str, in_query: bool = False) -> list[tuple[dict[str, Any], dict[uuid.UUID, bytes]]]:
        pool = []
        for i in range(POOL):
            content_id, kid = f"bench-delivery-{alg}-{i}", uuid.uuid4()
            token = tok(alg, content_id)
            headers = {} if in_query else {"Authorization": f"Bearer {token}"}
            event = http_api_event(
                "GET", f"/keys/{content_id}/{kid}", headers=headers, query=f"token={token}" if in_query else ""
            )
            pool.append((event, {kid: derive_cek(common.MASTER_KEY.encode(), content_id, kid)}))
        return pool

    def licence(alg: str, count: int) -> list[tuple[dict[str, Any], dict[uuid.UUID, bytes]]]:
        pool = []
        for i in range(POOL):
            content_id, kids = f"bench-licence-{alg}-{count}-{i}", [uuid.uuid4() for _ in range(count)]
            body = json.dumps({"kids": [b64u(k.bytes) for k in kids], "type": "temporary"}).encode()
            event = http_api_event(
                "POST",
                f"/clearkey/{content_id}",
                headers={"Authorization": f"Bearer {tok(alg, content_id)}"},
                body=body,
            )
            pool.append((event, {k: derive_cek(common.MASTER_KEY.encode(), content_id, k) for k in kids}))
        return pool

    pools = {
        "key_get_es256": key_get("ES256"),
        "key_get_hs256": key_get("HS256"),
        "key_get_query_rs256": key_get("RS256", in_query=True),
        "licence_2_eddsa": licence("EdDSA", 2),
        "licence_8_es256": licence("ES256", 8),
    }

    aws_calls = _count_aws_calls()
    spec = importlib.util.spec_from_file_location("app", common.DELIVERY_HANDLER_DIR / "app.py")
    assert spec is not None and spec.loader is not None
    app = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(app)
    context = common.LambdaContext()

    devnull = os.open(os.devnull, os.O_WRONLY)
    saved_stdout = os.dup(1)

    def quiet() -> None:
        sys.stdout.flush()
        os.dup2(devnull, 1)

    def loud() -> None:
        sys.stdout.flush()
        os.dup2(saved_stdout, 1)

    quiet()
    try:
        first = {name: app.lambda_handler(pool[0][0], context) for name, pool in pools.items()}
    finally:
        loud()
    for name, result in first.items():
        if result["statusCode"] != 200:
            raise SystemExit(f"{name}: status {result['statusCode']}: {result.get('body')}")
    calls_at_warm = aws_calls[0]

    from speke_keyprovider.delivery.runtime import get_key_delivery

    verifier = get_key_delivery()._verifier
    verify_tokens = {
        alg: [tok(alg, f"bench-verify-{i}") for i in range(POOL)] for alg in ("ES256", "RS256", "EdDSA", "HS256")
    }
    calls: dict[str, Any] = {name: (lambda item: app.lambda_handler(item[0], context)) for name in pools}
    items: dict[str, list[Any]] = dict(pools)
    for alg, tokens in verify_tokens.items():
        calls[f"verify_{alg.lower()}"] = verifier.verify
        items[f"verify_{alg.lower()}"] = tokens

    samples: dict[str, list[int]] = {name: [] for name in calls}
    cpu_samples: dict[str, list[int]] = {name: [] for name in calls}
    block_medians: dict[str, list[float]] = {name: [] for name in calls}
    calibration: list[float] = []
    perf, cpu = time.perf_counter_ns, time.thread_time_ns
    quiet()
    try:
        for name, call in calls.items():
            for i in range(WARMUP):
                call(items[name][i % POOL])
        gc.collect()
        for block in range(BLOCKS):
            calibration.append(_calibrate())
            size = max(1, BLOCK // scale)
            for name, call in calls.items():
                pool = items[name]
                block_out = []
                for i in range(size):
                    item = pool[(block * size + i) % POOL]
                    c0, t0 = cpu(), perf()
                    call(item)
                    t1, c1 = perf(), cpu()
                    samples[name].append(t1 - t0)
                    cpu_samples[name].append(c1 - c0)
                    block_out.append(t1 - t0)
                block_medians[name].append(sorted(block_out)[len(block_out) // 2] / 1e6)
    finally:
        loud()
    warm_aws_calls = aws_calls[0] - calls_at_warm
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    verification = {}
    quiet()
    try:
        for name, pool in pools.items():
            ok = True
            for event, keys in pool:
                result = app.lambda_handler(event, context)
                body = base64.b64decode(result["body"]) if result.get("isBase64Encoded") else result["body"].encode()
                if name.startswith("key_get"):
                    ok &= result["statusCode"] == 200 and body == next(iter(keys.values()))
                else:
                    got = {
                        uuid.UUID(bytes=base64.urlsafe_b64decode(e["kid"] + "==")): base64.urlsafe_b64decode(
                            e["k"] + "=="
                        )
                        for e in json.loads(body)["keys"]
                    }
                    ok &= result["statusCode"] == 200 and got == keys
            verification[name] = {"ok": bool(ok), "requests": len(pool)}
    finally:
        loud()

    result: dict[str, Any] = {
        "cases": {name: common.summarise_ns(samples[name], cpu_samples[name], block_medians[name]) for name in calls},
        "aws_calls_during_warmup": calls_at_warm,
        "aws_calls_during_timed_runs": warm_aws_calls,
        "peak_rss_mb": round(peak_rss_mb, 1),
        "calibration_ms": {
            "median": round(common.median(calibration), 3),
            "min": round(min(calibration), 3),
            "max": round(max(calibration), 3),
        },
        "verification": verification,
    }
    common.write_json(args.out, result)
    if warm_aws_calls:
        raise SystemExit(f"the warm key delivery path made {warm_aws_calls} AWS call(s)")


if __name__ == "__main__":
    main()
