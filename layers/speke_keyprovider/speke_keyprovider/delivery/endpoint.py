"""The key delivery endpoints (docs/key-delivery.md section 1), framework-free.

    GET  /keys/{contentId}/{kid}   -> 200 application/octet-stream, the 16 raw key bytes
    POST /clearkey/{contentId}     -> 200 application/json, a W3C ClearKey licence
    OPTIONS (any path)             -> 204, the CORS preflight (reveals nothing)

Order of refusals, so a request without a valid token learns nothing else: 401 (no / bad token, with
``WWW-Authenticate``), 404 (no such route), 400 (malformed kid; 413 for an oversized licence body, refused
unread, then 400 for a malformed one), 403 (token does not cover the contentId / kid / endpoint, or ClearKey
while only AES-128 delivery is on), 405 (wrong method), 503 + ``Retry-After`` (the key home is down).
Keys come from the same ``KeySource`` as the SPEKE answer, so the key served for (contentId, kid) is the
one the packager encrypted with. Every answer carries ``Cache-Control: no-store`` and, for allowed origins,
the CORS headers. No key or token text ever reaches a ``DeliveryResponse.log`` or an error body.
"""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote

from ..errors import BackendUnavailable, SpekeError
from ..key_sources import KeySource
from ..settings import DeliverySettings
from .errors import BadRequest, MethodNotAllowed, NotEntitled, NotFound, RequestTooLarge, TokenRejected
from .licence import parse_licence_request, render_licence
from .tokens import Entitlement, TokenVerifier

TOKEN_COOKIE = "speke_token"  # noqa: S105 - a cookie name
TOKEN_QUERY = "token"  # noqa: S105 - a parameter name
MAX_CONTENT_ID_CHARS = 1024
_KID = re.compile(r"[0-9a-fA-F]{8}(-?)[0-9a-fA-F]{4}\1[0-9a-fA-F]{4}\1[0-9a-fA-F]{4}\1[0-9a-fA-F]{12}")
_NOT_FOUND = "Not found: key delivery answers GET /keys/{contentId}/{kid} and POST /clearkey/{contentId}"
_ALLOW = {"keys": "GET, OPTIONS", "clearkey": "POST, OPTIONS"}
_ENDPOINT = {"keys": "aes128", "clearkey": "clearkey"}


@dataclass(frozen=True)
class DeliveryRequest:
    """One HTTP request. ``headers`` keys in any case; ``cookies`` as ``name=value`` items."""

    method: str
    path: str
    headers: Mapping[str, str] = field(default_factory=dict)
    query: str = ""
    cookies: Sequence[str] = ()
    body: bytes = field(default=b"", repr=False)

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        for key, value in self.headers.items():
            if key.lower() == wanted:
                return value
        return None


@dataclass(frozen=True)
class DeliveryResponse:
    status: int
    headers: dict[str, str]
    body: bytes = field(repr=False)
    log: dict[str, Any] = field(default_factory=dict)  # the decision, for the handler's log line: no secrets


def http_api_request(event: Mapping[str, Any], *, max_body_bytes: int) -> DeliveryRequest:
    """A ``DeliveryRequest`` from an API Gateway HTTP API (payload 2.0) event. A body over
    ``max_body_bytes`` is not decoded: it becomes one byte too many, so the endpoint answers 413."""
    http = (event.get("requestContext") or {}).get("http") or {}
    raw = event.get("body") or ""
    if len(raw) > (max_body_bytes * 4) // 3 + 4:
        body = b"\0" * (max_body_bytes + 1)
    elif event.get("isBase64Encoded"):
        try:
            body = base64.b64decode(raw, validate=True)
        except ValueError:
            body = b"\xff"  # not JSON: the licence parser names the problem
    else:
        body = raw.encode("utf-8")
    headers = {str(k): str(v) for k, v in (event.get("headers") or {}).items()}
    return DeliveryRequest(
        method=str(http.get("method") or "GET").upper(),
        path=str(event.get("rawPath") or http.get("path") or "/"),
        headers=headers,
        query=str(event.get("rawQueryString") or ""),
        cookies=tuple(str(c) for c in event.get("cookies") or ()),
        body=body,
    )


