"""Fault injection through the handler: Secrets Manager and KMS throttled, timing out, refusing us
(AccessDenied), missing the secret / key, holding a secret too short, then coming back.

Every fault must give a 503 with ``Retry-After`` and a short generic text — or, when a master key / CEK
was fetched before, the same keys from the cache within the grace period — never a different key,
never key material or a stack in the body or in the handler's log lines, and normal service as soon as
the dependency returns.

AWS is moto (``mock_aws``); faults are injected on the client's ``before-call`` event (the call then
never reaches moto, exactly as botocore's Stubber does it) or, for the retry test, on ``before-send``
so botocore's own retries run. The adapters are built with a fake clock (``clock=``) and the test's
client through ``runtime.build_key_source``; Powertools' own time-based parameter cache is put on the
same fake clock, so one clock decides TTL and grace whichever layer enforces them.
"""

from __future__ import annotations

import base64
import itertools
import json
import uuid
from collections import Counter
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError
from moto import mock_aws
from speke_keyprovider import runtime
from speke_keyprovider.aws_key_sources import CLIENT_CONFIG, KmsDerivedKeys, SecretsManagerMasterKey
from speke_keyprovider.key_derivation import derivation_message, derive_cek
from speke_keyprovider_tools.client.request_builder import build_request
from speke_keyprovider_tools.client.response_reader import read_content_keys

from tests.conftest import DERIVATION_VECTORS, MASTER_KEY, rest_event

REGION = "us-east-1"
SECRET_ID = "speke/master-key"
TTL = 300
GRACE = 3600
CONTENT_ID = "test_case_generic"
KIDS = [uuid.UUID(kid) for cid, kid, _ in DERIVATION_VECTORS if cid == CONTENT_ID]
EXPECTED = {str(uuid.UUID(kid)): bytes.fromhex(cek) for cid, kid, cek in DERIVATION_VECTORS if cid == CONTENT_ID}
GENERIC_503 = "Key backend unavailable, retry later"


# --- the fault switch -----------------------------------------------------------------------------

_CLIENT_ERRORS = {
    # name: (error code, HTTP status)
    "throttling": ("ThrottlingException", 400),
    "too-many-requests": ("TooManyRequestsException", 429),
    "access-denied": ("AccessDeniedException", 400),
    "sm-internal": ("InternalServiceError", 500),
    "sm-decryption-failure": ("DecryptionFailure", 400),
    "kms-internal": ("KMSInternalException", 500),
    "kms-disabled": ("DisabledException", 400),
    "kms-unavailable": ("KeyUnavailableException", 500),
    "kms-invalid-state": ("KMSInvalidStateException", 400),
}
_NETWORK_ERRORS = {
    "read-timeout": ReadTimeoutError,
    "connect-timeout": ConnectTimeoutError,
    "no-endpoint": EndpointConnectionError,
}


class Faults:
    """A switch on a botocore client: ``fault`` = None (pass to moto) or a name from the tables above.
    ``fail_calls`` limits the fault to those call numbers (1-based) of the operation."""

    def __init__(self) -> None:
        self.fault: str | None = None
        self.fail_calls: set[int] | None = None
        self.calls: Counter[str] = Counter()
        self.params: list[dict[str, Any]] = []

    def attach(self, client: Any) -> Any:
        client.meta.events.register("before-parameter-build", self._record)
        client.meta.events.register("before-call", self._before_call)
        return client

    def _record(self, params: dict[str, Any], **_: Any) -> None:
        self.params.append(dict(params))

    def _before_call(self, model: Any, **_: Any) -> Any:
        self.calls[model.name] += 1
        if self.fault is None or (self.fail_calls is not None and self.calls[model.name] not in self.fail_calls):
            return None
        if self.fault in _NETWORK_ERRORS:
            raise _NETWORK_ERRORS[self.fault](
                endpoint_url=f"https://{model.metadata['endpointPrefix']}.{REGION}.amazonaws.com"
            )
        code, status = _CLIENT_ERRORS[self.fault]
        return (
            AWSResponse(None, status, {}, None),  # type: ignore[arg-type]
            {
                "Error": {"Code": code, "Message": "injected fault"},
                "ResponseMetadata": {"HTTPStatusCode": status, "RequestId": "fault"},
            },
        )


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


