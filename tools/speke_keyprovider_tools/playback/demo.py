"""``make demo``: the provider, a clip packaged with keys from its SPEKE answers, and player pages to open.

1. starts ``make run``'s server (key delivery on, the page origin allowed by CORS, state in ``.local-state/``),
2. generates a 30 s clip (ffmpeg) and packages it with keys from SPEKE v2 requests to that server:
   HLS TS AES-128 (ffmpeg) and ClearKey DASH ``cenc`` (Shaka Packager),
3. mints an entitlement token for both content ids (ES256, the server's local signing key, 1 hour),
4. serves the pages on http://127.0.0.1:PORT and prints the URLs to open (token in the URL), until Ctrl-C.

``--check`` plays every page once in headless Chromium instead of waiting, and exits non-zero if one fails.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import signal
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from ..delivery_tokens import local_signing_key, mint_token
from . import media, toolchain
from .provider import Provider
from .speke import request_keys
from .web import StaticServer

HLS_CONTENT_ID = "demo-hls-aes128"
DASH_CONTENT_ID = "demo-dash-clearkey"
TOKEN_SECONDS = 3600
CLIP_SECONDS = 30  # long enough to watch; the browser tier uses media.CLIP_SECONDS


@dataclass(frozen=True)
class DemoPage:
    title: str
    url: str


def prepare(
    tools: toolchain.Toolchain,
    provider: Provider,
    media_root: Path,
    page_origin: str,
    *,
    media_url: str = "/media",
    seconds: int = CLIP_SECONDS,
) -> list[DemoPage]:
    """Package the demo media into ``media_root`` (served at ``media_url``) with keys from ``provider``'s SPEKE
    answers; the pages to open."""
    if media_root.exists():
        shutil.rmtree(media_root)
    clip = media.make_clip(tools.ffmpeg, media_root / "clip", seconds=seconds)

    def answer(system: str, scheme: str, content_id: str, presets: tuple[str, str]):
        return request_keys(
            provider.speke_url,
            content_id=content_id,
            system=system,
            scheme=scheme,
            access_key=provider.access_key,
            secret_key=provider.secret_key,
            video_preset=presets[0],
            audio_preset=presets[1],
        )

    hls = media.package_hls_aes128(
        tools.ffmpeg, clip, media_root / "hls", answer("aes128", "cbcs", HLS_CONTENT_ID, ("SHARED", "SHARED"))
    )
    clearkey = answer("clearkey", "cenc", DASH_CONTENT_ID, ("PRESET_VIDEO_1", "PRESET_AUDIO_1"))
    shaka = media.package_dash_clearkey(tools.packager, clip, media_root / "dash", clearkey, layout="common")
    token = mint_token(
        local_signing_key(provider.state_dir), content_ids=[HLS_CONTENT_ID, DASH_CONTENT_ID], ttl=TOKEN_SECONDS
    )

    def page(name: str, directory: str, manifest: str) -> str:
        return f"{page_origin}/{name}?{urlencode({'src': f'{media_url}/{directory}/{manifest}', 'token': token})}"

    pages = [
        DemoPage("HLS AES-128 (hls.js)", page("hls.html", "hls", hls.manifest)),
        DemoPage("ClearKey DASH cenc (Shaka Player)", page("shaka.html", "dash", shaka.manifest)),
    ]
    (media_root / "demo.json").write_text(json.dumps([p.__dict__ for p in pages], indent=1))
    return pages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8080, help="port of the player pages (default 8080)")
    parser.add_argument("--provider-port", type=int, default=0, help="port of the provider (default: a free one)")
    parser.add_argument("--state-dir", type=Path, default=Path(".local-state"))
    parser.add_argument("--check", action="store_true", help="play each page headlessly once, then exit")
    args = parser.parse_args(argv)

    tools, missing = toolchain.find()
    if tools is None:
        print(f"make demo needs {', '.join(missing)}: run `make browser-deps`", file=sys.stderr)
        return 1
    media_root = args.state_dir / "demo-media"
    media_root.mkdir(parents=True, exist_ok=True)
    with (
        StaticServer(media_root, port=args.port) as web,
        Provider(args.state_dir, allowed_origin=web.url, port=args.provider_port) as provider,
    ):
        print(f"provider: {provider.speke_url} (SPEKE, SigV4) and {provider.base_url}/keys, /clearkey (tokens)")
        pages = prepare(tools, provider, media_root, web.url)
        if args.check:
            return _check(tools, pages)
        print(f"\nOpen in a browser (the token in each URL is valid for {TOKEN_SECONDS // 60} minutes):")
        for item in pages:
            print(f"  {item.title}:\n    {item.url}")
        print(f"\nAll pages: {web.url}/")
        print(f"More tokens: speke-keyprovider token --content-id {DASH_CONTENT_ID} --state-dir {args.state_dir}")
        print("Ctrl-C stops.")
        stopped = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stopped.set())
        with contextlib.suppress(KeyboardInterrupt):
            stopped.wait()
    return 0


def _check(tools: toolchain.Toolchain, pages: list[DemoPage]) -> int:
    from .driver import Browser

    browser = Browser(tools)
    failed = 0
    try:
        for item in pages:
            result = browser.play(item.url, case_id=item.title)
            ok = result["outcome"] == "played"
            failed += not ok
            errors = "; ".join(result.get("errors") or [])[:300]
            seconds, frames = result.get("currentTime", 0), result.get("totalVideoFrames", 0)
            print(f"{'PLAYED' if ok else 'FAILED'} {item.title}: t={seconds:.2f} s, frames={frames} {errors}")
    finally:
        browser.close()
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
