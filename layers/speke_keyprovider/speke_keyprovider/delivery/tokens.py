"""Entitlement tokens (docs/key-delivery.md section 2): JWTs verified with PyJWT.

* Trusted keys: a JWKS (``KEY_DELIVERY_JWKS`` inline, ``KEY_DELIVERY_JWKS_URL`` fetched and cached) of
  public ``ES256`` (P-256), ``RS256`` (RSA >= 2048 bits) or ``EdDSA`` (Ed25519) keys, and/or an ``HS256``
  secret (``KEY_DELIVERY_HMAC_SECRET_ID``, loaded through the AWS port). Each key has ONE algorithm, fixed
  when it is loaded (its JWK ``alg``, else the only one its type allows): a token is verified only by keys
  whose pinned algorithm is the token's ``alg``, so ``none``, ``HS256`` signed with a public key and every
  other algorithm confusion find no key and are refused.
* Claims: ``exp`` required and at most ``max_token_seconds`` ahead; ``exp``/``nbf``/``iat`` with 30 s
  leeway; ``aud`` contains the audience; ``iss`` in the allowlist when one is set; the scope claims
  ``content_ids``, ``kids`` and ``delivery`` parsed into an ``Entitlement`` (malformed scope = invalid token).
* The token text never leaves this module: not in an exception, not in a log, not in the ``Entitlement``.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jwt
from jwt import PyJWK
from jwt.exceptions import (
    ExpiredSignatureError,
    ImmatureSignatureError,
    InvalidAudienceError,
    InvalidIssuerError,
    InvalidSignatureError,
    MissingRequiredClaimError,
    PyJWTError,
)

from ..errors import BackendUnavailable, ConfigurationError, Reason
from .errors import TokenRejected

logger = logging.getLogger(__name__)

ASYMMETRIC_ALGORITHMS = ("ES256", "RS256", "EdDSA")
HMAC_ALGORITHM = "HS256"
LEEWAY_SECONDS = 30
MAX_TOKEN_CHARS = 8192
MIN_RSA_BITS = 2048
MIN_HMAC_SECRET_BYTES = 32
ENDPOINTS = frozenset({"aes128", "clearkey"})
JWKS_MAX_BYTES = 64 * 1024
JWKS_REFRESH_INTERVAL = 60  # an unknown kid refetches the JWKS at most this often
JWKS_RETRY_INTERVAL = 5  # a failing JWKS URL is retried at most this often
JWKS_FETCH_TIMEOUT = 3.0

_DEFAULT_ALG: dict[tuple[Any, Any], str] = {
    ("EC", "P-256"): "ES256",
    ("RSA", None): "RS256",
    ("OKP", "Ed25519"): "EdDSA",
}
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})


@dataclass(frozen=True)
class TrustedKey:
    """One verification key and the one algorithm it verifies."""

    kid: str | None
    algorithm: str
    key: Any  # PyJWK (asymmetric) or bytes (HS256)

    def __repr__(self) -> str:
        return f"TrustedKey(kid={self.kid!r}, algorithm={self.algorithm!r})"

    def matches(self, kid: str | None, algorithm: str) -> bool:
        return self.algorithm == algorithm and (kid is None or self.kid is None or self.kid == kid)


@dataclass(frozen=True)
class Entitlement:
    """What a verified token grants. Holds no token text; ``jti``/``sub`` are for logs."""

    content_ids: frozenset[str]
    kids: frozenset[uuid.UUID] | None  # None: every kid of the content
    delivery: frozenset[str] | None  # None: both endpoints
    sub: str | None = None
    jti: str | None = None
    key_id: str | None = None
    algorithm: str = ""

    def covers_content(self, content_id: str) -> bool:
        return content_id in self.content_ids  # exact: "*" is a content id like any other, never a wildcard

    def covers_kid(self, kid: uuid.UUID) -> bool:
        return self.kids is None or kid in self.kids

    def covers_endpoint(self, endpoint: str) -> bool:
        return self.delivery is None or endpoint in self.delivery

    def log_fields(self) -> dict[str, Any]:
        return {"jti": self.jti, "sub": self.sub, "token_kid": self.key_id, "token_alg": self.algorithm}


# --- trusted keys ------------------------------------------------------------------------------------------


def keys_from_jwks(jwks: Mapping[str, Any] | str, *, source: str, strict: bool = True) -> tuple[TrustedKey, ...]:
    """The usable public keys of a JWKS. ``strict`` (inline configuration): any unusable key is a
    ``ConfigurationError``; otherwise (a fetched JWKS) it is skipped with a warning."""
    if isinstance(jwks, str):
        try:
            jwks = json.loads(jwks)
        except ValueError:
            raise ConfigurationError(f"{source} is not JSON") from None
    members = jwks.get("keys") if isinstance(jwks, Mapping) else None
    if not isinstance(members, list):
        raise ConfigurationError(f"{source} must be a JSON Web Key Set ({{'keys': [...]}})")
    keys = []
    for index, member in enumerate(members):
        try:
            keys.append(trusted_key_from_jwk(member))
        except ConfigurationError as exc:
            if strict:
                raise ConfigurationError(f"{source} key #{index}: {exc}") from None
            logger.warning("JWKS key skipped", extra={"source": source, "index": index, "problem": str(exc)})
    if not keys:
        raise ConfigurationError(f"{source} holds no usable key")
    return tuple(keys)


def trusted_key_from_jwk(jwk: Any) -> TrustedKey:
    if not isinstance(jwk, Mapping):
        raise ConfigurationError("a JWK must be a JSON object")
    kty, crv = jwk.get("kty"), jwk.get("crv")
    if kty == "oct":
        raise ConfigurationError("symmetric keys are not taken from a JWKS (HS256: KEY_DELIVERY_HMAC_SECRET_ID)")
    if _PRIVATE_MEMBERS & set(jwk):
        raise ConfigurationError("a trusted JWK must be a public key (it holds private members)")
    if jwk.get("use") not in (None, "sig"):
        raise ConfigurationError(f"use {jwk.get('use')!r} is not sig")
    default = _DEFAULT_ALG.get((kty, crv if kty != "RSA" else None))
    algorithm = jwk.get("alg", default)
    if algorithm not in ASYMMETRIC_ALGORITHMS or default is None or algorithm != default:
        raise ConfigurationError(f"kty {kty!r} crv {crv!r} alg {algorithm!r}: only ES256/P-256, RS256, EdDSA/Ed25519")
    kid = jwk.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise ConfigurationError("kid must be a string")
    try:
        key = PyJWK(dict(jwk), algorithm=algorithm)
    except PyJWTError:
        raise ConfigurationError("the JWK cannot be loaded") from None
    if algorithm == "RS256" and key.key.key_size < MIN_RSA_BITS:
        raise ConfigurationError(f"RSA keys must have at least {MIN_RSA_BITS} bits")
    return TrustedKey(kid=kid, algorithm=algorithm, key=key)


def hmac_key(secret: bytes | str) -> TrustedKey:
    raw = secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)
    if len(raw) < MIN_HMAC_SECRET_BYTES:
        raise ConfigurationError(f"the HS256 token secret must have at least {MIN_HMAC_SECRET_BYTES} bytes")
    return TrustedKey(kid=None, algorithm=HMAC_ALGORITHM, key=raw)


class KeyProvider:
    """A source of trusted keys; ``refresh=True`` asks for a fresh copy (an unknown kid was seen)."""

    def trusted(self, *, refresh: bool = False) -> Sequence[TrustedKey]:
        raise NotImplementedError


class StaticKeys(KeyProvider):
    def __init__(self, keys: Iterable[TrustedKey]) -> None:
        self._keys = tuple(keys)

    def trusted(self, *, refresh: bool = False) -> Sequence[TrustedKey]:
        return self._keys


class LoadedKey(KeyProvider):
    """A key built from a loader that caches (the HS256 secret from Secrets Manager)."""

    def __init__(self, load: Callable[[], bytes]) -> None:
        self._load = load
        self._raw: bytes | None = None
        self._key: TrustedKey | None = None

    def trusted(self, *, refresh: bool = False) -> Sequence[TrustedKey]:
        raw = self._load()
        if self._key is None or raw is not self._raw:
            self._key, self._raw = hmac_key(raw), raw
        return (self._key,)


def fetch_url(url: str, *, timeout: float = JWKS_FETCH_TIMEOUT, max_bytes: int = JWKS_MAX_BYTES) -> bytes:
    """GET ``url`` (https, or http on loopback: checked at settings time), at most ``max_bytes``."""
    import urllib.request

    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310  # nosec B310 - https (or loopback http) checked at settings time
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310  # nosec B310 - as above
        body: bytes = response.read(max_bytes + 1)
    if len(body) > max_bytes:
        raise ValueError("JWKS too large")
    return body


class JwksUrlKeys(KeyProvider):
    """A JWKS fetched from a URL, cached ``ttl`` seconds. A failed refresh keeps the last good set; with
    none, token verification is unavailable (503). An unknown kid refetches at most once a minute."""

    def __init__(
        self,
        url: str,
        *,
        ttl: int = 300,
        fetch: Callable[[str], bytes] = fetch_url,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url, self._ttl, self._fetch, self._clock = url, ttl, fetch, clock
        self._keys: tuple[TrustedKey, ...] = ()
        self._fetched_at = float("-inf")
        self._tried_at = float("-inf")
        self._lock = threading.Lock()

    def trusted(self, *, refresh: bool = False) -> Sequence[TrustedKey]:
        if self._due(self._clock(), refresh):
            with self._lock:
                now = self._clock()
                if self._due(now, refresh):
                    self._tried_at = now
                    self._refresh(now)
        if not self._keys:
            raise BackendUnavailable("Token keys unavailable, retry later", reason=Reason.JWKS_UNAVAILABLE)
        return self._keys

    def _due(self, now: float, refresh: bool) -> bool:
        since_try = now - self._tried_at
        if now - self._fetched_at >= self._ttl:  # stale or never fetched: retry at most every few seconds
            return since_try >= JWKS_RETRY_INTERVAL
        return refresh and since_try >= JWKS_REFRESH_INTERVAL

    def _refresh(self, now: float) -> None:
        try:
            keys = keys_from_jwks(self._fetch(self._url).decode("utf-8"), source="KEY_DELIVERY_JWKS_URL", strict=False)
        except Exception as exc:  # network, JSON, no usable key: keep the last good set
            logger.warning("JWKS refresh failed", extra={"jwks_url": self._url, "error_type": type(exc).__name__})
            return
        self._keys, self._fetched_at = keys, now


class CombinedKeys(KeyProvider):
    def __init__(self, providers: Iterable[KeyProvider]) -> None:
        self._providers = tuple(providers)

    def trusted(self, *, refresh: bool = False) -> Sequence[TrustedKey]:
        return [key for provider in self._providers for key in provider.trusted(refresh=refresh)]


# --- verification ------------------------------------------------------------------------------------------


class TokenVerifier:
    def __init__(
        self,
        keys: KeyProvider,
        *,
        audience: str,
        issuers: Sequence[str] = (),
        max_token_seconds: int = 86400,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._keys = keys
        self._audience = audience
        self._issuers = tuple(issuers)
        self._max_token_seconds = max_token_seconds
        self._clock = clock

    def verify(self, token: str) -> Entitlement:
        """The entitlement of a valid token; ``TokenRejected`` (401) otherwise."""
        if len(token) > MAX_TOKEN_CHARS:
            raise TokenRejected("The token is too long")
        try:
            header = jwt.get_unverified_header(token)
        except PyJWTError:
            raise TokenRejected("The token is not a JWT") from None
        algorithm = header.get("alg")
        if not isinstance(algorithm, str) or algorithm not in (*ASYMMETRIC_ALGORITHMS, HMAC_ALGORITHM):
            raise TokenRejected("The token's algorithm is not accepted")
        if "crit" in header:
            raise TokenRejected("The token has critical header parameters this server does not understand")
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise TokenRejected("The token's kid is not a string")
        candidates = [key for key in self._keys.trusted() if key.matches(kid, algorithm)]
        if not candidates and kid is not None:
            candidates = [key for key in self._keys.trusted(refresh=True) if key.matches(kid, algorithm)]
        if not candidates:
            raise TokenRejected("No trusted key verifies this token (kid and algorithm)")
        for key in candidates:
            try:
                claims = jwt.decode(
                    token,
                    key.key,
                    algorithms=[key.algorithm],
                    audience=self._audience,
                    issuer=self._issuers or None,
                    leeway=LEEWAY_SECONDS,
                    options={"require": ["exp"], "enforce_minimum_key_length": True},
                )
            except InvalidSignatureError:
                continue
            except ExpiredSignatureError:
                raise TokenRejected("The token has expired") from None
            except ImmatureSignatureError:
                raise TokenRejected("The token is not valid yet (nbf or iat in the future)") from None
            except MissingRequiredClaimError as exc:
                raise TokenRejected(f"The token has no {exc.claim} claim") from None
            except InvalidAudienceError:
                raise TokenRejected("The token is not meant for this service (aud)") from None
            except InvalidIssuerError:
                raise TokenRejected("The token's issuer is not trusted (iss)") from None
            except PyJWTError:
                raise TokenRejected("The token is malformed") from None
            return self._entitlement(claims, key)
        raise TokenRejected("The token's signature does not verify")

    def _entitlement(self, claims: dict[str, Any], key: TrustedKey) -> Entitlement:
        exp = claims["exp"]
        if isinstance(exp, bool) or not isinstance(exp, int | float):
            raise TokenRejected("The token's exp is not a number")
        if exp > self._clock() + self._max_token_seconds + LEEWAY_SECONDS:
            raise TokenRejected(f"The token lives longer than {self._max_token_seconds} s (exp too far ahead)")
        sub, jti = claims.get("sub"), claims.get("jti")
        return Entitlement(
            content_ids=_content_ids(claims.get("content_ids")),
            kids=_kids(claims.get("kids")),
            delivery=_delivery(claims.get("delivery")),
            sub=sub[:200] if isinstance(sub, str) else None,
            jti=jti[:200] if isinstance(jti, str) else None,
            key_id=key.kid,
            algorithm=key.algorithm,
        )


def _content_ids(value: Any) -> frozenset[str]:
    if value is None:
        return frozenset()
    if isinstance(value, str):
        return frozenset({value})
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return frozenset(value)
    raise TokenRejected("The token's content_ids must be a string or a list of strings")


def _kids(value: Any) -> frozenset[uuid.UUID] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise TokenRejected("The token's kids must be a list of UUIDs")
    try:
        return frozenset(uuid.UUID(item) for item in value)
    except ValueError:
        raise TokenRejected("The token's kids must be a list of UUIDs") from None


def _delivery(value: Any) -> frozenset[str] | None:
    if value is None:
        return None
    items = [value] if isinstance(value, str) else value
    if (
        not isinstance(items, list)
        or not items
        or not all(isinstance(item, str) and item in ENDPOINTS for item in items)
    ):
        raise TokenRejected("The token's delivery must be aes128, clearkey or a list of them")
    return frozenset(items)
