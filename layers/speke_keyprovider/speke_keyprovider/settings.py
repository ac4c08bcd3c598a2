"""Typed settings, parsed from the environment on first use (never at import time).

Every setting the Lambda function takes is here (``SETTINGS`` lists them with their defaults); ``make run``
honours the same variables. Every value is checked when the settings are first read: a bad value raises
``ConfigurationError`` naming the variable, so a bad deployment fails its first request (500, the variable
in the log) before any key is derived, never later in the middle of an answer.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TypeVar

from .errors import ConfigurationError
from .settings_v21 import V21Settings

KEY_SOURCES = ("secretsmanager", "kms", "file")
MAX_REQUEST_BYTES = 1024 * 1024

DEFAULT_SERVICE_NAME = "speke-keyprovider"
DEFAULT_METRICS_NAMESPACE = "SpekeKeyProvider"
DEFAULT_FAIRPLAY_SKD_TEMPLATE = "skd://{content_id}/{kid}"
DEFAULT_AES128_KEY_URI_TEMPLATE = "https://keys.example.com/{content_id}/{kid}"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

#: every environment variable the function reads, with its default ("" = unset)
SETTINGS: dict[str, str] = {
    "KEY_SOURCE": "secretsmanager",
    "MASTER_KEY_SECRET_ID": "",
    "MASTER_KEY_CACHE_TTL_SECONDS": "300",
    "MASTER_KEY_GRACE_SECONDS": "3600",
    "KMS_HMAC_KEY_ID": "",
    "CEK_CACHE_TTL_SECONDS": "300",
    "MASTER_KEY_FILE": "",
    "TRUSTED_CERT_SHA256": "",
    "REQUIRE_ENCRYPTED_KEYS": "false",
    "ALLOWED_CALLER_ARNS": "",
    "RETRY_AFTER_SECONDS": "5",
    "WIDEVINE_PROVIDER": "speke-keyprovider",
    "PLAYREADY_LA_URL": "",
    "FAIRPLAY_SKD_TEMPLATE": DEFAULT_FAIRPLAY_SKD_TEMPLATE,
    "AES128_KEY_URI_TEMPLATE": DEFAULT_AES128_KEY_URI_TEMPLATE,
    "DERIVED_EXPLICIT_IV": "false",
    "XRAY_TRACING": "false",
    "POWERTOOLS_SERVICE_NAME": DEFAULT_SERVICE_NAME,
    "POWERTOOLS_METRICS_NAMESPACE": DEFAULT_METRICS_NAMESPACE,
    "POWERTOOLS_LOG_LEVEL": "INFO",
}

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
# The one boolean grammar of every flag (case-insensitive, surrounding blanks ignored; empty = false).
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
# arn:<partition>:iam|sts::<account>:<resource>
_CALLER_ARN = re.compile(r"arn:aws[a-z-]*:(iam|sts)::\d{12}:\S+")
# CloudWatch: ASCII letters, digits and . - _ / # : space; at most 255; not the AWS/ prefix.
_METRICS_NAMESPACE = re.compile(r"[0-9A-Za-z.\-_/#: ]{1,255}")
_PRINTABLE_ASCII = re.compile(r"[\x21-\x7e][\x20-\x7e]{0,254}")
_T = TypeVar("_T")
_SAMPLE_KID = uuid.UUID("0f083e4e-b831-4a3d-917e-ce78076e54aa")


@dataclass(frozen=True)
class SignallingSettings:
    """Deployment settings that shape the DRM signalling (contract section 4)."""

    widevine_provider: str = "speke-keyprovider"
    playready_la_url: str | None = None
    fairplay_skd_template: str = DEFAULT_FAIRPLAY_SKD_TEMPLATE
    aes128_key_uri_template: str = DEFAULT_AES128_KEY_URI_TEMPLATE
    derived_explicit_iv: bool = False  # supply speke-v1.md section 5's derived IV to keys sent without one
    # Key delivery (DeliverySettings): the ClearKey licence URL template, set when ClearKey delivery is on.
    clearkey_laurl_template: str | None = None


@dataclass(frozen=True)
class ObservabilitySettings:
    """Powertools' names and level, and the optional X-Ray tracer.

    The handler builds its Logger and Metrics at import, from ``from_env(strict=False)`` (a bad value falls
    back to its default there, so the module still loads); ``Settings.from_env`` reads the same variables
    strictly, so the first request then fails naming the variable."""

    service_name: str = DEFAULT_SERVICE_NAME
    metrics_namespace: str = DEFAULT_METRICS_NAMESPACE
    log_level: str = "INFO"
    xray_tracing: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, strict: bool = True) -> ObservabilitySettings:
        env = os.environ if env is None else env
        defaults = cls()

        def read(parse: Callable[[], _T], fallback: _T) -> _T:
            try:
                return parse()
            except ConfigurationError:
                if strict:
                    raise
                return fallback

        return cls(
            service_name=read(lambda: _service_name(env), defaults.service_name),
            metrics_namespace=read(lambda: _metrics_namespace(env), defaults.metrics_namespace),
            log_level=read(lambda: _log_level(env), defaults.log_level),
            xray_tracing=read(lambda: read_bool(env, "XRAY_TRACING", False), defaults.xray_tracing),
        )


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
    observability: ObservabilitySettings = field(default_factory=ObservabilitySettings)
    v21: V21Settings = field(default_factory=V21Settings)  # SPEKE v2.1 answers only (settings_v21)
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
        required = {"secretsmanager": "MASTER_KEY_SECRET_ID", "kms": "KMS_HMAC_KEY_ID", "file": "MASTER_KEY_FILE"}
        name = required[key_source]
        if not env.get(name, "").strip():
            raise ConfigurationError(f"{name} is required when KEY_SOURCE={key_source}")
        settings = cls(
            key_source=key_source,
            master_key_secret_id=_opt(env, "MASTER_KEY_SECRET_ID"),
            master_key_cache_ttl_seconds=_int(env, "MASTER_KEY_CACHE_TTL_SECONDS", 300, minimum=1, maximum=86400),
            master_key_grace_seconds=_int(env, "MASTER_KEY_GRACE_SECONDS", 3600, minimum=0, maximum=7 * 86400),
            kms_hmac_key_id=_opt(env, "KMS_HMAC_KEY_ID"),
            cek_cache_ttl_seconds=_int(env, "CEK_CACHE_TTL_SECONDS", 300, minimum=0, maximum=86400),
            master_key_file=_opt(env, "MASTER_KEY_FILE"),
            trusted_cert_sha256=parse_fingerprints(env.get("TRUSTED_CERT_SHA256", "")),
            require_encrypted_keys=read_bool(env, "REQUIRE_ENCRYPTED_KEYS", False),
            allowed_caller_arns=_caller_arns(env),
            retry_after_seconds=_int(env, "RETRY_AFTER_SECONDS", 5, minimum=1, maximum=3600),
            signalling=SignallingSettings(
                widevine_provider=_widevine_provider(env),
                playready_la_url=_playready_la_url(env),
                fairplay_skd_template=_template(
                    env, "FAIRPLAY_SKD_TEMPLATE", DEFAULT_FAIRPLAY_SKD_TEMPLATE, schemes=("skd://",)
                ),
                aes128_key_uri_template=_template(
                    env, "AES128_KEY_URI_TEMPLATE", DEFAULT_AES128_KEY_URI_TEMPLATE, schemes=("https://", "http://")
                ),
                derived_explicit_iv=read_bool(env, "DERIVED_EXPLICIT_IV", False),
            ),
            observability=ObservabilitySettings.from_env(env),
            v21=V21Settings.from_env(env),
            delivery=delivery,
        )
        return replace(settings, signalling=delivery.signalling(settings.signalling, env))


def read_bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    """The one boolean grammar: 1/true/yes/on or 0/false/no/off (any case; empty is false)."""
    raw = env.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigurationError(f"{name} must be true or false (1/0, yes/no, on/off)")


def parse_fingerprints(text: str, *, name: str | None = None) -> frozenset[str]:
    """A comma-separated list of SHA-256 certificate fingerprints (hex, colons allowed, any case), as
    TRUSTED_CERT_SHA256 holds it. ``name`` is what an error calls the list (default: the variable)."""
    values = set()
    for item in text.split(","):
        value = item.strip().replace(":", "").lower()
        if not value:
            continue
        if not _SHA256_HEX.fullmatch(value):
            raise ConfigurationError(f"{name or 'TRUSTED_CERT_SHA256'} must list SHA-256 fingerprints in hex")
        values.add(value)
    return frozenset(values)


def _opt(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


def _int(env: Mapping[str, str], name: str, default: int, *, minimum: int, maximum: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be an integer") from None
    if not minimum <= value <= maximum:
        raise ConfigurationError(f"{name} must be between {minimum} and {maximum}")
    return value


def _csv(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in env.get(name, "").split(",") if item.strip())


def _caller_arns(env: Mapping[str, str]) -> tuple[str, ...]:
    arns = _csv(env, "ALLOWED_CALLER_ARNS")
    for arn in arns:
        if not _CALLER_ARN.fullmatch(arn):
            raise ConfigurationError(
                "ALLOWED_CALLER_ARNS must list IAM or STS ARNs (arn:aws:iam::123456789012:role/Name, ...)"
            )
    return arns


def _no_control_characters(value: str) -> bool:
    return not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in value)


def _widevine_provider(env: Mapping[str, str]) -> str:
    value = env.get("WIDEVINE_PROVIDER", "speke-keyprovider").strip()
    if not _no_control_characters(value) or len(value.encode("utf-8")) > 255:
        raise ConfigurationError("WIDEVINE_PROVIDER must be at most 255 bytes of text without control characters")
    return value


def _playready_la_url(env: Mapping[str, str]) -> str | None:
    value = _opt(env, "PLAYREADY_LA_URL")
    if value is None:
        return None
    if not value.lower().startswith(("https://", "http://")) or any(c.isspace() for c in value):
        raise ConfigurationError("PLAYREADY_LA_URL must be an http(s) URL without blanks")
    if not _no_control_characters(value):
        raise ConfigurationError("PLAYREADY_LA_URL must not hold control characters")
    from .drm import playready  # the header budget is the renderer's own (imported late: drm reads settings)

    problem = playready.header_budget_problem(value)
    if problem:
        raise ConfigurationError(f"PLAYREADY_LA_URL {problem}")
    return value


def _template(env: Mapping[str, str], name: str, default: str, *, schemes: tuple[str, ...]) -> str:
    """A key URI template: ``{content_id}`` and ``{kid}`` only, a URI of one of ``schemes``, and an RFC 8216
    quoted-string once filled (the contentId is percent-encoded and the kid is UUID text, so checking the
    template with sample values checks every URI it will yield)."""
    value = env.get(name, "").strip() or default
    try:
        sample = value.format(content_id="c", kid=str(_SAMPLE_KID))
    except (KeyError, IndexError, ValueError):
        raise ConfigurationError(f"{name} may only use the placeholders {{content_id}} and {{kid}}") from None
    if not sample.lower().startswith(schemes):
        raise ConfigurationError(f"{name} must yield a URI starting with {' or '.join(schemes)}")
    from .drm.hls import quoted_string_problem  # the HLS rule itself (imported late: drm reads settings)

    problem = quoted_string_problem(sample)
    if problem or not _no_control_characters(sample):
        raise ConfigurationError(f"{name} {problem or 'yields a value with a control character'}")
    return value


def _service_name(env: Mapping[str, str]) -> str:
    value = env.get("POWERTOOLS_SERVICE_NAME", "").strip() or DEFAULT_SERVICE_NAME
    if not _PRINTABLE_ASCII.fullmatch(value):
        raise ConfigurationError("POWERTOOLS_SERVICE_NAME must be 1 to 255 printable ASCII characters")
    return value


def _metrics_namespace(env: Mapping[str, str]) -> str:
    value = env.get("POWERTOOLS_METRICS_NAMESPACE", "").strip() or DEFAULT_METRICS_NAMESPACE
    if not _METRICS_NAMESPACE.fullmatch(value) or value.startswith("AWS/"):
        raise ConfigurationError(
            "POWERTOOLS_METRICS_NAMESPACE must be a CloudWatch namespace: at most 255 of A-Z a-z 0-9 . - _ / # : "
            "and space, not starting with AWS/"
        )
    return value


def _log_level(env: Mapping[str, str]) -> str:
    value = env.get("POWERTOOLS_LOG_LEVEL", "").strip().upper() or "INFO"
    if value not in LOG_LEVELS:
        raise ConfigurationError(f"POWERTOOLS_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}")
    return value


# --- key delivery to players (docs/key-delivery.md) -------------------------------------------------------------

DELIVERY_MODES = ("none", "aes128", "aes128+clearkey")
_ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?")
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
        accept_cookies = read_bool(env, "KEY_DELIVERY_ACCEPT_COOKIES", False)
        origins = _csv(env, "KEY_DELIVERY_ALLOWED_ORIGINS")
        for origin in origins:
            if origin != "*" and not _ORIGIN.fullmatch(origin):
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
            jwks_cache_seconds=_int(env, "KEY_DELIVERY_JWKS_CACHE_SECONDS", 300, minimum=1, maximum=86400),
            hmac_secret_id=_opt(env, "KEY_DELIVERY_HMAC_SECRET_ID"),
            max_token_seconds=_int(env, "KEY_DELIVERY_MAX_TOKEN_SECONDS", 86400, minimum=1, maximum=7 * 86400),
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
