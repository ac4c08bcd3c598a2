"""The key delivery function's per-container runtime: settings, the key source, the token verifier and
the endpoints, built once on first use (never at import). Tests call ``reset_key_delivery()``."""

from __future__ import annotations

import threading
from collections.abc import Callable

from ..key_sources import KeySource, build_key_source
from ..settings import Settings
from .endpoint import KeyDelivery
from .tokens import CombinedKeys, JwksUrlKeys, KeyProvider, LoadedKey, StaticKeys, TokenVerifier, keys_from_jwks

_delivery: KeyDelivery | None = None
_lock = threading.Lock()


def build_verifier(settings: Settings, *, hmac_loader: Callable[[], bytes] | None = None) -> TokenVerifier:
    delivery = settings.delivery
    providers: list[KeyProvider] = []
    if delivery.jwks is not None:
        providers.append(StaticKeys(keys_from_jwks(delivery.jwks, source="KEY_DELIVERY_JWKS")))
    if delivery.jwks_url is not None:
        providers.append(JwksUrlKeys(delivery.jwks_url, ttl=delivery.jwks_cache_seconds))
    if delivery.hmac_secret_id is not None:
        if hmac_loader is None:
            from ..aws_key_sources import secret_bytes_loader  # boto3 only when an HS256 secret is configured

            hmac_loader = secret_bytes_loader(
                delivery.hmac_secret_id, ttl=settings.master_key_cache_ttl_seconds, what="token secret"
            )
        providers.append(LoadedKey(hmac_loader))
    return TokenVerifier(
        CombinedKeys(providers),
        audience=delivery.audience,
        issuers=delivery.issuers,
        max_token_seconds=delivery.max_token_seconds,
    )


def build_key_delivery(settings: Settings, key_source: KeySource | None = None) -> KeyDelivery:
    settings.delivery.check_serving()
    return KeyDelivery(
        settings.delivery,
        key_source if key_source is not None else build_key_source(settings),
        build_verifier(settings),
        retry_after_seconds=settings.retry_after_seconds,
    )


def get_key_delivery() -> KeyDelivery:
    global _delivery
    delivery = _delivery
    if delivery is None:
        with _lock:
            if _delivery is None:
                _delivery = build_key_delivery(Settings.from_env(delivery_url_required=False))
            delivery = _delivery
    return delivery


def reset_key_delivery() -> None:
    global _delivery
    with _lock:
        _delivery = None
