"""SPEKE key provider (v1 and v2): the Lambda entry point. It only routes: checks live in the library.

POST /copyProtection  (API Gateway REST API, AWS_IAM authorisation): the key exchange, every dialect
GET  /heartbeat       (same authorisation): 200 text/plain once the function's settings load
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from speke_keyprovider import call_budget, speke_http, trust
from speke_keyprovider.errors import BackendUnavailable, ConfigurationError, Reason, SpekeError
from speke_keyprovider.lambda_proxy import Answer, RestRoutes
from speke_keyprovider.runtime import get_runtime
from speke_keyprovider.settings import ObservabilitySettings


def _message_as_is(message: Any) -> str:
    """Log messages here are plain text: keep them as they are (Powertools' default runs json.loads on every
    message to see whether it is JSON; a failed decode was ~15 % of each log line)."""
    return message


# POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE, POWERTOOLS_LOG_LEVEL and XRAY_TRACING, read with the
# settings' own rules. A bad value falls back to its default here so the module loads; the first request then
# reads the settings strictly and fails (500) with the variable named in the log.
observability = ObservabilitySettings.from_env(strict=False)
logger = Logger(service=observability.service_name, level=observability.log_level, json_deserializer=_message_as_is)
metrics = Metrics(namespace=observability.metrics_namespace, service=observability.service_name)
routes = RestRoutes()


def _count_answered(key_count: int, *, encrypted: bool) -> None:
    """The metrics of an answered request: Requests, KeysIssued and, for encrypted keys, EncryptedResponses."""
    metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="KeysIssued", unit=MetricUnit.Count, value=key_count)
    if encrypted:
        metrics.add_metric(name="EncryptedResponses", unit=MetricUnit.Count, value=1)


def _count_refused(reason: Reason) -> None:
    """The metrics of a refused request: Requests and Rejected.<reason> (one of errors.Reason)."""
    metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name=f"Rejected.{reason}", unit=MetricUnit.Count, value=1)


@routes.route("POST", "/copyProtection")
def copy_protection(event: Mapping[str, Any]) -> Answer:
    started = time.perf_counter()
    runtime = get_runtime()
    caller = trust.caller_arn(event.get("requestContext"))
    logger.append_keys(caller=caller)
    trust.check_caller(caller, runtime.settings.allowed_caller_arns)
    headers = event.get("headers")
    speke_version = speke_http.speke_version(headers)
    speke_http.check_content_type(headers)
    body = speke_http.request_body(
        event.get("body"), bool(event.get("isBase64Encoded")), runtime.settings.max_request_bytes
    )
    result = runtime.exchange.answer(body, speke_version)
    _count_answered(result.key_count, encrypted=result.encrypted)
    logger.info(
        "key request answered",
        extra={
            "outcome": "ok",
            "status": 200,
            "dialect": result.dialect.name,
            "content_id": result.content_id,
            "kids": list(result.kids),
            **({"requested_kids": list(result.requested_kids)} if result.requested_kids else {}),  # KID override
            "key_count": result.key_count,
            "encrypted": result.encrypted,
            "scheme": result.scheme,
            "drm_systems": list(result.drm_systems),
            "periods": result.periods,
            "certificate_sha256": list(result.certificate_sha256),
            "duration_ms": round((time.perf_counter() - started) * 1000, 3),
        },
    )
    return Answer(200, result.body.decode("utf-8"), speke_http.success_headers(result.dialect))


@routes.route("GET", "/heartbeat")
def heartbeat(event: Mapping[str, Any]) -> Answer:
    """SPEKE v1's heartbeat: the caller is checked as for a key request, no key home is called."""
    runtime = get_runtime()
    trust.check_caller(trust.caller_arn(event.get("requestContext")), runtime.settings.allowed_caller_arns)
    metrics.add_metric(name="Heartbeats", unit=MetricUnit.Count, value=1)
    return Answer(200, speke_http.HEARTBEAT_BODY, speke_http.heartbeat_headers())


@routes.not_found
def not_found(event: Mapping[str, Any]) -> Answer:
    _count_refused(Reason.NOT_FOUND)
    return Answer(
        404,
        "Not found: the key provider answers POST /copyProtection and GET /heartbeat only",
        speke_http.error_headers(request_headers=event.get("headers")),
    )


def answer(event: Mapping[str, Any]) -> Answer:
    """The one place that maps errors to HTTP: a route's answer, or the refusal its exception stands for."""
    request_headers = event.get("headers")
    try:
        return routes.find(event)(event)
    except SpekeError as error:
        return refuse(error, request_headers)
    except ConfigurationError as error:
        return misconfigured(error, request_headers)
    except Exception as error:  # anything unexpected is a generic 500, never its text
        return unexpected(error, request_headers)


def refuse(error: SpekeError, request_headers: object) -> Answer:
    retry_after = get_runtime().settings.retry_after_seconds if isinstance(error, BackendUnavailable) else None
    _count_refused(error.reason)
    log = logger.warning if error.status >= 500 else logger.info
    log(
        "key request refused",
        extra={"outcome": "refused", "status": error.status, "reason": error.reason, "error": error.public_message},
    )
    return Answer(
        error.status, error.public_message, speke_http.error_headers(retry_after, request_headers=request_headers)
    )


def misconfigured(error: ConfigurationError, request_headers: object) -> Answer:
    _count_refused(Reason.MISCONFIGURED)
    logger.error("key provider misconfigured", extra={"outcome": "error", "status": 500, "error": str(error)})
    return Answer(500, "Internal error", speke_http.error_headers(request_headers=request_headers))


def unexpected(error: Exception, request_headers: object) -> Answer:
    _count_refused(Reason.INTERNAL)
    # Type and location only: no exception text or locals, in case a library put data in a message.
    logger.error(
        "unexpected failure",
        extra={"outcome": "error", "status": 500, "error_type": type(error).__name__, "where": _where(error)},
    )
    return Answer(500, "Internal error", speke_http.error_headers(request_headers=request_headers))


def _where(error: BaseException) -> str:
    tb = error.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return f"{tb.tb_frame.f_code.co_filename.rsplit('/', 1)[-1]}:{tb.tb_lineno}" if tb else "?"


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    # correlation_id = requestContext.requestId (Powertools' API_GATEWAY_REST path), read without a JMESPath query
    request_context = event.get("requestContext") if isinstance(event, dict) else None
    logger.set_correlation_id(request_context.get("requestId") if isinstance(request_context, dict) else None)
    # The AWS calls of this invocation answer before its remaining time runs out, or are given up (503/grace).
    with call_budget.invocation_deadline(context):
        return answer(event if isinstance(event, dict) else {}).proxy_result()


if observability.xray_tracing:  # optional: X-Ray costs ~300 ms of cold start
    from aws_lambda_powertools import Tracer

    # Never capture the response (it holds PlainValue / wrapped keys) or the error: a trace carries the
    # request's timing and cold-start annotation only. Explicit here, so POWERTOOLS_TRACER_CAPTURE_* cannot
    # turn capture back on.
    lambda_handler = Tracer(service=observability.service_name).capture_lambda_handler(
        lambda_handler, capture_response=False, capture_error=False
    )
