"""Both Lambda handlers in-process: the SPEKE answer points at key delivery, and the key delivery function serves,
for the URI the answer signalled, the very key the answer gave - on the file, Secrets Manager (moto) and KMS
(moto) homes; HS256 tokens from a Secrets Manager secret; no token or key text in any log line."""

import base64
import importlib.util
import json
import sys
import uuid
from urllib.parse import urlsplit

import boto3
import defusedxml.ElementTree as ET
import pytest
from moto import mock_aws
from speke_keyprovider_tools.apigw_event import http_api_event
from speke_keyprovider_tools.client.request_builder import build_request
from speke_keyprovider_tools.client.response_reader import read_content_keys
from speke_keyprovider_tools.client.signalling import parse_hls_key_tag

from tests.conftest import MASTER_KEY, REPO, rest_event
from tests.delivery_support import HMAC_SECRET, b64url, token, trust_jwks

DELIVERY_HANDLER = REPO / "functions" / "key_delivery" / "app.py"
DELIVERY_URL = "https://delivery.example.test"
CPIX = "urn:dashif:org:cpix"
AES128 = "3ea8778f-7742-4bf9-b18b-e834b2acbd47"
CLEARKEY = "1077efec-c0b2-4d02-ace3-3c1e52e2fb4b"
_DELIVERY_APP = None


@pytest.fixture
def delivery_app(handler_env):
    global _DELIVERY_APP
    if _DELIVERY_APP is None:
        spec = importlib.util.spec_from_file_location("speke_delivery_app_under_test", DELIVERY_HANDLER)
        module = importlib.util.module_from_spec(spec)
        sys.modules["speke_delivery_app_under_test"] = module
        spec.loader.exec_module(module)
        _DELIVERY_APP = module
    return _DELIVERY_APP


@pytest.fixture
def delivery_env(handler_env):
    handler_env.setenv("KEY_DELIVERY", "aes128+clearkey")
    handler_env.setenv("KEY_DELIVERY_URL", DELIVERY_URL)
    handler_env.setenv("KEY_DELIVERY_JWKS", trust_jwks("ES256", "EdDSA"))
    handler_env.setenv("KEY_DELIVERY_ALLOWED_ORIGINS", "https://player.example")
    return handler_env


@pytest.fixture
def deliver(delivery_app, lambda_context):
    def _deliver(method, url_or_path, *, tok=None, body=None, headers=None, query=""):
        parts = urlsplit(url_or_path)
        headers = dict(headers or {})
        if tok is not None:
            headers["Authorization"] = f"Bearer {tok}"
        event = http_api_event(method, parts.path, headers=headers, body=body, query=query or parts.query)
        result = delivery_app.lambda_handler(event, lambda_context)
        raw = result.get("body") or ""
        payload = base64.b64decode(raw) if result.get("isBase64Encoded") else raw.encode()
        return result["statusCode"], result.get("headers") or {}, payload

    return _deliver


def speke_answer(invoke, content_id, drm_systems, scheme="cbcs", cert=None):
    built = build_request(
        content_id=content_id,
        video_preset="PRESET_VIDEO_2",
        audio_preset="PRESET_AUDIO_1",
        drm_systems=drm_systems,
        scheme=scheme,
        certificate_der=cert,
    )
    status, _, body = invoke(rest_event(built.xml))
    assert status == 200, body[:300]
    return built, body


def signalled(body: bytes, system_id: str, child: str) -> dict[str, str]:
    """kid -> decoded text of that DRMSystem child."""
    root = ET.fromstring(body)
    out = {}
    for system in root.iter(f"{{{CPIX}}}DRMSystem"):
        if system.get("systemId") == system_id:
            element = system.find(f"{{{CPIX}}}{child}")
            if element is not None:
                out[system.get("kid")] = base64.b64decode(element.text).decode()
    return out


def licence_url(fragment: str) -> str:
    root = ET.fromstring(f'<r xmlns:cenc="urn:mpeg:cenc:2013" xmlns:dashif="https://dashif.org/CPS">{fragment}</r>')
    (laurl,) = root.findall("{https://dashif.org/CPS}Laurl")
    return laurl.text


def check_keys_served(invoke, deliver, content_id, *, cert=None, private_key=None, tok=None):
    built, body = speke_answer(invoke, content_id, ["aes128", "clearkey"], cert=cert)
    keys = read_content_keys(body, private_key)
    assert len(keys) == len(built.keys) >= 2
    tok = tok or token(content_ids=[content_id])
    tags = signalled(body, AES128, "HLSSignalingData")
    for kid, text in tags.items():
        uri = parse_hls_key_tag(text).attributes["URI"]
        assert uri == f"{DELIVERY_URL}/keys/{content_id}/{kid}"
        status, headers, served = deliver("GET", uri, tok=tok)
        assert status == 200 and headers["Cache-Control"] == "no-store"
        assert served == keys[kid]
    fragments = signalled(body, CLEARKEY, "ContentProtectionData")
    urls = {licence_url(fragment) for fragment in fragments.values()}
    assert urls == {f"{DELIVERY_URL}/clearkey/{content_id}"}
    kids = [uuid.UUID(kid) for kid in fragments]
    request = json.dumps({"kids": [b64url(k.bytes) for k in kids], "type": "temporary"}).encode()
    status, _, licence = deliver("POST", urls.pop(), tok=tok, body=request)
    assert status == 200
    got = {str(uuid.UUID(bytes=base64.urlsafe_b64decode(e["kid"] + "=="))): e["k"] for e in json.loads(licence)["keys"]}
    assert got == {kid: b64url(keys[kid]) for kid in fragments}


