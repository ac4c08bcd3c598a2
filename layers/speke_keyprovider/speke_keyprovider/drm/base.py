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


class SpekeV1Child(enum.Enum):
    """The signalling children only SPEKE v1 has (speke-v1.md section 5): ``cpix:URIExtXKey`` and the
    ``speke:`` namespace elements. A v1 DRMSystem's ``cpix:PSSH`` and ``cpix:ContentProtectionData`` are the
    ``Child`` members of the same name: the same values as in v2."""

    URI_EXT_X_KEY = "URIExtXKey"
    KEY_FORMAT = "KeyFormat"
    KEY_FORMAT_VERSIONS = "KeyFormatVersions"
    PROTECTION_HEADER = "ProtectionHeader"

    __hash__ = object.__hash__

    @property
    def local_name(self) -> str:
        return self.value


AnyChild = Child | SpekeV1Child
"""A signalling child of either dialect."""


def child_named(name: str) -> AnyChild:
    """The child whose value is ``name`` (a ``Child`` or a ``SpekeV1Child``)."""
    return _BY_VALUE[name]


_BY_VALUE: dict[str, AnyChild] = {child.value: child for child in (*Child, *SpekeV1Child)}


@dataclass(frozen=True)
class KeySignalContext:
    """Everything a DRM system needs to signal one key. No key material: signalling never needs the CEK."""

    system_id: str
    kid: uuid.UUID
    content_id: str
    scheme: str
    settings: SignallingSettings


def xml_text(text: str) -> str:
    """XML character data escaping (``&``, ``<``, ``>``), as ``xml.sax.saxutils.escape`` does: that module's
    import pulls in urllib.request, http.client and email, ~15 ms of cold start for three replacements."""
    return text.replace("&", "&amp;").replace(">", "&gt;").replace("<", "&lt;")


def b64(data: bytes) -> str:
    """Standard base64 with padding, as ASCII text (the form every CPIX signalling element carries)."""
    return binascii.b2a_base64(data, newline=False).decode("ascii")  # == base64.b64encode, one call less


def b64_text(text: str) -> str:
    """Base64 of the UTF-8 bytes of ``text``."""
    return b64(text.encode("utf-8"))


SPEKE_V1_HLS_CHILDREN: frozenset[AnyChild] = frozenset(
    {SpekeV1Child.URI_EXT_X_KEY, SpekeV1Child.KEY_FORMAT, SpekeV1Child.KEY_FORMAT_VERSIONS}
)
"""The SPEKE v1 HLS key children: the key URI, KEYFORMAT and KEYFORMATVERSIONS as separate values."""

KEY_FORMAT_VERSIONS = "1"


def speke_v1_hls_values(uri: str, key_format: str, children: frozenset[AnyChild]) -> dict[AnyChild, str]:
    """SPEKE v1 HLS children: base64 of the key URI, of the KEYFORMAT and of the KEYFORMATVERSIONS text."""
    values: dict[AnyChild, str] = {
        SpekeV1Child.URI_EXT_X_KEY: uri,
        SpekeV1Child.KEY_FORMAT: key_format,
        SpekeV1Child.KEY_FORMAT_VERSIONS: KEY_FORMAT_VERSIONS,
    }
    return {child: b64_text(values[child]) for child in SPEKE_V1_HLS_CHILDREN & children}


def scheme_incompatible(system_id: str) -> CpixError:
    """The spec's verbatim error for a scheme the DRM system cannot carry."""
    return UnsupportedDrmSystem(f"ContentKey@commonEncryptionScheme non compatible with DRMSystem {system_id}")


def child_unsupported(system_id: str, child: AnyChild) -> UnsupportedDrmSystem:
    return UnsupportedDrmSystem(f"DRMSystem {system_id} does not support {child.local_name}")
