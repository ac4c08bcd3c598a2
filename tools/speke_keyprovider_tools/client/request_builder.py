"""Build SPEKE v2 (CPIX 2.3) and v2.1 (CPIX 2.4) requests shaped like the ones AWS Elemental MediaPackage v2 sends.

MediaPackage v2 turns an endpoint's encryption contract (a video preset and an audio preset) into
one CPIX document: a ContentKeyPeriodList (always, even without key rotation), one ContentKey per
key period and track type, one empty DRMSystem per key and DRM system whose empty children are the
signalling it wants back, and one ContentKeyUsageRule per key carrying ``intendedTrackType``,
the Video/Audio filters and a KeyPeriodFilter. With a certificate it adds a DeliveryDataList so the
provider encrypts the content keys. The preset name never appears in the document.

SPEKE v2.1 (``speke_version="2.1"``) adds what MediaPackage v2 sends for ``SpekeVersion: V2_1``: key
periods timed by ``ContentKeyPeriodTiming`` (``index``, ``start-end`` = START_END_ONLY, ``index+start-end`` =
INDEX_WITH_START_END), periods ``period_seconds`` long from an epoch-aligned ``start``, the HLS-method schemes,
and the multivariant playlist as ``master`` (MediaPackage's) or ``multiVariant`` (CPIX 2.4's).

This module depends on nothing in the provider: the client side must work against any SPEKE v2
key provider.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ._xml import CPIX, DS, ENC, PSKC, Writer

# --- DRM systems (contract section 4) -------------------------------------------------------------

WIDEVINE = "edef8ba9-79d6-4ace-a3c8-27dcd51d21ed"
PLAYREADY = "9a04f079-9840-4286-ab92-e65be0885f95"
FAIRPLAY = "94ce86fb-07ff-4f43-adb8-93d2fa968ca2"
CLEARKEY = "1077efec-c0b2-4d02-ace3-3c1e52e2fb4b"
AES128 = "3ea8778f-7742-4bf9-b18b-e834b2acbd47"

DRM_SYSTEM_IDS: dict[str, str] = {
    "widevine": WIDEVINE,
    "playready": PLAYREADY,
    "fairplay": FAIRPLAY,
    "clearkey": CLEARKEY,
    "aes128": AES128,
}
SYSTEM_NAMES: dict[str, str] = {system_id: name for name, system_id in DRM_SYSTEM_IDS.items()}

# Requested signalling children. HLS children carry their playlist after the colon.
CHILD_PSSH = "PSSH"
CHILD_CPD = "ContentProtectionData"
HLS_SIGNALING_DATA = "HLSSignalingData"  # one element for both HLS children, told apart by @playlist
CHILD_HLS_MEDIA = f"{HLS_SIGNALING_DATA}:media"
CHILD_HLS_MASTER = f"{HLS_SIGNALING_DATA}:master"
CHILD_MSS = "SmoothStreamingProtectionHeaderData"
CHILDREN = (CHILD_PSSH, CHILD_CPD, CHILD_HLS_MEDIA, CHILD_HLS_MASTER, CHILD_MSS)

DEFAULT_CHILDREN: dict[str, tuple[str, ...]] = {
    "widevine": (CHILD_PSSH, CHILD_CPD, CHILD_HLS_MEDIA, CHILD_HLS_MASTER),
    "playready": (CHILD_PSSH, CHILD_CPD, CHILD_HLS_MEDIA, CHILD_HLS_MASTER),
    "fairplay": (CHILD_HLS_MEDIA, CHILD_HLS_MASTER),
    "clearkey": (CHILD_PSSH, CHILD_CPD),
    "aes128": (CHILD_HLS_MEDIA, CHILD_HLS_MASTER),
}
# A system id this module does not know (testing another vendor's DRM): ask for everything DASH+HLS.
DEFAULT_CHILDREN_UNKNOWN = (CHILD_PSSH, CHILD_CPD, CHILD_HLS_MEDIA, CHILD_HLS_MASTER)

SCHEMES = ("cenc", "cbcs")
SCHEMES_V21 = (*SCHEMES, "SAMPLE-AES", "SAMPLE-AES-CTR", "AES-128")
# The CENC scheme each v2.1 HLS method behaves as (AES-128: whole-segment CBC, the HLS AES-128 system only).
EFFECTIVE_SCHEME = {"SAMPLE-AES": "cbcs", "SAMPLE-AES-CTR": "cenc", "AES-128": "cbc1"}
SPEKE_VERSIONS = {"2.0": "2.3", "2.1": "2.4"}  # X-Speke-Version -> CPIX@version
PERIOD_TIMINGS = ("index", "start-end", "index+start-end")
PLAYLISTS_V21 = ("master", "multiVariant")

# --- presets (contract section 2) -----------------------------------------------------------------

_SD = 589_824  # 768 x 768
_HD1 = 921_600  # 1280 x 720
_HD = 2_073_600  # 1920 x 1080
_UHD1 = 8_847_360  # 4096 x 2160


@dataclass(frozen=True)
class TrackSpec:
    """One key of an encryption contract: a track type and its filter (``None`` = no such filter)."""

    track_type: str
    video_filter: Mapping[str, int] | None = None
    audio_filter: Mapping[str, int] | None = None


def _v(track_type: str, **attrs: int) -> TrackSpec:
    return TrackSpec(track_type, video_filter=dict(attrs))


def _a(track_type: str, **attrs: int) -> TrackSpec:
    return TrackSpec(track_type, audio_filter=dict(attrs))


SD = _v("SD", maxPixels=_SD)
HD = _v("HD", minPixels=_SD + 1, maxPixels=_HD)
HD1 = _v("HD1", minPixels=_SD + 1, maxPixels=_HD1)
HD2 = _v("HD2", minPixels=_HD1 + 1, maxPixels=_HD)
UHD = _v("UHD", minPixels=_HD + 1)
UHD1 = _v("UHD1", minPixels=_HD + 1, maxPixels=_UHD1)
UHD2 = _v("UHD2", minPixels=_UHD1 + 1)
SD_HD1 = _v("SD+HD1", maxPixels=_HD1)  # one VideoFilter spanning both parts
ALL = TrackSpec("ALL", video_filter={}, audio_filter={})

PRESETS: dict[str, dict[str, tuple[TrackSpec, ...]]] = {
    "VIDEO": {
        "PRESET_VIDEO_1": (_v("VIDEO"),),
        "PRESET_VIDEO_2": (SD, _v("HD", minPixels=_SD + 1)),
        "PRESET_VIDEO_3": (SD, HD, UHD),
        "PRESET_VIDEO_4": (SD, HD, UHD1, UHD2),
        "PRESET_VIDEO_5": (SD, HD1, HD2, UHD1, UHD2),
        "PRESET_VIDEO_6": (SD, HD1, HD2, UHD),
        "PRESET_VIDEO_7": (SD_HD1, HD2, UHD),
        "PRESET_VIDEO_8": (SD_HD1, HD2, UHD1, UHD2),
        "SHARED": (ALL,),
        "UNENCRYPTED": (),
    },
    "AUDIO": {
        "PRESET_AUDIO_1": (_a("AUDIO"),),
        "PRESET_AUDIO_2": (_a("STEREO_AUDIO", maxChannels=2), _a("MULTICHANNEL_AUDIO", minChannels=3)),
        "PRESET_AUDIO_3": (
            _a("STEREO_AUDIO", maxChannels=2),
            _a("MULTICHANNEL_AUDIO_3_6", minChannels=3, maxChannels=6),
            _a("MULTICHANNEL_AUDIO_7", minChannels=7),
        ),
        "SHARED": (ALL,),
        "UNENCRYPTED": (),
    },
}
VIDEO_PRESETS = tuple(PRESETS["VIDEO"])
AUDIO_PRESETS = tuple(PRESETS["AUDIO"])

_CONTENT_ID = re.compile(r"^[0-9a-zA-Z_-]{1,256}$")


@dataclass(frozen=True)
class RequestedKey:
    kid: uuid.UUID
    track_type: str
    period_id: str | None
    period_index: int | None


@dataclass(frozen=True)
class RequestedSystem:
    kid: uuid.UUID
    system_id: str
    children: tuple[str, ...]


@dataclass(frozen=True)
class BuiltRequest:
    """A request document and what it asked for (the checker compares the answer against this)."""

    xml: bytes
    content_id: str
    scheme: str
    keys: list[RequestedKey]
    systems: list[RequestedSystem] = field(default_factory=list)
    periods: Sequence[tuple[str, int | None]] = field(default_factory=list)  # (id, index: None in start-end timing)
    certificate_der: bytes | None = None
    video_preset: str = ""
    audio_preset: str = ""
    speke_version: str | None = "2.0"  # the X-Speke-Version header to send; None: SPEKE v1 (no header)
    endpoint: str = ""  # SPEKE v1: the MediaPackage v1 endpoint type (speke_v1_request.ENDPOINTS)
    # every ContentKeyPeriod's attributes exactly as written, in order (the answer must echo them byte for byte)
    period_attributes: list[dict[str, str]] = field(default_factory=list)
    playlist: str = "master"

    @property
    def encrypted(self) -> bool:
        return self.certificate_der is not None

    @property
    def effective_scheme(self) -> str:
        """The CENC scheme the signalling follows (v2.1's HLS methods behave as cbcs / cenc)."""
        return EFFECTIVE_SCHEME.get(self.scheme, self.scheme)


def resolve_system(name_or_id: str) -> str:
    """``widevine`` -> its system id; a UUID passes through (lower case). ValueError otherwise."""
    key = name_or_id.strip().lower()
    if key in DRM_SYSTEM_IDS:
        return DRM_SYSTEM_IDS[key]
    try:
        return str(uuid.UUID(key))
    except ValueError:
        raise ValueError(
            f"unknown DRM system {name_or_id!r}: use one of {', '.join(DRM_SYSTEM_IDS)} or a system id"
        ) from None


def contract_tracks(video_preset: str, audio_preset: str) -> tuple[TrackSpec, ...]:
    """The keys one period of the contract needs, in MediaPackage's order (video, then audio)."""
    try:
        video = PRESETS["VIDEO"][video_preset]
    except KeyError:
        raise ValueError(f"unknown video preset {video_preset!r}: use one of {', '.join(VIDEO_PRESETS)}") from None
    try:
        audio = PRESETS["AUDIO"][audio_preset]
    except KeyError:
        raise ValueError(f"unknown audio preset {audio_preset!r}: use one of {', '.join(AUDIO_PRESETS)}") from None
    if (video_preset == "SHARED") != (audio_preset == "SHARED"):
        raise ValueError("SHARED must be chosen for both the video and the audio preset")
    if video_preset == "SHARED":
        return (ALL,)
    tracks = video + audio
    if not tracks:
        raise ValueError("video and audio presets are both UNENCRYPTED: nothing to request")
    return tracks


def build_request(
    *,
    content_id: str,
    video_preset: str,
    audio_preset: str,
    drm_systems: Sequence[str],
    scheme: str = "cbcs",
    periods: int = 1,
    certificate_der: bytes | None = None,
    kids: Sequence[uuid.UUID] | None = None,
    children: Mapping[str, Sequence[str]] | None = None,
    speke_version: str = "2.0",
    period_timing: str = "index",
    start: dt.datetime | None = None,
    period_seconds: int = 900,
    playlist: str = "master",
) -> BuiltRequest:
    """Build a MediaPackage-v2-style request.

    ``drm_systems``: names from ``DRM_SYSTEM_IDS`` or raw system ids. ``children`` maps a system (name
    or id) to the children to request (``CHILDREN``); systems not named get ``DEFAULT_CHILDREN``.
    ``kids``: one per (period x track), in the order of ``BuiltRequest.keys``; random uuid4 otherwise.
    v2.1 only: ``period_timing`` (``PERIOD_TIMINGS``), ``start`` (UTC; default: now, floored to a multiple of
    ``period_seconds`` since the epoch, as epoch-locked encoders cut) and ``playlist`` (``PLAYLISTS_V21``).
    Raises ``ValueError`` for a request MediaPackage itself could not send.
    """
    if not _CONTENT_ID.match(content_id):
        raise ValueError("content id must match [0-9a-zA-Z_-]{1,256}")
    if speke_version not in SPEKE_VERSIONS:
        raise ValueError(f"SPEKE version must be one of {', '.join(SPEKE_VERSIONS)}")
    v21 = speke_version == "2.1"
    allowed_schemes = SCHEMES_V21 if v21 else SCHEMES
    if scheme not in allowed_schemes:
        raise ValueError(f"scheme must be one of {', '.join(allowed_schemes)} for SPEKE {speke_version}")
    if period_timing not in PERIOD_TIMINGS or (period_timing != "index" and not v21):
        raise ValueError(f"period timing must be one of {', '.join(PERIOD_TIMINGS)} (start/end needs SPEKE 2.1)")
    if playlist not in (PLAYLISTS_V21 if v21 else ("master",)):
        raise ValueError("playlist must be master (or, with SPEKE 2.1, multiVariant)")
    if not isinstance(period_seconds, int) or not 1 <= period_seconds <= 86400:
        raise ValueError("period seconds must be between 1 and 86400")
    if not isinstance(periods, int) or not 1 <= periods <= 100:
        raise ValueError("periods must be between 1 and 100")
    tracks = contract_tracks(video_preset, audio_preset)

    system_ids: list[str] = []
    for name in drm_systems:
        system_id = resolve_system(name)
        if system_id in system_ids:
            raise ValueError(f"DRM system {name!r} given twice")
        system_ids.append(system_id)
    if not system_ids:
        raise ValueError("at least one DRM system is required")
    if FAIRPLAY in system_ids and EFFECTIVE_SCHEME.get(scheme, scheme) != "cbcs":
        raise ValueError("FairPlay requires the cbcs scheme (or SAMPLE-AES)")
    if scheme == "AES-128" and set(system_ids) != {AES128}:
        raise ValueError("the AES-128 scheme goes with the aes128 system only")
    wanted = _children_per_system(system_ids, children or {})

    count = periods * len(tracks)
    if kids is None:
        kid_list = [uuid.uuid4() for _ in range(count)]
    else:
        kid_list = list(kids)
        if len(kid_list) != count:
            raise ValueError(f"{count} kids needed ({periods} period(s) x {len(tracks)} track type(s))")
        if len(set(kid_list)) != count:
            raise ValueError("kids must be distinct")

    period_attributes = _period_attributes(periods, period_timing, start, period_seconds)
    period_list = [(attrs["id"], int(attrs["index"]) if "index" in attrs else None) for attrs in period_attributes]
    keys: list[RequestedKey] = []
    specs: list[TrackSpec] = []
    for p, (period_id, period_index) in enumerate(period_list):
        for t, spec in enumerate(tracks):
            keys.append(RequestedKey(kid_list[p * len(tracks) + t], spec.track_type, period_id, period_index))
            specs.append(spec)
    systems = [RequestedSystem(key.kid, sid, wanted[sid]) for key in keys for sid in system_ids]

    w = Writer()
    w.open(
        "cpix:CPIX",
        {
            "xmlns:cpix": CPIX,
            "xmlns:pskc": PSKC,
            "xmlns:ds": DS,
            "xmlns:enc": ENC,
            "contentId": content_id,
            "version": SPEKE_VERSIONS[speke_version],
        },
    )
    if certificate_der is not None:
        w.open("cpix:DeliveryDataList")
        w.open("cpix:DeliveryData", {"id": f"deliveryData_{uuid.uuid4()}"})
        w.open("cpix:DeliveryKey")
        w.open("ds:X509Data")
        w.leaf("ds:X509Certificate", base64.b64encode(certificate_der).decode("ascii"))
        w.close("ds:X509Data")
        w.close("cpix:DeliveryKey")
        w.close("cpix:DeliveryData")
        w.close("cpix:DeliveryDataList")

    w.open("cpix:ContentKeyList")
    for key in keys:
        w.empty("cpix:ContentKey", {"kid": key.kid, "commonEncryptionScheme": scheme})
    w.close("cpix:ContentKeyList")

    w.open("cpix:DRMSystemList")
    for system in systems:
        w.open("cpix:DRMSystem", {"kid": system.kid, "systemId": system.system_id})
        for child_name in system.children:
            tag, _, child_playlist = child_name.partition(":")
            if child_playlist == "master":
                child_playlist = playlist
            w.empty(f"cpix:{tag}", {"playlist": child_playlist} if child_playlist else {})
        w.close("cpix:DRMSystem")
    w.close("cpix:DRMSystemList")

    w.open("cpix:ContentKeyPeriodList")
    for attrs in period_attributes:
        w.empty("cpix:ContentKeyPeriod", attrs)
    w.close("cpix:ContentKeyPeriodList")

    w.open("cpix:ContentKeyUsageRuleList")
    for key, spec in zip(keys, specs, strict=True):
        w.open("cpix:ContentKeyUsageRule", {"kid": key.kid, "intendedTrackType": key.track_type})
        w.empty("cpix:KeyPeriodFilter", {"periodId": key.period_id})
        if spec.video_filter is not None:
            w.empty("cpix:VideoFilter", spec.video_filter)
        if spec.audio_filter is not None:
            w.empty("cpix:AudioFilter", spec.audio_filter)
        w.close("cpix:ContentKeyUsageRule")
    w.close("cpix:ContentKeyUsageRuleList")
    w.close("cpix:CPIX")

    return BuiltRequest(
        xml=w.to_bytes(),
        content_id=content_id,
        scheme=scheme,
        keys=keys,
        systems=systems,
        periods=period_list,
        certificate_der=certificate_der,
        video_preset=video_preset,
        audio_preset=audio_preset,
        speke_version=speke_version,
        period_attributes=period_attributes,
        playlist=playlist,
    )


def utc_text(when: dt.datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ``, the form MediaPackage writes period boundaries in."""
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _period_attributes(
    periods: int, timing: str, start: dt.datetime | None, period_seconds: int
) -> list[dict[str, str]]:
    if timing == "index":
        return [{"id": f"keyPeriod_{uuid.uuid4()}", "index": str(i)} for i in range(1, periods + 1)]
    if start is None:
        now = int(dt.datetime.now(dt.UTC).timestamp())
        start = dt.datetime.fromtimestamp(now - now % period_seconds, dt.UTC)
    elif start.tzinfo is None:
        raise ValueError("start must have a timezone")
    out = []
    for i in range(periods):
        begin = start + dt.timedelta(seconds=i * period_seconds)
        attrs = {"id": f"keyPeriod_{uuid.uuid4()}"}
        if timing == "index+start-end":
            attrs["index"] = str(int(begin.timestamp()) // period_seconds)  # epoch-locked: the same in every Region
        attrs["start"] = utc_text(begin)
        attrs["end"] = utc_text(begin + dt.timedelta(seconds=period_seconds))
        out.append(attrs)
    return out


def _children_per_system(system_ids: list[str], overrides: Mapping[str, Sequence[str]]) -> dict[str, tuple[str, ...]]:
    resolved = {resolve_system(name): tuple(value) for name, value in overrides.items()}
    out: dict[str, tuple[str, ...]] = {}
    for system_id in system_ids:
        name = SYSTEM_NAMES.get(system_id)
        wanted = resolved.get(
            system_id,
            DEFAULT_CHILDREN.get(name, DEFAULT_CHILDREN_UNKNOWN) if name else DEFAULT_CHILDREN_UNKNOWN,
        )
        for item in wanted:
            if item not in CHILDREN:
                raise ValueError(f"unknown signalling child {item!r}: use one of {', '.join(CHILDREN)}")
        if len(set(wanted)) != len(wanted):
            raise ValueError("a signalling child is requested twice")
        out[system_id] = tuple(c for c in CHILDREN if c in wanted)  # schema order
    return out
