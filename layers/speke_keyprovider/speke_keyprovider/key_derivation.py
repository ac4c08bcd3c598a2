"""Content key derivation (contract section 5, project rule): keys are derived, never stored.

    CEK = first 16 bytes of HMAC-SHA256(K_master,
              [1]_4 || "speke-cek-v1" || 0x00 || kid[16 raw bytes] || contentId(UTF-8) || [128]_4)

i.e. NIST SP 800-108 KDF in counter mode with one block (r = 32, L = 128: cryptography's KBKDFHMAC with
``rlen=4, llen=4, location=BeforeFixed`` computes exactly this). Local homes (Secrets Manager, file)
compute that one HMAC in process with the standard library's OpenSSL-backed ``hmac.digest`` (a
quarter of KBKDFHMAC's per-key cost, and no ``cryptography`` import on the clear path); the KMS home
sends ``derivation_message`` to ``GenerateMac`` so the master key never leaves KMS. Both give the same
key for the same (contentId, kid): the contract's test vectors pin it.

The explicitIV a deployment may supply (``DERIVED_EXPLICIT_IV``, speke-v1.md section 5) is the same KDF with
the label ``speke-iv-v1``: never random (retries and redundant origins agree), never computed from a key.
"""

from __future__ import annotations

import hmac
import uuid

LABEL = b"speke-cek-v1"
IV_LABEL = b"speke-iv-v1"
CEK_LENGTH = 16
IV_LENGTH = 16
MIN_MASTER_KEY_LENGTH = 32
_COUNTER_1 = (1).to_bytes(4, "big")
_LENGTH_BITS = (CEK_LENGTH * 8).to_bytes(4, "big")


def derivation_context(content_id: str, kid: uuid.UUID) -> bytes:
    """The KDF context: the 16 raw KID bytes followed by the contentId in UTF-8."""
    return kid.bytes + content_id.encode("utf-8")


def derivation_message(content_id: str, kid: uuid.UUID, label: bytes = LABEL) -> bytes:
    """The exact bytes HMAC'd for one key, or with ``IV_LABEL`` one IV, by the local homes and by KMS
    GenerateMac (its ``Message``): [1]_4 || label || 0x00 || context || [L]_4."""
    return b"".join((_COUNTER_1, label, b"\x00", derivation_context(content_id, kid), _LENGTH_BITS))


def derive_cek(master_key: bytes, content_id: str, kid: uuid.UUID) -> bytes:
    """Derive the 16-byte content key for (contentId, kid) from the master key bytes."""
    if len(master_key) < MIN_MASTER_KEY_LENGTH:
        raise ValueError("master key too short")
    # One KBKDF block: PRF(K, derivation_message), truncated to L bits.
    return hmac.digest(master_key, derivation_message(content_id, kid), "sha256")[:CEK_LENGTH]


def derive_explicit_iv(master_key: bytes, content_id: str, kid: uuid.UUID) -> bytes:
    """The 16-byte explicitIV for (contentId, kid): the KDF above with the label ``speke-iv-v1``."""
    if len(master_key) < MIN_MASTER_KEY_LENGTH:
        raise ValueError("master key too short")
    return hmac.digest(master_key, derivation_message(content_id, kid, IV_LABEL), "sha256")[:IV_LENGTH]


def cek_from_mac(mac: bytes) -> bytes:
    """The CEK from a full HMAC-SHA256 output over ``derivation_message`` (the KMS path)."""
    if len(mac) != 32:
        raise ValueError("unexpected MAC length")
    return mac[:CEK_LENGTH]


# KID override (speke-v2.1.md section 4, project rule): the provider's own KID for a (contentId, track type,
# key period), so two providers with the same master answer the same KID (and so the same key) for the same
# window whatever KIDs their encryptors sent.
#
#     kid' = UUIDv8(first 16 bytes of HMAC-SHA256(K_master,
#                [1]_4 || "speke-kid-v1" || 0x00 || contentId || 0x00 || intendedTrackType || 0x00 || period-id
#                || [128]_4))
#
# the same SP 800-108 counter-mode KDF as the CEK, label ``speke-kid-v1``; then the RFC 9562 version bits
# (byte 6 high nibble = 8) and variant bits (byte 8 top two bits = 10) are set. period-id is the period's start
# in UTC as ``YYYY-MM-DDTHH:MM:SSZ`` when it has one, else its index in decimal, else ``-``.

KID_LABEL = b"speke-kid-v1"
NO_PERIOD = "-"


def kid_context(content_id: str, track_type: str, period_id: str) -> bytes:
    return b"\x00".join((content_id.encode("utf-8"), track_type.encode("utf-8"), period_id.encode("utf-8")))


def kid_message(content_id: str, track_type: str, period_id: str) -> bytes:
    """The exact bytes HMAC'd for one override KID (what KMS GenerateMac receives as ``Message``)."""
    return _COUNTER_1 + KID_LABEL + b"\x00" + kid_context(content_id, track_type, period_id) + _LENGTH_BITS


def kid_from_mac(mac: bytes) -> uuid.UUID:
    """The override KID from a full HMAC-SHA256 output over ``kid_message``: 16 bytes as a UUIDv8."""
    if len(mac) != 32:
        raise ValueError("unexpected MAC length")
    raw = bytearray(mac[:16])
    raw[6] = (raw[6] & 0x0F) | 0x80  # version 8
    raw[8] = (raw[8] & 0x3F) | 0x80  # variant 10 (RFC 9562)
    return uuid.UUID(bytes=bytes(raw))


def derive_override_kid(master_key: bytes, content_id: str, track_type: str, period_id: str) -> uuid.UUID:
    if len(master_key) < MIN_MASTER_KEY_LENGTH:
        raise ValueError("master key too short")
    return kid_from_mac(hmac.digest(master_key, kid_message(content_id, track_type, period_id), "sha256"))
