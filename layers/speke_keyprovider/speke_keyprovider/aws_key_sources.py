"""The AWS key homes: Secrets Manager (master key bytes, cached via Powertools parameters) and KMS
(HMAC_256 key, ``GenerateMac``: the master never leaves KMS). The only module importing boto3.

Clients are built once per container, lazily, with short timeouts and bounded retries, and every one is
wrapped in ``DeadlineBoundClient``: each AWS call made through it runs on a worker thread and is waited for
only until the request's deadline (``call_budget``: the Lambda invocation's remaining time less a reserve),
so a hung or slow Secrets Manager or KMS becomes a grace-period answer or a 503 with ``Retry-After`` before
the invocation times out, whatever code makes the call. An abandoned call makes no further attempt (the
``before-send`` check below) and ends within one attempt's timeouts.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from . import call_budget
from .errors import BackendUnavailable, Reason
from .key_derivation import IV_LABEL, KID_LABEL, LABEL, cek_from_mac, derivation_message, kid_from_mac, kid_message
from .key_sources import KidInput, MasterKeySource, MasterKeyTooShort, master_key_from_text

logger = logging.getLogger(__name__)

CLIENT_CONFIG = Config(
    connect_timeout=call_budget.CONNECT_TIMEOUT_SECONDS,
    read_timeout=call_budget.READ_TIMEOUT_SECONDS,
    retries={"total_max_attempts": call_budget.TOTAL_MAX_ATTEMPTS, "mode": "standard"},
)
KMS_PARALLELISM = 8
_Item = TypeVar("_Item", bound=Hashable)  # what one GenerateMac is for: a kid, or an override KID input
_Value = TypeVar("_Value")
_DEADLINE_HOOK_ID = "speke-keyprovider-call-deadline"


class CallDeadlineExceeded(Exception):
    """An AWS call did not answer before the request's deadline (it may still finish in the background)."""


def _stop_past_deadline(**_: Any) -> None:
    """botocore ``before-send`` hook, run before every attempt: no new attempt once the deadline has passed."""
    deadline = call_budget.active()
    if deadline is not None and deadline.expired:
        raise CallDeadlineExceeded("the request's deadline passed before this attempt")


class DeadlineBoundClient:
    """A botocore client whose API calls answer before the request's deadline or raise ``CallDeadlineExceeded``.

    ``client.generate_mac(...)`` (any operation) runs on one of ``workers`` threads, in a copy of the caller's
    context (so the ``before-send`` hook sees the deadline of the request it serves), and the caller waits
    for it until ``call_budget.current()`` runs out. ``submit(operation, **params)`` starts a call without
    waiting, for fan-outs that wait for all their calls against one deadline. Every other attribute
    (``meta``, exceptions, ...) is the client's own."""

    def __init__(self, client: Any, *, workers: int, name: str) -> None:
        client.meta.events.register("before-send", _stop_past_deadline, unique_id=_DEADLINE_HOOK_ID)
        self.client = client
        self._name = name
        self._workers = workers
        self._operations = frozenset(client.meta.method_to_api_mapping)
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def submit(self, operation: str, /, **params: Any) -> Future[Any]:
        if self._pool is None:
            with self._lock:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix=self._name)
        method = getattr(self.client, operation)
        context = contextvars.copy_context()
        return self._pool.submit(lambda: context.run(method, **params))

    def __getattr__(self, name: str) -> Any:
        if name not in self._operations:
            return getattr(self.client, name)

        def call(**params: Any) -> Any:
            deadline = call_budget.current()
            future = self.submit(name, **params)
            try:
                return future.result(timeout=deadline.remaining())
            except FutureTimeout:
                future.cancel()  # if it has not started yet, it never will
                raise CallDeadlineExceeded(
                    f"{self._name} {name} did not answer before the request's deadline"
                ) from None

        return call

    def __repr__(self) -> str:
        return f"DeadlineBoundClient({self._name})"


