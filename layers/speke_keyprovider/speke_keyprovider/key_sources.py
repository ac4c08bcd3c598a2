"""Where content keys come from: the ``KeySource`` port and its AWS-free adapters.

A key source answers ``content_keys(content_id, kids)`` with the derived CEK of each kid, and
``explicit_ivs(content_id, kids)`` with the derived IV of each (same KDF, another label). Local
homes hold the master key bytes and run the KDF in process; the KMS home (``aws_key_sources``)
asks KMS for the MAC so the master never leaves it. All give the same keys.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .errors import BackendUnavailable, ConfigurationError, Reason
from .key_derivation import MIN_MASTER_KEY_LENGTH, derive_cek, derive_explicit_iv, derive_override_kid

if TYPE_CHECKING:
    from .settings import Settings

KidInput = tuple[str, str]
"""What an override KID is derived from, besides the contentId: (intendedTrackType, period-id)."""


class KeySource(Protocol):
    name: str

    def content_keys(self, content_id: str, kids: Sequence[uuid.UUID]) -> dict[uuid.UUID, bytes]:
        """The CEK of every kid; raises ``BackendUnavailable`` when the key home cannot answer."""
        ...

    def override_kids(self, content_id: str, inputs: Sequence[KidInput]) -> dict[KidInput, uuid.UUID]:
        """The provider's own KID for every (track type, period-id) (``key_derivation.kid_message``)."""
        ...

    def explicit_ivs(self, content_id: str, kids: Sequence[uuid.UUID]) -> dict[uuid.UUID, bytes]:
        """The derived explicitIV of every kid (``DERIVED_EXPLICIT_IV``; label ``speke-iv-v1``)."""
        ...


def master_key_from_text(value: str | bytes, *, source: str) -> bytes:
    """K_master = the UTF-8 bytes of the secret text (at least 32 characters)."""
    raw = value.encode("utf-8") if isinstance(value, str) else bytes(value)
    if len(raw) < MIN_MASTER_KEY_LENGTH:
        raise MasterKeyTooShort(source)
    return raw


class MasterKeyTooShort(BackendUnavailable):
    reason = Reason.MASTER_KEY_INVALID
    reasons = frozenset()

    def __init__(self, source: str) -> None:
        super().__init__()
        self.source = source

    def __str__(self) -> str:  # shown in logs only; never the key
        return f"the master key from {self.source} is shorter than {MIN_MASTER_KEY_LENGTH} bytes"


class MasterKeySource:
    """Derives CEKs in process from master key bytes fetched by ``load_master`` (cached by the loader)."""

    name = "master"

    def __init__(self, load_master: Callable[[], bytes]) -> None:
        self._load_master = load_master

    def content_keys(self, content_id: str, kids: Sequence[uuid.UUID]) -> dict[uuid.UUID, bytes]:
        master = self._load_master()
        return {kid: derive_cek(master, content_id, kid) for kid in kids}

    def override_kids(self, content_id: str, inputs: Sequence[KidInput]) -> dict[KidInput, uuid.UUID]:
        master = self._load_master()
        return {item: derive_override_kid(master, content_id, *item) for item in inputs}

    def explicit_ivs(self, content_id: str, kids: Sequence[uuid.UUID]) -> dict[uuid.UUID, bytes]:
        master = self._load_master()
        return {kid: derive_explicit_iv(master, content_id, kid) for kid in kids}


class StaticMasterKey(MasterKeySource):
    """Master key bytes held in memory (tests, benchmarks)."""

    name = "static"

    def __init__(self, master: bytes) -> None:
        key = master_key_from_text(master, source="memory")
        super().__init__(lambda: key)

    def __repr__(self) -> str:
        return "StaticMasterKey(<hidden>)"


class FileMasterKey(MasterKeySource):
    """The master key from a local file (``make run`` only). Trailing line breaks are not part of it."""

    name = "file"

    def __init__(self, path: str | Path) -> None:
        self._path = Path(path)
        self._key: bytes | None = None
        self._lock = threading.Lock()
        super().__init__(self._master)

    def _master(self) -> bytes:
        if self._key is None:
            with self._lock:
                if self._key is None:
                    try:
                        text = self._path.read_bytes()
                    except OSError:
                        raise ConfigurationError(f"MASTER_KEY_FILE {self._path} cannot be read") from None
                    self._key = master_key_from_text(text.rstrip(b"\r\n"), source="MASTER_KEY_FILE")
        return self._key

    def __repr__(self) -> str:
        return f"FileMasterKey({str(self._path)!r})"


def build_key_source(settings: Settings, *, client_factory: Callable[[str], Any] | None = None) -> KeySource:
    """The key home ``settings`` name (here, not in ``runtime``, so the key delivery function can build it
    without importing the SPEKE exchange). ``client_factory(service)`` supplies the boto3 client of an AWS
    home (default: one from the standard credential chain); the operator CLI passes its profile and region."""
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
