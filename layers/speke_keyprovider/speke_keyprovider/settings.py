"""Typed settings, parsed from the environment on first use (never at import time).

Every setting the Lambda function takes is here; ``make run`` honours the same variables.
A bad value raises ``ConfigurationError`` naming the variable.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from .errors import ConfigurationError

KEY_SOURCES = ("secretsmanager", "kms", "file")
MAX_REQUEST_BYTES = 1024 * 1024

_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
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
    # Key delivery (DeliverySettings): the ClearKey licence URL template, set when ClearKey delivery is on.
    clearkey_laurl_template: str | None = None


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
    delivery: DeliverySettings = field(default_factory=lambda: DeliverySettings())

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, delivery_url_required: bool = True) -> Settings:
        """``delivery_url_required=False`` for the key delivery function, which signals nothing."""
        env = os.environ if env is None else env
        delivery = DeliverySettings.from_env(env)
        if delivery_url_required:
            delivery.check_signalling()
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
            delivery=delivery,
        )
        settings = replace(settings, signalling=delivery.signalling(settings.signalling, env))
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
        if not _SHA256_HEX.match(value):
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


# --- key delivery to players (docs/key-delivery.md) -------------------------------------------------------------

DELIVERY_MODES = ("none", "aes128", "aes128+clearkey")
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$")
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


@dataclass(frozen=True)
class DeliverySettings:
    """``KEY_DELIVERY*``: the player-facing key and licence endpoints and the entitlement tokens they take.

    The SPEKE function reads ``mode`` and ``url`` (signalling); the key delivery function reads the rest.
    """

    mode: str = "none"
    url: str | None = None
    jwks: str | None = None
    jwks_url: str | None = None
    jwks_cache_seconds: int = 300
    hmac_secret_id: str | None = None
    max_token_seconds: int = 86400
    audience: str = "speke-keyprovider"
    issuers: tuple[str, ...] = ()
    allowed_origins: tuple[str, ...] = ()
    accept_cookies: bool = False
    max_licence_bytes: int = 8192

    @property
    def aes128(self) -> bool:
        return self.mode != "none"

    @property
    def clearkey(self) -> bool:
        return self.mode == "aes128+clearkey"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> DeliverySettings:
        mode = env.get("KEY_DELIVERY", "none").strip().lower() or "none"
        if mode not in DELIVERY_MODES:
            raise ConfigurationError(f"KEY_DELIVERY must be one of {', '.join(DELIVERY_MODES)}")
        jwks = _opt(env, "KEY_DELIVERY_JWKS")
        if jwks is not None:
            _check_jwks_text(jwks)
        jwks_url = _opt(env, "KEY_DELIVERY_JWKS_URL")
        if jwks_url is not None:
            _check_url(jwks_url, "KEY_DELIVERY_JWKS_URL")
        accept_cookies = _bool(env, "KEY_DELIVERY_ACCEPT_COOKIES", False)
        origins = _csv(env, "KEY_DELIVERY_ALLOWED_ORIGINS")
        for origin in origins:
            if origin != "*" and not _ORIGIN.match(origin):
                raise ConfigurationError(
                    "KEY_DELIVERY_ALLOWED_ORIGINS must list origins (scheme://host[:port], no path) or *"
                )
        if "*" in origins and accept_cookies:
            raise ConfigurationError("KEY_DELIVERY_ALLOWED_ORIGINS=* is refused when KEY_DELIVERY_ACCEPT_COOKIES=true")
        url = _opt(env, "KEY_DELIVERY_URL")
        if url is not None:
            url = url.rstrip("/")
            _check_url(url, "KEY_DELIVERY_URL")
        audience = env.get("KEY_DELIVERY_AUDIENCE", "").strip() or "speke-keyprovider"
        return cls(
            mode=mode,
            url=url,
            jwks=jwks,
            jwks_url=jwks_url,
            jwks_cache_seconds=_int(env, "KEY_DELIVERY_JWKS_CACHE_SECONDS", 300, minimum=1),
            hmac_secret_id=_opt(env, "KEY_DELIVERY_HMAC_SECRET_ID"),
            max_token_seconds=_int(env, "KEY_DELIVERY_MAX_TOKEN_SECONDS", 86400, minimum=1),
            audience=audience,
            issuers=_csv(env, "KEY_DELIVERY_ISSUERS"),
            allowed_origins=origins,
            accept_cookies=accept_cookies,
        )

    def check_signalling(self) -> None:
        """The SPEKE function writes ``KEY_DELIVERY_URL`` into signalling: required when delivery is on."""
        if self.aes128 and self.url is None:
            raise ConfigurationError(f"KEY_DELIVERY_URL is required when KEY_DELIVERY={self.mode}")

    def check_serving(self) -> None:
        """The key delivery function needs delivery on and at least one way to verify tokens."""
        if not self.aes128:
            raise ConfigurationError("KEY_DELIVERY is none: the key delivery endpoints are off")
        if self.jwks is None and self.jwks_url is None and self.hmac_secret_id is None:
            raise ConfigurationError(
                "key delivery needs KEY_DELIVERY_JWKS, KEY_DELIVERY_JWKS_URL or KEY_DELIVERY_HMAC_SECRET_ID"
            )

    def signalling(self, signalling: SignallingSettings, env: Mapping[str, str]) -> SignallingSettings:
        """``signalling`` pointing players at this deployment's endpoints (an explicit AES128_KEY_URI_TEMPLATE wins)."""
        if not self.aes128 or self.url is None:
            return signalling
        base = self.url.replace("{", "{{").replace("}", "}}")
        if not env.get("AES128_KEY_URI_TEMPLATE", "").strip():
            signalling = replace(signalling, aes128_key_uri_template=base + "/keys/{content_id}/{kid}")
        if self.clearkey:
            signalling = replace(signalling, clearkey_laurl_template=base + "/clearkey/{content_id}")
        return signalling


def _check_url(url: str, name: str) -> None:
    """https, or http on a loopback host (``make run``); no query, fragment, quote, space or markup."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        raise ConfigurationError(f"{name} is not a URL") from None
    loopback = parts.scheme == "http" and (parts.hostname or "") in {h.strip("[]") for h in _LOOPBACK_HOSTS}
    if (parts.scheme != "https" and not loopback) or not parts.netloc:
        raise ConfigurationError(f"{name} must be an https:// URL (http:// only on a loopback host)")
    if parts.query or parts.fragment or any(c in url for c in "\"'<>& \t\r\n"):
        raise ConfigurationError(f"{name} may not carry a query, a fragment, quotes, spaces or markup")


def _check_jwks_text(text: str) -> None:
    import json

    try:
        value = json.loads(text)
    except ValueError:
        raise ConfigurationError("KEY_DELIVERY_JWKS must be a JSON Web Key Set") from None
    if not isinstance(value, dict) or not isinstance(value.get("keys"), list) or not value["keys"]:
        raise ConfigurationError("KEY_DELIVERY_JWKS must be a JSON Web Key Set with at least one key")
