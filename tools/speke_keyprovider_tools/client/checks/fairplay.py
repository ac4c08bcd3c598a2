"""FairPlay: HLS SAMPLE-AES key lines with KEYFORMAT com.apple.streamingkeydelivery and an skd:// URI; a
kid-list PSSH box when one is asked for."""

from __future__ import annotations

from typing import Any

from ..request_builder import FAIRPLAY
from ._kid_list_box import KidListBoxCheck


class FairPlayCheck(KidListBoxCheck):
    system_id = FAIRPLAY
    keyformat = "com.apple.streamingkeydelivery"

    def hls_method(self) -> str:
        return "SAMPLE-AES"

    def hls_uri_checks(self, name: str, uri: str) -> dict[str, Any]:
        if not uri.startswith("skd://"):
            self.fail(f"{name} URI is not an skd:// URI")
        return {}
