"""Key delivery to players: the Lambda entry point (API Gateway HTTP API, payload 2.0). It only routes:
the endpoints, tokens and error order live in ``speke_keyprovider.delivery``.

GET /keys/{contentId}/{kid}, POST /clearkey/{contentId}, OPTIONS (CORS preflight); every other path
reaches the same code (``$default`` route) so a request without a valid token gets 401 before anything else.
Every event goes to ``KeyDelivery.handle``, which routes; no Powertools resolver here (``lambda_proxy``).
"""

from __future__ import annotations

import os
import time
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from speke_keyprovider import call_budget
from speke_keyprovider.delivery.endpoint import http_api_request
from speke_keyprovider.delivery.runtime import get_key_delivery
from speke_keyprovider.errors import ConfigurationError
from speke_keyprovider.lambda_proxy import Answer

SERVICE = "speke-key-delivery"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace="SpekeKeyProvider", service=SERVICE)


def _deliver(event: dict) -> Answer:
    started = time.perf_counter()
    delivery = get_key_delivery()
    request = http_api_request(event, max_body_bytes=delivery.max_body_bytes)
    delivered = delivery.handle(request)
    fields: dict[str, Any] = dict(delivered.log)
    fields.setdefault("status", delivered.status)
    fields["duration_ms"] = round((time.perf_counter() - started) * 1000, 3)
    if delivered.status == 200:
        metrics.add_metric(name="KeysDelivered", unit=MetricUnit.Count, value=fields.get("key_count", 0))
        logger.info("key delivery answered", extra=fields)
    elif delivered.status != 204:
        metrics.add_metric(name=f"Refused.{fields.get('reason', 'other')}", unit=MetricUnit.Count, value=1)
        (logger.warning if delivered.status >= 500 else logger.info)("key delivery refused", extra=fields)
    metrics.add_metric(name="DeliveryRequests", unit=MetricUnit.Count, value=1)
    binary = delivered.headers.get("Content-Type") == "application/octet-stream"
    return Answer(delivered.status, delivered.body if binary else delivered.body.decode("utf-8"), delivered.headers)


def answer(event: dict) -> Answer:
    """The one place that maps errors to HTTP: the delivery's own answer (it refuses with 4xx/503 itself), or
    a generic 500."""
    try:
        return _deliver(event)
    except ConfigurationError as error:
        return misconfigured(error)
    except Exception as error:  # anything unexpected is a generic 500, never its text
        return unexpected(error)


def misconfigured(error: ConfigurationError) -> Answer:
    metrics.add_metric(name="Refused.misconfigured", unit=MetricUnit.Count, value=1)
    logger.error("key delivery misconfigured", extra={"outcome": "error", "status": 500, "error": str(error)})
    return Answer(500, "Internal error", _plain())


def unexpected(error: Exception) -> Answer:
    metrics.add_metric(name="Refused.internal", unit=MetricUnit.Count, value=1)
    # Type only: no exception text or locals, in case a library put data (a token) in a message.
    logger.error("unexpected failure", extra={"outcome": "error", "status": 500, "error_type": type(error).__name__})
    return Answer(500, "Internal error", _plain())


def _plain() -> dict[str, str]:
    return {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    # The AWS calls of this invocation answer before its remaining time runs out, or are given up (503/grace).
    with call_budget.invocation_deadline(context):
        return answer(event if isinstance(event, dict) else {}).http_api_result()


if os.environ.get("XRAY_TRACING", "false").strip().lower() == "true":
    from aws_lambda_powertools import Tracer

    # Never capture the response (it is the served key, or a licence holding keys) or the error: a trace carries
    # timing and the cold-start annotation only. Explicit here, so POWERTOOLS_TRACER_CAPTURE_* cannot turn it on.
    lambda_handler = Tracer(service=SERVICE).capture_lambda_handler(
        lambda_handler, capture_response=False, capture_error=False
    )
