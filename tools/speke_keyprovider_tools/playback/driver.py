"""The browser, driven from Python: ``tests/browser/node/play.mjs`` (playwright-core, Debian's Chromium) as one
child process for a whole session, one JSON case in and one JSON result out per line."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import threading
from typing import Any

from .toolchain import NODE_DIR, Toolchain


class DriverError(RuntimeError):
    pass


class Browser:
    def __init__(self, toolchain: Toolchain) -> None:
        # Chromium writes its profile, crash reports, dconf and PulseAudio state under HOME: a directory of
        # its own, removed on close, never the checkout (those files were once committed by accident).
        self.home = tempfile.mkdtemp(prefix="speke-browser-home-")
        self.proc = subprocess.Popen(  # noqa: S603 - our own driver script
            [toolchain.node, str(NODE_DIR / "play.mjs")],
            cwd=NODE_DIR,
            env={"PATH": "/usr/bin:/bin", "CHROMIUM": toolchain.chromium, "HOME": self.home},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.stderr: list[str] = []
        threading.Thread(target=self._drain, daemon=True).start()
        hello = self._read()
        if not hello.get("ready"):
            raise DriverError(f"the browser did not start: {hello} {''.join(self.stderr)[-2000:]}")
        self.version = hello.get("browser", "?")
        self.lock = threading.Lock()

    def _drain(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr.append(line)

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise DriverError("the browser driver exited: " + "".join(self.stderr)[-2000:])
        return json.loads(line)

    def play(self, url: str, *, case_id: str = "", timeout_ms: int = 20000, min_time: float = 2.5) -> dict[str, Any]:
        """Open ``url`` in a fresh context; the driver's verdict and evidence (see play.mjs)."""
        assert self.proc.stdin is not None
        with self.lock:
            self.proc.stdin.write(
                json.dumps({"id": case_id, "url": url, "timeoutMs": timeout_ms, "minTime": min_time}) + "\n"
            )
            self.proc.stdin.flush()
            return self._read()

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        shutil.rmtree(self.home, ignore_errors=True)
