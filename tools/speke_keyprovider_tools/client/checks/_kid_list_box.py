"""The PSSH rule FairPlay and ClearKey share: a v1 box listing the kids, with no system data."""

from __future__ import annotations

from typing import Any

from ..signalling import PsshBox
from .base import SystemCheck


class KidListBoxCheck(SystemCheck):
    def pssh_system_checks(self, box: PsshBox, where: str) -> dict[str, Any]:
        if box.version != 1:
            self.fail(f"{where} box is v{box.version}, expected v1 listing the kids")
        if box.data:
            self.fail(f"{where} box carries {len(box.data)} bytes of data, expected none")
        return {}
