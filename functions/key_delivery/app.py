"""Key delivery to players: the Lambda entry point (API Gateway HTTP API, payload 2.0). It only routes:
the endpoints, tokens and error order live in ``speke_keyprovider.delivery``.

GET /keys/{contentId}/{kid}, POST /clearkey/{contentId}, OPTIONS (CORS preflight); every other path
reaches the same code (``$default`` route) so a request without a valid token gets 401 before anything else.
"""

from __future__ import annotations

import os
import time
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from speke_keyprovider import call_budget
from speke_keyprovider.delivery.endpoint import http_api_request
from speke_keyprovider.delivery.runtime import get_key_delivery
from speke_keyprovider.errors import ConfigurationError

SERVICE = "speke-key-delivery"
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]

logger = Logger(service=SERVICE)
metrics = Metrics(namespace="SpekeKeyProvider", service=SERVICE)
app = APIGatewayHttpResolver()


def _deliver() -> Response:
    started = time.perf_counter()
    delivery = get_key_delivery()
    request = http_api_request(app.current_event.raw_event, max_body_bytes=delivery.max_body_bytes)
    answer = delivery.handle(request)
    fields: dict[str, Any] = dict(answer.log)
    fields.setdefault("status", answer.status)
    fields["duration_ms"] = round((time.perf_counter() - started) * 1000, 3)
    if answer.status == 200:
        metrics.add_metric(name="KeysDelivered", unit=MetricUnit.Count, value=fields.get("key_count", 0))
        logger.info("key delivery answered", extra=fields)
    elif answer.status != 204:
        metrics.add_metric(name=f"Refused.{fields.get('reason', 'other')}", unit=MetricUnit.Count, value=1)
        (logger.warning if answer.status >= 500 else logger.info)("key delivery refused", extra=fields)
    metrics.add_metric(name="DeliveryRequests", unit=MetricUnit.Count, value=1)
    binary = answer.headers.get("Content-Type") == "application/octet-stream"
    body = answer.body if binary else answer.body.decode("utf-8")  # Powertools base64-encodes bytes bodies
    return Response(status_code=answer.status, body=body, headers=answer.headers)


@app.route("/keys/<content_id>/<kid>", method=METHODS)
def keys(content_id: str, kid: str) -> Response:
    return _deliver()


@app.route("/clearkey/<content_id>", method=METHODS)
def clearkey(content_id: str) -> Response:
    return _deliver()


@app.not_found
def other(error: Exception) -> Response:
    return _deliver()


@app.exception_handler(ConfigurationError)
def misconfigured(error: ConfigurationError) -> Response:
    metrics.add_metric(name="Refused.misconfigured", unit=MetricUnit.Count, value=1)
    logger.error("key delivery misconfigured", extra={"outcome": "error", "status": 500, "error": str(error)})
    return Response(status_code=500, body="Internal error", headers=_plain())


@app.exception_handler(Exception)
def unexpected(error: Exception) -> Response:
    metrics.add_metric(name="Refused.internal", unit=MetricUnit.Count, value=1)
    # Type only: no exception text or locals, in case a library put data (a token) in a message.
    logger.error("unexpected failure", extra={"outcome": "error", "status": 500, "error_type": type(error).__name__})
    return Response(status_code=500, body="Internal error", headers=_plain())


def _plain() -> dict[str, str]:
    return {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    # The AWS calls of this invocation answer before its remaining time runs out, or are given up (503/grace).
    with call_budget.invocation_deadline(context):
        return app.resolve(event, context)


if os.environ.get("XRAY_TRACING", "false").strip().lower() == "true":
    from aws_lambda_powertools import Tracer

    # Never capture the response (it is the served key, or a licence holding keys) or the error: a trace carries
    # timing and the cold-start annotation only. Explicit here, so POWERTOOLS_TRACER_CAPTURE_* cannot turn it on.
    lambda_handler = Tracer(service=SERVICE).capture_lambda_handler(
        lambda_handler, capture_response=False, capture_error=False
    )
