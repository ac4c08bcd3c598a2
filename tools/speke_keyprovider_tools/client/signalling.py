"""Parsers for DRM signalling found in SPEKE v2 answers: pssh boxes, Widevine PSSH data (protobuf),
PlayReady Objects / WRMHEADER, DASH ContentProtectionData fragments and HLS key tags.

Written from the public formats (ISO/IEC 23001-7, the WidevinePsshData message, the PlayReady header
specification, RFC 8216), independent of the provider's own writers, so that the checker can vet any
SPEKE v2 key provider. Every parser raises ``SignallingError`` with a short reason.
"""

from __future__ import annotations

import base64
import binascii
import struct
import uuid
from dataclasses import dataclass, field

from ._xml import XmlError, local_name, namespace, parse

CENC_NS = "urn:mpeg:cenc:2013"
MSPR_NS = "urn:microsoft:playready"
PLAYREADY_HEADER_NS = "http://schemas.microsoft.com/DRM/2007/03/PlayReadyHeader"


class SignallingError(ValueError):
    """A signalling value does not parse."""


def b64decode(value: str, what: str) -> bytes:
    try:
        return base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        raise SignallingError(f"{what} is not valid base64") from None


# --- pssh box -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PsshBox:
    version: int
    flags: int
    system_id: str
    kids: list[uuid.UUID]
    data: bytes


def parse_pssh(box: bytes) -> PsshBox:
    """One complete 'pssh' box (ISO/IEC 23001-7 8.1), nothing before or after it."""
    if len(box) < 32:
        raise SignallingError(f"pssh box too short ({len(box)} bytes)")
    size, box_type = struct.unpack(">I4s", box[:8])
    if box_type != b"pssh":
        raise SignallingError(f"box type is {box_type!r}, expected b'pssh'")
    if size == 1 or size != len(box):
        raise SignallingError(f"pssh box size field {size} does not match its {len(box)} bytes")
    version_flags = struct.unpack(">I", box[8:12])[0]
    version, flags = version_flags >> 24, version_flags & 0xFFFFFF
    if version not in (0, 1):
        raise SignallingError(f"pssh box version {version} is not 0 or 1")
    system_id = str(uuid.UUID(bytes=box[12:28]))
    offset = 28
    kids: list[uuid.UUID] = []
    if version == 1:
        (count,) = struct.unpack(">I", box[offset : offset + 4])
        offset += 4
        if offset + 16 * count + 4 > len(box):
            raise SignallingError(f"pssh box lists {count} KIDs but is too short for them")
        kids = [uuid.UUID(bytes=box[offset + 16 * i : offset + 16 * (i + 1)]) for i in range(count)]
        offset += 16 * count
    if offset + 4 > len(box):
        raise SignallingError("pssh box has no DataSize field")
    (data_size,) = struct.unpack(">I", box[offset : offset + 4])
    offset += 4
    if offset + data_size != len(box):
        raise SignallingError(f"pssh DataSize {data_size} does not match the {len(box) - offset} bytes left")
    return PsshBox(version, flags, system_id, kids, box[offset:])


# --- Widevine -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WidevineData:
    key_ids: list[bytes] = field(default_factory=list)
    provider: str | None = None
    content_id: bytes | None = None
    protection_scheme: int | None = None
    other_fields: list[int] = field(default_factory=list)

    @property
    def protection_scheme_fourcc(self) -> str | None:
        if self.protection_scheme is None:
            return None
        raw = self.protection_scheme.to_bytes(4, "big") if self.protection_scheme < 1 << 32 else b"????"
        return raw.decode("latin-1")


