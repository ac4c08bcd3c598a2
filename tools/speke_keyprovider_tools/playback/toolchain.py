"""Where the external tools of the playback lab are, and which are missing.

Installed by ``scripts/browser_deps.sh`` (``make browser-deps``): Debian's ``chromium`` and ``ffmpeg``
(apt), and the pinned npm packages of ``tests/browser/node`` (players, playwright-core, Shaka Packager).
Each path can be overridden by an environment variable, for a machine that has them elsewhere.
"""

from __future__ import annotations

import os
import platform
import shutil
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
NODE_DIR = REPO / "tests" / "browser" / "node"
NODE_MODULES = NODE_DIR / "node_modules"
WEB_DIR = Path(__file__).resolve().parent / "web"

_PACKAGER_BINARIES = {"x86_64": "packager-linux-x64", "aarch64": "packager-linux-arm64"}

# URL path under /lib/ -> file in node_modules: the players the pages load.
PLAYER_LIBS = {
    "hls.min.js": "hls.js/dist/hls.min.js",
    "shaka-player.compiled.js": "shaka-player/dist/shaka-player.compiled.js",
    "dash.all.min.js": "dashjs/dist/modern/umd/dash.all.min.js",
}


@dataclass(frozen=True)
class Toolchain:
    ffmpeg: str
    packager: str
    chromium: str
    node: str
    node_modules: Path


def _packager() -> str:
    override = os.environ.get("SHAKA_PACKAGER")
    if override:
        return override
    name = _PACKAGER_BINARIES.get(platform.machine(), "packager-linux-x64")
    return str(NODE_MODULES / "shaka-packager" / "bin" / name)


def find() -> tuple[Toolchain | None, list[str]]:
    """The toolchain, or None and what is missing (one short phrase per tool)."""
    missing = []
    ffmpeg = os.environ.get("FFMPEG") or shutil.which("ffmpeg") or ""
    chromium = os.environ.get("CHROMIUM") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else "")
    node = os.environ.get("NODE") or shutil.which("node") or ""
    packager = _packager()
    for name, path in (("ffmpeg", ffmpeg), ("chromium", chromium), ("node", node)):
        if not path or not os.access(path, os.X_OK):
            missing.append(name)
    if not os.access(packager, os.X_OK):
        missing.append("shaka-packager (npm)")
    for module in ("playwright-core/package.json", *PLAYER_LIBS.values()):
        if not (NODE_MODULES / module).exists():
            missing.append(f"{module.split('/')[0]} (npm)")
    if missing:
        return None, missing
    return Toolchain(ffmpeg, packager, chromium, node, NODE_MODULES), []


def main() -> int:
    """``python -m speke_keyprovider_tools.playback.toolchain``: exit 0 when everything is there, else 1 and
    one line naming what is missing."""
    found, missing = find()
    if found is None:
        print(f"browser tier: missing {', '.join(missing)}; `make browser-deps` installs them")
        return 1
    print(f"browser tier: ffmpeg {found.ffmpeg}, chromium {found.chromium}, packager {found.packager}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
