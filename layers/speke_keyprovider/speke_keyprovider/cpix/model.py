"""The parsed SPEKE request, one model for every dialect. Each part keeps its XML element so the response is
rendered in place: whatever the request carried (ids, periods, the encryption contract) is echoed unchanged."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from xml.etree.ElementTree import Element

from ..drm.base import Child, SpekeV1Child

if TYPE_CHECKING:
    from .dialect import Dialect
    from .xsd_time import DateTime

# Signalling children a DRMSystem may request, keyed as the DRM package's ``Child`` values (spelled there).
CHILD_PSSH = Child.PSSH.value
CHILD_CPD = Child.CONTENT_PROTECTION_DATA.value
CHILD_HLS_MEDIA = Child.HLS_MEDIA.value
CHILD_HLS_MASTER = Child.HLS_MASTER.value
CHILD_SMOOTH = Child.SMOOTH_STREAMING.value
HLS_SIGNALING_DATA = Child.HLS_MEDIA.local_name  # the element of both HLS children (told apart by @playlist)
CHILD_URI_EXT_X_KEY = SpekeV1Child.URI_EXT_X_KEY.value  # SPEKE v1 (cpix namespace)
CHILD_KEY_FORMAT = SpekeV1Child.KEY_FORMAT.value  # SPEKE v1 (speke namespace)
CHILD_KEY_FORMAT_VERSIONS = SpekeV1Child.KEY_FORMAT_VERSIONS.value  # SPEKE v1 (speke namespace)
CHILD_PROTECTION_HEADER = SpekeV1Child.PROTECTION_HEADER.value  # SPEKE v1 (speke namespace)


@dataclass(slots=True)
class ContentKeyRequest:
    kid: uuid.UUID
    # The protection scheme the key is used with (v2: commonEncryptionScheme; v2.1's HLS methods as the scheme
    # they behave as: SAMPLE-AES is cbcs, SAMPLE-AES-CTR cenc). The attribute itself is echoed as sent.
    scheme: str
    explicit_iv: bytes | None
    element: Element


@dataclass(slots=True)
class DrmSystemRequest:
    system_id: str  # canonical lowercase UUID text
    kid: uuid.UUID
    children: list[tuple[str, Element]]
    element: Element


@dataclass(slots=True, frozen=True)
class VideoFilter:
    min_pixels: int | None = None
    max_pixels: int | None = None
    hdr: bool | None = None
    min_fps: int | None = None
    max_fps: int | None = None

    @property
    def bare(self) -> bool:
        return all(v is None for v in (self.min_pixels, self.max_pixels, self.hdr, self.min_fps, self.max_fps))


@dataclass(slots=True, frozen=True)
class AudioFilter:
    min_channels: int | None = None
    max_channels: int | None = None

    @property
    def bare(self) -> bool:
        return self.min_channels is None and self.max_channels is None


@dataclass(slots=True)
class UsageRule:
    kid: uuid.UUID
    track_type: str
    video_filters: list[VideoFilter] = field(default_factory=list)
    audio_filters: list[AudioFilter] = field(default_factory=list)
    period_ids: list[str] = field(default_factory=list)
    other_filters: list[str] = field(default_factory=list)


@dataclass(slots=True, frozen=True)
class KeyPeriod:
    id: str
    index: int | None
    # CPIX 2.4 timing (SPEKE v2.1 only; echoed from the element as sent, read here for the checks and the
    # KID override): ``start`` is the period's xs:dateTime start, when it has one.
    start: DateTime | None = None


@dataclass(slots=True)
class Recipient:
    """One DeliveryData: the encryptor's certificate, to which content keys are encrypted."""

    certificate_der: bytes
    element: Element


@dataclass(slots=True)
class CpixRequest:
    dialect: Dialect
    root: Element
    content_id: str
    content_keys: list[ContentKeyRequest]
    drm_systems: list[DrmSystemRequest]
    usage_rules: list[UsageRule]
    periods: list[KeyPeriod]
    recipients: list[Recipient]

    @property
    def scheme(self) -> str:
        """The document's one protection scheme (every dialect allows one per document)."""
        return self.content_keys[0].scheme

    @property
    def encrypted(self) -> bool:
        return bool(self.recipients)

    @property
    def kids(self) -> list[uuid.UUID]:
        return [key.kid for key in self.content_keys]
