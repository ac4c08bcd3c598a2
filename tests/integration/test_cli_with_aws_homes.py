"""The CLI against the key homes and the handler: derive through moto's Secrets Manager and a stubbed KMS,
and an event built by ``speke-keyprovider event`` answered by the Lambda handler in-process."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid

import pytest
from speke_keyprovider_tools.client.conformance import check_response

from tests.unit.test_client_cli import MASTER, VECTORS, _request_file, run


def test_derive_secretsmanager_home_through_moto(clean_env, monkeypatch):
    moto = pytest.importorskip("moto")
    import boto3

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with moto.mock_aws():
        boto3.client("secretsmanager", region_name="eu-west-1").create_secret(Name="speke/master", SecretString=MASTER)
        code, out, err = run(
            "derive",
            "--content-id",
            VECTORS[2][0],
            "--kid",
            VECTORS[2][1],
            "--key-source",
            "secretsmanager",
            "--secret-id",
            "speke/master",
            "--region",
            "eu-west-1",
            "--show-keys",
        )
    assert code == 0, err
    assert VECTORS[2][2] in out


def test_derive_kms_home_sends_the_derivation_message(clean_env, monkeypatch):
    import boto3
    from botocore.stub import Stubber
    from speke_keyprovider.key_derivation import derivation_message

    client = boto3.client("kms", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="y")
    stubber = Stubber(client)
    for content_id, kid, _, _ in VECTORS:
        message = derivation_message(content_id, uuid.UUID(kid))
        mac = hmac.new(MASTER.encode(), message, hashlib.sha256).digest()
        stubber.add_response(
            "generate_mac",
            {"Mac": mac, "MacAlgorithm": "HMAC_SHA_256", "KeyId": "k"},
            {"KeyId": "alias/speke", "MacAlgorithm": "HMAC_SHA_256", "Message": message},
        )
    monkeypatch.setattr(
        boto3.session, "Session", lambda **kw: type("S", (), {"client": lambda self, name, **k: client})()
    )
    with stubber:
        for content_id, kid, hex_key, _ in VECTORS:
            code, out, err = run(
                "derive",
                "--content-id",
                content_id,
                "--kid",
                kid,
                "--key-source",
                "kms",
                "--kms-key-id",
                "alias/speke",
                "--show-keys",
                "--json",
            )
            assert code == 0, err
            assert json.loads(out)[0]["hex"] == hex_key


@pytest.mark.parametrize("encrypted", [False, True])
def test_event_runs_through_the_handler_and_the_answer_passes_the_checker(
    tmp_path, invoke, delivery_cert_der, delivery_private_key, encrypted
):
    built, path = _request_file(tmp_path, certificate_der=delivery_cert_der if encrypted else None)
    code, out, _ = run("event", str(path), "--base64" if encrypted else "--stage=Prod")
    assert code == 0
    status, headers, body = invoke(json.loads(out))
    report = check_response(built, status, headers, body, delivery_private_key)
    assert report.violations == []
    assert len(report.keys) == 3 and all(k.key_bytes for k in report.keys)
