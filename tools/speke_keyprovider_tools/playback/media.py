"""Media made by real packagers: a generated clip, HLS TS with AES-128 (ffmpeg), ClearKey DASH (Shaka Packager).

Keys and signalling come from a SPEKE answer (``speke.SpekeAnswer``); the key bytes go to the packagers
through files in the job's own folder (mode 0600) and are never printed. A ``wrong_key`` job packages
with a random key under the same kid, so a player that gets the provider's key cannot decrypt it.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from .speke import SpekeAnswer, TrackKey

CLEARKEY_URN = "urn:uuid:1077efec-c0b2-4d02-ace3-3c1e52e2fb4b"  # W3C Common PSSH system (SPEKE ClearKey)
DASHIF_CLEARKEY_URN = "urn:uuid:e2719d58-a985-b3c9-781a-b030af78d30e"  # DASH-IF IOP ClearKey descriptor
MPD_LAYOUTS = ("common", "dashif")
CLIP_SECONDS = 6


class MediaError(RuntimeError):
    """A packager failed; the text is its exit status and the end of its stderr (never a key)."""


def _run(argv: list[str], what: str, *, secret: bytes | None = None) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)  # noqa: S603 - fixed tools
    if done.returncode != 0:
        tail = done.stderr[-1500:]
        if secret is not None:
            tail = tail.replace(secret.hex(), "<key>")
        raise MediaError(f"{what} failed ({done.returncode}): {tail}")


def _private_file(path: Path, data: bytes) -> Path:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    return path


def make_clip(ffmpeg: str, out_dir: Path, seconds: int = CLIP_SECONDS) -> Path:
    """A few seconds of test pattern (320x180, 25 fps, H.264 main, a keyframe every second) and a 440 Hz AAC tone."""
    out_dir.mkdir(parents=True, exist_ok=True)
    clip = out_dir / "clip.mp4"
    if clip.exists():
        return clip
    partial = out_dir / "clip.partial.mp4"
    _run(
        [
            ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", f"testsrc=size=320x180:rate=25:duration={seconds}",
            "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}",
            "-c:v", "libx264", "-profile:v", "main", "-pix_fmt", "yuv420p", "-preset", "veryfast",
            "-g", "25", "-keyint_min", "25", "-sc_threshold", "0", "-b:v", "300k",
            "-c:a", "aac", "-b:a", "64k", "-ac", "2",
            "-movflags", "+faststart", "-shortest", str(partial),
        ],
        "ffmpeg (clip)",
    )  # fmt: skip
    partial.rename(clip)
    return clip


@dataclass(frozen=True)
class Packaged:
    directory: Path
    manifest: str  # file name inside ``directory``: the HLS media playlist or the MPD


def package_hls_aes128(
    ffmpeg: str, clip: Path, out_dir: Path, answer: SpekeAnswer, *, wrong_key: bool = False
) -> Packaged:
    """HLS TS, every segment AES-128-CBC encrypted; ``#EXT-X-KEY`` URI = the SPEKE answer's key URI."""
    track = answer.keys[0]
    if track.hls_key_uri is None:
        raise MediaError("the SPEKE answer has no HLS AES-128 key URI")
    out_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(16) if wrong_key else track.key
    secrets_dir = out_dir.parent / f".{out_dir.name}.keys"
    secrets_dir.mkdir(mode=0o700, exist_ok=True)
    key_file = _private_file(secrets_dir / "key.bin", key)
    iv = secrets.token_hex(16)
    info = _private_file(secrets_dir / "key.info", f"{track.hls_key_uri}\n{key_file}\n{iv}\n".encode())
    _run(
        [
            ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", str(clip),
            "-c", "copy", "-f", "hls", "-hls_time", "1", "-hls_playlist_type", "vod",
            "-hls_key_info_file", str(info),
            "-hls_segment_filename", str(out_dir / "segment_%03d.ts"),
            str(out_dir / "media.m3u8"),
        ],
        "ffmpeg (HLS AES-128)",
        secret=key,
    )  # fmt: skip
    key_file.unlink()
    info.unlink()
    secrets_dir.rmdir()
    playlist = (out_dir / "media.m3u8").read_text()
    if f'URI="{track.hls_key_uri}"' not in playlist or "METHOD=AES-128" not in playlist:
        raise MediaError("ffmpeg's playlist does not carry the SPEKE key URI")
    return Packaged(out_dir, "media.m3u8")


