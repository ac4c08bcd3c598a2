"""Keys and signalling for one packaging job, from a running provider's SPEKE v2 answer.

The request is built by ``client.request_builder`` (MediaPackage-v2-shaped), signed with SigV4 as the CLI
does, and the answer read by ``client.response_reader`` (keys) and ``client.signalling`` (the HLS key
tag, the ClearKey ContentProtectionData). Nothing here knows how the provider derives keys: what a
packager needs comes only from the answer, as it would for MediaPackage.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element

from ..client._xml import CPIX, children, text
from ..client.request_builder import AES128, CLEARKEY, build_request
from ..client.response_reader import normalise_kid, parse_document, read_content_keys
from ..client.signalling import b64decode, parse_content_protection_data, parse_hls_key_tag

DASHIF_NS = "https://dashif.org/CPS"
CENC_NS = "urn:mpeg:cenc:2013"


class SpekeError(RuntimeError):
    """The provider did not give what a packager needs (status, missing signalling). Never holds a key."""


@dataclass(frozen=True)
class TrackKey:
    """One content key of the answer, with the signalling the packager writes for it."""

    kid: uuid.UUID
    track_type: str
    key: bytes = field(repr=False)
    hls_key_uri: str | None = None  # AES-128: URI of the #EXT-X-KEY line
    hls_key_line: str | None = None
    pssh: bytes | None = None  # ClearKey: the cenc:pssh box
    cpd: bytes | None = None  # ClearKey: the ContentProtectionData fragment (cenc:pssh, dashif:Laurl)
    laurl: str | None = None  # ClearKey: the licence URL (dashif:Laurl)


@dataclass(frozen=True)
class SpekeAnswer:
    content_id: str
    scheme: str
    keys: list[TrackKey]

    def by_track(self, track_type: str) -> TrackKey:
        for key in self.keys:
            if key.track_type == track_type:
                return key
        raise KeyError(track_type)


def _credentials(access_key: str, secret_key: str):
    from botocore.credentials import Credentials

    return Credentials(access_key, secret_key)


def request_keys(
    url: str,
    *,
    content_id: str,
    system: str,
    scheme: str,
    access_key: str,
    secret_key: str,
    region: str = "us-east-1",
    video_preset: str = "PRESET_VIDEO_1",
    audio_preset: str = "PRESET_AUDIO_1",
    timeout: float = 15.0,
) -> SpekeAnswer:
    """One SPEKE v2 exchange for ``system`` (``aes128`` or ``clearkey``); the keys and their signalling."""
    from ..cli.signing import send_signed

    built = build_request(
        content_id=content_id,
        video_preset=video_preset,
        audio_preset=audio_preset,
        drm_systems=[system],
        scheme=scheme,
    )
    status, _headers, body, _seconds = send_signed(
        url, built.xml, _credentials(access_key, secret_key), region, timeout=timeout
    )
    if status != 200:
        raise SpekeError(f"SPEKE request for {content_id} answered {status}: {body[:300]!r}")
    keys = read_content_keys(body)
    signalling = _signalling(parse_document(body))
    out = []
    for requested in built.keys:
        kid = str(requested.kid)
        if kid not in keys:
            raise SpekeError(f"the answer has no key for kid {kid}")
        out.append(_track_key(requested.kid, requested.track_type, keys[kid], signalling.get((kid, system_id(system)))))
    return SpekeAnswer(content_id, scheme, out)


def system_id(name: str) -> str:
    return {"aes128": AES128, "clearkey": CLEARKEY}[name]


def _signalling(root: Element) -> dict[tuple[str, str], dict[str, str]]:
    """(kid, systemId) -> {child name: base64 text} of the answer's DRMSystemList."""
    out: dict[tuple[str, str], dict[str, str]] = {}
    for system_list in children(root, CPIX, "DRMSystemList"):
        for system in children(system_list, CPIX, "DRMSystem"):
            key = (normalise_kid(system.get("kid")), str(uuid.UUID(system.get("systemId", ""))))
            values: dict[str, str] = {}
            for item in system:
                name = item.tag.rsplit("}", 1)[-1]
                if name == "HLSSignalingData":
                    name = f"{name}:{item.get('playlist', '')}"
                values[name] = text(item)
            out[key] = values
    return out


def _track_key(kid: uuid.UUID, track_type: str, key: bytes, values: dict[str, str] | None) -> TrackKey:
    if values is None:
        raise SpekeError(f"the answer has no DRMSystem for kid {kid}")
    media = values.get("HLSSignalingData:media")
    if media:
        line = b64decode(media, "HLSSignalingData").decode("utf-8")
        uri = parse_hls_key_tag(line).attributes.get("URI")
        if not uri:
            raise SpekeError(f"HLS signalling for kid {kid} has no URI")
        return TrackKey(kid, track_type, key, hls_key_uri=uri, hls_key_line=line)
    cpd_text = values.get("ContentProtectionData")
    if cpd_text:
        cpd = b64decode(cpd_text, "ContentProtectionData")
        elements = parse_content_protection_data(cpd)
        pssh = [t for ns, local, t in elements if (ns, local) == (CENC_NS, "pssh")]
        laurl = [t for ns, local, t in elements if (ns, local) == (DASHIF_NS, "Laurl")]
        return TrackKey(
            kid,
            track_type,
            key,
            pssh=base64.b64decode(pssh[0]) if pssh else None,
            cpd=cpd,
            laurl=laurl[0] if laurl else None,
        )
    raise SpekeError(f"the answer carries no HLS or DASH signalling for kid {kid}")