class KeyDelivery:
    def __init__(
        self,
        settings: DeliverySettings,
        key_source: KeySource,
        verifier: TokenVerifier,
        *,
        retry_after_seconds: int = 5,
    ) -> None:
        self._settings = settings
        self._key_source = key_source
        self._verifier = verifier
        self._retry_after = retry_after_seconds

    @property
    def max_body_bytes(self) -> int:
        return self._settings.max_licence_bytes

    # --- the pipeline ---

    def handle(self, request: DeliveryRequest) -> DeliveryResponse:
        cors = self.cors_headers(request.header("Origin"))
        if request.method == "OPTIONS":
            headers = {**cors, **self._preflight_headers()} if "Access-Control-Allow-Origin" in cors else cors
            return DeliveryResponse(204, {"Cache-Control": "no-store", **headers}, b"", {"decision": "preflight"})
        log: dict[str, Any] = {"method": request.method, "path_kind": None}
        try:
            return self._serve(request, cors, log)
        except SpekeError as error:
            return self._refusal(error, cors, log)

    def _serve(self, request: DeliveryRequest, cors: dict[str, str], log: dict[str, Any]) -> DeliveryResponse:
        route = _route(request.path)
        log["path_kind"] = route[0] if route else "unknown"
        entitlement = self._authenticate(request, log)
        if route is None:
            raise NotFound(_NOT_FOUND)
        kind, segments = route
        content_id = _content_id(segments[0])
        log["content_id"] = content_id
        if kind == "keys":
            kid = _kid(segments[1])
            log["kids"] = [str(kid)]
            self._check_scope(entitlement, content_id, kind)
            if not entitlement.covers_kid(kid):
                raise NotEntitled(f"The token does not cover kid {kid}")
            self._check_method(request, kind)
            key = self._key_source.content_keys(content_id, [kid])[kid]
            headers = {**cors, "Content-Type": "application/octet-stream", "Cache-Control": "no-store"}
            log.update(decision="served", status=200, key_count=1)
            return DeliveryResponse(200, headers, key, log)
        kids: list[uuid.UUID] = []
        if request.method == "POST":
            if len(request.body) > self._settings.max_licence_bytes:
                raise RequestTooLarge(f"Licence request too large: at most {self._settings.max_licence_bytes} bytes")
            kids = parse_licence_request(request.body)
            log["kids"] = [str(kid) for kid in kids]
        if not self._settings.clearkey:
            raise NotEntitled("ClearKey licences are not served here: only AES-128 key delivery is on")
        self._check_scope(entitlement, content_id, kind)
        self._check_method(request, kind)
        covered = [kid for kid in kids if entitlement.covers_kid(kid)]
        if not covered:
            raise NotEntitled("The token covers none of the kids asked for")
        keys = self._key_source.content_keys(content_id, covered)
        body = render_licence((kid, keys[kid]) for kid in covered)
        headers = {**cors, "Content-Type": "application/json", "Cache-Control": "no-store"}
        log.update(decision="served", status=200, key_count=len(covered), kids_refused=len(kids) - len(covered))
        return DeliveryResponse(200, headers, body, log)

    def _authenticate(self, request: DeliveryRequest, log: dict[str, Any]) -> Entitlement:
        token, source = find_token(request, accept_cookies=self._settings.accept_cookies)
        log["token_source"] = source
        if token is None:
            raise TokenRejected("A token is required", presented=False)
        entitlement = self._verifier.verify(token)
        log.update(entitlement.log_fields())
        return entitlement

    def _check_scope(self, entitlement: Entitlement, content_id: str, kind: str) -> None:
        if not entitlement.covers_content(content_id):
            raise NotEntitled("The token does not cover this contentId")
        if not entitlement.covers_endpoint(_ENDPOINT[kind]):
            raise NotEntitled(f"The token does not cover {_ENDPOINT[kind]} delivery")

    @staticmethod
    def _check_method(request: DeliveryRequest, kind: str) -> None:
        allow = _ALLOW[kind]
        if request.method not in allow.split(", "):
            raise MethodNotAllowed(f"Method {request.method[:16]} not allowed here: {allow}", allow=allow)

    def _refusal(self, error: SpekeError, cors: dict[str, str], log: dict[str, Any]) -> DeliveryResponse:
        headers = {**cors, "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"}
        if isinstance(error, TokenRejected):
            challenge = 'Bearer realm="speke-keyprovider"'
            if error.presented:
                challenge += f', error="{error.error}"'
            headers["WWW-Authenticate"] = challenge
        elif isinstance(error, MethodNotAllowed):
            headers["Allow"] = error.allow
        elif isinstance(error, BackendUnavailable):
            headers["Retry-After"] = str(self._retry_after)
        log.update(decision="refused", status=error.status, reason=error.reason, error=error.public_message)
        return DeliveryResponse(error.status, headers, error.public_message.encode("utf-8"), log)

    # --- CORS ---

    def cors_headers(self, origin: str | None) -> dict[str, str]:
        allowed = self._settings.allowed_origins
        if not allowed:
            return {}
        if "*" in allowed and not self._settings.accept_cookies:  # settings refuse * with cookies
            return {
                "Access-Control-Allow-Origin": "*",
                "Access-Control-Expose-Headers": "WWW-Authenticate, Retry-After",
            }
        headers = {"Vary": "Origin"}
        if origin is not None and origin in allowed:
            headers["Access-Control-Allow-Origin"] = origin
            headers["Access-Control-Expose-Headers"] = "WWW-Authenticate, Retry-After"
            if self._settings.accept_cookies:
                headers["Access-Control-Allow-Credentials"] = "true"
        return headers

    @staticmethod
    def _preflight_headers() -> dict[str, str]:
        return {
            "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
            "Access-Control-Allow-Headers": "Authorization, Content-Type",
            "Access-Control-Max-Age": "600",
        }