def package_dash_clearkey(
    packager: str, clip: Path, out_dir: Path, answer: SpekeAnswer, *, layout: str = "common", wrong_key: bool = False
) -> Packaged:
    """ClearKey DASH (``cenc`` or ``cbcs``) with Shaka Packager in raw-key mode: video under the VIDEO key,
    audio under the AUDIO key, the SPEKE answer's PSSH boxes in the init segments, and the ClearKey
    signalling of the MPD in ``layout`` (``clearkey_descriptor``)."""
    video, audio = answer.by_track("VIDEO"), answer.by_track("AUDIO")
    if layout not in MPD_LAYOUTS:
        raise ValueError(f"layout must be one of {', '.join(MPD_LAYOUTS)}")
    for track in (video, audio):
        if track.pssh is None or track.cpd is None:
            raise MediaError(f"the SPEKE answer has no ClearKey PSSH for {track.track_type}")
    out_dir.mkdir(parents=True, exist_ok=True)

    def key_spec(track: TrackKey) -> str:
        key = secrets.token_bytes(16) if wrong_key else track.key
        return f"label={track.track_type}:key_id={track.kid.hex}:key={key.hex()}"

    keys_arg = ",".join(key_spec(t) for t in (video, audio))
    keys_file = _private_file(out_dir.parent / f".{out_dir.name}.flags", f"--keys={keys_arg}\n".encode())
    try:
        _run(
            [
                packager,
                _stream(clip, out_dir, "video", "VIDEO"),
                _stream(clip, out_dir, "audio", "AUDIO"),
                "--enable_raw_key_encryption",
                f"--flagfile={keys_file}",
                "--pssh", (video.pssh + audio.pssh).hex(),  # type: ignore[operator]
                "--protection_scheme", answer.scheme,
                "--clear_lead", "0",
                "--segment_duration", "1",
                "--generate_static_live_mpd",  # SegmentTemplate output is live by default: a static (VOD) MPD
                "--mpd_output", str(out_dir / "manifest.mpd"),
            ],
            "shaka-packager",
        )  # fmt: skip
    finally:
        keys_file.unlink(missing_ok=True)
    mpd = out_dir / "manifest.mpd"
    mpd.write_text(insert_clearkey_signalling(mpd.read_text(), [video, audio], layout))
    return Packaged(out_dir, "manifest.mpd")


def _stream(clip: Path, out_dir: Path, stream: str, label: str) -> str:
    """A stream descriptor with SegmentTemplate output (init + numbered segments, as MediaPackage serves)."""
    return (
        f"in={clip},stream={stream},init_segment={out_dir / stream / 'init.mp4'},"
        f"segment_template={out_dir / stream / '$Number$.m4s'},drm_label={label}"
    )


_CP_ELEMENT = re.compile(r"<ContentProtection\b[^>]*?(?:/>|>.*?</ContentProtection>)", re.S)
_DEFAULT_KID = re.compile(r'cenc:default_KID="([0-9a-fA-F-]{32,36})"')


def clearkey_descriptor(track: TrackKey, layout: str) -> str:
    """The ClearKey ``ContentProtection`` of one AdaptationSet.

    ``common``: the W3C Common PSSH system (``1077efec-...``, the SPEKE ClearKey systemId) holding the SPEKE
    answer's ContentProtectionData verbatim (``cenc:pssh`` and ``dashif:Laurl``), as a packager that copies
    ContentProtectionData into the MPD writes it.
    ``dashif``: DASH-IF IOP 4.1 section 7.6.2.4: the ClearKey descriptor ``e2719d58-...`` holding the answer's
    ``dashif:Laurl``; the answer's PSSH box is in the init segments only.
    """
    if track.cpd is None:
        raise MediaError(f"the SPEKE answer has no ContentProtectionData for {track.track_type}")
    if layout == "common":
        cpd = track.cpd.decode("utf-8")
        return f'<ContentProtection schemeIdUri="{CLEARKEY_URN}" value="ClearKey1.0">{cpd}</ContentProtection>'
    if layout == "dashif":
        if track.laurl is None:
            raise MediaError(f"the SPEKE answer has no dashif:Laurl for {track.track_type}")
        return (
            f'<ContentProtection schemeIdUri="{DASHIF_CLEARKEY_URN}" value="ClearKey1.0">'
            f'<dashif:Laurl xmlns:dashif="https://dashif.org/CPS">{escape(track.laurl)}</dashif:Laurl>'
            "</ContentProtection>"
        )
    raise ValueError(f"unknown ClearKey MPD layout {layout!r}")


def insert_clearkey_signalling(mpd: str, tracks: list[TrackKey], layout: str) -> str:
    """Give each AdaptationSet one ClearKey ``ContentProtection`` for its default kid (replacing the packager's
    own ClearKey elements, if any), after its ``mp4protection`` element."""
    by_kid = {t.kid.hex: t for t in tracks}
    out: list[str] = []
    position = 0
    for adaptation in re.finditer(r"<AdaptationSet\b.*?</AdaptationSet>", mpd, re.S):
        block = adaptation.group(0)
        kid_match = _DEFAULT_KID.search(block)
        if kid_match is None:
            raise MediaError("an AdaptationSet of the MPD has no cenc:default_KID")
        kid = kid_match.group(1).replace("-", "").lower()
        if kid not in by_kid:
            raise MediaError("an AdaptationSet of the MPD uses a kid the SPEKE answer did not give")
        first = _CP_ELEMENT.search(block)
        if first is None:
            raise MediaError("an AdaptationSet of the MPD has no ContentProtection")
        kept = [
            m.group(0)
            for m in _CP_ELEMENT.finditer(block)
            if CLEARKEY_URN not in m.group(0).lower() and DASHIF_CLEARKEY_URN not in m.group(0).lower()
        ]
        head, tail = block[: first.start()], _CP_ELEMENT.sub("", block[first.start() :])
        out.append(mpd[position : adaptation.start()])
        out.append(head + "".join(kept) + clearkey_descriptor(by_kid[kid], layout) + tail)
        position = adaptation.end()
    out.append(mpd[position:])
    return "".join(out)
