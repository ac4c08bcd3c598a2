"""PlayReady: a v0 PSSH box holding a PlayReady Object (PRO) whose WRMHEADER lists the kid with the scheme's
ALGID; the same PRO in ContentProtectionData's mspr:pro, in HLS key lines (a UTF-16 data: URI) and in the
Smooth Streaming header."""

from __future__ import annotations

import base64
from typing import Any

from ..request_builder import PLAYREADY
from ..signalling import (
    MSPR_NS,
    PsshBox,
    SignallingError,
    WrmHeader,
    b64decode,
    data_uri_payload,
    parse_playready_object,
    parse_wrmheader,
)
from .base import SystemCheck


class PlayReadyCheck(SystemCheck):
    system_id = PLAYREADY
    keyformat = "com.microsoft.playready"
    cpd_needs_pssh = True

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pro_bytes: bytes | None = None

    def pssh_system_checks(self, box: PsshBox, where: str) -> dict[str, Any]:
        if box.version != 0:
            self.warn(f"{where} is a v1 box; the contract's PlayReady box is v0")
        decoded = self.wrm_checks(parse_playready_object(box.data), f"{where} PlayReady Object")
        if self.pro_bytes is None:
            self.pro_bytes = box.data
        elif self.pro_bytes != box.data:
            self.fail(f"{where} PlayReady Object differs from the PRO signalled elsewhere")
        return decoded

    def wrm_checks(self, header: WrmHeader, where: str) -> dict[str, Any]:
        kids = [k for k, _ in header.kids]
        algids = {a for _, a in header.kids}
        if self.kid not in kids:
            self.fail(f"{where} WRMHEADER KIDs do not include the kid (little-endian GUID)")
        expected = "AESCBC" if self.scheme == "cbcs" else "AESCTR"
        if algids != {expected}:
            self.fail(f"{where} WRMHEADER ALGID is {sorted(a or '' for a in algids)}, expected {expected}")
        if self.scheme == "cbcs" and header.version != "4.3.0.0":
            self.fail(f"{where} WRMHEADER version is {header.version!r}, cbcs needs 4.3.0.0")
        if not header.version.startswith("4."):
            self.fail(f"{where} WRMHEADER version is {header.version!r}, expected 4.x")
        return {
            "wrmheader_version": header.version,
            "wrmheader_kids": [str(k) for k in kids],
            "algid": sorted(a or "" for a in algids),
            "la_url": header.la_url,
        }

    def cpd_system_checks(self, name: str, elements: list[tuple[str, str, str]]) -> dict[str, Any]:
        pro = [t for ns, local, t in elements if (ns, local) == (MSPR_NS, "pro")]
        if len(pro) != 1:
            self.fail(f"{name} holds {len(pro)} mspr:pro elements, expected one")
            return {}
        raw_pro = b64decode(pro[0], f"{name} mspr:pro")
        if self.pro_bytes is not None and raw_pro != self.pro_bytes:
            self.fail(f"{name} mspr:pro differs from the PlayReady Object in the PSSH")
        decoded = self.wrm_checks(parse_playready_object(raw_pro), f"{name} mspr:pro")
        self.pro_bytes = self.pro_bytes or raw_pro
        return decoded

    def hls_uri_checks(self, name: str, uri: str) -> dict[str, Any]:
        meta, payload = data_uri_payload(uri)
        if "charset=utf-16" not in meta.lower():
            self.fail(f"{name} URI is not a charset=UTF-16 data: URI")
        if self.pro_bytes is not None and payload != self.pro_bytes:
            self.fail(f"{name} URI PlayReady Object differs from the one in the PSSH")
        return self.wrm_checks(parse_playready_object(payload), f"{name} URI")

    def mss_child(self, name: str, value: str) -> None:
        raw = b64decode(value, name) if _looks_base64(value) else value.encode("utf-8")
        try:
            header = parse_playready_object(raw)
        except SignallingError:
            for encoding in ("utf-16-le", "utf-8"):
                try:
                    header = parse_wrmheader(raw.decode(encoding))
                    break
                except (UnicodeDecodeError, SignallingError):
                    continue
            else:
                raise SignallingError("neither a PlayReady Object nor a WRMHEADER") from None
        self.record(name, **self.wrm_checks(header, name))


def _looks_base64(value: str) -> bool:
    try:
        base64.b64decode("".join(value.split()), validate=True)
        return True
    except ValueError:
        return False
