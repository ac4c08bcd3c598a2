"""Widevine: a v0 PSSH box whose data is a WidevinePsshData protobuf naming the kid and, for cbcs, the
protection scheme; HLS key lines carry the same box in a data: URI."""

from __future__ import annotations

import uuid
from typing import Any

from ..request_builder import WIDEVINE
from ..signalling import PsshBox, data_uri_payload, parse_widevine_data
from .base import FOURCC, SystemCheck


class WidevineCheck(SystemCheck):
    system_id = WIDEVINE
    keyformat = f"urn:uuid:{WIDEVINE}"
    cpd_needs_pssh = True

    def pssh_system_checks(self, box: PsshBox, where: str) -> dict[str, Any]:
        if box.version != 0:
            self.warn(f"{where} is a v1 box; the contract's Widevine box is v0")
        wv = parse_widevine_data(box.data)
        decoded = {
            "key_ids": [str(uuid.UUID(bytes=k)) if len(k) == 16 else k.hex() for k in wv.key_ids],
            "provider": wv.provider,
            "content_id": wv.content_id.decode("utf-8", "replace") if wv.content_id else None,
            "protection_scheme": wv.protection_scheme_fourcc,
        }
        if self.kid.bytes not in wv.key_ids:
            self.fail(f"{where} Widevine key_ids do not include the kid")
        if any(len(k) != 16 for k in wv.key_ids):
            self.fail(f"{where} Widevine key_ids must be 16 raw bytes each")
        if wv.protection_scheme is None:
            if self.scheme == "cbcs":
                self.fail(f"{where} Widevine protection_scheme missing (required for cbcs)")
        elif wv.protection_scheme != FOURCC.get(self.scheme):
            got = wv.protection_scheme_fourcc
            self.fail(f"{where} Widevine protection_scheme is {got!r}, expected {self.scheme!r}")
        return decoded

    def hls_uri_checks(self, name: str, uri: str) -> dict[str, Any]:
        _meta, payload = data_uri_payload(uri)
        if self.pssh_bytes is not None and payload != self.pssh_bytes:
            self.fail(f"{name} URI pssh differs from the PSSH element")
        return {"uri_" + k: v for k, v in self.pssh_checks(payload, f"{name} URI").items()}
