"""Side by side with the AWS SPEKE reference server: both handlers in one process, on the same requests.

    python bench/reference.py OUT.json --reference DIR [--quick]      (run by ``bench/run.py --reference DIR``)

DIR is a checkout of https://github.com/awslabs/speke-reference-server (never vendored: clone or unpack it
anywhere outside this repository). Its Lambda entry point ``key_server.server_handler`` is imported from
``DIR/src`` with AWS stubbed: ``boto3.client`` returns an in-memory stand-in (S3 ``put_object`` accepted,
Secrets Manager answering "not found" once per content id, then ``get_random_password`` /
``create_secret``), so what is timed is the reference's own work: ElementTree parse, PBKDF2 key
generation (its per content id secret cached in ``/tmp/speke.<content id>`` as it does on Lambda),
wrapping, ``ElementTree.tostring``, and its two ``print`` calls. Its DRM signalling comes from environment
variables; they are set to this provider's own signalling values for the same request, so both answers
have the same size.

The request is the reference's own SPEKE v2 example (``tests/server_api_body_spekev2.xml``: two keys,
Widevine + PlayReady + FairPlay, PSSH / ContentProtectionData / HLS signalling) with
``commonEncryptionScheme`` changed from ``cenc`` to ``cbcs`` (FairPlay needs cbcs; with cenc this provider
refuses it with 422); the encrypted variant adds one DeliveryData with the bench delivery certificate.
Each variant cycles through 16 copies with fresh KIDs and content ids. This provider is timed through its
real ``lambda_handler`` (Powertools, file key home), the reference through ``server_handler``; blocks
are interleaved (variant x server), stdout of both goes to /dev/null at the file-descriptor level.
This provider's answers are then checked by the client conformance checker and the CPIX XSD.
"""

from __future__ import annotations

import argparse
import base64
import gc
import importlib
import os
import re
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common

POOL = 16
REFERENCE_SECRET_DIR = Path("/tmp")  # noqa: S108 - where the reference keeps its per content id secrets
BLOCKS = 10
OURS_PER_BLOCK = 300
REFERENCE_PER_BLOCK = 30
REFERENCE_REQUEST = Path("tests") / "server_api_body_spekev2.xml"
REFERENCE_KIDS = ("0f083e4e-b831-4a3d-917e-ce78076e54aa", "041fdd3a-7f5e-4848-a7cb-65e97758e9a0")
REFERENCE_CONTENT_ID = "cenc_test_001"
WIDEVINE = "edef8ba9-79d6-4ace-a3c8-27dcd51d21ed"
PLAYREADY = "9a04f079-9840-4286-ab92-e65be0885f95"
FAIRPLAY = "94ce86fb-07ff-4f43-adb8-93d2fa968ca2"


def reference_requests(reference: Path, *, encrypted: bool) -> list[Any]:
    """16 copies of the reference's own v2 request (cbcs), fresh KIDs and content ids, as ``BuiltRequest``s
    (the description the conformance checker compares an answer with)."""
    from speke_keyprovider_tools.client.request_builder import BuiltRequest, RequestedKey, RequestedSystem

    template = (reference / REFERENCE_REQUEST).read_text()
    template = template.replace('commonEncryptionScheme="cenc"', 'commonEncryptionScheme="cbcs"')
    if encrypted:
        cert = base64.b64encode(common.CERT_DER.read_bytes()).decode()
        delivery = (
            '<cpix:DeliveryDataList><cpix:DeliveryData id="bench-encryptor"><cpix:DeliveryKey><ds:X509Data>'
            f"<ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></cpix:DeliveryKey></cpix:DeliveryData>"
            "</cpix:DeliveryDataList>\n    "
        )
        template = template.replace("<cpix:ContentKeyList>", delivery + "<cpix:ContentKeyList>", 1)
    children = {
        WIDEVINE: ("PSSH", "ContentProtectionData"),
        PLAYREADY: ("PSSH", "ContentProtectionData", "HLSSignalingData:media", "HLSSignalingData:master"),
        FAIRPLAY: ("HLSSignalingData:media", "HLSSignalingData:master"),
    }
    built = []
    for i in range(POOL):
        kids = [uuid.uuid4(), uuid.uuid4()]
        content_id = f"bench-reference-{'enc' if encrypted else 'clear'}-{i}"
        xml = template.replace(REFERENCE_CONTENT_ID, content_id)
        for old, new in zip(REFERENCE_KIDS, kids, strict=True):
            xml = xml.replace(old, str(new))
        built.append(
            BuiltRequest(
                xml=xml.encode(),
                content_id=content_id,
                scheme="cbcs",
                keys=[RequestedKey(kids[0], "VIDEO", None, None), RequestedKey(kids[1], "AUDIO", None, None)],
                systems=[RequestedSystem(kid, sid, names) for sid, names in children.items() for kid in kids],
                certificate_der=common.CERT_DER.read_bytes() if encrypted else None,
            )
        )
    return built


