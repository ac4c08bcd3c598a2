"""The AWS key homes: Secrets Manager (master key bytes, cached via Powertools parameters) and KMS
(HMAC_256 key, ``GenerateMac``: the master never leaves KMS). The only module importing boto3.

Clients are built once per container, lazily, with short timeouts and bounded retries so a slow
dependency turns into a 503 with ``Retry-After`` well within the Lambda timeout.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from .errors import BackendUnavailable, Reason
from .key_derivation import IV_LABEL, LABEL, cek_from_mac, derivation_message
from .key_sources import MasterKeySource, MasterKeyTooShort, master_key_from_text

logger = logging.getLogger(__name__)

CLIENT_CONFIG = Config(connect_timeout=2, read_timeout=3, retries={"max_attempts": 3, "mode": "standard"})
KMS_PARALLELISM = 8


def _error_code(exc: BaseException) -> str:
    seen = exc
    while seen is not None:
        if isinstance(seen, ClientError):
            return str(seen.response.get("Error", {}).get("Code", "ClientError"))
        if isinstance(seen, BotoCoreError):
            return type(seen).__name__
        seen = seen.__cause__ or seen.__context__  # type: ignore[assignment]  # Powertools does not chain
    return type(exc).__name__


class SecretsManagerMasterKey(MasterKeySource):
    """K_master = the secret's SecretString (UTF-8), cached for ``ttl`` seconds by Powertools parameters.
    If a refresh fails, the last fetched value keeps serving until ``ttl + grace`` after its fetch."""

    name = "secretsmanager"

    def __init__(
        self,
        secret_id: str,
        *,
        ttl: int = 300,
        grace: int = 3600,
        client: Any = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._secret_id = secret_id
        self._ttl = ttl
        self._grace = grace
        self._client = client
        self._provider: Any = None
        self._clock = clock
        self._last_raw: object = None
        self._last_good: bytes | None = None
        self._last_good_at = 0.0
        self._lock = threading.Lock()
        super().__init__(self._master)

    def __repr__(self) -> str:
        return f"SecretsManagerMasterKey({self._secret_id!r})"

    def _get_provider(self) -> Any:
        if self._provider is None:
            from aws_lambda_powertools.utilities.parameters import SecretsProvider

            client = self._client or boto3.session.Session().client("secretsmanager", config=CLIENT_CONFIG)
            self._provider = SecretsProvider(boto3_client=client)
        return self._provider

    def _master(self) -> bytes:
        """Warm path: Powertools serves the secret from its in-memory cache (no AWS call) until
        ``max_age``; then it fetches again. A new value object means a real fetch happened."""
        try:
            value = self._get_provider().get(self._secret_id, max_age=self._ttl)
        except Exception as exc:
            logger.warning(
                "Secrets Manager refresh failed", extra={"error_code": _error_code(exc), "secret_id": self._secret_id}
            )
            return self._grace_or_raise(self._clock(), Reason.SECRETSMANAGER_UNAVAILABLE)
        if value is self._last_raw and self._last_good is not None:
            return self._last_good
        with self._lock:
            try:
                master = master_key_from_text(value, source="Secrets Manager")
            except MasterKeyTooShort:
                logger.error("master key secret is shorter than 32 characters", extra={"secret_id": self._secret_id})
                self._get_provider().clear_cache()  # fetch again next time: a fixed secret is picked up at once
                return self._grace_or_raise(self._clock(), Reason.MASTER_KEY_INVALID)
            self._last_raw, self._last_good, self._last_good_at = value, master, self._clock()
            return master

    def _grace_or_raise(self, now: float, reason: Reason) -> bytes:
        if self._last_good is not None and now - self._last_good_at < self._ttl + self._grace:
            logger.warning(
                "serving the cached master key within its grace period",
                extra={"age_seconds": int(now - self._last_good_at)},
            )
            return self._last_good
        raise BackendUnavailable(reason=reason)

    def clear_cache(self) -> None:
        self._last_raw = self._last_good = None
        if self._provider is not None:
            self._provider.clear_cache()


class KmsDerivedKeys:
    """CEK = first 16 bytes of KMS GenerateMac(HMAC_SHA_256, derivation message). Derived keys are cached
    per container for ``ttl`` seconds (bounded LRU); after a failed refresh a cached key serves for
    ``grace`` more seconds. Several misses are fetched in parallel."""

    name = "kms"

    def __init__(
        self,
        key_id: str,
        *,
        ttl: int = 300,
        grace: int = 3600,
        client: Any = None,
        max_entries: int = 20000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._key_id = key_id
        self._ttl = ttl
        self._grace = grace
        self._client = client
        self._clock = clock
        self._max_entries = max_entries
        self._cache: OrderedDict[tuple[bytes, str, uuid.UUID], tuple[bytes, float]] = OrderedDict()
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None

    def __repr__(self) -> str:
        return f"KmsDerivedKeys({self._key_id!r})"

    def _get_client(self) -> Any:
        if self._client is None:
            self._client = boto3.session.Session().client("kms", config=CLIENT_CONFIG)
        return self._client

    def _generate(self, label: bytes, content_id: str, kid: uuid.UUID) -> bytes:
        response = self._get_client().generate_mac(
            KeyId=self._key_id, MacAlgorithm="HMAC_SHA_256", Message=derivation_message(content_id, kid, label)
        )
        return cek_from_mac(response["Mac"])  # the first 16 bytes: a CEK, or with IV_LABEL an explicitIV

    def content_keys(self, content_id: str, kids: Sequence[uuid.UUID]) -> dict[uuid.UUID, bytes]:
        return self._derive(LABEL, content_id, kids, "content keys")

    def explicit_ivs(self, content_id: str, kids: Sequence[uuid.UUID]) -> dict[uuid.UUID, bytes]:
        """GenerateMac on the same message with the label ``speke-iv-v1`` (cached like the keys)."""
        return self._derive(IV_LABEL, content_id, kids, "explicit IVs")

    def _derive(self, label: bytes, content_id: str, kids: Sequence[uuid.UUID], what: str) -> dict[uuid.UUID, bytes]:
        now = self._clock()
        keys: dict[uuid.UUID, bytes] = {}
        missing: list[uuid.UUID] = []
        with self._lock:
            for kid in kids:
                entry = self._cache.get((label, content_id, kid))
                if entry is not None and now - entry[1] < self._ttl:
                    keys[kid] = entry[0]
                else:
                    missing.append(kid)
        if not missing:
            return keys
        try:
            if len(missing) == 1:
                fetched = {missing[0]: self._generate(label, content_id, missing[0])}
            else:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(max_workers=KMS_PARALLELISM, thread_name_prefix="kms")
                fetched = dict(
                    zip(missing, self._pool.map(lambda k: self._generate(label, content_id, k), missing), strict=True)
                )
        except Exception as exc:
            logger.warning("KMS GenerateMac failed", extra={"error_code": _error_code(exc), "key_id": self._key_id})
            return self._grace_or_raise(label, content_id, missing, keys, now, what)
        with self._lock:
            for kid, value in fetched.items():
                self._cache[(label, content_id, kid)] = (value, now)
                self._cache.move_to_end((label, content_id, kid))
            while len(self._cache) > self._max_entries:
                self._cache.popitem(last=False)
        keys.update(fetched)
        return keys

    def _grace_or_raise(
        self,
        label: bytes,
        content_id: str,
        missing: list[uuid.UUID],
        keys: dict[uuid.UUID, bytes],
        now: float,
        what: str,
    ) -> dict[uuid.UUID, bytes]:
        with self._lock:
            for kid in missing:
                entry = self._cache.get((label, content_id, kid))
                if entry is None or now - entry[1] >= self._ttl + self._grace:
                    raise BackendUnavailable(reason=Reason.KMS_UNAVAILABLE)
                keys[kid] = entry[0]
        logger.warning(f"serving cached {what} within their grace period", extra={"keys": len(missing)})
        return keys

    def clear_cache(self) -> None:
        with self._lock:
            self._cache.clear()
