"""pytest plugin: no key material in any log line, trace or response header the suite makes the handler emit.

Enabled from ``tests/conftest.py`` with ``pytest_plugins = ["tests.leakcheck"]``.

For the whole session it records
* every secret the provider makes or holds: each CEK derived (``derive_cek`` and ``cek_from_mac``, wrapped
  where the key sources call them), each document / MAC key generated (``DeliveryKeys.generate``), each
  master key loaded (``master_key_from_text``, and every master passed to ``derive_cek``);
* on the key delivery paths: every key served (``KeyDelivery.handle``: the raw key of a GET, each ``k`` of a
  ClearKey licence), every HS256 token secret (``tokens.hmac_key``), every entitlement token presented
  (``endpoint.find_token``) or minted (``delivery_tokens.mint_token``), as text and its signature, and the
  private part of every signing key made (``generate_es256_jwk``);
* every log record of any logger (through a handler on the root logger and on every non-propagating
  logger, such as Powertools' ``speke-keyprovider``, formatted by that logger's own formatters too), and
  every structured (JSON) line the tests' captured stdout / stderr holds — the handler's log and
  metric lines;
* everything a tracer sends: a stand-in for the X-Ray daemon (UDP on 127.0.0.1, ``XRayDaemonStandIn``) runs for
  the whole session and ``AWS_XRAY_DAEMON_ADDRESS`` points at it, so every segment the X-Ray SDK emits, in
  process or in a child process, is scanned;
* every answer of both handlers (``lambda_proxy.Answer.proxy_result`` / ``http_api_result``) and of any Powertools
  resolver (``ApiGatewayResolver.resolve``): its headers, and its body when it is not a 2xx (an error body never
  carries a key);
* whatever a test hands over with ``record_text`` / ``record_secret`` (other channels, other processes).

At the end it looks for every secret in every text, raw, hex (either case), base64 (standard and
URL-safe, with and without padding) and as a Python bytes repr. Any hit fails the session (exit status
1) and is listed by secret kind, form and test, never by value. A test that logs key material on
purpose (to test a redaction, say) opts out with ``@pytest.mark.leakcheck_exempt``.
"""

from __future__ import annotations

import ast
import base64
import contextlib
import functools
import json
import logging
import os
import re
import socket
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

_RECORD_ATTRS = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}
MIN_DISTINCT_BYTES = 6
_RUN = re.compile(r"[A-Za-z0-9+/=_-]{16,}")
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_BYTES_LITERAL = re.compile(r"""b(?:'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")""")


@dataclass
class _State:
    secrets: dict[bytes, str] = field(default_factory=dict)  # secret -> kind
    raw_texts: dict[str, str] = field(default_factory=dict)  # secret text looked for as is (tokens) -> kind
    texts: list[tuple[str, str, str]] = field(default_factory=list)  # (test, source, text)
    current: str = "<session>"
    exempt: bool = False
    patches: list[tuple[Any, str, Any]] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    handler: logging.Handler | None = None

    def secret(self, value: Any, kind: str) -> None:
        if isinstance(value, bytes | bytearray) and len(value) >= 8:
            self.secrets.setdefault(bytes(value), kind)

    def raw_text(self, value: Any, kind: str) -> None:
        if isinstance(value, str) and len(value) >= 16:
            self.raw_texts.setdefault(value, kind)

    def token(self, value: Any) -> None:
        """An entitlement token: the whole text and its signature segment (never logged, even in part)."""
        if isinstance(value, str) and value.count(".") == 2:
            self.raw_text(value, "entitlement token")
            self.raw_text(value.rsplit(".", 1)[1], "entitlement token signature")

    def text(self, source: str, text: str) -> None:
        if text and not self.exempt:
            self.texts.append((self.current, source, text))


_state = _State()


def record_text(source: str, text: str) -> None:
    """Have the session scan ``text`` (from a channel the plugin does not capture itself) for every secret."""
    _state.text(source, text)


def record_secret(value: bytes, kind: str) -> None:
    """Have the session look for ``value`` (a secret made where the plugin does not see it, e.g. a child process)."""
    _state.secret(value, kind)


