"""API Gateway REST proxy events, shaped as API Gateway sends them for an AWS_IAM-authorised call
(and as ``sam local generate-event apigateway aws-proxy`` makes them). Used by the local server,
``events/`` fixtures, the CLI's ``event`` command and the tests."""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Mapping
from typing import Any

DEFAULT_CALLER_ARN = "arn:aws:sts::111122223333:assumed-role/SpekeMediaPackageRole/MediaPackageSession"
SPEKE_HEADERS = {"Content-Type": "application/xml", "X-Speke-Version": "2.0"}


def rest_proxy_event(
    body: bytes | str | None,
    *,
    headers: Mapping[str, str] | None = None,
    base64_body: bool | None = None,
    caller_arn: str | None = DEFAULT_CALLER_ARN,
    access_key: str | None = "ASIAEXAMPLEKEY",
    account_id: str = "111122223333",
    method: str = "POST",
    path: str = "/copyProtection",
    stage: str = "Prod",
    query: Mapping[str, str] | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """One REST proxy event. ``base64_body=None`` sends UTF-8 bodies as text and others as base64,
    as API Gateway does; ``caller_arn=None`` leaves the identity without an IAM principal."""
    headers = dict(SPEKE_HEADERS if headers is None else headers)
    if isinstance(body, str):
        body = body.encode("utf-8")
    text: str | None
    if body is None:
        text, is_b64 = None, False
    else:
        if base64_body is None:
            try:
                body.decode("utf-8")
                base64_body = False
            except UnicodeDecodeError:
                base64_body = True
        text = base64.b64encode(body).decode("ascii") if base64_body else body.decode("utf-8")
        is_b64 = bool(base64_body)
    identity: dict[str, Any] = {"sourceIp": "127.0.0.1", "userAgent": headers.get("User-Agent")}
    if caller_arn is not None:
        identity.update(
            {
                "userArn": caller_arn,
                "caller": access_key,
                "accessKey": access_key,
                "accountId": account_id,
                "user": access_key,
            }
        )
    params = dict(query) if query else None
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": params,
        "multiValueQueryStringParameters": {k: [v] for k, v in params.items()} if params else None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": path,
            "httpMethod": method,
            "path": f"/{stage}{path}",
            "stage": stage,
            "requestId": request_id or str(uuid.uuid4()),
            "accountId": account_id,
            "apiId": "speke",
            "protocol": "HTTP/1.1",
            "identity": identity,
            "requestTimeEpoch": int(time.time() * 1000),
        },
        "body": text,
        "isBase64Encoded": is_b64,
    }


def http_api_event(
    method: str,
    path: str,
    *,
    headers: Mapping[str, str] | None = None,
    query: str = "",
    body: bytes | None = None,
    cookies: list[str] | None = None,
    stage: str = "$default",
    request_id: str | None = None,
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload format 2.0) event, as the key delivery API sends it: lower-case
    header names, cookies apart from the headers, the raw path and query string, non-UTF-8 bodies in base64."""
    lowered = {k.lower(): v for k, v in (headers or {}).items() if k.lower() != "cookie"}
    if cookies is None and headers:
        cookie_header = next((v for k, v in headers.items() if k.lower() == "cookie"), None)
        cookies = [c.strip() for c in cookie_header.split(";") if c.strip()] if cookie_header else None
    text: str | None = None
    is_b64 = False
    if body:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text, is_b64 = base64.b64encode(body).decode("ascii"), True
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": lowered,
        "requestContext": {
            "accountId": "111122223333",
            "apiId": "delivery",
            "domainName": lowered.get("host", "localhost"),
            "http": {
                "method": method.upper(),
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": lowered.get("user-agent", ""),
            },
            "requestId": request_id or str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": stage,
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()),
            "timeEpoch": int(time.time() * 1000),
        },
        "isBase64Encoded": is_b64,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        params: dict[str, str] = {}
        for item in query.split("&"):
            name, _, value = item.partition("=")
            params[name] = f"{params[name]},{value}" if name in params else value
        event["queryStringParameters"] = params
    if text is not None:
        event["body"] = text
    return event
