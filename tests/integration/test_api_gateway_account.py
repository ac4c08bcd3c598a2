"""The custom resource behind CreateApiGatewayLoggingRole=auto (functions/api_gateway_account/app.py), against
moto's API Gateway: it sets the account's CloudWatch role only where none is set, never replaces one, retries
while IAM propagates a new role, does nothing on delete, and always answers CloudFormation."""

from __future__ import annotations

import importlib.util
import sys
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from tests.conftest import REPO

REGION = "us-east-1"
OURS = "arn:aws:iam::123456789012:role/speke-keyprovider-ApiGatewayCloudWatchRole-EXAMPLE"
THEIRS = "arn:aws:iam::123456789012:role/central-apigateway-logging"


def _load():
    path = REPO / "functions" / "api_gateway_account" / "app.py"
    spec = importlib.util.spec_from_file_location("speke_apigateway_account_under_test", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def account(monkeypatch):
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",  # pragma: allowlist secret - moto dummy credential
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    module = _load()
    sent: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(module, "send", lambda url, response: sent.append((url, response)))
    with mock_aws():
        yield module, boto3.client("apigateway", region_name=REGION), sent


def _event(kind: str) -> dict[str, Any]:
    return {
        "RequestType": kind,
        "ResponseURL": "https://cloudformation-custom-resource-response.example/signed",
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/speke-keyprovider/0000-1111-2222",
        "RequestId": "request-1",
        "LogicalResourceId": "ApiGatewayAccountRoleIfUnset",
        "ResourceProperties": {"RoleArn": OURS},
    }


def test_a_region_without_a_role_gets_the_stacks_role(account):
    module, client, sent = account
    assert not client.get_account().get("cloudwatchRoleArn")
    module.handler(_event("Create"), None)
    assert client.get_account()["cloudwatchRoleArn"] == OURS
    ((url, response),) = sent
    assert url.endswith("/signed")
    assert response["Status"] == "SUCCESS"
    assert response["Data"] == {"RoleArn": OURS, "SetByStack": "true"}
    assert response["LogicalResourceId"] == "ApiGatewayAccountRoleIfUnset"


def test_a_role_already_set_is_never_replaced(account):
    module, client, sent = account
    client.update_account(patchOperations=[{"op": "replace", "path": "/cloudwatchRoleArn", "value": THEIRS}])
    for kind in ("Create", "Update"):
        module.handler(_event(kind), None)
    assert client.get_account()["cloudwatchRoleArn"] == THEIRS
    assert [r["Data"] for _, r in sent] == [{"RoleArn": THEIRS, "SetByStack": "false"}] * 2


def test_delete_leaves_the_setting(account):
    module, client, sent = account
    module.handler(_event("Create"), None)
    event = _event("Delete") | {"PhysicalResourceId": sent[0][1]["PhysicalResourceId"]}
    module.handler(event, None)
    assert client.get_account()["cloudwatchRoleArn"] == OURS
    assert sent[1][1]["Status"] == "SUCCESS"
    assert sent[1][1]["PhysicalResourceId"] == sent[0][1]["PhysicalResourceId"]


class NotAssumableYet:
    """API Gateway while IAM has not propagated the new role: refuses UpdateAccount ``refusals`` times."""

    def __init__(self, refusals: int) -> None:
        self.refusals = refusals
        self.updates = 0
        self.role = ""

    def get_account(self) -> dict[str, str]:
        return {"cloudwatchRoleArn": self.role} if self.role else {}

    def update_account(self, patchOperations):
        self.updates += 1
        if self.updates <= self.refusals:
            raise ClientError(
                {
                    "Error": {
                        "Code": "BadRequestException",
                        "Message": "The role ARN does not have required permissions set to API Gateway",
                    }
                },
                "UpdateAccount",
            )
        self.role = patchOperations[0]["value"]
        return {"cloudwatchRoleArn": self.role}


def test_a_new_role_is_retried_until_iam_lets_api_gateway_assume_it(account):
    module, _, sent = account
    stub = NotAssumableYet(refusals=3)
    sleeps: list[float] = []
    module.handler(_event("Create"), None, client=stub, sleep=sleeps.append)
    assert stub.role == OURS and stub.updates == 4 and len(sleeps) == 3
    assert sent[0][1]["Status"] == "SUCCESS"


def test_a_failure_is_reported_to_cloudformation_with_the_fix(account):
    module, _, sent = account
    stub = NotAssumableYet(refusals=10_000)
    module.handler(_event("Create"), None, client=stub, sleep=lambda _: None)
    assert stub.updates == module.SET_ATTEMPTS
    ((_, response),) = sent
    assert response["Status"] == "FAILED"
    assert "CreateApiGatewayLoggingRole=false" in response["Reason"]
    assert "update-account" in response["Reason"]
