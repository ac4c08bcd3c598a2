"""The AWS call budget: deadlines derived from the Lambda context, scoped per invocation, and client settings
whose one attempt fits inside any budget the template can give."""

from __future__ import annotations

import contextvars

from speke_keyprovider import call_budget
from speke_keyprovider.call_budget import Deadline


class Context:
    def __init__(self, remaining_ms: int) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_budget_is_the_remaining_time_less_the_reserve():
    assert call_budget.budget_for(Context(10_000)) == 10.0 - call_budget.RESPONSE_RESERVE_SECONDS
    assert call_budget.budget_for(Context(1_500)) == 1.5 - call_budget.RESPONSE_RESERVE_SECONDS


def test_budget_is_never_negative_and_never_past_api_gateway():
    assert call_budget.budget_for(Context(200)) == 0.0
    assert call_budget.budget_for(Context(-5)) == 0.0
    assert call_budget.budget_for(Context(900_000)) == call_budget.MAX_BUDGET_SECONDS
    assert call_budget.MAX_BUDGET_SECONDS < call_budget.API_GATEWAY_TIMEOUT_SECONDS


def test_a_context_without_remaining_time_gets_the_default_budget():
    assert call_budget.budget_for(object()) == call_budget.DEFAULT_BUDGET_SECONDS
    assert call_budget.budget_for(None) == call_budget.DEFAULT_BUDGET_SECONDS


def test_deadline_runs_down_on_its_clock():
    clock = Clock()
    deadline = Deadline(2.0, clock=clock)
    assert deadline.remaining() == 2.0 and not deadline.expired
    clock.now += 1.5
    assert deadline.remaining() == 0.5
    clock.now += 1.0
    assert deadline.remaining() == 0.0 and deadline.expired
    assert Deadline(-3, clock=clock).budget == 0.0


def test_invocation_deadline_is_active_only_inside_the_invocation():
    assert call_budget.active() is None
    with call_budget.invocation_deadline(Context(4_000)) as deadline:
        assert call_budget.active() is deadline
        assert call_budget.current() is deadline
        assert deadline.budget == 4.0 - call_budget.RESPONSE_RESERVE_SECONDS
        with call_budget.deadline_scope(0.5) as inner:
            assert call_budget.current() is inner
        assert call_budget.current() is deadline
    assert call_budget.active() is None
    fresh = call_budget.current()
    assert fresh.budget == call_budget.DEFAULT_BUDGET_SECONDS


def test_a_worker_running_in_a_copy_of_the_context_sees_the_request_deadline():
    with call_budget.deadline_scope(3.0) as deadline:
        copied = contextvars.copy_context()
    assert copied.run(call_budget.active) is deadline
    assert call_budget.active() is None


def test_one_client_attempt_fits_in_the_default_budget():
    assert call_budget.attempt_seconds() == call_budget.CONNECT_TIMEOUT_SECONDS + call_budget.READ_TIMEOUT_SECONDS
    assert call_budget.attempt_seconds() < call_budget.DEFAULT_BUDGET_SECONDS
    assert call_budget.TOTAL_MAX_ATTEMPTS >= 2  # one retry for a throttled or reset call


def test_the_aws_clients_use_the_budget_settings():
    from speke_keyprovider.aws_key_sources import CLIENT_CONFIG

    assert CLIENT_CONFIG.connect_timeout == call_budget.CONNECT_TIMEOUT_SECONDS
    assert CLIENT_CONFIG.read_timeout == call_budget.READ_TIMEOUT_SECONDS
    assert CLIENT_CONFIG.retries == {"total_max_attempts": call_budget.TOTAL_MAX_ATTEMPTS, "mode": "standard"}
