"""A loopback static server for the playback lab: the player pages, the players (from node_modules) and the media.

* ``/``: the pages of ``web/`` (``hls.html``, ``shaka.html``, ``dashjs.html``, ``index.html``).
* ``/lib/<name>``: the player builds listed in ``toolchain.PLAYER_LIBS``, nothing else of node_modules.
* ``/media/...``: the packaged media folder.

Binds 127.0.0.1 only. No directory listings, no path outside these roots.
"""

from __future__ import annotations

import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from .toolchain import NODE_MODULES, PLAYER_LIBS, WEB_DIR

MEDIA_TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".ts": "video/mp2t",
    ".mpd": "application/dash+xml",
    ".mp4": "video/mp4",
    ".m4s": "video/iso.segment",
    ".js": "text/javascript",
    ".html": "text/html; charset=utf-8",
}


class _Handler(SimpleHTTPRequestHandler):
    media_root: Path
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, **MEDIA_TYPES}  # noqa: RUF012 - the base class instance attribute, per class

    def __init__(self, *args: Any, media_root: Path, **kwargs: Any) -> None:
        self.media_root = media_root
        super().__init__(*args, directory=str(WEB_DIR), **kwargs)

    def translate_path(self, path: str) -> str:
        clean = path.split("?", 1)[0].split("#", 1)[0]
        if clean.startswith("/lib/"):
            name = clean[len("/lib/") :]
            return str(NODE_MODULES / PLAYER_LIBS[name]) if name in PLAYER_LIBS else "/nonexistent"
        if clean.startswith("/media/"):
            root = self.media_root.resolve()
            target = (root / clean[len("/media/") :]).resolve()
            return str(target) if target.is_relative_to(root) and target.is_file() else "/nonexistent"
        target = (WEB_DIR / clean.lstrip("/")).resolve()
        if clean == "/":
            target = WEB_DIR / "index.html"
        return str(target) if target.is_relative_to(WEB_DIR) and target.is_file() else "/nonexistent"

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


class StaticServer:
    """``with StaticServer(media_root) as server: server.url``"""

    def __init__(self, media_root: Path, port: int = 0) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), partial(_Handler, media_root=media_root))
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> StaticServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
