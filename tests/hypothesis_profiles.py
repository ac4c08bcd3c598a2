"""Hypothesis profiles for the whole suite, registered once (tests/conftest.py loads the selected one).

    ci    derandomized (the same examples on every run, no example database): a CI failure reproduces exactly
    dev   random, with the local example database (the default outside CI)
    long  random, many more examples in the fuzz tier (``HYPOTHESIS_PROFILE=long``)

``HYPOTHESIS_PROFILE`` selects one; otherwise ``ci`` when ``CI`` is set to a true value (``.ci/run`` sets
``CI=true``, as most CI services do), else ``dev``.
"""

from __future__ import annotations

import os

from hypothesis import settings

# Parent: Hypothesis' own "default" profile, not the current default (Hypothesis loads its built-in CI profile
# whenever a CI variable exists, even CI=false; our profiles decide by the value instead).
_BASE = settings.get_profile("default")
settings.register_profile("ci", _BASE, derandomize=True, database=None, deadline=None, print_blob=True)
settings.register_profile("dev", _BASE, derandomize=False, deadline=None, print_blob=True)
settings.register_profile("long", _BASE, derandomize=False, deadline=None, print_blob=True)

_CI = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes", "on"}
PROFILE = os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if _CI else "dev")
if PROFILE not in {"ci", "dev", "long"}:
    raise SystemExit(f"HYPOTHESIS_PROFILE must be ci, dev or long, not {PROFILE!r}")
