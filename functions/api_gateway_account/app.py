"""CloudFormation custom resource (CreateApiGatewayLoggingRole=auto): set API Gateway's account-level CloudWatch
Logs role in this region if none is set, so that the stack's access-logging stage can be created in a fresh
account, without ever replacing a role that other APIs already use.

Create / Update: GetAccount; if ``cloudwatchRoleArn`` is empty, UpdateAccount with the stack's role (retried
while IAM makes the new role assumable, up to ``SET_ATTEMPTS`` times). Returns ``RoleArn`` (the role now set) and
``SetByStack``. Delete: nothing (the setting stays; the template retains the role).

Standard library and boto3 only (the Lambda runtime's); the answer goes to CloudFormation's pre-signed URL.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.request
from collections.abc import Callable
from typing import Any

import boto3
from botocore.exceptions import ClientError

logger = logging.getLogger()
logger.setLevel(logging.INFO)

SET_ATTEMPTS = 18
RETRY_SECONDS = 5.0
# What UpdateAccount says while IAM has not yet propagated the new role's trust of API Gateway.
_NOT_YET_ASSUMABLE = "does not have required permissions"


def ensure_account_role(
    role_arn: str, *, client: Any = None, sleep: Callable[[float], None] = time.sleep
) -> dict[str, str]:
    """The region's API Gateway CloudWatch role: the one set already, else ``role_arn`` (set now)."""
    client = client or boto3.client("apigateway")
    current = client.get_account().get("cloudwatchRoleArn") or ""
    if current:
        logger.info("API Gateway account logging role already set; left as it is: %s", current)
        return {"RoleArn": current, "SetByStack": "false"}
    for attempt in range(1, SET_ATTEMPTS + 1):
        try:
            client.update_account(patchOperations=[{"op": "replace", "path": "/cloudwatchRoleArn", "value": role_arn}])
        except ClientError as error:
            message = str(error.response.get("Error", {}).get("Message", ""))
            if _NOT_YET_ASSUMABLE in message and attempt < SET_ATTEMPTS:
                logger.info("role not assumable by API Gateway yet (attempt %d); retrying", attempt)
                sleep(RETRY_SECONDS)
                continue
            raise
        logger.info("API Gateway account logging role set: %s", role_arn)
        return {"RoleArn": role_arn, "SetByStack": "true"}
    raise AssertionError("unreachable")  # pragma: no cover


def handler(event: dict[str, Any], context: Any, *, client: Any = None, sleep=time.sleep) -> dict[str, Any]:
    status, reason, data = "SUCCESS", "", {}
    physical_id = event.get("PhysicalResourceId") or f"apigateway-account-logging-role-{event['StackId'][-12:]}"
    try:
        if event["RequestType"] in ("Create", "Update"):
            data = ensure_account_role(event["ResourceProperties"]["RoleArn"], client=client, sleep=sleep)
    except Exception as error:
        logger.exception("could not set the API Gateway account logging role")
        status = "FAILED"
        reason = (
            f"Could not set API Gateway's account CloudWatch role ({type(error).__name__}: {error}). "
            "Set it yourself (aws apigateway update-account) and deploy with CreateApiGatewayLoggingRole=false."
        )[:1000]
    response = {
        "Status": status,
        "Reason": reason or f"See log stream {getattr(context, 'log_stream_name', '?')}",
        "PhysicalResourceId": physical_id,
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
        "Data": data,
    }
    send(event["ResponseURL"], response)
    return response


def send(url: str, response: dict[str, Any]) -> None:
    body = json.dumps(response).encode("utf-8")
    request = urllib.request.Request(  # noqa: S310  # nosec B310 - CloudFormation's pre-signed https URL
        url, data=body, method="PUT", headers={"Content-Type": "", "Content-Length": str(len(body))}
    )
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310  # nosec B310 - CloudFormation's URL
        answer.read()
