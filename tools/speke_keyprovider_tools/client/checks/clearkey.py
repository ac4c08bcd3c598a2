"""ClearKey (W3C common system id): a kid-list PSSH box, also in ContentProtectionData; HLS lines have no
defined meaning for it."""

from __future__ import annotations

from typing import Any

from ..request_builder import CLEARKEY
from ._kid_list_box import KidListBoxCheck


class ClearKeyCheck(KidListBoxCheck):
    system_id = CLEARKEY
    cpd_needs_pssh = True

    def hls_uri_checks(self, name: str, uri: str) -> dict[str, Any]:
        self.warn(f"{name} for ClearKey has no defined meaning")
        return {}
