"""Under CI the whole suite's Hypothesis tests run the derandomized ``ci`` profile: a failure reproduces."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import REPO

PROBE = (
    "from tests import hypothesis_profiles as p; from hypothesis import settings; settings.load_profile(p.PROFILE);"
    "print(p.PROFILE, settings.default.derandomize, settings.default.database is None)"
)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"CI": "true"}, "ci True True"),
        ({"CI": "1"}, "ci True True"),
        ({"CI": "false"}, "dev False False"),
        ({}, "dev False False"),
        ({"CI": "true", "HYPOTHESIS_PROFILE": "long"}, "long False False"),
    ],
)
def test_profile_selection(env, expected):
    base = {k: v for k, v in os.environ.items() if k not in ("CI", "HYPOTHESIS_PROFILE")}
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=REPO, env=base | env, capture_output=True, text=True, timeout=60
    )
    assert result.stdout.strip() == expected, result.stderr
