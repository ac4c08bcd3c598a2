"""``make run``'s server as a child process on a free loopback port, for the demo and the browser tier.

Key delivery is on (``aes128+clearkey``), the origin of the player pages is the one CORS origin allowed,
SigV4 credentials are generated for this run, and the state folder (master key, ES256 signing key) is the
caller's. The server's output is kept (``lines``) so a caller can show it, or search it for leaks.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import threading
from pathlib import Path

from .toolchain import REPO

_BANNER = re.compile(r"listening on (http://127\.0\.0\.1:\d+)/copyProtection")


class ProviderError(RuntimeError):
    pass


class Provider:
    def __init__(self, state_dir: Path, *, allowed_origin: str, port: int = 0, env: dict[str, str] | None = None):
        self.state_dir = Path(state_dir)
        self.access_key = "AKIALAB" + secrets.token_hex(6).upper()
        self.secret_key = secrets.token_urlsafe(30)
        self.port = port
        self.lines: list[str] = []
        self.base_url = ""
        base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LOCAL_SIGV4", "KEY_", "MASTER_KEY"))}
        self.env = {
            **base,
            "LOCAL_SIGV4_ACCESS_KEY_ID": self.access_key,
            "LOCAL_SIGV4_SECRET_ACCESS_KEY": self.secret_key,
            "KEY_DELIVERY": "aes128+clearkey",
            "KEY_DELIVERY_ALLOWED_ORIGINS": allowed_origin,
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        self.proc: subprocess.Popen[str] | None = None
        self._ready = threading.Event()

    @property
    def speke_url(self) -> str:
        return f"{self.base_url}/copyProtection"

    def start(self, timeout: float = 30.0) -> Provider:
        self.proc = subprocess.Popen(  # noqa: S603 - our own server module
            [
                sys.executable, "-m", "speke_keyprovider_tools.local_server",
                "--host", "127.0.0.1", "--port", str(self.port), "--state-dir", str(self.state_dir),
            ],
            cwd=REPO, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        threading.Thread(target=self._read, daemon=True).start()
        if not self._ready.wait(timeout) or not self.base_url:
            self.stop()
            raise ProviderError("the provider did not start:\n" + "\n".join(self.lines[-20:]))
        return self

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            match = _BANNER.search(line)
            if match and not self.base_url:
                self.base_url = match.group(1)
                self._ready.set()
        self._ready.set()  # exited

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)

    def __enter__(self) -> Provider:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