def deadline_bound(client: Any, name: str, *, workers: int = 1) -> DeadlineBoundClient:
    """``client`` wrapped in ``DeadlineBoundClient`` (a wrapped client is returned as it is)."""
    if isinstance(client, DeadlineBoundClient):
        return client
    return DeadlineBoundClient(client, workers=workers, name=name)


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
            # Two workers: one call in flight, and one more while an abandoned call finishes its attempt.
            self._provider = SecretsProvider(boto3_client=deadline_bound(client, "secretsmanager", workers=2))
        return self._provider

    def _master(self) -> bytes:
        """Warm path: Powertools serves the secret from its in-memory cache (no AWS call) until
        ``max_age``; then it fetches again (through the deadline-bound client). A new value object means a
        real fetch happened."""
        deadline = call_budget.current()
        try:
            value = self._get_provider().get(self._secret_id, max_age=self._ttl)
        except Exception as exc:
            logger.warning(
                "Secrets Manager refresh failed",
                extra={
                    "error_code": _error_code(exc),
                    "secret_id": self._secret_id,
                    "budget_seconds": round(deadline.budget, 3),
                    "deadline_passed": deadline.expired,
                },
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
    ``grace`` more seconds. Several misses are fetched in parallel (``KMS_PARALLELISM`` at a time), all
    within the one deadline of the request."""

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
        # (label, contentId, kid or KID input) -> (CEK, explicitIV or override KID, fetched at)
        self._cache: OrderedDict[tuple[bytes, str, Hashable], tuple[Any, float]] = OrderedDict()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"KmsDerivedKeys({self._key_id!r})"

    def _get_client(self) -> DeadlineBoundClient:
        if not isinstance(self._client, DeadlineBoundClient):
            raw = self._client or boto3.session.Session().client("kms", config=CLIENT_CONFIG)
            self._client = deadline_bound(raw, "kms", workers=KMS_PARALLELISM)
        return self._client

    def _mac_request(self, message: bytes) -> dict[str, Any]:
        return {"KeyId": self._key_id, "MacAlgorithm": "HMAC_SHA_256", "Message": message}

    def content_keys(self, content_id: str, kids: Sequence[uuid.UUID]) -> dict[uuid.UUID, bytes]:
        return self._derive(
            LABEL,
            content_id,
            kids,
            lambda kid: derivation_message(content_id, kid, LABEL),
            cek_from_mac,
            "content keys",
        )

    def explicit_ivs(self, content_id: str, kids: Sequence[uuid.UUID]) -> dict[uuid.UUID, bytes]:
        """GenerateMac on the same message with the label ``speke-iv-v1`` (cached like the keys)."""
        return self._derive(
            IV_LABEL,
            content_id,
            kids,
            lambda kid: derivation_message(content_id, kid, IV_LABEL),
            cek_from_mac,  # the first 16 bytes of the MAC
            "explicit IVs",
        )

    def override_kids(self, content_id: str, inputs: Sequence[KidInput]) -> dict[KidInput, uuid.UUID]:
        """Override KIDs by GenerateMac over ``kid_message`` (label speke-kid-v1), fetched and cached like the
        CEKs (``ttl``, then ``grace`` after a failed refresh), so a KID and the key derived from it come from the
        same key."""
        return self._derive(
            KID_LABEL, content_id, inputs, lambda item: kid_message(content_id, *item), kid_from_mac, "override KIDs"
        )

    def _derive(
        self,
        label: bytes,
        content_id: str,
        items: Sequence[_Item],
        message: Callable[[_Item], bytes],
        from_mac: Callable[[bytes], _Value],
        what: str,
    ) -> dict[_Item, _Value]:
        now = self._clock()
        values: dict[_Item, _Value] = {}
        missing: list[_Item] = []
        with self._lock:
            for item in items:
                entry = self._cache.get((label, content_id, item))
                if entry is not None and now - entry[1] < self._ttl:
                    values[item] = entry[0]
                else:
                    missing.append(item)
        if not missing:
            return values
        deadline = call_budget.current()
        client = self._get_client()
        futures = {item: client.submit("generate_mac", **self._mac_request(message(item))) for item in missing}
        done, late = wait(futures.values(), timeout=deadline.remaining())
        failure: BaseException | None = None
        if late:
            for future in late:
                future.cancel()  # those not started yet never will be
            failure = CallDeadlineExceeded("KMS did not answer before the request's deadline")
        else:
            failure = next((f.exception() for f in done if f.exception() is not None), None)
        if failure is not None:
            logger.warning(
                "KMS GenerateMac failed",
                extra={
                    "error_code": _error_code(failure),
                    "key_id": self._key_id,
                    "unanswered": len(late),
                    "budget_seconds": round(deadline.budget, 3),
                },
            )
            return self._grace_or_raise(label, content_id, missing, values, now, what)
        fetched = {item: from_mac(future.result()["Mac"]) for item, future in futures.items()}
        with self._lock:
            for item, value in fetched.items():
                self._cache[(label, content_id, item)] = (value, now)
                self._cache.move_to_end((label, content_id, item))
            while len(self._cache) > self._max_entries:
                self._cache.popitem(last=False)
        values.update(fetched)
        return values

    def _grace_or_raise(
        self,
        label: bytes,
        content_id: str,
        missing: list[_Item],
        values: dict[_Item, _Value],
        now: float,
        what: str,
    ) -> dict[_Item, _Value]:
        with self._lock:
            for item in missing:
                entry = self._cache.get((label, content_id, item))
                if entry is None or now - entry[1] >= self._ttl + self._grace:
                    raise BackendUnavailable(reason=Reason.KMS_UNAVAILABLE)
                values[item] = entry[0]
        logger.warning(f"serving cached {what} within their grace period", extra={"keys": len(missing)})
        return values

    def clear_cache(self) -> None:
        with self._lock:
            self._cache.clear()


def secret_bytes_loader(
    secret_id: str, *, ttl: int = 300, client: Any = None, what: str = "secret"
) -> Callable[[], bytes]:
    """A loader of a Secrets Manager ``SecretString`` as UTF-8 bytes (the HS256 token secret), cached ``ttl``
    seconds by Powertools parameters; a failure is ``BackendUnavailable`` (503), logged without the value."""
    state: dict[str, Any] = {}

    def load() -> bytes:
        try:
            if "provider" not in state:
                from aws_lambda_powertools.utilities.parameters import SecretsProvider

                boto_client = client or boto3.session.Session().client("secretsmanager", config=CLIENT_CONFIG)
                state["provider"] = SecretsProvider(
                    boto3_client=deadline_bound(boto_client, "secretsmanager", workers=2)
                )
            value = state["provider"].get(secret_id, max_age=ttl)
        except Exception as exc:
            logger.warning(
                f"Secrets Manager {what} fetch failed", extra={"error_code": _error_code(exc), "secret_id": secret_id}
            )
            raise BackendUnavailable(reason=Reason.TOKEN_SECRET_UNAVAILABLE) from None
        if state.get("raw") is not value:
            state["raw"], state["bytes"] = value, value.encode("utf-8") if isinstance(value, str) else bytes(value)
        raw: bytes = state["bytes"]
        return raw

    return load
