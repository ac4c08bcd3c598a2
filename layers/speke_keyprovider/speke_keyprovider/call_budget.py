"""How long the AWS calls of one request may take: a deadline inside the Lambda invocation.

The handler opens ``invocation_deadline(context)`` around every invocation. The key homes' AWS calls
(``aws_key_sources``) wait for an answer only until that deadline, which is the invocation's remaining time
less ``RESPONSE_RESERVE_SECONDS``; a call still running then is abandoned, and the request is answered from the
grace-period cache or with a 503 and ``Retry-After``, before Lambda would kill the invocation (which API
Gateway turns into a 502 without ``Retry-After``). Outside an invocation (the CLI, tests) a call gets
``DEFAULT_BUDGET_SECONDS``.

The botocore client settings live here too, so that one place holds every figure of the budget; the
infrastructure checks hold them against the template's function timeout. Pure standard library.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

# Kept back from the invocation's remaining time for what follows the AWS calls: wrapping and rendering the
# keys (milliseconds), the logs and metrics, and returning the answer.
RESPONSE_RESERVE_SECONDS = 1.0
# A call made outside any invocation deadline (the operator CLI, benchmarks) waits this long.
DEFAULT_BUDGET_SECONDS = 5.0
# API Gateway REST integrations time out at 29 s, whatever the function timeout: never wait past that.
API_GATEWAY_TIMEOUT_SECONDS = 29.0
MAX_BUDGET_SECONDS = API_GATEWAY_TIMEOUT_SECONDS - RESPONSE_RESERVE_SECONDS

# Every AWS client of the key homes (botocore Config): one attempt takes at most CONNECT + READ seconds;
# botocore's standard retry mode makes at most TOTAL_MAX_ATTEMPTS attempts. The deadline above stops the
# waiting whatever these say; they bound how long an abandoned call keeps a worker thread busy.
CONNECT_TIMEOUT_SECONDS = 1
READ_TIMEOUT_SECONDS = 2
TOTAL_MAX_ATTEMPTS = 2


class Deadline:
    """A point in time (monotonic clock) by which the AWS calls of a request must have answered."""

    __slots__ = ("_at", "_clock", "budget")

    def __init__(self, seconds: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.budget = max(0.0, float(seconds))
        self._clock = clock
        self._at = clock() + self.budget

    def remaining(self) -> float:
        """Seconds left, never negative."""
        return max(0.0, self._at - self._clock())

    @property
    def expired(self) -> bool:
        return self._clock() >= self._at

    def __repr__(self) -> str:
        return f"Deadline(budget={self.budget:.3f}s, remaining={self.remaining():.3f}s)"


_current: ContextVar[Deadline | None] = ContextVar("speke_call_deadline", default=None)


def active() -> Deadline | None:
    """The deadline opened by the caller, if any (a worker thread sees the one of the request it runs for)."""
    return _current.get()


def current() -> Deadline:
    """The deadline of the calls about to be made: the open one, else a fresh default budget."""
    deadline = _current.get()
    return deadline if deadline is not None else Deadline(DEFAULT_BUDGET_SECONDS)


@contextmanager
def deadline_scope(seconds: float) -> Iterator[Deadline]:
    """AWS calls made inside the block answer within ``seconds`` from now, or are given up."""
    deadline = Deadline(seconds)
    token = _current.set(deadline)
    try:
        yield deadline
    finally:
        _current.reset(token)


def budget_for(context: Any) -> float:
    """The AWS call budget of a Lambda invocation: its remaining time less the reserve, at most
    ``MAX_BUDGET_SECONDS``. A context without ``get_remaining_time_in_millis`` gets the default budget."""
    remaining_ms = getattr(context, "get_remaining_time_in_millis", None)
    if remaining_ms is None:
        return DEFAULT_BUDGET_SECONDS
    return max(0.0, min(remaining_ms() / 1000.0 - RESPONSE_RESERVE_SECONDS, MAX_BUDGET_SECONDS))


@contextmanager
def invocation_deadline(context: Any) -> Iterator[Deadline]:
    """The deadline of one Lambda invocation (the handler wraps each invocation in it)."""
    with deadline_scope(budget_for(context)) as deadline:
        yield deadline


def attempt_seconds() -> float:
    """The longest one AWS call attempt can take (connect, then one read)."""
    return float(CONNECT_TIMEOUT_SECONDS + READ_TIMEOUT_SECONDS)
