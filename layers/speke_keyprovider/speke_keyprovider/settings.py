"""Typed settings, parsed from the environment on first use (never at import time).

Every setting the Lambda function takes is here; ``make run`` honours the same variables.
A bad value raises ``ConfigurationError`` naming the variable.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from .errors import ConfigurationError

KEY_SOURCES = ("secretsmanager", "kms", "file")
MAX_REQUEST_BYTES = 1024 * 1024

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")  # matched whole (fullmatch)
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class SignallingSettings:
    """Deployment settings that shape the DRM signalling (contract section 4)."""

    widevine_provider: str = "speke-keyprovider"
    playready_la_url: str | None = None
    fairplay_skd_template: str = "skd://{content_id}/{kid}"
    aes128_key_uri_template: str = "https://keys.example.com/{content_id}/{kid}"
    random_explicit_iv: bool = False


@dataclass(frozen=True)
class Settings:
    key_source: str = "secretsmanager"
    master_key_secret_id: str | None = None
    master_key_cache_ttl_seconds: int = 300
    master_key_grace_seconds: int = 3600
    kms_hmac_key_id: str | None = None
    cek_cache_ttl_seconds: int = 300
    master_key_file: str | None = None
    trusted_cert_sha256: frozenset[str] = frozenset()
    require_encrypted_keys: bool = False
    allowed_caller_arns: tuple[str, ...] = ()
    max_request_bytes: int = MAX_REQUEST_BYTES
    retry_after_seconds: int = 5
    signalling: SignallingSettings = field(default_factory=SignallingSettings)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        key_source = env.get("KEY_SOURCE", "secretsmanager").strip().lower()
        if key_source not in KEY_SOURCES:
            raise ConfigurationError(f"KEY_SOURCE must be one of {', '.join(KEY_SOURCES)}")
        settings = cls(
            key_source=key_source,
            master_key_secret_id=_opt(env, "MASTER_KEY_SECRET_ID"),
            master_key_cache_ttl_seconds=_int(env, "MASTER_KEY_CACHE_TTL_SECONDS", 300, minimum=1),
            master_key_grace_seconds=_int(env, "MASTER_KEY_GRACE_SECONDS", 3600, minimum=0),
            kms_hmac_key_id=_opt(env, "KMS_HMAC_KEY_ID"),
            cek_cache_ttl_seconds=_int(env, "CEK_CACHE_TTL_SECONDS", 300, minimum=0),
            master_key_file=_opt(env, "MASTER_KEY_FILE"),
            trusted_cert_sha256=_fingerprints(env),
            require_encrypted_keys=_bool(env, "REQUIRE_ENCRYPTED_KEYS", False),
            allowed_caller_arns=_csv(env, "ALLOWED_CALLER_ARNS"),
            retry_after_seconds=_int(env, "RETRY_AFTER_SECONDS", 5, minimum=1),
            signalling=SignallingSettings(
                widevine_provider=env.get("WIDEVINE_PROVIDER", "speke-keyprovider").strip(),
                playready_la_url=_opt(env, "PLAYREADY_LA_URL"),
                fairplay_skd_template=_template(env, "FAIRPLAY_SKD_TEMPLATE", "skd://{content_id}/{kid}"),
                aes128_key_uri_template=_template(
                    env, "AES128_KEY_URI_TEMPLATE", "https://keys.example.com/{content_id}/{kid}"
                ),
                random_explicit_iv=_bool(env, "RANDOM_EXPLICIT_IV", False),
            ),
        )
        required = {"secretsmanager": "MASTER_KEY_SECRET_ID", "kms": "KMS_HMAC_KEY_ID", "file": "MASTER_KEY_FILE"}
        name = required[key_source]
        if not env.get(name, "").strip():
            raise ConfigurationError(f"{name} is required when KEY_SOURCE={key_source}")
        return settings


def _opt(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


def _int(env: Mapping[str, str], name: str, default: int, *, minimum: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be an integer") from None
    if value < minimum:
        raise ConfigurationError(f"{name} must be >= {minimum}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigurationError(f"{name} must be true or false")


def _csv(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in env.get(name, "").split(",") if item.strip())


def _fingerprints(env: Mapping[str, str]) -> frozenset[str]:
    values = set()
    for item in _csv(env, "TRUSTED_CERT_SHA256"):
        value = item.replace(":", "").lower()
        if not _SHA256_HEX.fullmatch(value):
            raise ConfigurationError("TRUSTED_CERT_SHA256 must list SHA-256 fingerprints in hex")
        values.add(value)
    return frozenset(values)


def _template(env: Mapping[str, str], name: str, default: str) -> str:
    value = env.get(name, "").strip() or default
    try:
        value.format(content_id="c", kid="k")
    except (KeyError, IndexError, ValueError):
        raise ConfigurationError(f"{name} may only use the placeholders {{content_id}} and {{kid}}") from None
    return value
