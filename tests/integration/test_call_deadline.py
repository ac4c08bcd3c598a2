"""AWS calls inside the Lambda timeout: a Secrets Manager or KMS that accepts the connection and never answers
(a black hole on 127.0.0.1) gives a 503 with ``Retry-After``, or the grace-period answer when a key was
fetched before, and the handler returns while the invocation still has time left.

The clients here are given an own budget far beyond the invocation (30 s read timeout, 3 attempts): only the
request deadline (``call_budget``: the invocation's remaining time less the reserve) can stop the wait. The
assertions are on outcomes: the status, the keys, and that the fake Lambda context had time left when the
handler returned (Lambda would not have killed the invocation).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import threading
import time
import uuid
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from speke_keyprovider import call_budget, runtime
from speke_keyprovider.aws_key_sources import KmsDerivedKeys, SecretsManagerMasterKey
from speke_keyprovider.errors import BackendUnavailable
from speke_keyprovider_tools.client.request_builder import build_request
from speke_keyprovider_tools.client.response_reader import read_content_keys

from tests.conftest import DERIVATION_VECTORS, MASTER_KEY, FakeLambdaContext, rest_event

REGION = "us-east-1"
CONTENT_ID = "test_case_generic"
KIDS = [uuid.UUID(kid) for cid, kid, _ in DERIVATION_VECTORS if cid == CONTENT_ID]
EXPECTED = {str(uuid.UUID(kid)): bytes.fromhex(cek) for cid, kid, cek in DERIVATION_VECTORS if cid == CONTENT_ID}
# The invocation's whole time in these tests, and what the clients alone would wait on a black hole.
INVOCATION_MS = 3000
UNBOUNDED_CONFIG = Config(connect_timeout=5, read_timeout=30, retries={"total_max_attempts": 3, "mode": "standard"})
UNBOUNDED_SECONDS = 3 * (5 + 30)


class BlackHole:
    """A TCP server on 127.0.0.1 that accepts every connection, reads nothing and never answers."""

    def __init__(self) -> None:
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self.connections: list[socket.socket] = []
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                connection, _ = self._server.accept()
            except OSError:
                return
            self.connections.append(connection)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self._closed.set()
        self._server.close()
        for connection in self.connections:
            connection.close()


class InvocationContext(FakeLambdaContext):
    """A Lambda context whose remaining time runs down from INVOCATION_MS on the real clock."""

    def __init__(self, total_ms: int = INVOCATION_MS) -> None:
        super().__init__(aws_request_id=str(uuid.uuid4()))
        self._ends = time.monotonic() + total_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return int((self._ends - time.monotonic()) * 1000)


@pytest.fixture
def black_hole():
    hole = BlackHole()
    yield hole
    hole.close()


@pytest.fixture
def aws_credentials(monkeypatch):
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",  # pragma: allowlist secret - dummy credential
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def _client(service: str, black_hole: BlackHole) -> Any:
    return boto3.session.Session(region_name=REGION).client(
        service, endpoint_url=black_hole.url, config=UNBOUNDED_CONFIG
    )


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any):
        yield self._body


def _answer_first(client: Any, operation: str, make_body, calls: int = 1) -> list[int]:
    """The first ``calls`` calls of ``operation`` get a real-shaped answer without the network; later ones
    go to the black hole. Returns the list of attempts seen."""
    seen: list[int] = []

    def answer(request, **_):
        seen.append(1)
        if len(seen) > calls:
            return None
        body = json.dumps(make_body(json.loads(request.body or b"{}"))).encode()
        return AWSResponse(
            request.url, 200, {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": "canned"}, _Raw(body)
        )

    client.meta.events.register_first(f"before-send.{client.meta.service_model.endpoint_prefix}.{operation}", answer)
    return seen


def _secret_value(_: dict) -> dict:
    return {
        "ARN": f"arn:aws:secretsmanager:{REGION}:111122223333:secret:speke-master-AbCdEf",
        "Name": "speke-master",
        "SecretString": MASTER_KEY.decode(),
        "VersionId": "00000000-0000-0000-0000-000000000001",
        "VersionStages": ["AWSCURRENT"],
    }


def _generate_mac(params: dict) -> dict:
    mac = hmac.new(MASTER_KEY, base64.b64decode(params["Message"]), hashlib.sha256).digest()
    return {"Mac": base64.b64encode(mac).decode(), "KeyId": params["KeyId"], "MacAlgorithm": "HMAC_SHA_256"}


def _on_secrets_manager(monkeypatch, handler_env, client: Any, *, ttl: int) -> None:
    handler_env.setenv("KEY_SOURCE", "secretsmanager")
    handler_env.setenv("MASTER_KEY_SECRET_ID", "speke-master")
    monkeypatch.setattr(
        runtime,
        "build_key_source",
        lambda s: SecretsManagerMasterKey("speke-master", ttl=ttl, grace=3600, client=client),
    )


def _on_kms(monkeypatch, handler_env, client: Any, *, ttl: int) -> None:
    key_arn = f"arn:aws:kms:{REGION}:111122223333:key/00000000-0000-0000-0000-000000000000"
    handler_env.setenv("KEY_SOURCE", "kms")
    handler_env.setenv("KMS_HMAC_KEY_ID", key_arn)
    monkeypatch.setattr(
        runtime, "build_key_source", lambda s: KmsDerivedKeys(key_arn, ttl=ttl, grace=3600, client=client)
    )


def _invoke(app, body: bytes) -> tuple[int, dict[str, str], bytes, int]:
    """Invoke the handler with a fresh invocation context; also returns the ms the context had left."""
    context = InvocationContext()
    result = app.lambda_handler(rest_event(body), context)
    left_ms = context.get_remaining_time_in_millis()
    headers = dict(result.get("headers") or {})
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers.setdefault(name, ", ".join(values))
    return result["statusCode"], headers, (result.get("body") or "").encode(), left_ms


def _request(kids=KIDS) -> bytes:
    return build_request(
        content_id=CONTENT_ID,
        video_preset="PRESET_VIDEO_1",
        audio_preset="PRESET_AUDIO_1",
        drm_systems=["widevine", "playready"],
        scheme="cenc",
        kids=kids,
    ).xml


def _assert_503_in_time(status: int, headers: dict[str, str], body: bytes, left_ms: int) -> None:
    assert status == 503, body[:300]
    assert headers.get("Retry-After", "").isdigit() and int(headers["Retry-After"]) > 0
    assert body == b"Key backend unavailable, retry later"
    assert left_ms > 0, "the handler returned after the invocation's time ran out: Lambda would have killed it"


@pytest.mark.parametrize("home", ["secretsmanager", "kms"])
def test_a_hung_key_home_on_a_cold_start_is_a_503_inside_the_invocation(
    app, handler_env, aws_credentials, black_hole, monkeypatch, home
):
    client = _client(home, black_hole)
    (_on_secrets_manager if home == "secretsmanager" else _on_kms)(monkeypatch, handler_env, client, ttl=300)
    status, headers, body, left_ms = _invoke(app, _request())
    _assert_503_in_time(status, headers, body, left_ms)
    assert black_hole.connections, "the call never reached the black hole: the test proves nothing"


@pytest.mark.parametrize("home", ["secretsmanager", "kms"])
def test_a_hung_key_home_after_a_good_fetch_serves_the_grace_period_keys(
    app, handler_env, aws_credentials, black_hole, monkeypatch, home
):
    """ttl=0: every request refreshes; the first refresh is answered, the second hangs and the grace cache
    (an hour) answers, with the same keys, inside the invocation."""
    client = _client(home, black_hole)
    if home == "secretsmanager":
        _on_secrets_manager(monkeypatch, handler_env, client, ttl=0)
        seen = _answer_first(client, "GetSecretValue", _secret_value)
    else:
        _on_kms(monkeypatch, handler_env, client, ttl=0)
        seen = _answer_first(client, "GenerateMac", _generate_mac, calls=len(KIDS))
    status, _, body, left_ms = _invoke(app, _request())
    assert status == 200, body[:300]
    assert read_content_keys(body) == EXPECTED
    answered = len(seen)

    status, _, body, left_ms = _invoke(app, _request())
    assert status == 200, body[:300]
    assert read_content_keys(body) == EXPECTED
    assert left_ms > 0
    assert len(seen) > answered and black_hole.connections, "the second request never went to the black hole"


def test_a_hung_kms_with_more_keys_than_workers_is_one_503_inside_the_invocation(
    app, handler_env, aws_credentials, black_hole, monkeypatch
):
    """More uncached kids than KMS_PARALLELISM: without one deadline for the request they would hang in
    waves, one after the other."""
    built = build_request(
        content_id=CONTENT_ID,
        video_preset="PRESET_VIDEO_8",
        audio_preset="PRESET_AUDIO_3",
        drm_systems=["widevine", "playready"],
        scheme="cenc",
        periods=2,
    )
    from speke_keyprovider.aws_key_sources import KMS_PARALLELISM

    assert len(built.keys) > KMS_PARALLELISM
    _on_kms(monkeypatch, handler_env, _client("kms", black_hole), ttl=300)
    status, headers, body, left_ms = _invoke(app, built.xml)
    _assert_503_in_time(status, headers, body, left_ms)


def test_the_key_source_gives_up_at_the_deadline_of_its_scope(aws_credentials, black_hole):
    """Without the handler: inside ``deadline_scope`` the KMS home raises BackendUnavailable, long before the
    clients' own budget (a wide margin, not a timing assertion)."""
    source = KmsDerivedKeys("arn:aws:kms:us-east-1:111122223333:key/x", client=_client("kms", black_hole))
    kids = [uuid.uuid4() for _ in range(12)]
    started = time.monotonic()
    with call_budget.deadline_scope(1.0) as deadline, pytest.raises(BackendUnavailable):
        source.content_keys(CONTENT_ID, kids)
    assert deadline.expired
    assert time.monotonic() - started < UNBOUNDED_SECONDS / 3


def test_any_call_through_a_key_home_client_is_bound_to_the_deadline(aws_credentials, black_hole):
    """The mechanism is the client, not the call site: an operation called on the wrapped client anywhere
    (a serial loop, Powertools) gives up at the deadline; other attributes are the client's own."""
    from speke_keyprovider.aws_key_sources import CallDeadlineExceeded, deadline_bound

    raw = _client("kms", black_hole)
    client = deadline_bound(raw, "kms")
    assert deadline_bound(client, "kms") is client
    assert client.meta is raw.meta and client.exceptions is raw.exceptions
    with call_budget.deadline_scope(0.5) as deadline, pytest.raises(CallDeadlineExceeded):
        client.generate_mac(KeyId="k", MacAlgorithm="HMAC_SHA_256", Message=b"m")
    assert deadline.expired
    with call_budget.deadline_scope(0.5), pytest.raises(CallDeadlineExceeded):
        client.generate_mac(KeyId="k", MacAlgorithm="HMAC_SHA_256", Message=b"m")  # the next one too