def find_token(request: DeliveryRequest, *, accept_cookies: bool) -> tuple[str | None, str | None]:
    """(token, transport): the ``Authorization: Bearer`` header, else the ``token`` query parameter, else
    (when cookies are accepted) the ``speke_token`` cookie."""
    authorization = request.header("Authorization")
    if authorization is not None:
        scheme, _, value = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise TokenRejected("The Authorization header must be: Bearer <token>", error="invalid_request")
        return value.strip(), "header"
    if request.query:
        values = parse_qs(request.query, keep_blank_values=True).get(TOKEN_QUERY)
        if values is not None:
            if len(values) != 1:
                raise TokenRejected("More than one token query parameter", error="invalid_request")
            return values[0], "query"
    if accept_cookies:
        items = list(request.cookies)
        cookie_header = request.header("Cookie")
        if cookie_header:
            items.extend(cookie_header.split(";"))
        for item in items:
            name, _, value = item.strip().partition("=")
            if name == TOKEN_COOKIE:
                return value.strip().strip('"'), "cookie"
    return None, None


def _route(path: str) -> tuple[str, list[str]] | None:
    segments = path.split("/")
    if len(segments) == 4 and segments[0] == "" and segments[1] == "keys" and segments[2] and segments[3]:
        return "keys", segments[2:]
    if len(segments) == 3 and segments[0] == "" and segments[1] == "clearkey" and segments[2]:
        return "clearkey", segments[2:]
    return None


def _content_id(segment: str) -> str:
    try:
        content_id = unquote(segment, errors="strict")
    except UnicodeDecodeError:
        raise BadRequest("The contentId in the path is not UTF-8") from None
    if not content_id or len(content_id) > MAX_CONTENT_ID_CHARS or any(ord(c) < 0x20 for c in content_id):
        raise BadRequest(f"The contentId must be 1 to {MAX_CONTENT_ID_CHARS} printable characters")
    return content_id


def _kid(segment: str) -> uuid.UUID:
    text = unquote(segment)
    if not _KID.fullmatch(text):
        raise BadRequest("The kid must be a UUID (32 hex digits, hyphens optional)")
    return uuid.UUID(text)
