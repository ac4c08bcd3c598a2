"""No test, fixture or helper reads a path outside the repository: part of the suite (the modules that read
fixtures: DASH-IF vectors, XSDs, certificates, events, KDF vectors) runs from a copy of the repository placed
in a fresh temporary directory, with nothing beside it, importing the copy's code, under the ``repo_only``
plugin that records every file opened or listed. A probe that reads one file of the real checkout proves the
plugin sees such a read."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

SKIP_DIRS = {".git", ".aws-sam", "build", "bench-results", ".local-state", "node_modules"}
SKIP_PARTS = (".coverage", "__pycache__", ".pytest_cache", ".hypothesis", ".mypy_cache", ".ruff_cache", ".benchmarks")
FIXTURE_READERS = [
    "tests/unit/test_cpix_parse_xml.py",
    "tests/unit/test_drm_golden.py",
    "tests/unit/test_trust.py",
    "tests/unit/test_response.py",
    "tests/unit/test_client_response_reader.py",
    "tests/unit/test_key_derivation.py",
]


def _ignore(directory: str, names: list[str]) -> set[str]:
    top = Path(directory) == REPO
    return {
        n
        for n in names
        if n in SKIP_PARTS or n.endswith(".egg-info") or (top and (n in SKIP_DIRS or n.startswith(".venv")))
    }


@pytest.fixture(scope="module")
def copy(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("lonely") / "checkout" / "speke-keyprovider"
    shutil.copytree(REPO, target, ignore=_ignore)
    assert not (target.parent / "shared").exists() and not (target.parent.parent / "shared").exists()
    return target


def _run(copy: Path, *tests: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_"))}
    env["PYTHONPATH"] = os.pathsep.join(str(copy / p) for p in (".", "layers/speke_keyprovider", "tools"))
    env["HOME"] = str(copy.parent)  # nothing of the user's home either
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "tests.repo_only",
            "-p",
            "no:cacheprovider",
            "--basetemp",
            str(copy.parent / "basetemp"),
            *tests,
        ],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_copy_imports_its_own_code(copy):
    probe = copy / "tests" / "unit" / "test_zz_imports.py"
    probe.write_text(
        "import speke_keyprovider, speke_keyprovider_tools, tests.conftest as c\n"
        "def test_where():\n"
        "    for module in (speke_keyprovider, speke_keyprovider_tools, c):\n"
        "        print('FROM', module.__file__)\n"
    )
    try:
        result = _run(copy, "-s", str(probe.relative_to(copy)))
    finally:
        probe.unlink()
    froms = [line.split(" ", 1)[1] for line in result.stdout.splitlines() if line.startswith("FROM ")]
    assert len(froms) == 3 and all(f.startswith(str(copy)) for f in froms), result.stdout


def test_fixture_reading_tests_pass_from_a_copy_with_nothing_beside_it(copy):
    result = _run(copy, *FIXTURE_READERS)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "none outside the repository" in result.stdout
    assert "passed" in result.stdout and "skipped" not in result.stdout.split("\n")[-2]


def test_the_plugin_sees_a_read_outside_the_copy(copy):
    probe = copy / "tests" / "unit" / "test_zz_reads_outside.py"
    probe.write_text(f"def test_reads_outside():\n    open({str(REPO / 'pyproject.toml')!r}).read()\n")
    try:
        result = _run(copy, str(probe.relative_to(copy)))
    finally:
        probe.unlink()
    assert result.returncode != 0
    assert f"OUTSIDE THE REPOSITORY: {REPO / 'pyproject.toml'}" in result.stdout