class XRayDaemonStandIn:
    """A stand-in for the X-Ray daemon: a UDP socket on 127.0.0.1 that keeps every datagram the SDK sends
    (``{"format": "json", "version": 1}`` then one segment document). ``address`` is the value for
    ``AWS_XRAY_DAEMON_ADDRESS``; ``on_datagram`` is called with each decoded datagram."""

    def __init__(self, on_datagram: Callable[[str], None] | None = None) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.settimeout(0.2)
        self.address = f"127.0.0.1:{self._socket.getsockname()[1]}"
        self.datagrams: list[str] = []
        self._on_datagram = on_datagram
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._receive, name="xray-daemon-stand-in", daemon=True)
        self._thread.start()

    def _receive(self) -> None:
        while True:
            try:
                data, _ = self._socket.recvfrom(65536)
            except TimeoutError:
                if self._stopping.is_set():  # stop only once nothing more is waiting
                    return
                continue
            except OSError:
                return
            text = data.decode("utf-8", "replace")
            with self._lock:
                self.datagrams.append(text)
            if self._on_datagram is not None:
                self._on_datagram(text)

    def received(self) -> list[str]:
        with self._lock:
            return list(self.datagrams)

    def close(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)
        self._socket.close()


# --- recording the secrets ------------------------------------------------------------------------


def _patch(owner: Any, name: str, replacement: Any) -> None:
    _state.patches.append((owner, name, owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)))
    setattr(owner, name, replacement)


def _wrap_everywhere(
    original: Callable[..., Any],
    make: Callable[[Callable[..., Any]], Callable[..., Any]],
    prefix: str = "speke_keyprovider",
) -> None:
    """Replace ``original`` in every loaded ``prefix`` module (and the tests' helpers) that holds it by name."""
    wrapped = make(original)
    for module_name, module in list(sys.modules.items()):
        if module is None or not module_name.startswith((prefix, "tests.")):
            continue
        for attr, value in list(vars(module).items()):
            if value is original:
                _patch(module, attr, wrapped)


def _install() -> None:
    from speke_keyprovider import key_derivation, key_sources, key_wrapping

    with contextlib.suppress(ImportError):  # the AWS homes, when boto3 is there
        from speke_keyprovider import aws_key_sources  # noqa: F401

    def derive(fn: Callable[..., bytes]) -> Callable[..., bytes]:
        @functools.wraps(fn)
        def wrapper(master: bytes, *args: Any, **kwargs: Any) -> bytes:
            cek = fn(master, *args, **kwargs)
            _state.secret(master, "master key")
            _state.secret(cek, "CEK")
            return cek

        return wrapper

    def from_mac(fn: Callable[..., bytes]) -> Callable[..., bytes]:
        @functools.wraps(fn)
        def wrapper(mac: bytes) -> bytes:
            cek = fn(mac)
            _state.secret(cek, "CEK")
            return cek

        return wrapper

    def master(fn: Callable[..., bytes]) -> Callable[..., bytes]:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> bytes:
            value = fn(*args, **kwargs)
            _state.secret(value, "master key")
            return value

        return wrapper

    _wrap_everywhere(key_derivation.derive_cek, derive)
    _wrap_everywhere(key_derivation.cek_from_mac, from_mac)
    _wrap_everywhere(key_sources.master_key_from_text, master)

    generate = key_wrapping.DeliveryKeys.__dict__["generate"].__func__

    def generate_and_record(cls: type) -> Any:
        keys = generate(cls)
        _state.secret(keys.document_key, "document key")
        _state.secret(keys.mac_key, "MAC key")
        return keys

    _patch(key_wrapping.DeliveryKeys, "generate", classmethod(generate_and_record))
    _install_delivery()


