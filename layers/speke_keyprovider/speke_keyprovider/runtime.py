"""The per-container runtime: settings and the key source, built once on first use (never at import).

Tests call ``reset_runtime()`` to rebuild it after changing the environment.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .key_sources import FileMasterKey, KeySource
from .service import KeyExchange
from .settings import Settings


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    key_source: KeySource
    exchange: KeyExchange


_runtime: Runtime | None = None
_lock = threading.Lock()


def build_key_source(settings: Settings, *, client_factory: Callable[[str], Any] | None = None) -> KeySource:
    """The key home ``settings`` name. ``client_factory(service)`` supplies the boto3 client of an AWS home
    (default: one from the standard credential chain); the operator CLI passes its profile and region."""
    if settings.key_source == "file":
        assert settings.master_key_file is not None
        return FileMasterKey(settings.master_key_file)
    from . import aws_key_sources  # boto3 is imported only when an AWS home is configured

    if settings.key_source == "kms":
        assert settings.kms_hmac_key_id is not None
        return aws_key_sources.KmsDerivedKeys(
            settings.kms_hmac_key_id,
            ttl=settings.cek_cache_ttl_seconds,
            grace=settings.master_key_grace_seconds,
            client=client_factory("kms") if client_factory else None,
        )
    assert settings.master_key_secret_id is not None
    return aws_key_sources.SecretsManagerMasterKey(
        settings.master_key_secret_id,
        ttl=settings.master_key_cache_ttl_seconds,
        grace=settings.master_key_grace_seconds,
        client=client_factory("secretsmanager") if client_factory else None,
    )


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