def _read_varint(data: bytes, offset: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if offset >= len(data):
            raise SignallingError("truncated protobuf varint")
        byte = data[offset]
        offset += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, offset
        shift += 7
        if shift > 63:
            raise SignallingError("protobuf varint too long")


def parse_widevine_data(data: bytes) -> WidevineData:
    """The WidevinePsshData protobuf: key_ids (2), provider (3), content_id (4), protection_scheme (9)."""
    key_ids: list[bytes] = []
    provider = content_id = scheme = None
    other: list[int] = []
    offset = 0
    while offset < len(data):
        tag, offset = _read_varint(data, offset)
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            value, offset = _read_varint(data, offset)
            if number == 9:
                scheme = value
            else:
                other.append(number)
        elif wire == 2:
            length, offset = _read_varint(data, offset)
            if offset + length > len(data):
                raise SignallingError("truncated protobuf field")
            chunk = data[offset : offset + length]
            offset += length
            if number == 2:
                key_ids.append(chunk)
            elif number == 3:
                provider = chunk.decode("utf-8", "replace")
            elif number == 4:
                content_id = chunk
            else:
                other.append(number)
        elif wire in (1, 5):
            offset += 8 if wire == 1 else 4
            if offset > len(data):
                raise SignallingError("truncated protobuf fixed field")
            other.append(number)
        else:
            raise SignallingError(f"protobuf wire type {wire} not expected in WidevinePsshData")
    return WidevineData(key_ids, provider, content_id, scheme, other)


# --- PlayReady ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WrmHeader:
    version: str
    kids: list[tuple[uuid.UUID, str | None]]  # (KID, ALGID)
    la_url: str | None
    text: str


def parse_playready_object(pro: bytes) -> WrmHeader:
    """A PlayReady Object: u32le length, u16le record count, records (type 1 = WRMHEADER UTF-16LE)."""
    if len(pro) < 10:
        raise SignallingError("PlayReady Object too short")
    length, count = struct.unpack("<IH", pro[:6])
    if length != len(pro):
        raise SignallingError(f"PlayReady Object length field {length} does not match its {len(pro)} bytes")
    offset = 6
    header: WrmHeader | None = None
    for _ in range(count):
        if offset + 4 > len(pro):
            raise SignallingError("PlayReady Object record table is truncated")
        record_type, record_length = struct.unpack("<HH", pro[offset : offset + 4])
        offset += 4
        if offset + record_length > len(pro):
            raise SignallingError("PlayReady Object record is truncated")
        if record_type == 1 and header is None:
            try:
                header = parse_wrmheader(pro[offset : offset + record_length].decode("utf-16-le"))
            except UnicodeDecodeError:
                raise SignallingError("WRMHEADER is not UTF-16LE") from None
        offset += record_length
    if offset != len(pro):
        raise SignallingError("PlayReady Object has bytes after its records")
    if header is None:
        raise SignallingError("PlayReady Object has no WRMHEADER record")
    return header


def parse_wrmheader(text: str) -> WrmHeader:
    """WRMHEADER 4.0 (DATA/KID), 4.1 (PROTECTINFO/KID) and 4.2/4.3 (PROTECTINFO/KIDS/KID)."""
    try:
        root = parse(text.lstrip("\ufeff").encode("utf-8"))
    except XmlError as exc:
        raise SignallingError(f"WRMHEADER: {exc}") from None
    if local_name(root.tag) != "WRMHEADER" or namespace(root.tag) != PLAYREADY_HEADER_NS:
        raise SignallingError("not a WRMHEADER in the PlayReady header namespace")
    version = root.get("version", "")
    kids: list[tuple[uuid.UUID, str | None]] = []
    la_url = None

    def kid_of(value: str) -> uuid.UUID:
        raw = b64decode(value, "WRMHEADER KID")
        if len(raw) != 16:
            raise SignallingError(f"WRMHEADER KID is {len(raw)} bytes, expected 16")
        return uuid.UUID(bytes_le=raw)

    data = next((c for c in root if local_name(c.tag) == "DATA"), None)
    if data is None:
        raise SignallingError("WRMHEADER has no DATA")
    for item in data.iter():
        name = local_name(item.tag)
        if name == "LA_URL":
            la_url = (item.text or "").strip()
    if version.startswith("4.0"):
        algid_element = next((e for e in data.iter() if local_name(e.tag) == "ALGID"), None)
        algid = (algid_element.text or "").strip() if algid_element is not None else None
        for item in data:
            if local_name(item.tag) == "KID":
                kids.append((kid_of(item.text or ""), algid))
    else:
        for item in data.iter():
            if local_name(item.tag) == "KID" and item.get("VALUE") is not None:
                kids.append((kid_of(item.get("VALUE", "")), item.get("ALGID")))
    if not kids:
        raise SignallingError("WRMHEADER names no KID")
    return WrmHeader(version, kids, la_url, text)


# --- ContentProtectionData ------------------------------------------------------------------------


def parse_content_protection_data(fragment: bytes) -> list[tuple[str, str, str]]:
    """The XML fragment (no single root) as (namespace, local name, text) of its top-level elements."""
    try:
        text = fragment.decode("utf-8")
    except UnicodeDecodeError:
        raise SignallingError("ContentProtectionData is not UTF-8") from None
    if text.lstrip().startswith("<?xml"):
        raise SignallingError("ContentProtectionData carries an XML declaration")
    try:
        wrapper = parse(b"<cpd>" + text.encode("utf-8") + b"</cpd>")
    except XmlError as exc:
        raise SignallingError(f"ContentProtectionData: {exc}") from None
    return [(namespace(e.tag), local_name(e.tag), "".join(e.itertext()).strip()) for e in wrapper]


# --- HLS ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HlsKeyTag:
    tag: str  # "#EXT-X-KEY" or "#EXT-X-SESSION-KEY"
    attributes: dict[str, str]  # quoted values without quotes
    text: str


def parse_hls_key_tag(text: str) -> HlsKeyTag:
    """One ``#EXT-X-KEY:`` / ``#EXT-X-SESSION-KEY:`` line (RFC 8216 4.2 attribute list)."""
    line = text.strip()
    if "\n" in line or "\r" in line:
        raise SignallingError("HLS signalling holds more than one line")
    tag, sep, rest = line.partition(":")
    if not sep or tag not in ("#EXT-X-KEY", "#EXT-X-SESSION-KEY"):
        raise SignallingError(f"HLS line starts with {tag[:30]!r}, expected #EXT-X-KEY or #EXT-X-SESSION-KEY")
    attributes: dict[str, str] = {}
    i = 0
    while i < len(rest):
        eq = rest.find("=", i)
        if eq < 0:
            raise SignallingError("HLS attribute without '='")
        name = rest[i:eq]
        if not name or not all(c.isupper() or c.isdigit() or c == "-" for c in name):
            raise SignallingError(f"bad HLS attribute name {name[:30]!r}")
        i = eq + 1
        if i < len(rest) and rest[i] == '"':
            end = rest.find('"', i + 1)
            if end < 0:
                raise SignallingError(f"unterminated quoted value for {name}")
            value = rest[i + 1 : end]
            i = end + 1
        else:
            end = rest.find(",", i)
            end = len(rest) if end < 0 else end
            value = rest[i:end]
            i = end
        if name in attributes:
            raise SignallingError(f"HLS attribute {name} appears twice")
        attributes[name] = value
        if i < len(rest):
            if rest[i] != ",":
                raise SignallingError(f"junk after HLS attribute {name}")
            i += 1
            if i == len(rest):
                raise SignallingError("HLS attribute list ends with ','")
    return HlsKeyTag(tag, attributes, line)


def data_uri_payload(uri: str) -> tuple[str, bytes]:
    """(media type and parameters, decoded bytes) of a base64 ``data:`` URI."""
    if not uri.startswith("data:"):
        raise SignallingError("URI is not a data: URI")
    meta, sep, payload = uri[5:].partition(",")
    if not sep or not meta.endswith(";base64"):
        raise SignallingError("data: URI is not base64")
    return meta[: -len(";base64")], b64decode(payload, "data: URI payload")
