"""What every DRM system's signalling check shares: the children every system may carry (PSSH,
ContentProtectionData, HLS key lines, Smooth Streaming header), decoded and cross-checked. A system module
subclasses ``SystemCheck`` and overrides the hooks that hold its own rules; the base holds no per-system rule.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from ..request_builder import CHILD_CPD, CHILD_HLS_MASTER, CHILD_HLS_MEDIA, CHILD_MSS, CHILD_PSSH
from ..signalling import (
    CENC_NS,
    HlsKeyTag,
    PsshBox,
    SignallingError,
    b64decode,
    parse_content_protection_data,
    parse_hls_key_tag,
    parse_pssh,
)

FOURCC = {"cbcs": int.from_bytes(b"cbcs", "big"), "cenc": int.from_bytes(b"cenc", "big")}


class SystemCheck:
    """Decode and cross-check the signalling of one (DRM system, kid).

    ``fail``/``warn`` receive sentences (already naming the system and kid); ``signalling`` collects the
    decoded children per system name for the report."""

    #: the system id this check is for (None: a system with no rules of its own here)
    system_id: ClassVar[str | None] = None
    #: the KEYFORMAT of its HLS key lines (None: not checked)
    keyformat: ClassVar[str | None] = None
    #: ContentProtectionData must hold exactly one cenc:pssh
    cpd_needs_pssh: ClassVar[bool] = False

    def __init__(
        self,
        *,
        system_id: str,
        name: str,
        kid: uuid.UUID,
        scheme: str,
        fail: Callable[[str], None],
        warn: Callable[[str], None],
        signalling: dict[str, list[dict[str, Any]]],
    ) -> None:
        self.requested_system_id = system_id
        self.name = name
        self.kid = kid
        self.scheme = scheme
        self.where = f"{name} {kid}"
        self._fail = fail
        self._warn = warn
        self._signalling = signalling
        self.pssh_bytes: bytes | None = None

    def fail(self, message: str) -> None:
        self._fail(f"{self.where}: {message}")

    def warn(self, message: str) -> None:
        self._warn(f"{self.where}: {message}")

    def record(self, child_name: str, **decoded: Any) -> None:
        self._signalling.setdefault(self.name, []).append({"kid": str(self.kid), "child": child_name} | decoded)

    # -- the children, in the order they are checked ------------------------------------------------

    def check(self, values: Mapping[str, str]) -> None:
        handlers = [
            (CHILD_PSSH, self.pssh_child),
            (CHILD_CPD, self.cpd_child),
            (CHILD_HLS_MEDIA, self.hls_child),
            (CHILD_HLS_MASTER, self.hls_child),
            (CHILD_MSS, self.mss_child),
            # SPEKE v1: the key URI, KEYFORMAT and KEYFORMATVERSIONS as separate values, and the MSS header
            ("URIExtXKey", self.uri_ext_x_key_child),
            ("KeyFormat", self.key_format_child),
            ("KeyFormatVersions", self.key_format_versions_child),
            ("ProtectionHeader", self.mss_child),
        ]
        for name, handler in handlers:
            if name in values:
                try:
                    handler(name, values[name])
                except SignallingError as exc:
                    self.fail(f"{name}: {exc}")
        media, master = values.get(CHILD_HLS_MEDIA), values.get(CHILD_HLS_MASTER)
        if media and master:
            try:
                media_text = b64decode(media, "media").decode("utf-8").strip()
                master_text = b64decode(master, "master").decode("utf-8").strip()
            except (SignallingError, UnicodeDecodeError):
                return
            if media_text.replace("#EXT-X-KEY:", "#EXT-X-SESSION-KEY:", 1) != master_text:
                self.fail("HLS master line differs from the media line by more than the tag")

    # PSSH --------------------------------------------------------------------------------------------

    def pssh_child(self, name: str, value: str) -> None:
        self.pssh_bytes = b64decode(value, CHILD_PSSH)
        self.record(name, **self.pssh_checks(self.pssh_bytes, name))

    def pssh_checks(self, raw: bytes, where: str) -> dict[str, Any]:
        box = parse_pssh(raw)
        decoded: dict[str, Any] = {
            "pssh_version": box.version,
            "system_id": box.system_id,
            "kids": [str(k) for k in box.kids],
        }
        if box.system_id != self.requested_system_id:
            self.fail(f"{where} box systemId is {box.system_id}, expected {self.requested_system_id}")
        if box.flags:
            self.fail(f"{where} box flags are {box.flags:#x}, expected 0")
        if box.version == 1 and self.kid not in box.kids:
            self.fail(f"{where} box (v1) does not list the kid")
        return decoded | self.pssh_system_checks(box, where)

    def pssh_system_checks(self, box: PsshBox, where: str) -> dict[str, Any]:
        """The system's own rules for its PSSH box (version, data); returns what it decoded."""
        return {}

    # ContentProtectionData ---------------------------------------------------------------------------

    def cpd_child(self, name: str, value: str) -> None:
        elements = parse_content_protection_data(b64decode(value, name))
        pssh = [t for ns, local, t in elements if (ns, local) == (CENC_NS, "pssh")]
        decoded: dict[str, Any] = {"elements": [f"{{{ns}}}{local}" for ns, local, _ in elements]}
        if self.cpd_needs_pssh and len(pssh) != 1:
            self.fail(f"{name} holds {len(pssh)} cenc:pssh elements, expected one")
        if pssh:
            raw = b64decode(pssh[0], f"{name} cenc:pssh")
            if self.pssh_bytes is not None and raw != self.pssh_bytes:
                self.fail(f"{name} cenc:pssh differs from the PSSH element (must be byte for byte the same)")
            if self.pssh_bytes is None:
                decoded |= self.pssh_checks(raw, f"{name} cenc:pssh")
                self.pssh_bytes = raw
        decoded |= self.cpd_system_checks(name, elements)
        self.record(name, **decoded)

    def cpd_system_checks(self, name: str, elements: list[tuple[str, str, str]]) -> dict[str, Any]:
        """The system's own elements in ContentProtectionData; returns what it decoded."""
        return {}

    # HLS ---------------------------------------------------------------------------------------------

    def hls_method(self) -> str:
        """The METHOD of the system's key lines for the request's scheme."""
        return "SAMPLE-AES" if self.scheme == "cbcs" else "SAMPLE-AES-CTR"

    def hls_child(self, name: str, value: str) -> None:
        raw = b64decode(value, name)
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise SignallingError("not UTF-8 text") from None
        tag = parse_hls_key_tag(line)
        self.hls_tag_checks(name, tag)
        uri = tag.attributes.get("URI")
        decoded: dict[str, Any] = {"line": tag.text}
        if not uri:
            self.fail(f"{name} has no URI")
        else:
            decoded |= self.hls_uri_checks(name, uri)
        self.record(name, **decoded)

    def hls_tag_checks(self, name: str, tag: HlsKeyTag) -> None:
        expected_tag = "#EXT-X-KEY" if name.endswith("media") else "#EXT-X-SESSION-KEY"
        if tag.tag != expected_tag:
            self.fail(f"{name} uses {tag.tag}, expected {expected_tag}")
        attrs = tag.attributes
        method, expected_method = attrs.get("METHOD"), self.hls_method()
        if method != expected_method:
            self.fail(f"{name} METHOD is {method!r}, expected {expected_method} for {self.scheme}")
        keyformat = attrs.get("KEYFORMAT")
        if self.keyformat is not None and keyformat != self.keyformat:
            self.fail(f"{name} KEYFORMAT is {keyformat!r}, expected {self.keyformat!r}")
        if attrs.get("KEYFORMATVERSIONS", "1") != "1":
            self.fail(f"{name} KEYFORMATVERSIONS is {attrs['KEYFORMATVERSIONS']!r}, expected '1'")
        if tag.tag == "#EXT-X-SESSION-KEY" and "SCHEME" in attrs:
            self.fail(f"{name} carries SCHEME, which a session key line must not")

    def hls_uri_checks(self, name: str, uri: str) -> dict[str, Any]:
        """The system's rules for the key line's URI; returns what it decoded."""
        return {}

    # SPEKE v1 HLS children ----------------------------------------------------------------------------

    def _utf8(self, name: str, value: str) -> str:
        try:
            return b64decode(value, name).decode("utf-8")
        except UnicodeDecodeError:
            raise SignallingError("not UTF-8 text") from None

    def uri_ext_x_key_child(self, name: str, value: str) -> None:
        uri = self._utf8(name, value)
        if not uri or any(c in uri for c in '"\r\n'):
            self.fail(f"{name} {uri[:80]!r} cannot be an EXT-X-KEY URI (empty, or a quote or line break)")
            return
        if str(self.kid) not in uri.lower():
            self.warn(f"{name} does not name the kid")
        self.record(name, uri=uri, **self.hls_uri_checks(name, uri))

    def key_format_child(self, name: str, value: str) -> None:
        key_format = self._utf8(name, value)
        if self.keyformat is not None and key_format != self.keyformat:
            self.fail(f"{name} is {key_format!r}, expected {self.keyformat!r}")
        self.record(name, text=key_format)

    def key_format_versions_child(self, name: str, value: str) -> None:
        versions = self._utf8(name, value)
        if versions != "1":
            self.fail(f"{name} is {versions!r}, expected '1'")
        self.record(name, text=versions)

    # Smooth Streaming --------------------------------------------------------------------------------

    def mss_child(self, name: str, value: str) -> None:
        self.record(name, text=value[:200])
