"""The fuzz tier (``tests/fuzz``): bounded property-based fuzzing of the handler (hypothesis).
Settings per profile live in ``fuzz_support.fuzz_settings``."""

from __future__ import annotations

import pytest

from tests.fuzz import fuzz_support as fz


def pytest_configure(config: pytest.Config) -> None:
    # Same text as the marker line for pyproject; registering twice is harmless and keeps
    # --strict-markers green until pyproject carries it.
    config.addinivalue_line("markers", "fuzz: bounded property-based fuzzing of the handler (hypothesis)")


@pytest.fixture
def answer(app, lambda_context, delivery_private_key):
    """``answer(request_bytes, event)``: call the handler, check the answer with the oracle."""

    def _answer(request, event):
        return fz.answer_and_check(app.lambda_handler, lambda_context, delivery_private_key, request, event)

    return _answer