class _StubAws:
    """What the reference asks of boto3 (S3 put_object, Secrets Manager), answered in memory."""

    class exceptions:
        pass

    def __init__(self) -> None:
        self.secrets: dict[str, str] = {}

    def put_object(self, **_: Any) -> dict[str, Any]:
        return {}

    def get_secret_value(self, SecretId: str) -> dict[str, str]:
        from botocore.exceptions import ClientError

        if SecretId not in self.secrets:
            raise ClientError({"Error": {"Code": "ResourceNotFoundException", "Message": "none"}}, "GetSecretValue")
        return {"SecretString": self.secrets[SecretId]}

    def get_random_password(self, PasswordLength: int) -> dict[str, str]:
        return {"RandomPassword": base64.b64encode(os.urandom(PasswordLength)).decode()[:PasswordLength]}

    def create_secret(self, Name: str, SecretString: str, **_: Any) -> dict[str, str]:
        self.secrets[Name] = SecretString
        return {"Name": Name}


def load_reference(reference: Path, signalling: dict[str, str]) -> Any:
    """``key_server.server_handler`` from the checkout, AWS stubbed, signalling from ``signalling``."""
    import boto3

    stub = _StubAws()
    boto3.client = lambda *args, **kwargs: stub  # type: ignore[assignment]
    os.environ.update(
        {
            "KEYSTORE_BUCKET": "bench-reference-keys",
            "KEYSTORE_URL": "https://bench-reference-keys.s3.amazonaws.com",
            "PLAYREADY_CONTENT_KEY": "",
            "PLAYREADY_PROTECTION_HEADER": "",
            "WIDEVINE_PROTECTION_HEADER": "",
            **signalling,
        }
    )
    sys.path.insert(0, str(reference / "src"))
    return importlib.import_module("key_server").server_handler


