"""``make run``: the key provider on loopback, doing what API Gateway does for this API, then calling
the same ``lambda_handler`` as the deployed function.

* ``POST /copyProtection`` and ``GET /heartbeat`` only (the API's two methods);
  SigV4 (service ``execute-api``, region ``LOCAL_SIGV4_REGION``) checked
  against ``LOCAL_SIGV4_ACCESS_KEY_ID`` / ``LOCAL_SIGV4_SECRET_ACCESS_KEY`` (generated and printed
  when unset); unsigned, badly signed, wrong-service/region or stale requests get 403.
* Every setting of the Lambda function is honoured (environment variables). Default key home:
  ``KEY_SOURCE=file`` with a master key file created on first run (mode 0600) in ``.local-state/``.
  boto3's ``AWS_ENDPOINT_URL`` lets a moto server stand in for Secrets Manager / KMS.
* Key delivery to players (docs/key-delivery.md) on the same port: ``/keys/...`` and ``/clearkey/...`` go to
  ``functions/key_delivery/app.py`` as an HTTP API would send them (tokens, no SigV4). ``KEY_DELIVERY``
  defaults to ``aes128+clearkey`` and ``KEY_DELIVERY_URL`` to this server; an ES256 signing key is created
  in the state folder on first run and trusted together with any ``KEY_DELIVERY_JWKS`` given; mint tokens
  with ``speke-keyprovider token --content-id ...``. ``KEY_DELIVERY=none`` turns the paths off.
* One line per request on stderr (never the query string: it may hold a token), request text escaped (no
  control characters, so a request cannot erase or forge a line); stops cleanly on Ctrl-C / SIGTERM.
* Bounded: every socket operation times out after ``SOCKET_TIMEOUT`` s and a connection is cut after
  ``REQUEST_DEADLINE`` s whatever it sends; at most ``MAX_CONNECTIONS`` are served at once (the rest are
  closed at once); ``LOCAL_SERVER_SOCKET_TIMEOUT`` / ``LOCAL_SERVER_REQUEST_DEADLINE`` /
  ``LOCAL_SERVER_MAX_CONNECTIONS`` override them; the signature headers are checked before the body is
  read, and the body is read only up to API Gateway's limit; a malformed ``Host`` is a 400; any failure of
  this server is a 500 answer, never a dropped connection.

Run: ``python -m speke_keyprovider_tools.local_server [--port 3000] [--handler functions/key_provider/app.py]``
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import importlib.util
import json
import os
import re
import secrets
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from .apigw_event import http_api_event, rest_proxy_event
from .local_sigv4 import LocalCredentials, SigV4Rejected, check_authorization, verify

API_GATEWAY_MAX_BODY = 10 * 1024 * 1024  # API Gateway's own payload limit; the function caps at 1 MiB
SOCKET_TIMEOUT = 10.0  # seconds per socket read / write
REQUEST_DEADLINE = 30.0  # seconds for a whole connection (a slow sender cannot hold a thread longer)
MAX_CONNECTIONS = 64  # served at once; more are closed without an answer
_READ_CHUNK = 64 * 1024
# Host: a DNS name or IPv4 address, or a bracketed IPv6 address, with an optional port.
_HOST = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?")
_JSON = {"Content-Type": "application/json"}
LOCAL_ACCOUNT = "000000000000"
LOCAL_CALLER_ARN = f"arn:aws:iam::{LOCAL_ACCOUNT}:user/local-speke-client"
DEFAULT_HANDLER = Path("functions/key_provider/app.py")
DEFAULT_DELIVERY_HANDLER = Path("functions/key_delivery/app.py")
DELIVERY_PREFIXES = ("/keys", "/clearkey")
DEFAULT_STATE_DIR = Path(".local-state")
ROUTES = {"/copyProtection": "POST", "/heartbeat": "GET"}  # the API's resources and their one method each


def load_handler(path: Path, module_name: str = "speke_local_app") -> Callable[[dict, Any], dict]:
    path = path.resolve()
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load the handler from {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    handler: Callable[[dict, Any], dict] = module.lambda_handler
    return handler


def ensure_master_key_file(state_dir: Path) -> Path:
    """Create the local master key on first run: 64 random characters, readable by the owner only."""
    state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = state_dir / "master.key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return path


def configure_environment(env: dict[str, str], state_dir: Path) -> list[str]:
    """Defaults for a local run; returns lines to print. Explicit settings always win."""
    notes = []
    env.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    env.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    env.setdefault("POWERTOOLS_SERVICE_NAME", "speke-keyprovider")
    if env.setdefault("KEY_SOURCE", "file") == "file" and not env.get("MASTER_KEY_FILE"):
        env["MASTER_KEY_FILE"] = str(ensure_master_key_file(state_dir))
        notes.append(f"key home: file {env['MASTER_KEY_FILE']}")
    else:
        notes.append(f"key home: {env['KEY_SOURCE']}")
    if not env.get("LOCAL_SIGV4_ACCESS_KEY_ID") or not env.get("LOCAL_SIGV4_SECRET_ACCESS_KEY"):
        env["LOCAL_SIGV4_ACCESS_KEY_ID"] = "AKIALOCAL" + secrets.token_hex(6).upper()
        env["LOCAL_SIGV4_SECRET_ACCESS_KEY"] = secrets.token_urlsafe(30)
        notes.append("generated SigV4 credentials for this run:")
        notes.append(f"  export AWS_ACCESS_KEY_ID={env['LOCAL_SIGV4_ACCESS_KEY_ID']}")
        notes.append(f"  export AWS_SECRET_ACCESS_KEY={env['LOCAL_SIGV4_SECRET_ACCESS_KEY']}")
    env.setdefault("LOCAL_SIGV4_REGION", "us-east-1")
    notes.extend(configure_delivery(env, state_dir))
    return notes


def configure_delivery(env: dict[str, str], state_dir: Path) -> list[str]:
    """Key delivery defaults for a local run: on (both endpoints), the local ES256 key trusted."""
    from .delivery_tokens import local_signing_key, merge_jwks, public_jwks

    mode = env.setdefault("KEY_DELIVERY", "aes128+clearkey").strip().lower()
    if mode == "none":
        return ["key delivery: off (KEY_DELIVERY=none)"]
    try:
        given = json.loads(env["KEY_DELIVERY_JWKS"]) if env.get("KEY_DELIVERY_JWKS", "").strip() else None
    except ValueError:
        raise SystemExit("KEY_DELIVERY_JWKS must be a JSON Web Key Set") from None
    if given is not None and not isinstance(given, dict):
        raise SystemExit("KEY_DELIVERY_JWKS must be a JSON Web Key Set")
    signing_key = local_signing_key(state_dir)
    env["KEY_DELIVERY_JWKS"] = json.dumps(merge_jwks(public_jwks([signing_key]), given))
    if env.get("KEY_DELIVERY_ACCEPT_COOKIES", "").strip().lower() not in ("1", "true", "yes", "on"):
        env.setdefault("KEY_DELIVERY_ALLOWED_ORIGINS", "*")
    return [
        f"key delivery: {mode} (tokens signed by {signing_key['kid']}: "
        f"speke-keyprovider token --content-id ID --state-dir {state_dir})"
    ]


def is_delivery_path(path: str) -> bool:
    return any(path == prefix or path.startswith(prefix + "/") for prefix in DELIVERY_PREFIXES)


def printable(text: str, limit: int = 200) -> str:
    """Request text for a log line: non-printable and non-ASCII characters as escapes, bounded, quoted."""
    clipped = text[:limit]
    clean = "".join(ch if " " <= ch <= "~" and ch != "\\" else ch.encode("unicode_escape").decode() for ch in clipped)
    if _needs_quote(clean) or len(text) > limit:
        return repr(clean + ("..." if len(text) > limit else ""))
    return clean


def _needs_quote(text: str) -> bool:
    return not text or any(ch in " '\"" for ch in text)


def lambda_context(request_id: str) -> SimpleNamespace:
    return SimpleNamespace(
        function_name="speke-keyprovider-local",
        function_version="$LATEST",
        memory_limit_in_mb=512,
        aws_request_id=request_id,
        invoked_function_arn=f"arn:aws:lambda:local:{LOCAL_ACCOUNT}:function:speke-keyprovider-local",
        get_remaining_time_in_millis=lambda: 29000,
    )


class KeyProviderServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the listen backlog (socketserver's default of 5 drops bursts of clients)

    def __init__(
        self,
        address: tuple[str, int],
        handler: Callable[[dict, Any], dict],
        creds: LocalCredentials,
        log: Callable[[str], None],
        delivery_handler: Callable[[dict, Any], dict] | None = None,
    ) -> None:
        super().__init__(address, _RequestHandler)
        self.lambda_handler = handler
        self.delivery_handler = delivery_handler
        self.creds = creds
        self.log_line = log
        self.invoke_lock = threading.Lock()  # one Lambda container handles one request at a time
        self.delivery_lock = threading.Lock()  # the key delivery function: its own container
        self.slots = threading.BoundedSemaphore(int(os.environ.get("LOCAL_SERVER_MAX_CONNECTIONS", MAX_CONNECTIONS)))
        self.socket_timeout = float(os.environ.get("LOCAL_SERVER_SOCKET_TIMEOUT", SOCKET_TIMEOUT))
        self.request_deadline = float(os.environ.get("LOCAL_SERVER_REQUEST_DEADLINE", REQUEST_DEADLINE))

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.slots.acquire(blocking=False):  # full: close at once rather than queue a thread
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()


class _RequestHandler(BaseHTTPRequestHandler):
    server: KeyProviderServer
    server_version = "speke-keyprovider-local"
    sys_version = ""
    timeout = SOCKET_TIMEOUT  # StreamRequestHandler: applied to the connection's socket

    def setup(self) -> None:
        self.timeout = self.server.socket_timeout  # type: ignore[misc]  # per connection: the server's setting
        super().setup()
        self._deadline = threading.Timer(self.server.request_deadline, self._expire)
        self._deadline.daemon = True
        self._deadline.start()

    def finish(self) -> None:
        self._deadline.cancel()
        with contextlib.suppress(OSError):  # the client went away or the deadline cut the connection
            super().finish()

    def _expire(self) -> None:
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def do_POST(self) -> None:
        self._handle("POST")

    def do_GET(self) -> None:
        self._handle("GET")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_OPTIONS(self) -> None:
        self._handle("OPTIONS")

    def do_HEAD(self) -> None:
        self._handle("HEAD")

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _read_body(self, length: int) -> bytes:
        chunks: list[bytes] = []
        remaining = length
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, _READ_CHUNK))
            if not chunk:
                raise ConnectionError("client closed the connection before sending its body")
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)

    def _handle(self, method: str) -> None:
        started = time.perf_counter()
        path, _, query = self.path.partition("?")
        try:
            status, headers, body = self._answer(method, path, query)
        except (TimeoutError, ConnectionError):
            self.close_connection = True
            self.server.log_line(f"{time.strftime('%H:%M:%S')} {method} {printable(path)} connection lost")
            return
        except Exception as exc:
            self.close_connection = True
            status, headers, body = 500, dict(_JSON), b'{"message":"Internal server error"}'
            self.server.log_line(f"local server failure: {type(exc).__name__}")
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(body)
        self.server.log_line(
            f"{time.strftime('%H:%M:%S')} {method} {printable(path)} {status} "
            f"{(time.perf_counter() - started) * 1000:.1f}ms {len(body)}B"
        )

    def _answer(self, method: str, path: str, query: str) -> tuple[int, dict[str, str], bytes]:
        json_headers = dict(_JSON)
        length_text = self.headers.get("Content-Length", "0").strip()
        if not length_text.isascii() or not length_text.isdigit() or len(length_text) > 12:
            self.close_connection = True
            return 400, json_headers, b'{"message":"Invalid Content-Length"}'
        length = int(length_text)
        if length > API_GATEWAY_MAX_BODY:
            self.close_connection = True
            return 413, json_headers, b'{"message":"Request Too Long"}'
        if self.server.delivery_handler is not None and is_delivery_path(path):
            # key delivery: tokens, not SigV4 (the function checks them); bodies are small and bounded there
            return self._deliver(method, path, query, self._read_body(length))
        # Nothing is read from the body until the request has a route and well-formed, in-scope signature
        # headers: an unsigned client cannot make this server buffer its body.
        if ROUTES.get(path) != method:
            self.close_connection = True
            status = 403 if path not in ROUTES else 405
            return status, json_headers, b'{"message":"Missing Authentication Token"}'
        headers = {name: value for name, value in self.headers.items()}
        bound_host, bound_port = self.server.server_address[:2]
        host = self.headers.get("Host", f"{bound_host!s}:{bound_port}").strip()
        if not _HOST.fullmatch(host):
            self.close_connection = True
            return 400, json_headers, b'{"message":"Invalid Host header"}'
        try:
            check_authorization(headers, self.server.creds)
        except SigV4Rejected as exc:
            self.close_connection = True
            return 403, json_headers, json.dumps({"message": str(exc)}).encode()
        body = self._read_body(length)
        url = f"http://{host}{self.path}"
        try:
            access_key = verify(method, url, headers, body, self.server.creds)
        except (SigV4Rejected, ValueError) as exc:
            message = str(exc) if isinstance(exc, SigV4Rejected) else "Invalid request URL"
            return 403, json_headers, json.dumps({"message": message}).encode()
        params = dict(item.partition("=")[::2] for item in query.split("&") if item)
        event = rest_proxy_event(
            body,
            headers=headers,
            caller_arn=LOCAL_CALLER_ARN,
            access_key=access_key,
            account_id=LOCAL_ACCOUNT,
            method=method,
            path=path,
            stage="local",
            query=params,
        )
        with self.server.invoke_lock:
            result = self.server.lambda_handler(event, lambda_context(event["requestContext"]["requestId"]))
        out_headers = dict(result.get("headers") or {})
        for name, values in (result.get("multiValueHeaders") or {}).items():
            out_headers.setdefault(name, ", ".join(values))
        raw = result.get("body") or ""
        payload = base64.b64decode(raw) if result.get("isBase64Encoded") else raw.encode("utf-8")
        return int(result.get("statusCode", 502)), out_headers, payload

    def _deliver(self, method: str, path: str, query: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        """What the key delivery HTTP API does: a payload 2.0 event to the delivery function."""
        event = http_api_event(
            method, path, headers={name: value for name, value in self.headers.items()}, query=query, body=body
        )
        assert self.server.delivery_handler is not None
        with self.server.delivery_lock:
            result = self.server.delivery_handler(event, lambda_context(event["requestContext"]["requestId"]))
        out_headers = {str(k): str(v) for k, v in (result.get("headers") or {}).items()}
        raw = result.get("body") or ""
        payload = base64.b64decode(raw) if result.get("isBase64Encoded") else raw.encode("utf-8")
        return int(result.get("statusCode", 502)), out_headers, payload


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the SPEKE v2 key provider locally (API Gateway + Lambda).")
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "3000")))
    parser.add_argument("--handler", type=Path, default=DEFAULT_HANDLER, help="path of the function's app.py")
    parser.add_argument(
        "--delivery-handler", type=Path, default=DEFAULT_DELIVERY_HANDLER, help="the key delivery function's app.py"
    )
    parser.add_argument("--state-dir", type=Path, default=Path(os.environ.get("LOCAL_STATE_DIR", DEFAULT_STATE_DIR)))
    args = parser.parse_args(argv)

    notes = configure_environment(os.environ, args.state_dir)  # type: ignore[arg-type]
    handler = load_handler(args.handler)
    creds = LocalCredentials(
        os.environ["LOCAL_SIGV4_ACCESS_KEY_ID"],
        os.environ["LOCAL_SIGV4_SECRET_ACCESS_KEY"],
        region=os.environ["LOCAL_SIGV4_REGION"],
    )

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    server = KeyProviderServer((args.host, args.port), handler, creds, log)
    host, port = server.server_address[:2]
    if os.environ.get("KEY_DELIVERY", "none").strip().lower() != "none":
        os.environ.setdefault("KEY_DELIVERY_URL", f"http://{host!s}:{port}")  # read on the first request
        server.delivery_handler = load_handler(args.delivery_handler, "speke_local_delivery_app")

    def stop(signum: int, frame: Any) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)  # installed before the banner, so a caller that waits for it can stop us
    signal.signal(signal.SIGINT, stop)
    log(
        f"speke-keyprovider listening on http://{host!s}:{port}/copyProtection "
        f"(SigV4: service execute-api, region {creds.region})"
    )
    for line in notes:
        log(line)
    if server.delivery_handler is not None:
        log(f"key delivery: {os.environ['KEY_DELIVERY_URL']}/keys/<contentId>/<kid>, .../clearkey/<contentId>")

    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        log("speke-keyprovider stopped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