def _install_delivery() -> None:
    """The key delivery paths: keys served, token secrets, tokens presented and minted, signing keys made."""
    try:
        from speke_keyprovider.delivery import endpoint, tokens
    except ImportError:  # PyJWT missing: nothing of key delivery can run either
        return

    def find(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            found = fn(*args, **kwargs)
            _state.token(found[0])
            return found

        return wrapper

    def hmac(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def wrapper(secret: Any, *args: Any, **kwargs: Any) -> Any:
            _state.secret(secret.encode() if isinstance(secret, str) else secret, "token secret")
            return fn(secret, *args, **kwargs)

        return wrapper

    _wrap_everywhere(endpoint.find_token, find)
    _wrap_everywhere(tokens.hmac_key, hmac)
    handle = endpoint.KeyDelivery.__dict__["handle"]

    def handle_and_record(self: Any, request: Any) -> Any:
        answer = handle(self, request)
        if answer.status == 200 and answer.headers.get("Content-Type") == "application/octet-stream":
            _state.secret(answer.body, "delivered key")
        elif answer.status == 200:
            with contextlib.suppress(ValueError, KeyError, TypeError):
                for entry in json.loads(answer.body)["keys"]:
                    _state.secret(base64.urlsafe_b64decode(entry["k"] + "=="), "delivered key")
        return answer

    _patch(endpoint.KeyDelivery, "handle", handle_and_record)
    with contextlib.suppress(ImportError):
        from speke_keyprovider_tools import delivery_tokens

        def mint(fn: Callable[..., str]) -> Callable[..., str]:
            @functools.wraps(fn)
            def wrapper(*args: Any, **kwargs: Any) -> str:
                minted = fn(*args, **kwargs)
                _state.token(minted)
                return minted

            return wrapper

        def signing_key(fn: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
            @functools.wraps(fn)
            def wrapper(*args: Any, **kwargs: Any) -> dict[str, Any]:
                jwk = fn(*args, **kwargs)
                with contextlib.suppress(KeyError, ValueError):
                    _state.secret(base64.urlsafe_b64decode(jwk["d"] + "=="), "token signing key")
                return jwk

            return wrapper

        _wrap_everywhere(delivery_tokens.mint_token, mint, prefix="speke_keyprovider_tools")
        _wrap_everywhere(delivery_tokens.generate_es256_jwk, signing_key, prefix="speke_keyprovider_tools")

    with contextlib.suppress(ImportError):  # every answer of the handler: headers, and error bodies
        from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver

        resolve = ApiGatewayResolver.__dict__["resolve"]

        @functools.wraps(resolve)
        def resolve_and_record(self: Any, event: Any, context: Any) -> Any:
            result = resolve(self, event, context)
            with contextlib.suppress(Exception):
                _record_answer(result)
            return result

        _patch(ApiGatewayResolver, "resolve", resolve_and_record)

    with contextlib.suppress(ImportError):  # every answer of the key provider's own routes
        from speke_keyprovider.lambda_proxy import Answer

        def recording(shape: Callable[[Any], Any]) -> Callable[[Any], Any]:
            @functools.wraps(shape)
            def shape_and_record(self: Any) -> Any:
                result = shape(self)
                with contextlib.suppress(Exception):
                    _record_answer(result)
                return result

            return shape_and_record

        for name in ("proxy_result", "http_api_result"):
            _patch(Answer, name, recording(Answer.__dict__[name]))


def _record_answer(result: Any) -> None:
    if not isinstance(result, dict):
        return
    headers = {"headers": result.get("headers"), "multiValueHeaders": result.get("multiValueHeaders")}
    _state.text("response headers", json.dumps(headers, default=repr, ensure_ascii=False))
    status = result.get("statusCode")
    if not (isinstance(status, int) and 200 <= status < 300):
        body = result.get("body") or ""
        if result.get("isBase64Encoded"):
            with contextlib.suppress(ValueError):
                body = base64.b64decode(body).decode("utf-8", "replace")
        _state.text(f"error body ({status})", str(body))


def _uninstall() -> None:
    while _state.patches:
        owner, name, original = _state.patches.pop()
        setattr(owner, name, original)


# --- capturing the texts --------------------------------------------------------------------------


class _Capture(logging.Handler):
    def filter(self, record: logging.LogRecord) -> bool:
        # Powertools adds a SuppressFilter for its own service to every root handler; we want every record.
        return True

    def emit(self, record: logging.LogRecord) -> None:
        try:
            parts = [record.getMessage()]
            extra = {k: v for k, v in record.__dict__.items() if k not in _RECORD_ATTRS}
            if extra:
                parts.append(json.dumps(extra, default=repr, ensure_ascii=False))
            if record.exc_info and record.exc_info[1] is not None:
                parts.append(repr(record.exc_info[1]))
            for other in logging.getLogger(record.name).handlers:
                if other is not self and other.formatter is not None:
                    with contextlib.suppress(Exception):  # a formatter failing here fails elsewhere too
                        parts.append(other.format(record))
            _state.text(f"log record {record.name}", "\n".join(parts))
        except Exception:  # noqa: BLE001 - never break the suite from a log handler
            self.handleError(record)


def _attach() -> None:
    """Our handler on the root logger and, appended last, on every non-propagating logger that already has
    its own handlers (Powertools expects its handler first)."""
    handler = _state.handler
    if handler is None:
        return
    loggers = [logging.getLogger()] + [
        logger
        for logger in logging.Logger.manager.loggerDict.values()
        if isinstance(logger, logging.Logger) and not logger.propagate and logger.handlers
    ]
    for logger in loggers:
        if handler not in logger.handlers:
            logger.addHandler(handler)


def _detach() -> None:
    handler = _state.handler
    if handler is None:
        return
    for logger in [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]:
        if isinstance(logger, logging.Logger) and handler in logger.handlers:
            logger.removeHandler(handler)


def _structured_lines(text: str) -> str:
    """The JSON object lines of captured output (the handler's log and metric lines)."""
    keep = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("{") and stripped.endswith("}"):
            try:
                value = json.loads(stripped)
            except ValueError:
                continue
            if isinstance(value, dict) and ("level" in value or "_aws" in value or "message" in value):
                keep.append(stripped)
    return "\n".join(keep)


# --- the scan -------------------------------------------------------------------------------------


def _forms(secret: bytes) -> dict[str, str]:
    forms = {"hex": secret.hex(), "HEX": secret.hex().upper()}
    for name, encoded in (
        ("base64", base64.b64encode(secret)),
        ("base64url", base64.urlsafe_b64encode(secret)),
    ):
        forms[name] = encoded.decode().rstrip("=")
    return forms


def scan(
    texts: list[tuple[str, str, str]], secrets: dict[bytes, str], raw_texts: dict[str, str] | None = None
) -> list[str]:
    """Findings as "kind #n as form in test (source)"; never the secret itself. ``raw_texts`` (tokens) are
    looked for as they are."""
    found_raw = [
        f"{kind} #{n} ({len(value)} chars) as text in {test} ({source})"
        for n, (value, kind) in enumerate((raw_texts or {}).items())
        for test, source, text in texts
        if value in text
    ]
    return found_raw + _scan_secrets(texts, secrets)


def _scan_secrets(texts: list[tuple[str, str, str]], secrets: dict[bytes, str]) -> list[str]:
    index = {secret: n for n, secret in enumerate(secrets)}
    # Degenerate test values (b"\x00" * 16 from a stubbed MAC, b"x" * 32) are no secrets and would match
    # ordinary text ("AAAA...", "xxxx..."): only values with some variety are looked for.
    secrets = {secret: kind for secret, kind in secrets.items() if len(set(secret)) >= MIN_DISTINCT_BYTES}
    if not secrets:
        return []
    needles: dict[str, tuple[bytes, str]] = {}
    for secret in secrets:
        for form_name, form in _forms(secret).items():
            needles[form] = (secret, form_name)
    lengths = sorted({len(k) for k in needles})
    printable = {s.decode("ascii"): s for s in secrets if s.isascii() and s.decode("ascii").isprintable()}
    by_length: dict[int, set[bytes]] = {}
    for secret in secrets:
        by_length.setdefault(len(secret), set()).add(secret)
    found: dict[tuple[bytes, str, str], str] = {}

    def hit(secret: bytes, form: str, test: str, source: str) -> None:
        found.setdefault((secret, form, test), source)

    for test, source, text in texts:
        for run in _RUN.findall(text):
            for length in lengths:
                for i in range(len(run) - length + 1):
                    match = needles.get(run[i : i + length])
                    if match is not None:
                        hit(match[0], match[1], test, source)
        for raw_text, secret in printable.items():
            if raw_text in text:
                hit(secret, "raw text", test, source)
        for literal in _BYTES_LITERAL.findall(text):
            for candidate in {literal, literal.replace("\\\\", "\\")}:  # as is, and once JSON-unescaped
                try:
                    value = ast.literal_eval(candidate)
                except (ValueError, SyntaxError):
                    continue
                _windows(value, by_length, lambda s: hit(s, "bytes repr", test, source))
        raws = [text]
        if "\\u00" in text:  # JSON strings with escaped latin-1 characters: look at their decoded values
            for literal in _JSON_STRING.findall(text):
                if "\\u00" in literal:
                    try:
                        raws.append(json.loads(literal))
                    except ValueError:
                        continue
        for raw in raws:
            if not raw.isascii():
                _windows(raw.encode("latin-1", "ignore"), by_length, lambda s: hit(s, "raw bytes", test, source))
    return [
        f"{secrets[secret]} #{index[secret]} ({len(secret)} bytes) as {form} in {test} ({source})"
        for (secret, form, test), source in sorted(found.items(), key=lambda item: (item[0][2], item[0][1]))
    ]


def _windows(data: bytes, by_length: dict[int, set[bytes]], report: Callable[[bytes], None]) -> None:
    for length, group in by_length.items():
        for i in range(len(data) - length + 1):
            window = data[i : i + length]
            if window in group:
                report(window)


# --- hooks ----------------------------------------------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "leakcheck_exempt: this test may log key material on purpose (leak check skips it)"
    )


_daemon: XRayDaemonStandIn | None = None


def pytest_sessionstart(session: pytest.Session) -> None:
    global _daemon
    _install()
    _state.handler = _Capture(level=logging.NOTSET)
    _attach()
    _daemon = XRayDaemonStandIn(on_datagram=lambda text: _state.text("x-ray segment", text))
    os.environ["AWS_XRAY_DAEMON_ADDRESS"] = _daemon.address  # every tracer of the session (and its children) sends here


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_logstart(nodeid: str, location: Any) -> None:
    _state.current = nodeid


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    _state.exempt = item.get_closest_marker("leakcheck_exempt") is not None
    _attach()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> None:
    _attach()  # the app (and its Powertools logger) may have been loaded by a fixture


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if _state.exempt:
        return
    for name, content in report.sections:
        if name.startswith(("Captured stdout", "Captured stderr")):
            _state.text(name.lower(), _structured_lines(content))


def pytest_runtest_teardown(item: pytest.Item) -> None:
    _attach()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _detach()
    _uninstall()
    if _daemon is not None:
        _daemon.close()
    _state.findings = scan(_state.texts, _state.secrets, _state.raw_texts)
    if _state.findings and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    kinds: dict[str, int] = {}
    for kind in [*_state.secrets.values(), *_state.raw_texts.values()]:
        kinds[kind] = kinds.get(kind, 0) + 1
    summary = ", ".join(f"{n} {kind}{'s' if n > 1 else ''}" for kind, n in sorted(kinds.items())) or "no secrets"
    if _state.findings:
        terminalreporter.section("key material in logs, traces or headers", sep="=", red=True, bold=True)
        for finding in _state.findings[:50]:
            terminalreporter.line(f"LEAK: {finding}", red=True)
        if len(_state.findings) > 50:
            terminalreporter.line(f"... and {len(_state.findings) - 50} more", red=True)
    else:
        terminalreporter.write_line(
            f"leakcheck: {summary} looked for in {len(_state.texts)} texts (logs, traces, headers): none found"
        )