def test_the_key_served_is_the_key_of_the_speke_answer(delivery_env, invoke, deliver):
    check_keys_served(invoke, deliver, "channel-1")


def test_encrypted_speke_answers_and_eddsa_tokens_too(
    delivery_env, invoke, deliver, delivery_cert_der, delivery_private_key
):
    check_keys_served(
        invoke,
        deliver,
        "channel-2",
        cert=delivery_cert_der,
        private_key=delivery_private_key,
        tok=token("EdDSA", content_ids=["channel-2"]),
    )


@pytest.fixture
def aws(monkeypatch):
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",  # pragma: allowlist secret
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield


def test_secrets_manager_home_and_an_hs256_token_secret(aws, delivery_env, invoke, deliver):
    master = boto3.client("secretsmanager").create_secret(Name="speke/master", SecretString=MASTER_KEY.decode())["ARN"]
    hs = boto3.client("secretsmanager").create_secret(Name="speke/tokens", SecretString=HMAC_SECRET.decode())["ARN"]
    delivery_env.setenv("KEY_SOURCE", "secretsmanager")
    delivery_env.setenv("MASTER_KEY_SECRET_ID", master)
    delivery_env.setenv("KEY_DELIVERY_HMAC_SECRET_ID", hs)
    check_keys_served(invoke, deliver, "channel-3", tok=token("HS256", content_ids=["channel-3"]))
    check_keys_served(invoke, deliver, "channel-3")  # the JWKS keys still count


def test_kms_home(aws, delivery_env, invoke, deliver):
    key_id = boto3.client("kms").create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["Arn"]
    delivery_env.setenv("KEY_SOURCE", "kms")
    delivery_env.setenv("KMS_HMAC_KEY_ID", key_id)
    check_keys_served(invoke, deliver, "channel-4")


def test_token_secret_unavailable_is_503(aws, delivery_env, deliver):
    delivery_env.setenv("KEY_DELIVERY_JWKS", "")
    delivery_env.setenv("KEY_DELIVERY_HMAC_SECRET_ID", "arn:aws:secretsmanager:us-east-1:123456789012:secret:missing")
    status, headers, body = deliver("GET", f"/keys/c/{uuid.uuid4()}", tok=token("HS256", content_ids=["c"]))
    assert status == 503 and headers["Retry-After"] == "5" and b"retry" in body


def test_master_unavailable_is_503(aws, delivery_env, deliver):
    delivery_env.setenv("KEY_SOURCE", "secretsmanager")
    delivery_env.setenv("MASTER_KEY_SECRET_ID", "arn:aws:secretsmanager:us-east-1:123456789012:secret:missing")
    status, headers, _ = deliver("GET", f"/keys/c/{uuid.uuid4()}", tok=token(content_ids=["c"]))
    assert status == 503 and headers["Retry-After"] == "5"


def test_the_speke_answer_is_unchanged_with_delivery_off(handler_env, invoke):
    _, body = speke_answer(invoke, "channel-5", ["aes128", "clearkey"])
    for text in signalled(body, AES128, "HLSSignalingData").values():
        assert parse_hls_key_tag(text).attributes["URI"].startswith("https://keys.example.com/channel-5/")
    for fragment in signalled(body, CLEARKEY, "ContentProtectionData").values():
        assert "Laurl" not in fragment


def test_the_delivery_function_refuses_to_start_with_delivery_off(handler_env, deliver):
    status, _, body = deliver("GET", f"/keys/c/{uuid.uuid4()}", tok=token(content_ids=["c"]))
    assert status == 500 and body == b"Internal error"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", f"/keys/c/{uuid.uuid4()}", 401),
        ("GET", "/elsewhere", 401),
        ("OPTIONS", "/keys/c/x", 204),
    ],
)
def test_refusals_through_the_handler(delivery_env, deliver, method, path, status):
    got, headers, _ = deliver(method, path, headers={"Origin": "https://player.example"})
    assert got == status and headers["Cache-Control"] == "no-store"
    assert headers["Access-Control-Allow-Origin"] == "https://player.example"
    if status == 401:
        assert headers["WWW-Authenticate"].startswith("Bearer")


def test_log_lines_carry_the_decision_and_never_the_token(delivery_env, deliver, caplog):
    tok = token(content_ids=["c"], subject="viewer-9")
    kid = uuid.uuid4()
    assert deliver("GET", f"/keys/c/{kid}", tok=tok)[0] == 200
    assert deliver("GET", f"/keys/other/{kid}", query=f"token={tok}")[0] == 403
    lines = [dict(record.__dict__, message=record.getMessage()) for record in caplog.records]
    decisions = [line for line in lines if line["message"].startswith("key delivery")]
    assert [(d["decision"], d["status"]) for d in decisions] == [("served", 200), ("refused", 403)]
    assert all(d["sub"] == "viewer-9" and d["jti"] for d in decisions)
    assert decisions[1]["token_source"] == "query" and decisions[1]["reason"] == "not_entitled"
    text = json.dumps(lines, default=repr)
    assert tok not in text and tok.split(".")[2] not in text
