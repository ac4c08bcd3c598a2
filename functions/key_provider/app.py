"""SPEKE v2 key provider: the Lambda entry point. It only routes: checks live in the library.

POST /copyProtection  (API Gateway REST API, AWS_IAM authorisation)
"""

from __future__ import annotations

import os
import time

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from speke_keyprovider import speke_http, trust
from speke_keyprovider.errors import BackendUnavailable, ConfigurationError, SpekeError
from speke_keyprovider.runtime import get_runtime

logger = Logger(service="speke-keyprovider")
metrics = Metrics(namespace="SpekeKeyProvider", service="speke-keyprovider")
app = APIGatewayRestResolver()


@app.post("/copyProtection")
def copy_protection() -> Response:
    started = time.perf_counter()
    event = app.current_event
    runtime = get_runtime()
    caller = trust.caller_arn(event.raw_event.get("requestContext"))
    logger.append_keys(caller=caller)
    trust.check_caller(caller, runtime.settings.allowed_caller_arns)
    headers = event.raw_event.get("headers")
    speke_version = speke_http.speke_version(headers)
    speke_http.check_content_type(headers)
    body = speke_http.request_body(event.body, event.is_base64_encoded, runtime.settings.max_request_bytes)
    result = runtime.exchange.answer(body, speke_version)
    metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="KeysIssued", unit=MetricUnit.Count, value=result.key_count)
    if result.encrypted:
        metrics.add_metric(name="EncryptedResponses", unit=MetricUnit.Count, value=1)
    logger.info(
        "key request answered",
        extra={
            "outcome": "ok",
            "status": 200,
            "content_id": result.content_id,
            "kids": list(result.kids),
            "key_count": result.key_count,
            "encrypted": result.encrypted,
            "scheme": result.scheme,
            "drm_systems": list(result.drm_systems),
            "periods": result.periods,
            "certificate_sha256": list(result.certificate_sha256),
            "duration_ms": round((time.perf_counter() - started) * 1000, 3),
        },
    )
    return Response(
        status_code=200, body=result.body.decode("utf-8"), headers=speke_http.success_headers(result.dialect)
    )


@app.exception_handler(SpekeError)
def refuse(error: SpekeError) -> Response:
    retry_after = error.retry_after if isinstance(error, BackendUnavailable) else None
    metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name=f"Rejected.{error.reason}", unit=MetricUnit.Count, value=1)
    log = logger.warning if error.status >= 500 else logger.info
    log(
        "key request refused",
        extra={"outcome": "refused", "status": error.status, "reason": error.reason, "error": error.public_message},
    )
    return Response(status_code=error.status, body=error.public_message, headers=speke_http.error_headers(retry_after))


@app.not_found
def not_found(error: Exception) -> Response:
    metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="Rejected.not_found", unit=MetricUnit.Count, value=1)
    return Response(
        status_code=404,
        body="Not found: the key provider answers POST /copyProtection only",
        headers=speke_http.error_headers(),
    )


@app.exception_handler(ConfigurationError)
def misconfigured(error: ConfigurationError) -> Response:
    metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="Rejected.misconfigured", unit=MetricUnit.Count, value=1)
    logger.error("key provider misconfigured", extra={"outcome": "error", "status": 500, "error": str(error)})
    return Response(status_code=500, body="Internal error", headers=speke_http.error_headers())


@app.exception_handler(Exception)
def unexpected(error: Exception) -> Response:
    metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="Rejected.internal", unit=MetricUnit.Count, value=1)
    # Type and location only: no exception text or locals, in case a library put data in a message.
    logger.error(
        "unexpected failure",
        extra={"outcome": "error", "status": 500, "error_type": type(error).__name__, "where": _where(error)},
    )
    return Response(status_code=500, body="Internal error", headers=speke_http.error_headers())


def _where(error: BaseException) -> str:
    tb = error.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return f"{tb.tb_frame.f_code.co_filename.rsplit('/', 1)[-1]}:{tb.tb_lineno}" if tb else "?"


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)


if os.environ.get("XRAY_TRACING", "false").strip().lower() == "true":  # optional: X-Ray costs ~300 ms of cold start
    from aws_lambda_powertools import Tracer

    # Never capture the response (it holds PlainValue / wrapped keys) or the error: a trace carries the
    # request's timing and cold-start annotation only. Explicit here, so POWERTOOLS_TRACER_CAPTURE_* cannot
    # turn capture back on.
    lambda_handler = Tracer(service="speke-keyprovider").capture_lambda_handler(
        lambda_handler, capture_response=False, capture_error=False
    )
