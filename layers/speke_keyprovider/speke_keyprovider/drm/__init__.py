"""DRM signalling, one module per system. PUBLIC API used by the CPIX renderer (do not change the names):

    Child                       enum of the signalling children a DRMSystem may request (SPEKE v2; v1 shares
                                PSSH and ContentProtectionData)
    SpekeV1Child                the children only SPEKE v1 has (URIExtXKey, speke:KeyFormat, ...)
    KeySignalContext            everything a system needs to signal one key
    SYSTEMS / SPEKE_V1_SYSTEMS  the registry of each dialect (SPEKE v2 / SPEKE v1 children, v1 system ids)
    check_system(system_id, scheme, children=(), systems=SYSTEMS) -> None
        raises UnsupportedDrmSystem for an unknown system id (text names the id) or a child the system
        cannot produce, and
        CpixError("ContentKey@commonEncryptionScheme non compatible with DRMSystem <systemId>")
        for a scheme the system cannot carry (FairPlay with cenc, ...).
    signal(ctx, children, systems=SYSTEMS) -> dict[Child, str]
        the element text (base64) for each requested child; raises UnsupportedDrmSystem when the
        system cannot produce a requested child (e.g. HLS signalling for ClearKey).
    aes128_key_uri(ctx) -> str
        the HLS AES-128 key URI (key delivery, or AES128_KEY_URI_TEMPLATE): every dialect's one source.

Systems: ``widevine``, ``playready``, ``fairplay``, ``clearkey`` (W3C common PSSH), ``aes128`` (HLS
AES-128); shared pieces: ``pssh_box`` (ISO/IEC 23001-7 boxes), ``hls`` (RFC 8216 key tags), ``uri``
(key URI templates). Every value is computed from the KID, the contentId, the scheme and the
deployment settings; no content key is ever read here. See ``docs/signalling.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from types import ModuleType

from ..errors import UnsupportedDrmSystem
from . import aes128, clearkey, fairplay, playready, widevine
from .aes128 import aes128_key_uri
from .base import AnyChild, Child, KeySignalContext, SpekeV1Child, child_named, child_unsupported, scheme_incompatible
from .hls import HLS_CHILDREN, sample_aes_method

__all__ = [
    "SPEKE_V1_SYSTEMS",
    "SYSTEMS",
    "AnyChild",
    "Child",
    "DrmSystem",
    "KeySignalContext",
    "SpekeV1Child",
    "aes128_key_uri",
    "check_system",
    "child_named",
    "signal",
]


@dataclass(frozen=True)
class DrmSystem:
    """One supported DRM system: what it accepts and how it renders."""

    system_id: str
    name: str
    schemes: frozenset[str]
    children: frozenset[AnyChild]
    render: Callable[[KeySignalContext, frozenset[AnyChild]], dict[AnyChild, str]]

    @classmethod
    def from_module(cls, module: ModuleType) -> DrmSystem:
        return cls(module.SYSTEM_ID, module.NAME, module.SCHEMES, module.CHILDREN, module.render)

    @classmethod
    def speke_v1(cls, module: ModuleType, system_id: str) -> DrmSystem:
        """The system as SPEKE v1 asks for it: its v1 children (speke-v1.md section 5), under ``system_id``."""
        return cls(system_id, module.NAME, module.SCHEMES, module.SPEKE_V1_CHILDREN, module.render)


_MODULES = (widevine, playready, fairplay, clearkey, aes128)
SYSTEMS: dict[str, DrmSystem] = {system.system_id: system for system in map(DrmSystem.from_module, _MODULES)}
"""SPEKE v2: the systems and the children each defines."""

SPEKE_V1_SYSTEMS: dict[str, DrmSystem] = {
    system_id: DrmSystem.speke_v1(module, system_id)
    for module in _MODULES
    for system_id in getattr(module, "SPEKE_V1_SYSTEM_IDS", (module.SYSTEM_ID,))
}
"""SPEKE v1: the same systems (and the v1 documents' AES-128 id), each with the v1 children it defines."""


def _lookup(system_id: str, systems: Mapping[str, DrmSystem] = SYSTEMS) -> DrmSystem:
    system = systems.get(system_id) or systems.get(system_id.strip().lower())
    if system is None:
        raise UnsupportedDrmSystem(f"Unsupported DRMSystem@systemId {system_id}")
    return system


def check_system(
    system_id: str, scheme: str, children: Sequence[AnyChild] = (), systems: Mapping[str, DrmSystem] = SYSTEMS
) -> None:
    """Refuse an unknown system id, a ContentKey scheme the system cannot carry, or a requested child it
    cannot produce (so a request is refused before any key is derived)."""
    system = _lookup(system_id, systems)
    if scheme not in system.schemes:
        raise scheme_incompatible(system_id)
    for child in children:
        if child not in system.children:
            raise child_unsupported(system_id, child)
        if child in HLS_CHILDREN and system.system_id != aes128.SYSTEM_ID:
            sample_aes_method(system_id, scheme)  # HLS has no METHOD for cbc1/cens: refuse before any key


def signal(
    ctx: KeySignalContext, children: Sequence[AnyChild], systems: Mapping[str, DrmSystem] = SYSTEMS
) -> dict[AnyChild, str]:
    """The base64 element text for every requested child, computed once per call (PSSH reused)."""
    system = _lookup(ctx.system_id, systems)
    if ctx.scheme not in system.schemes:
        raise scheme_incompatible(ctx.system_id)
    wanted = frozenset(children)
    for child in children:  # request order, so the error names the first unsupported child
        if child not in system.children:
            raise child_unsupported(ctx.system_id, child)
    if not wanted:
        return {}
    if ctx.system_id != system.system_id:
        ctx = replace(ctx, system_id=system.system_id)
    out = system.render(ctx, wanted)
    missing = [child for child in wanted if not out.get(child)]
    if missing or len(out) != len(wanted):  # never an empty (or unrequested) element
        raise RuntimeError(f"{system.name} signalling incomplete")
    return out