def signalling_env(answer: bytes) -> dict[str, str]:
    """The reference's signalling variables, filled with this provider's values for the same request."""
    from defusedxml import ElementTree as ET

    cpix = "{urn:dashif:org:cpix}"
    names = {WIDEVINE: "WIDEVINE", PLAYREADY: "PLAYREADY", FAIRPLAY: "FAIRPLAY"}
    env = {}
    for system in ET.fromstring(answer).iter(f"{cpix}DRMSystem"):
        name = names[system.get("systemId", "").lower()]
        for child in system:
            local = child.tag.rsplit("}", 1)[-1]
            if local == "PSSH":
                env[f"{name}_PSSH_BOX"] = child.text or ""
            elif local == "ContentProtectionData":
                env[f"{name}_CONTENT_PROTECTION_DATA"] = child.text or ""
            elif local == "HLSSignalingData":
                env[f"{name}_HLS_SIGNALING_DATA_{child.get('playlist', '').upper()}"] = child.text or ""
    for name in names.values():
        for suffix in (
            "PSSH_BOX",
            "CONTENT_PROTECTION_DATA",
            "HLS_SIGNALING_DATA_MEDIA",
            "HLS_SIGNALING_DATA_MASTER",
        ):
            env.setdefault(f"{name}_{suffix}", "")
    return env


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--reference", type=Path, required=True, help="a checkout of awslabs/speke-reference-server")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    reference = args.reference.resolve()
    if not (reference / "src" / "key_server.py").is_file() or not (reference / REFERENCE_REQUEST).is_file():
        raise SystemExit(f"{reference} is not a checkout of awslabs/speke-reference-server")
    scale = 5 if args.quick else 1

    variants = {"clear": reference_requests(reference, encrypted=False)}
    variants["encrypted"] = reference_requests(reference, encrypted=True)
    ours_events = {name: [common.rest_event(b.xml) for b in pool] for name, pool in variants.items()}
    ref_events = {
        name: [{"body": b.xml.decode(), "isBase64Encoded": False, "headers": {"x-speke-version": "2.0"}} for b in pool]
        for name, pool in variants.items()
    }

    sys.path.insert(0, str(common.HANDLER_DIR))
    app = importlib.import_module("app")
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
        first = app.lambda_handler(ours_events["clear"][0], context)
    finally:
        loud()
    if first["statusCode"] != 200:
        raise SystemExit(f"this provider refused the reference request: {first['statusCode']} {first['body']}")
    server_handler = load_reference(reference, signalling_env(first["body"].encode()))

    targets = {
        "this": lambda name, i: app.lambda_handler(ours_events[name][i % POOL], context),
        "reference": lambda name, i: server_handler(ref_events[name][i % POOL], None),
    }
    per_block = {"this": max(1, OURS_PER_BLOCK // scale), "reference": max(1, REFERENCE_PER_BLOCK // scale)}
    samples: dict[str, dict[str, list[int]]] = {t: {v: [] for v in variants} for t in targets}
    statuses: dict[str, set[int]] = {t: set() for t in targets}
    perf = time.perf_counter_ns
    quiet()
    try:
        for target, call in targets.items():  # warm-up: every path, caches, the reference's /tmp secrets
            for name in variants:
                for i in range(2 * POOL):
                    statuses[target].add(call(name, i)["statusCode"])
        gc.collect()
        for block in range(BLOCKS):
            for name in variants:
                for target, call in targets.items():
                    out = samples[target][name]
                    for i in range(per_block[target]):
                        t0 = perf()
                        result = call(name, block * per_block[target] + i)
                        out.append(perf() - t0)
                    statuses[target].add(result["statusCode"])
    finally:
        loud()
        for i in range(POOL):
            for name in variants:
                secret = f"speke.bench-reference-{'enc' if name == 'encrypted' else 'clear'}-{i}"
                (REFERENCE_SECRET_DIR / secret).unlink(missing_ok=True)

    quiet()
    try:
        verification = _verify(app, context, variants)
    finally:
        loud()
    result: dict[str, Any] = {
        "reference": _describe(reference),
        "request": "the reference's tests/server_api_body_spekev2.xml (2 keys; Widevine + PlayReady + FairPlay), "
        "commonEncryptionScheme cenc -> cbcs; encrypted: plus one DeliveryData (bench delivery certificate)",
        "request_bytes": {name: len(pool[0].xml) for name, pool in variants.items()},
        "statuses": {t: sorted(s) for t, s in statuses.items()},
        "verification": verification,
        "variants": {},
    }
    for name in variants:
        this = common.summarise_ns(samples["this"][name])
        ref = common.summarise_ns(samples["reference"][name])
        result["variants"][name] = {
            "this": this,
            "reference": ref,
            "ratio_median": round(ref["median_ms"] / this["median_ms"], 1),
            "ratio_p99": round(ref["p99_ms"] / this["p99_ms"], 1),
        }
    common.write_json(args.out, result)
    if statuses["reference"] != {200} or statuses["this"] != {200}:
        raise SystemExit(f"unexpected statuses {statuses}")


def _verify(app: Any, context: Any, variants: dict[str, list[Any]]) -> dict[str, Any]:
    """This provider's answer to each variant: conformance checker (MACs, decryption, signalling) and XSD."""
    from cryptography.hazmat.primitives.serialization import load_pem_private_key
    from speke_keyprovider_tools.client.conformance import check_response

    private_key = load_pem_private_key(common.CERT_KEY_PEM.read_bytes(), password=None)
    try:
        import xmlschema

        schema = xmlschema.XMLSchema(str(common.CPIX_XSD))
    except Exception:
        schema = None
    out = {}
    for name, pool in variants.items():
        built = pool[1]
        answer = app.lambda_handler(common.rest_event(built.xml), context)
        body = answer["body"].encode()
        headers = dict(answer.get("headers") or {})
        for header, values in (answer.get("multiValueHeaders") or {}).items():
            headers.setdefault(header, ", ".join(values))
        report = check_response(built, answer["statusCode"], headers, body, private_key)
        problems = list(report.violations)
        if schema is not None:
            problems.extend(f"XSD: {e.reason}" for e in list(schema.iter_errors(body.decode()))[:3])
        out[name] = {"ok": not problems, "problems": problems[:5], "keys_checked": len(report.keys)}
    return out


def _describe(reference: Path) -> dict[str, Any]:
    import subprocess

    command = ["git", "-C", str(reference), "rev-parse", "--short", "HEAD"]
    commit = subprocess.run(command, capture_output=True, text=True, check=False).stdout.strip()  # noqa: S603
    version = re.search(r"cryptography==([\d.]+)", (reference / "requirements.txt").read_text(errors="replace"))
    return {
        "path": str(reference),
        "commit": commit or None,
        "handler": "src/key_server.py server_handler",
        "its_pinned_cryptography": version.group(1) if version else None,
        "aws": "stubbed: boto3.client returns an in-memory S3 / Secrets Manager stand-in",
    }


if __name__ == "__main__":
    main()
