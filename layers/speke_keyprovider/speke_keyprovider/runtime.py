"""The per-container runtime: settings and the key source, built once on first use (never at import).

Tests call ``reset_runtime()`` to rebuild it after changing the environment.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from .key_sources import KeySource, build_key_source
from .service import KeyExchange
from .settings import Settings

__all__ = ["Runtime", "build_key_source", "get_runtime", "reset_runtime"]


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    key_source: KeySource
    exchange: KeyExchange


_runtime: Runtime | None = None
_lock = threading.Lock()


def get_runtime() -> Runtime:
    global _runtime
    runtime = _runtime
    if runtime is None:
        with _lock:
            if _runtime is None:
                settings = Settings.from_env()
                key_source = build_key_source(settings)
                _runtime = Runtime(settings=settings, key_source=key_source, exchange=KeyExchange(settings, key_source))
            runtime = _runtime
    return runtime


def reset_runtime() -> None:
    global _runtime
    with _lock:
        _runtime = None
