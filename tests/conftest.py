"""Shared fixtures: paths, the test vectors' master key, the test delivery certificate, a LambdaContext,
an API Gateway REST proxy event factory, and the handler loaded with a clean runtime per test."""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from hypothesis import settings
from speke_keyprovider_tools.apigw_event import DEFAULT_CALLER_ARN, rest_proxy_event

from tests import hypothesis_profiles

pytest_plugins = ["tests.leakcheck"]  # no key material in any log line of the whole session

settings.load_profile(hypothesis_profiles.PROFILE)  # derandomized under CI: see tests/hypothesis_profiles.py

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
DASHIF = FIXTURES / "dashif"  # DASH-IF CPIX test vectors (MIT, see its LICENSE)
CPIX_XSD = FIXTURES / "cpix-xsd" / "cpix.xsd"  # CPIX 2.3.1 and the schemas it imports (see NOTICE)
CERTS = FIXTURES / "certs"
EVENTS = REPO / "events"
HANDLER_PATH = REPO / "functions" / "key_provider" / "app.py"

# Contract section 5 test vectors: K_master and the keys it must give (one fixture, read by tests, bench, fuzz).
KDF_VECTORS = FIXTURES / "kdf" / "vectors.json"
_KDF = json.loads(KDF_VECTORS.read_text())
MASTER_KEY: bytes = _KDF["master_key"].encode()
DERIVATION_VECTORS: list[tuple[str, str, str]] = [(v["content_id"], v["kid"], v["cek"]) for v in _KDF["vectors"]]
CALLER_ARN = DEFAULT_CALLER_ARN


@pytest.fixture(scope="session")
def delivery_cert_der() -> bytes:
    return (CERTS / "delivery.cert.der").read_bytes()


@pytest.fixture(scope="session")
def delivery_private_key():
    return load_pem_private_key((CERTS / "delivery.key.pem").read_bytes(), password=None)


@dataclass
class FakeLambdaContext:
    function_name: str = "speke-keyprovider-test"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:111122223333:function:speke-keyprovider-test"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"

    def get_remaining_time_in_millis(self) -> int:
        return 29_000


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext(aws_request_id=str(uuid.uuid4()))


def rest_event(
    body: bytes | str | None,
    *,
    headers: dict[str, str] | None = None,
    base64_body: bool = False,
    caller_arn: str | None = CALLER_ARN,
    method: str = "POST",
    path: str = "/copyProtection",
) -> dict[str, Any]:
    """An API Gateway REST proxy event for an IAM-authorised call (``caller_arn=None``: no identity)."""
    return rest_proxy_event(
        body, headers=headers, base64_body=base64_body, caller_arn=caller_arn, method=method, path=path
    )


@pytest.fixture
def make_event():
    return rest_event


@pytest.fixture
def master_key_file(tmp_path: Path) -> Path:
    path = tmp_path / "master.key"
    path.write_bytes(MASTER_KEY + b"\n")
    return path


@pytest.fixture
def clean_env(monkeypatch):
    """No key-home or trust settings from the caller's environment (CLI tests)."""
    for name in (
        "KEY_SOURCE",
        "MASTER_KEY_FILE",
        "MASTER_KEY_SECRET_ID",
        "KMS_HMAC_KEY_ID",
        "TRUSTED_CERT_SHA256",
    ):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture
def handler_env(monkeypatch: pytest.MonkeyPatch, master_key_file: Path) -> pytest.MonkeyPatch:
    """Environment of a function on the file key home; tests add or override settings."""
    for name in (
        "KEY_SOURCE",
        "MASTER_KEY_SECRET_ID",
        "KMS_HMAC_KEY_ID",
        "TRUSTED_CERT_SHA256",
        "REQUIRE_ENCRYPTED_KEYS",
        "ALLOWED_CALLER_ARNS",
        "DERIVED_EXPLICIT_IV",
        "XRAY_TRACING",
        "AES128_KEY_URI_TEMPLATE",
    ):
        monkeypatch.delenv(name, raising=False)
    for name in [name for name in os.environ if name.startswith("KEY_DELIVERY")]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KEY_SOURCE", "file")
    monkeypatch.setenv("MASTER_KEY_FILE", str(master_key_file))
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "SpekeKeyProviderTest")
    return monkeypatch


def _load_app():
    spec = importlib.util.spec_from_file_location("speke_app_under_test", HANDLER_PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules["speke_app_under_test"] = module
    spec.loader.exec_module(module)
    return module


_APP = None


@pytest.fixture
def app(handler_env):
    """The function module, with a runtime rebuilt from this test's environment."""
    global _APP
    if _APP is None:
        _APP = _load_app()
    return _APP


@pytest.fixture
def invoke(app, lambda_context):
    """Call the handler with an event; returns (status, headers, body bytes)."""

    def _invoke(event: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        result = app.lambda_handler(event, lambda_context)
        body = result.get("body") or ""
        raw = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode("utf-8")
        headers = dict(result.get("headers") or {})
        for name, values in (result.get("multiValueHeaders") or {}).items():
            headers.setdefault(name, ", ".join(values))
        return result["statusCode"], headers, raw

    return _invoke


@pytest.fixture(autouse=True)
def _clean_runtime():
    """Rebuild lazily created runtime (settings, clients, caches) around every test."""
    from speke_keyprovider import runtime, trust
    from speke_keyprovider.delivery.runtime import reset_key_delivery

    runtime.reset_runtime()
    reset_key_delivery()
    trust._load.cache_clear()
    yield
    runtime.reset_runtime()
    reset_key_delivery()


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


# Test tiers come from the directory a test lives in: tests/<tier>/test_*.py is marked <tier>.
TIERS = ("unit", "integration", "http", "infra", "e2e", "fuzz", "browser")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    tests_root = Path(__file__).resolve().parent
    for item in items:
        parts = Path(str(item.path)).resolve().relative_to(tests_root).parts
        tier = parts[0] if len(parts) > 1 else None
        if tier not in TIERS:
            raise pytest.UsageError(f"{item.nodeid}: tests live in tests/<tier>/ with a tier of {', '.join(TIERS)}")
        item.add_marker(getattr(pytest.mark, tier))
