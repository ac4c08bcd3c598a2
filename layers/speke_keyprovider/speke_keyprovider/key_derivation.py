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