# --- fixtures -------------------------------------------------------------------------------------


@pytest.fixture
def aws(monkeypatch):
    for name, value in {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",  # pragma: allowlist secret - moto dummy credential
        "AWS_SESSION_TOKEN": "testing",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def faults():
    return Faults()


@pytest.fixture
def powertools_on_the_fake_clock(clock, monkeypatch):
    """Powertools caches parameters by wall-clock time; put its cache on the test's fake clock too, so
    TTL and grace follow one clock whichever layer (Powertools or the adapter) enforces them."""
    from aws_lambda_powertools.utilities import parameters

    class FakeClockSecretsProvider(parameters.SecretsProvider):
        def add_to_cache(self, key: tuple, value: Any, max_age: int) -> None:
            if max_age > 0:
                self.store[key] = (value, clock.now + max_age)  # type: ignore[assignment]

        def has_not_expired_in_cache(self, key: tuple) -> bool:
            return key in self.store and self.store[key][1] > clock.now  # type: ignore[operator]

        def fetch_from_cache(self, key: tuple) -> Any:
            return self.store[key][0] if key in self.store else {}

    monkeypatch.setattr(parameters, "SecretsProvider", FakeClockSecretsProvider)


@pytest.fixture
def secrets_manager(aws, app, handler_env, clock, faults, powertools_on_the_fake_clock, monkeypatch):
    """The function on the Secrets Manager key home (moto), with the fault switch and the fake clock."""
    client = faults.attach(boto3.session.Session().client("secretsmanager", config=CLIENT_CONFIG))
    client.create_secret(Name=SECRET_ID, SecretString=MASTER_KEY.decode())
    handler_env.setenv("KEY_SOURCE", "secretsmanager")
    handler_env.setenv("MASTER_KEY_SECRET_ID", SECRET_ID)
    handler_env.setenv("MASTER_KEY_CACHE_TTL_SECONDS", str(TTL))
    handler_env.setenv("MASTER_KEY_GRACE_SECONDS", str(GRACE))
    built: list[SecretsManagerMasterKey] = []

    def build(settings):
        source = SecretsManagerMasterKey(
            settings.master_key_secret_id,
            ttl=settings.master_key_cache_ttl_seconds,
            grace=settings.master_key_grace_seconds,
            client=client,
            clock=clock,
        )
        built.append(source)
        return source

    monkeypatch.setattr(runtime, "build_key_source", build)
    return client


@pytest.fixture
def kms(aws, app, handler_env, clock, faults, monkeypatch):
    """The function on the KMS key home (moto HMAC_256 key holding the test-vector master key)."""
    client = faults.attach(boto3.session.Session().client("kms", config=CLIENT_CONFIG))
    key_id = client.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["KeyId"]
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.kms.models import kms_backends

    kms_backends[DEFAULT_ACCOUNT_ID][REGION].keys[key_id].key_material = MASTER_KEY  # moto has no ImportKeyMaterial
    handler_env.setenv("KEY_SOURCE", "kms")
    handler_env.setenv("KMS_HMAC_KEY_ID", key_id)
    handler_env.setenv("CEK_CACHE_TTL_SECONDS", str(TTL))
    handler_env.setenv("MASTER_KEY_GRACE_SECONDS", str(GRACE))

    def build(settings):
        return KmsDerivedKeys(
            settings.kms_hmac_key_id,
            ttl=settings.cek_cache_ttl_seconds,
            grace=settings.master_key_grace_seconds,
            client=client,
            clock=clock,
        )

    monkeypatch.setattr(runtime, "build_key_source", build)
    return client


# --- helpers --------------------------------------------------------------------------------------


def _request(kids=KIDS, *, encrypted_for: bytes | None = None) -> bytes:
    audio = "PRESET_AUDIO_1" if len(kids) == 2 else "UNENCRYPTED"
    return build_request(
        content_id=CONTENT_ID,
        video_preset="PRESET_VIDEO_1",
        audio_preset=audio,
        drm_systems=["widevine", "playready"],
        scheme="cenc",
        kids=kids,
        certificate_der=encrypted_for,
    ).xml


def _secret_forms(*secrets: bytes) -> list[bytes]:
    forms = []
    for secret in secrets:
        forms += [
            secret,
            secret.hex().encode(),
            base64.b64encode(secret),
            base64.b64encode(secret).rstrip(b"="),
        ]
    return forms


ALL_SECRETS = _secret_forms(MASTER_KEY, *EXPECTED.values(), b"too-short-secret")


def _assert_503(status: int, headers: dict[str, str], body: bytes, output: str) -> None:
    assert status == 503, body[:300]
    assert headers.get("Retry-After", "").isdigit() and int(headers["Retry-After"]) > 0
    assert body.decode() == GENERIC_503
    shown_headers = json.dumps(headers)
    for form in ALL_SECRETS:
        assert form not in body
        assert form.decode("latin-1") not in output, "key material in the handler's output"
        assert form.decode("latin-1") not in shown_headers, "key material in a response header"
    for marker in ("Traceback", "Exception", "botocore", 'File "'):
        assert marker not in body.decode()
    assert "Traceback" not in output


def _assert_keys(status: int, body: bytes, expected: dict[str, bytes] = EXPECTED, private_key=None) -> None:
    assert status == 200, body[:300]
    assert read_content_keys(body, private_key) == expected


# --- Secrets Manager ------------------------------------------------------------------------------

SM_FAULTS = [
    "throttling",
    "too-many-requests",
    "access-denied",
    "sm-internal",
    "sm-decryption-failure",
    "read-timeout",
    "connect-timeout",
    "no-endpoint",
]


@pytest.mark.parametrize("fault", SM_FAULTS)
def test_secrets_manager_fault_on_a_cold_start_is_503(secrets_manager, faults, invoke, capsys, fault):
    faults.fault = fault
    status, headers, body = invoke(rest_event(_request()))
    _assert_503(status, headers, body, capsys.readouterr().out)
    assert faults.calls["GetSecretValue"] >= 1


def test_missing_secret_is_503(secrets_manager, faults, invoke, capsys):
    secrets_manager.delete_secret(SecretId=SECRET_ID, ForceDeleteWithoutRecovery=True)
    status, headers, body = invoke(rest_event(_request()))
    _assert_503(status, headers, body, capsys.readouterr().out)


def test_secret_too_short_is_503_and_never_used(secrets_manager, invoke, capsys):
    secrets_manager.put_secret_value(SecretId=SECRET_ID, SecretString="too-short-secret")
    status, headers, body = invoke(rest_event(_request()))
    _assert_503(status, headers, body, capsys.readouterr().out)


@pytest.mark.parametrize("fault", ["throttling", "read-timeout", "access-denied"])
def test_secrets_manager_fault_within_grace_serves_the_cached_master(
    secrets_manager, faults, clock, invoke, capsys, fault
):
    status, _, body = invoke(rest_event(_request()))
    _assert_keys(status, body)
    calls = faults.calls["GetSecretValue"]

    clock.advance(TTL + 1)  # the cache is stale: a refresh is due, and it fails
    faults.fault = fault
    status, _, body = invoke(rest_event(_request()))
    _assert_keys(status, body)  # the same keys, from the cached master
    assert faults.calls["GetSecretValue"] > calls, "the refresh was not even tried"

    clock.advance(GRACE)  # past TTL + grace: no more serving from the cache
    status, headers, body = invoke(rest_event(_request()))
    _assert_503(status, headers, body, capsys.readouterr().out)

    faults.fault = None  # the dependency is back
    status, _, body = invoke(rest_event(_request()))
    _assert_keys(status, body)
    calls = faults.calls["GetSecretValue"]
    status, _, body = invoke(rest_event(_request()))
    _assert_keys(status, body)
    assert faults.calls["GetSecretValue"] == calls, "a fresh master must be served from the cache"


def test_secret_rotated_to_a_too_short_value_keeps_the_cached_master_then_503(secrets_manager, clock, invoke, capsys):
    status, _, body = invoke(rest_event(_request()))
    _assert_keys(status, body)
    secrets_manager.put_secret_value(SecretId=SECRET_ID, SecretString="too-short-secret")
    clock.advance(TTL + 1)
    status, _, body = invoke(rest_event(_request()))
    _assert_keys(status, body)  # never keys derived from the short value
    clock.advance(GRACE)
    status, headers, body = invoke(rest_event(_request()))
    _assert_503(status, headers, body, capsys.readouterr().out)
    secrets_manager.put_secret_value(SecretId=SECRET_ID, SecretString=MASTER_KEY.decode())
    clock.advance(TTL + 1)  # the bad value may stay cached for one TTL; then the good one is back
    status, _, body = invoke(rest_event(_request()))
    _assert_keys(status, body)


def test_secrets_manager_recovers_after_a_cold_outage(
    secrets_manager, faults, invoke, delivery_cert_der, delivery_private_key, capsys
):
    faults.fault = "connect-timeout"
    for _ in range(3):
        status, headers, body = invoke(rest_event(_request()))
        _assert_503(status, headers, body, capsys.readouterr().out)
    faults.fault = None
    status, _, body = invoke(rest_event(_request(encrypted_for=delivery_cert_der)))
    _assert_keys(status, body, private_key=delivery_private_key)


# --- KMS ------------------------------------------------------------------------------------------

KMS_FAULTS = [
    "throttling",
    "access-denied",
    "kms-internal",
    "kms-disabled",
    "kms-unavailable",
    "kms-invalid-state",
    "read-timeout",
    "connect-timeout",
    "no-endpoint",
]


def test_kms_answers_the_derivation_vectors_with_the_exact_request(kms, faults, invoke):
    status, _, body = invoke(rest_event(_request()))
    _assert_keys(status, body)
    sent = sorted((p["MacAlgorithm"], p["Message"]) for p in faults.params if "MacAlgorithm" in p)
    assert sent == sorted(("HMAC_SHA_256", derivation_message(CONTENT_ID, kid)) for kid in KIDS)


@pytest.mark.parametrize("fault", KMS_FAULTS)
def test_kms_fault_on_a_cold_start_is_503(kms, faults, invoke, capsys, fault):
    faults.fault = fault
    status, headers, body = invoke(rest_event(_request()))
    _assert_503(status, headers, body, capsys.readouterr().out)
    assert faults.calls["GenerateMac"] >= 1


def test_missing_kms_key_is_503(kms, handler_env, invoke, capsys):
    handler_env.setenv("KMS_HMAC_KEY_ID", str(uuid.uuid4()))
    status, headers, body = invoke(rest_event(_request()))
    _assert_503(status, headers, body, capsys.readouterr().out)


def test_kms_key_of_the_wrong_kind_is_503(kms, handler_env, invoke, capsys):
    symmetric = kms.create_key(KeySpec="SYMMETRIC_DEFAULT", KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]["KeyId"]
    handler_env.setenv("KMS_HMAC_KEY_ID", symmetric)
    status, headers, body = invoke(rest_event(_request()))
    _assert_503(status, headers, body, capsys.readouterr().out)


def test_kms_fails_for_one_key_of_many_gives_503_not_a_partial_answer(kms, faults, invoke, capsys):
    kids = [uuid.uuid5(uuid.NAMESPACE_URL, f"kms-partial/{n}") for n in range(2)]
    request = build_request(
        content_id=CONTENT_ID,
        video_preset="PRESET_VIDEO_3",
        audio_preset="PRESET_AUDIO_2",
        drm_systems=["widevine"],
        scheme="cenc",
        kids=[*kids, *(uuid.uuid5(uuid.NAMESPACE_URL, f"kms-partial/x{n}") for n in range(3))],
    ).xml
    faults.fault, faults.fail_calls = "throttling", {3}
    status, headers, body = invoke(rest_event(request))
    _assert_503(status, headers, body, capsys.readouterr().out)
    faults.fault = None
    status, _, body = invoke(rest_event(request))
    assert status == 200, body[:300]
    keys = read_content_keys(body)
    assert keys == {kid: derive_cek(MASTER_KEY, CONTENT_ID, uuid.UUID(kid)) for kid in keys} and len(keys) == 5


@pytest.mark.parametrize("fault", ["throttling", "read-timeout", "access-denied"])
def test_kms_fault_within_grace_serves_cached_keys_and_refuses_new_ones(kms, faults, clock, invoke, capsys, fault):
    status, _, body = invoke(rest_event(_request()))
    _assert_keys(status, body)

    clock.advance(TTL + 1)
    faults.fault = fault
    status, _, body = invoke(rest_event(_request()))
    _assert_keys(status, body)  # cached CEKs, the same keys

    new_kid = uuid.UUID("11111111-2222-4333-8444-555555555555")
    status, headers, body = invoke(rest_event(_request([KIDS[0], new_kid])))
    _assert_503(status, headers, body, capsys.readouterr().out)  # one key not cached: no partial answer

    clock.advance(GRACE)
    status, headers, body = invoke(rest_event(_request()))
    _assert_503(status, headers, body, capsys.readouterr().out)

    faults.fault = None
    status, _, body = invoke(rest_event(_request([KIDS[0], new_kid])))
    assert status == 200, body[:300]
    assert read_content_keys(body) == {str(k): derive_cek(MASTER_KEY, CONTENT_ID, k) for k in (KIDS[0], new_kid)}


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any):
        yield self._body


