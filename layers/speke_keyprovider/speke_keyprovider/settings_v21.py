"""Settings that shape SPEKE v2.1 answers only (``speke-v2.1.md`` sections 3 and 4), all off by default.

    KID_OVERRIDE            true|false (default false): answer with the provider's own KIDs (``kid_override``).
    HDCP_LEVELS             TRACK=LEVEL,...    HDCPData@HLSHDCPLevel per intendedTrackType; LEVEL is TYPE-0,
                                               TYPE-1 or NONE; TRACK ``*`` is the default for other track types.
    HDCP_OUTPUT_PROTECTION  TRACK=BASE64,...   HDCPData/HDCPOutputProtectionData per track type: base64 of a UTF-8
                                               DASH ``OutputProtection`` XML fragment (checked well-formed).
    DRM_ROBUSTNESS          SYSTEM/TRACK=VALUE,...        ContentProtectionData@robustness (copied by the
                                               encryptor to DASH ContentProtection@robustness).
    HLS_ALLOWED_CPC         SYSTEM/TRACK=LABEL[/LABEL],...  DRMSystem@HLSAllowedCPC, written as
                                               ``KEYFORMAT:LABEL[/LABEL]`` with the system's own KEYFORMAT.

SYSTEM is ``widevine``, ``playready``, ``fairplay``, ``clearkey`` or ``aes128``. Every value is checked when the
settings are read; a bad one raises ``ConfigurationError`` naming the variable. v2.0 answers never carry any of
this (the CPIX 2.3 schema has no place for it), and v2.0 KIDs are always echoed.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from .errors import ConfigurationError

# System names -> systemId (the DRM modules hold the same constants; importing them here would be circular).
SYSTEM_IDS = MappingProxyType(
    {
        "widevine": "edef8ba9-79d6-4ace-a3c8-27dcd51d21ed",
        "playready": "9a04f079-9840-4286-ab92-e65be0885f95",
        "fairplay": "94ce86fb-07ff-4f43-adb8-93d2fa968ca2",
        "clearkey": "1077efec-c0b2-4d02-ace3-3c1e52e2fb4b",
        "aes128": "3ea8778f-7742-4bf9-b18b-e834b2acbd47",
    }
)
_WITH_CONTENT_PROTECTION_DATA = frozenset({"widevine", "playready", "fairplay", "clearkey"})
_WITH_HLS = frozenset({"widevine", "playready", "fairplay", "aes128"})
HDCP_LEVELS = frozenset({"TYPE-0", "TYPE-1", "NONE"})
ANY_TRACK = "*"

_TRACK = re.compile(r"(?:\*|[A-Za-z0-9_+\-]{1,64})")
_ROBUSTNESS = re.compile(r"[A-Za-z0-9_.:\-]{1,64}")
_CPC_LABELS = re.compile(r"[A-Za-z0-9_.\-]{1,64}(?:/[A-Za-z0-9_.\-]{1,64}){0,7}")
_MAX_FRAGMENT = 4096

SystemTrack = tuple[str, str]  # (systemId, intendedTrackType or "*")


@dataclass(frozen=True)
class V21Settings:
    kid_override: bool = False
    hdcp_levels: Mapping[str, str] = field(default_factory=dict)
    output_protection: Mapping[str, str] = field(default_factory=dict)  # track -> base64 text, as configured
    robustness: Mapping[SystemTrack, str] = field(default_factory=dict)
    allowed_cpc: Mapping[SystemTrack, str] = field(default_factory=dict)  # labels only; KEYFORMAT added when written

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> V21Settings:
        return cls(
            kid_override=_bool(env, "KID_OVERRIDE"),
            hdcp_levels=_per_track(env, "HDCP_LEVELS", _hdcp_level),
            output_protection=_per_track(env, "HDCP_OUTPUT_PROTECTION", _output_protection),
            robustness=_per_system(env, "DRM_ROBUSTNESS", _robustness, _WITH_CONTENT_PROTECTION_DATA),
            allowed_cpc=_per_system(env, "HLS_ALLOWED_CPC", _cpc_labels, _WITH_HLS),
        )

    @property
    def signals_hdcp(self) -> bool:
        return bool(self.hdcp_levels or self.output_protection)


def for_track(values: Mapping[str, str], track_type: str) -> str | None:
    """The value for a track type: its own entry, else the ``*`` entry, else none."""
    value = values.get(track_type)
    return values.get(ANY_TRACK) if value is None else value


def for_system_track(values: Mapping[SystemTrack, str], system_id: str, track_type: str) -> str | None:
    value = values.get((system_id, track_type))
    return values.get((system_id, ANY_TRACK)) if value is None else value


def _bool(env: Mapping[str, str], name: str) -> bool:
    from .settings import read_bool  # the one boolean grammar (imported late: settings imports this module)

    return read_bool(env, name, False)


def _entries(env: Mapping[str, str], name: str) -> list[tuple[str, str]]:
    entries: list[tuple[str, str]] = []
    for item in env.get(name, "").split(","):
        item = item.strip()
        if not item:
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ConfigurationError(f"{name} must be a comma-separated list of KEY=VALUE entries")
        entries.append((key.strip(), value.strip()))
    return entries


def _track(name: str, text: str) -> str:
    if not _TRACK.fullmatch(text):
        raise ConfigurationError(f"{name}: {text[:64]!r} is not an intendedTrackType (or *)")
    return text


Check = Callable[[str, str], str]  # (variable name, value) -> the value to keep; raises ConfigurationError


def _per_track(env: Mapping[str, str], name: str, check: Check) -> dict[str, str]:
    values: dict[str, str] = {}
    for key, value in _entries(env, name):
        track = _track(name, key)
        if track in values:
            raise ConfigurationError(f"{name}: track type {track} is given twice")
        values[track] = check(name, value)
    return values


def _per_system(env: Mapping[str, str], name: str, check: Check, systems: frozenset[str]) -> dict[SystemTrack, str]:
    values: dict[SystemTrack, str] = {}
    for key, value in _entries(env, name):
        system, sep, track = key.partition("/")
        system = system.strip().lower()
        if not sep or system not in SYSTEM_IDS:
            raise ConfigurationError(f"{name}: keys are SYSTEM/TRACK with SYSTEM one of {', '.join(SYSTEM_IDS)}")
        if system not in systems:
            raise ConfigurationError(f"{name}: {system} has no place for it (systems: {', '.join(sorted(systems))})")
        entry = (SYSTEM_IDS[system], _track(name, track.strip()))
        if entry in values:
            raise ConfigurationError(f"{name}: {key} is given twice")
        values[entry] = check(name, value)
    return values


def _hdcp_level(name: str, value: str) -> str:
    if value not in HDCP_LEVELS:
        raise ConfigurationError(f"{name}: levels are {', '.join(sorted(HDCP_LEVELS))}")
    return value


def _robustness(name: str, value: str) -> str:
    if not _ROBUSTNESS.fullmatch(value):
        raise ConfigurationError(f"{name}: a robustness value is 1 to 64 characters of [A-Za-z0-9_.:-]")
    return value


def _cpc_labels(name: str, value: str) -> str:
    if not _CPC_LABELS.fullmatch(value):
        raise ConfigurationError(f"{name}: give LABEL[/LABEL] (1 to 8 labels of [A-Za-z0-9_.-], no KEYFORMAT)")
    return value


def _output_protection(name: str, value: str) -> str:
    """Base64 of a standalone UTF-8 XML fragment whose root is a DASH ``OutputProtection`` descriptor."""
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ConfigurationError(f"{name}: values are base64 of an OutputProtection XML fragment") from None
    if not raw or len(raw) > _MAX_FRAGMENT or raw.startswith(b"\xef\xbb\xbf"):
        raise ConfigurationError(f"{name}: the fragment must be 1 to {_MAX_FRAGMENT} bytes of UTF-8 without a BOM")
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    try:
        raw.decode("utf-8")
        root = fromstring(raw, forbid_dtd=True)
    except (UnicodeDecodeError, DefusedXmlException, SyntaxError):
        raise ConfigurationError(f"{name}: the fragment is not well-formed UTF-8 XML") from None
    if root.tag.rpartition("}")[2] != "OutputProtection":
        raise ConfigurationError(f"{name}: the fragment's root element must be OutputProtection")
    return base64.b64encode(raw).decode("ascii")
