"""HLS AES-128: METHOD=AES-128 key lines with KEYFORMAT identity and an http(s) key URL (https preferred)."""

from __future__ import annotations

from typing import Any

from ..request_builder import AES128
from .base import SystemCheck


class Aes128Check(SystemCheck):
    system_id = AES128
    keyformat = "identity"

    def hls_method(self) -> str:
        return "AES-128"

    def hls_uri_checks(self, name: str, uri: str) -> dict[str, Any]:
        if not uri.startswith(("https://", "http://")):
            self.fail(f"{name} URI is not an http(s) key URL")
        elif uri.startswith("http://"):
            self.warn(f"{name} key URI is http, players will want https")
        return {}
