"""The AWS key homes against moto (and botocore's Stubber where the exact request matters)."""

import uuid

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws
from speke_keyprovider.aws_key_sources import KmsDerivedKeys, SecretsManagerMasterKey
from speke_keyprovider.errors import BackendUnavailable
from speke_keyprovider.key_derivation import derivation_message
from speke_keyprovider_tools.client.response_reader import read_content_keys

from tests import cpixdocs as d
from tests.conftest import DERIVATION_VECTORS, MASTER_KEY, rest_event

REGION = "us-east-1"


@pytest.fixture
def aws(monkeypatch):
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",  # pragma: allowlist secret
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield


@pytest.fixture
def count_aws(monkeypatch):
    """Counts boto3 clients created and AWS API calls made through them."""
    counts = {"clients": 0, "calls": 0}
    original = boto3.session.Session.client

    def client(self, *args, **kwargs):
        made = original(self, *args, **kwargs)
        counts["clients"] += 1

        def on_call(**_):
            counts["calls"] += 1

        made.meta.events.register("before-call.*.*", on_call)
        return made

    monkeypatch.setattr(boto3.session.Session, "client", client)
    return counts


def test_secrets_manager_home_through_the_handler(aws, handler_env, invoke, count_aws):
    arn = boto3.client("secretsmanager").create_secret(Name="speke/master", SecretString=MASTER_KEY.decode())["ARN"]
    count_aws.update(clients=0, calls=0)
    handler_env.setenv("KEY_SOURCE", "secretsmanager")
    handler_env.setenv("MASTER_KEY_SECRET_ID", arn)
    for _ in range(3):
        status, _, body = invoke(rest_event(d.document()))
        assert status == 200
        assert read_content_keys(body)[d.KID_VIDEO].hex() == DERIVATION_VECTORS[0][2]
    assert count_aws == {"clients": 1, "calls": 1}, "warm requests make no AWS call and create no client"


def test_secrets_manager_home_agrees_with_vectors(aws):
    boto3.client("secretsmanager").create_secret(Name="m", SecretString=MASTER_KEY.decode())
    home = SecretsManagerMasterKey("m")
    for content_id, kid, expected in DERIVATION_VECTORS:
        assert home.content_keys(content_id, [uuid.UUID(kid)])[uuid.UUID(kid)].hex() == expected


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_secrets_manager_ttl_refresh_and_grace(aws):
    client = boto3.client("secretsmanager")
    client.create_secret(Name="m", SecretString=MASTER_KEY.decode())
    clock = FakeClock()
    home = SecretsManagerMasterKey("m", ttl=60, grace=300, client=client, clock=clock)
    kid = uuid.UUID(DERIVATION_VECTORS[0][1])
    first = home.content_keys("test_case_generic", [kid])
    stubber = Stubber(client)
    stubber.add_client_error("get_secret_value", service_error_code="ThrottlingException", http_status_code=400)
    stubber.add_client_error("get_secret_value", service_error_code="ThrottlingException", http_status_code=400)
    powertools = home._get_provider()
    with stubber:
        clock.now += 61  # cache expired (Powertools keeps real time: expire it by hand), refresh fails
        powertools.clear_cache()
        assert home.content_keys("test_case_generic", [kid]) == first  # served within grace
        clock.now += 300  # beyond ttl + grace: 503
        with pytest.raises(BackendUnavailable) as info:
            home.content_keys("test_case_generic", [kid])
        assert info.value.status == 503
    clock.now += 1  # the dependency is back
    assert home.content_keys("test_case_generic", [kid]) == first


def test_secrets_manager_missing_secret_is_503(aws, handler_env, invoke):
    handler_env.setenv("KEY_SOURCE", "secretsmanager")
    handler_env.setenv("MASTER_KEY_SECRET_ID", "does-not-exist")
    status, headers, body = invoke(rest_event(d.document()))
    assert status == 503 and headers["Retry-After"] == "5"
    assert b"retry later" in body


def test_short_secret_is_503(aws, handler_env, invoke):
    boto3.client("secretsmanager").create_secret(Name="short", SecretString="too-short")
    handler_env.setenv("KEY_SOURCE", "secretsmanager")
    handler_env.setenv("MASTER_KEY_SECRET_ID", "short")
    status, headers, _ = invoke(rest_event(d.document()))
    assert status == 503 and "Retry-After" in headers


def _kms_hmac_key(master: bytes) -> str:
    from moto.kms.models import kms_backends

    key_id = boto3.client("kms").create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["KeyId"]
    kms_backends["123456789012"][REGION].keys[key_id].key_material = master  # moto has no ImportKeyMaterial for HMAC
    return key_id


def test_kms_home_through_the_handler_agrees_with_secret_home(aws, handler_env, invoke):
    key_id = _kms_hmac_key(MASTER_KEY)
    handler_env.setenv("KEY_SOURCE", "kms")
    handler_env.setenv("KMS_HMAC_KEY_ID", key_id)
    status, _, body = invoke(rest_event(d.document()))
    assert status == 200
    keys = read_content_keys(body)
    assert keys[d.KID_VIDEO].hex() == DERIVATION_VECTORS[0][2]
    assert keys[d.KID_AUDIO].hex() == DERIVATION_VECTORS[1][2]


def test_kms_request_is_exactly_the_derivation_message():
    client = boto3.client("kms", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    kid = uuid.UUID(DERIVATION_VECTORS[2][1])
    stubber = Stubber(client)
    stubber.add_response(
        "generate_mac",
        {"Mac": bytes(range(32)), "MacAlgorithm": "HMAC_SHA_256", "KeyId": "k"},
        {"KeyId": "alias/speke", "MacAlgorithm": "HMAC_SHA_256", "Message": derivation_message("channel-1", kid)},
    )
    with stubber:
        keys = KmsDerivedKeys("alias/speke", client=client).content_keys("channel-1", [kid])
    stubber.assert_no_pending_responses()
    assert keys[kid] == bytes(range(16))
    assert derivation_message("channel-1", kid) == (
        b"\x00\x00\x00\x01speke-cek-v1\x00" + kid.bytes + b"channel-1\x00\x00\x00\x80"
    )


def test_kms_cache_ttl_and_grace():
    client = boto3.client("kms", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    clock = FakeClock()
    kids = [uuid.uuid4() for _ in range(3)]
    home = KmsDerivedKeys("k", client=client, ttl=60, grace=120, clock=clock)
    stubber = Stubber(client)
    for i in range(3):
        stubber.add_response("generate_mac", {"Mac": bytes([i]) * 32, "MacAlgorithm": "HMAC_SHA_256", "KeyId": "k"})
    with stubber:
        first = home.content_keys("c", kids)
        assert home.content_keys("c", kids) == first  # cached: no call (the stubber would fail)
    assert sorted(first.values()) == [bytes([i]) * 16 for i in range(3)]
    stubber = Stubber(client)
    for _ in range(6):
        stubber.add_client_error("generate_mac", service_error_code="ThrottlingException", http_status_code=400)
    with stubber:
        clock.now += 61
        assert home.content_keys("c", kids) == first  # refresh fails: grace
        clock.now += 120
        with pytest.raises(BackendUnavailable):
            home.content_keys("c", kids)


def test_kms_access_denied_is_503(aws, handler_env, invoke):
    handler_env.setenv("KEY_SOURCE", "kms")
    handler_env.setenv("KMS_HMAC_KEY_ID", "arn:aws:kms:us-east-1:123456789012:key/" + str(uuid.uuid4()))
    status, headers, body = invoke(rest_event(d.document()))
    assert status == 503 and headers["Retry-After"]