def test_kms_throttling_is_retried_by_botocore_then_503(kms, invoke, capsys, monkeypatch):
    """Throttling on the wire (before-send): botocore's standard retries run (1 + 3 attempts), then 503."""
    import botocore.endpoint

    monkeypatch.setattr(botocore.endpoint.time, "sleep", lambda seconds: None)
    attempts = itertools.count(1)
    seen: list[int] = []

    def throttle(request, **_):
        seen.append(next(attempts))
        body = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"}).encode()
        return AWSResponse(
            request.url,
            400,
            {"x-amzn-RequestId": "throttled", "Content-Type": "application/x-amz-json-1.1"},
            _Raw(body),
        )

    kms.meta.events.register_first("before-send.kms.GenerateMac", throttle)
    status, headers, body = invoke(
        rest_event(
            _request(
                [KIDS[0]],
            )
        )
    )
    _assert_503(status, headers, body, capsys.readouterr().out)
    retries = CLIENT_CONFIG.retries or {}
    total = retries.get("total_max_attempts") or retries.get("max_attempts", 0) + 1  # botocore: retries + 1
    assert len(seen) == total > 1


# --- hostile requests never reach the key home ------------------------------------------------------


def _hostile_requests() -> dict[str, bytes]:
    """The hostile catalogue's newer classes: each must be refused before any key is derived, so the key
    home is never called (with it down, a refusal that came after derivation would be a 503)."""
    from tests.fuzz import fuzz_support as fz

    ok = _request()
    kid = str(KIDS[0])
    out = {f"odd certificate: {name}": _request(encrypted_for=der) for name, der in fz.odd_certificates().items()}
    out.update(
        {
            "kid with a trailing newline": ok.replace(f'kid="{kid}"'.encode(), f'kid="{kid}&#10;"'.encode(), 1),
            "track type with a trailing newline": ok.replace(b'intendedTrackType="', b'intendedTrackType="X&#10;', 1)
            if b'intendedTrackType="' in ok
            else ok,
            "Unicode digit in a period index": ok.replace(b'index="', 'index="\u00b2'.encode(), 1),
            "Unicode digit in a filter bound": ok.replace(
                b"<cpix:VideoFilter/>", '<cpix:VideoFilter minPixels="\u2460"/>'.encode(), 1
            ),
            "Secret planted in a ContentKey": ok.replace(
                b'commonEncryptionScheme="cenc"/>',
                b'commonEncryptionScheme="cenc"><pskc:Secret xmlns:pskc="urn:ietf:params:xml:ns:keyprov:pskc"/></cpix:ContentKey>',
                1,
            ),
            "oversize answer": fz.oversize_answer(0),
        }
    )
    unchanged = [name for name, body in out.items() if body == ok]
    assert not unchanged, f"the catalogue did not change the request: {unchanged}"
    return out


HOSTILE = _hostile_requests()


@pytest.mark.parametrize("home", ["secrets_manager", "kms"])
@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_requests_never_reach_the_key_home(request, home, name, faults, invoke, capsys):
    request.getfixturevalue(home)
    faults.fault = "throttling"
    status, headers, body = invoke(rest_event(HOSTILE[name]))
    assert 400 <= status < 500, (status, body[:200])
    assert faults.calls["GetSecretValue"] == 0 and faults.calls["GenerateMac"] == 0
    output = capsys.readouterr().out
    for form in ALL_SECRETS:
        assert form not in body and form.decode("latin-1") not in json.dumps(headers) + output
