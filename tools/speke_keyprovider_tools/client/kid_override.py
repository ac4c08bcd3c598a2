"""The KID override formula, written here from its published text (docs/kid-override.md), independently of the
provider: the checker uses it to say whether an overriding provider's KIDs are the ones the formula gives.

    kid' = UUIDv8(first 16 bytes of SP 800-108 KDF in counter mode, HMAC-SHA256, label "speke-kid-v1",
                  context contentId || 0x00 || intendedTrackType || 0x00 || period-id, L = 128)

period-id: the period's start in UTC (``YYYY-MM-DDTHH:MM:SSZ``), else its index, else ``-``.
"""

from __future__ import annotations

import datetime as dt
import uuid

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.kbkdf import KBKDFHMAC, CounterLocation, Mode

LABEL = b"speke-kid-v1"


def period_id(attributes: dict[str, str] | None) -> str:
    """period-id from a ContentKeyPeriod's attributes (``None``: the document has no period)."""
    if not attributes:
        return "-"
    start = attributes.get("start")
    if start:
        when = dt.datetime.fromisoformat(start.replace("Z", "+00:00"))
        if when.tzinfo is None:
            raise ValueError("a period start without a timezone has no period-id")
        return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    index = attributes.get("index")
    return str(int(index)) if index is not None else "-"


def override_kid(master: bytes, content_id: str, track_type: str, period: str) -> uuid.UUID:
    raw = KBKDFHMAC(
        algorithm=hashes.SHA256(),
        mode=Mode.CounterMode,
        length=16,
        rlen=4,
        llen=4,
        location=CounterLocation.BeforeFixed,
        label=LABEL,
        context=b"\x00".join(part.encode("utf-8") for part in (content_id, track_type, period)),
        fixed=None,
    ).derive(master)
    return uuid.UUID(
        bytes=raw[:6] + bytes([0x80 | (raw[6] & 0x0F)]) + raw[7:8] + bytes([0x80 | (raw[8] & 0x3F)]) + raw[9:]
    )
