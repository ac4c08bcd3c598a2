"""The fuzz tier (``tests/fuzz``): bounded property-based fuzzing of the handler (hypothesis).
Settings per profile live in ``fuzz_support.fuzz_settings``."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    # Same text as the marker line for pyproject; registering twice is harmless and keeps
    # --strict-markers green until pyproject carries it.
    config.addinivalue_line("markers", "fuzz: bounded property-based fuzzing of the handler (hypothesis)")
