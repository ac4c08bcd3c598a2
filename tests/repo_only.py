"""A pytest plugin that records every file the session opens or lists (``sys.addaudithook``) and fails the
session when one lies outside the repository and the Python installation. Used by
``tests/unit/test_repo_only.py`` on a copy of the repository placed where nothing is beside it.

Allowed: the rootdir (the repository), the interpreter's prefixes and site-packages, pytest's basetemp, the
system's own directories (/dev, /proc, /sys, /etc, /usr) and ``REPO_ONLY_ALLOW`` (os.pathsep-separated).
"""

from __future__ import annotations

import os
import site
import sys
import sysconfig

import pytest

_EVENTS = {"open", "os.listdir", "os.scandir", "glob.glob", "os.chdir"}
_outside: set[str] = set()
_seen = 0
_roots: tuple[str, ...] = ()


def _hook(event: str, args: tuple) -> None:
    global _seen
    if event not in _EVENTS or not args:
        return
    target = args[0]
    if isinstance(target, int) or target is None:
        return
    try:
        path = os.path.realpath(os.fsdecode(target))
    except (TypeError, ValueError):
        return
    _seen += 1
    if not path.startswith(_roots):
        _outside.add(path)


def pytest_configure(config: pytest.Config) -> None:
    global _roots
    roots = [
        str(config.rootpath),
        sys.prefix,
        sys.base_prefix,
        sys.exec_prefix,
        *site.getsitepackages(),
        *sysconfig.get_paths().values(),
        "/dev",
        "/proc",
        "/sys",
        "/etc",
        "/usr",
    ]
    basetemp = config.getoption("basetemp", None)
    if basetemp:
        roots.append(str(basetemp))
    roots += [p for p in os.environ.get("REPO_ONLY_ALLOW", "").split(os.pathsep) if p]
    _roots = tuple(os.path.realpath(r).rstrip("/") + "/" for r in roots) + tuple(os.path.realpath(r) for r in roots)
    sys.addaudithook(_hook)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _outside:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    if _outside:
        for path in sorted(_outside):
            terminalreporter.write_line(f"repo-only: OUTSIDE THE REPOSITORY: {path}")
    else:
        terminalreporter.write_line(f"repo-only: {_seen} paths opened or listed, none outside the repository")
