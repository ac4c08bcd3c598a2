"""Types and small helpers shared by every DRM system module (re-exported by ``speke_keyprovider.drm``)."""

from __future__ import annotations

import binascii
import enum
import uuid
from dataclasses import dataclass

from ..errors import CpixError, UnsupportedDrmSystem
from ..settings import SignallingSettings

CENC_SCHEMES = frozenset({"cenc", "cbcs", "cbc1", "cens"})
"""The four ISO/IEC 23001-7 protection scheme names a ContentKey may carry."""


class Child(enum.Enum):
    """A signalling child of ``cpix:DRMSystem``. The value is the CPIX local name (and playlist)."""

    PSSH = "PSSH"
    CONTENT_PROTECTION_DATA = "ContentProtectionData"
    HLS_MEDIA = "HLSSignalingData/media"
    HLS_MASTER = "HLSSignalingData/master"
    SMOOTH_STREAMING = "SmoothStreamingProtectionHeaderData"

    # Members are singletons compared by identity: hash them by identity too (a C slot) rather than
    # Enum's Python-level hash of the name, which every set/dict operation on children paid.
    __hash__ = object.__hash__

    @property
    def local_name(self) -> str:
        """The CPIX element local name, without the playlist."""
        return self.value.partition("/")[0]


@dataclass(frozen=True)
class KeySignalContext:
    """Everything a DRM system needs to signal one key. No key material: signalling never needs the CEK."""

    system_id: str
    kid: uuid.UUID
    content_id: str
    scheme: str
    settings: SignallingSettings


def b64(data: bytes) -> str:
    """Standard base64 with padding, as ASCII text (the form every CPIX signalling element carries)."""
    return binascii.b2a_base64(data, newline=False).decode("ascii")  # == base64.b64encode, one call less


def b64_text(text: str) -> str:
    """Base64 of the UTF-8 bytes of ``text``."""
    return b64(text.encode("utf-8"))


def scheme_incompatible(system_id: str) -> CpixError:
    """The spec's verbatim error for a scheme the DRM system cannot carry."""
    return UnsupportedDrmSystem(f"ContentKey@commonEncryptionScheme non compatible with DRMSystem {system_id}")


def child_unsupported(system_id: str, child: Child) -> UnsupportedDrmSystem:
    return UnsupportedDrmSystem(f"DRMSystem {system_id} does not support {child.local_name}")
