"""The browser tier's session: one provider (`make run`'s server, key delivery on), one static server for the
player pages and the media, one headless Chromium, and media packaged once per (case, key) and cached.

Without the toolchain (``make browser-deps``) the tier is skipped with one line saying so, unless
``SPEKE_BROWSER_REQUIRED=1`` (CI), where a missing tool is a failure.
"""

from __future__ import annotations

import base64
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import pytest
from speke_keyprovider_tools.delivery_tokens import local_signing_key, mint_token
from speke_keyprovider_tools.playback import media, toolchain
from speke_keyprovider_tools.playback.driver import Browser
from speke_keyprovider_tools.playback.provider import Provider
from speke_keyprovider_tools.playback.speke import SpekeAnswer, request_keys
from speke_keyprovider_tools.playback.web import StaticServer


@pytest.fixture(scope="session")
def tools() -> toolchain.Toolchain:
    found, missing = toolchain.find()
    if found is None:
        message = f"browser tier: missing {', '.join(missing)}; install with `make browser-deps`"
        if os.environ.get("SPEKE_BROWSER_REQUIRED", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    return found


@dataclass
class Lab:
    tools: toolchain.Toolchain
    root: Path
    web: StaticServer
    provider: Provider
    browser: Browser
    signing_key: dict
    clip: Path
    answers: dict = field(default_factory=dict)
    packaged: dict = field(default_factory=dict)
    secrets_seen: list = field(default_factory=list)  # every key and token of the session (leak check)

    def answer(self, system: str, scheme: str, content_id: str) -> SpekeAnswer:
        key = (system, scheme, content_id)
        if key not in self.answers:
            presets = ("SHARED", "SHARED") if system == "aes128" else ("PRESET_VIDEO_1", "PRESET_AUDIO_1")
            answer = request_keys(
                self.provider.speke_url,
                content_id=content_id,
                system=system,
                scheme=scheme,
                access_key=self.provider.access_key,
                secret_key=self.provider.secret_key,
                video_preset=presets[0],
                audio_preset=presets[1],
            )
            for k in answer.keys:
                self.secrets_seen += [
                    k.key.hex(),
                    base64.b64encode(k.key).decode(),
                    base64.urlsafe_b64encode(k.key).decode().rstrip("="),
                ]
            self.answers[key] = answer
        return self.answers[key]

    def package(
        self, kind: str, scheme: str, content_id: str, *, layout: str = "common", wrong_key: bool = False
    ) -> str:
        """Package once per session; the manifest's URL path on the static server."""
        name = f"{kind}-{scheme}-{layout}-{content_id}" + ("-wrongkey" if wrong_key else "")
        if name not in self.packaged:
            out = self.root / "media" / name
            if kind == "hls":
                answer = self.answer("aes128", scheme, content_id)
                done = media.package_hls_aes128(self.tools.ffmpeg, self.clip, out, answer, wrong_key=wrong_key)
            else:
                answer = self.answer("clearkey", scheme, content_id)
                done = media.package_dash_clearkey(
                    self.tools.packager, self.clip, out, answer, layout=layout, wrong_key=wrong_key
                )
            self.packaged[name] = f"/media/{name}/{done.manifest}"
        return self.packaged[name]

    def token(self, content_id: str, *, ttl: int = 600, now: float | None = None, **claims) -> str:
        token = mint_token(self.signing_key, content_ids=content_id, ttl=ttl, now=now, **claims)
        self.secrets_seen.append(token)
        return token

    def expired_token(self, content_id: str) -> str:
        """Expired well past the 30 s leeway."""
        return self.token(content_id, ttl=60, now=time.time() - 600)

    def page(self, page: str, src: str, **params: str) -> str:
        return f"{self.web.url}/{page}?{urlencode({'src': src, **params})}"


@pytest.fixture(scope="session")
def lab(tools, tmp_path_factory):
    root = tmp_path_factory.mktemp("browser-lab")
    (root / "media").mkdir()
    state = root / "state"
    with StaticServer(root / "media") as web:
        provider = Provider(state, allowed_origin=web.url).start()
        browser = Browser(tools)
        try:
            yield Lab(
                tools=tools,
                root=root,
                web=web,
                provider=provider,
                browser=browser,
                signing_key=local_signing_key(state),
                clip=media.make_clip(tools.ffmpeg, root / "clip"),
            )
        finally:
            browser.close()
            provider.stop()
