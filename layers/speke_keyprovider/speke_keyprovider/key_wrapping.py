"""Key wrapping for encrypted delivery (contract section 3): CPIX DocumentKey + MAC key.

Per response: a random 32-byte document key and a random 64-byte MAC key, each RSA-OAEP
(SHA-1 / MGF1-SHA-1, empty label: ``xmlenc#rsa-oaep-mgf1p``) encrypted to the recipient's
certificate. Each content key becomes IV(16) || AES-256-CBC(document key, IV, PKCS#7(CEK)) with a
fresh random IV, authenticated by HMAC-SHA512(MAC key, IV || ciphertext).

The opening side (``open_content_key``, ``unwrap_with_private_key``) is what a recipient does; tests
and the operator CLI use it. Secrets are held in objects whose repr never shows them.
"""

from __future__ import annotations

import hmac
import os
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import rsa

DOCUMENT_KEY_LENGTH = 32
MAC_KEY_LENGTH = 64
IV_LENGTH = 16
SEALED_LENGTH = 48  # IV + two AES blocks for a 16-byte CEK
_BLOCK = 16


@cache
def _oaep() -> Any:
    """RSA-OAEP with SHA-1 / MGF1-SHA-1, empty label. ``cryptography`` is imported on first use, so a
    clear-key cold start never loads it."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric.padding import MGF1, OAEP

    # SHA-1 is what CPIX mandates for rsa-oaep-mgf1p
    return OAEP(mgf=MGF1(algorithm=hashes.SHA1()), algorithm=hashes.SHA1(), label=None)  # noqa: S303  # nosec B303 - xmlenc rsa-oaep-mgf1p mandates SHA-1


@cache
def _aes_cbc() -> tuple[Any, Any, Any]:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    return Cipher, algorithms.AES, modes.CBC


class KeyUnwrapError(Exception):
    """A wrapped key or sealed content key could not be opened (wrong key, bad MAC, bad length)."""


@dataclass(frozen=True, slots=True)
class DeliveryKeys:
    """The document key and MAC key of one response. ``repr`` never shows them."""

    document_key: bytes = field(repr=False)
    mac_key: bytes = field(repr=False)

    @classmethod
    def generate(cls) -> DeliveryKeys:
        return cls(document_key=os.urandom(DOCUMENT_KEY_LENGTH), mac_key=os.urandom(MAC_KEY_LENGTH))


@dataclass(frozen=True, slots=True)
class SealedKey:
    """``cipher_value`` = IV || ciphertext (48 bytes); ``value_mac`` = HMAC-SHA512 over it (64 bytes)."""

    cipher_value: bytes
    value_mac: bytes


def rsa_oaep_wrap(public_key: rsa.RSAPublicKey, secret: bytes) -> bytes:
    return public_key.encrypt(secret, _oaep())


def rsa_oaep_unwrap(private_key: rsa.RSAPrivateKey, wrapped: bytes) -> bytes:
    try:
        return private_key.decrypt(wrapped, _oaep())
    except ValueError:
        raise KeyUnwrapError("RSA-OAEP decryption failed") from None


def seal_content_key(keys: DeliveryKeys, content_key: bytes, iv: bytes | None = None) -> SealedKey:
    iv = os.urandom(IV_LENGTH) if iv is None else iv
    pad = _BLOCK - len(content_key) % _BLOCK  # PKCS#7: 1..16 bytes of the pad length (a full block for a CEK)
    cipher, aes, cbc = _aes_cbc()
    encryptor = cipher(aes(keys.document_key), cbc(iv)).encryptor()
    cipher_value = iv + encryptor.update(content_key + bytes((pad,)) * pad) + encryptor.finalize()
    return SealedKey(cipher_value=cipher_value, value_mac=hmac.digest(keys.mac_key, cipher_value, "sha512"))


def open_content_key(keys: DeliveryKeys, sealed: SealedKey) -> bytes:
    """Verify the MAC first (constant time), then decrypt and unpad."""
    expected = hmac.digest(keys.mac_key, sealed.cipher_value, "sha512")
    if not hmac.compare_digest(expected, sealed.value_mac):
        raise KeyUnwrapError("ValueMAC does not match: the content key was altered or the MAC key is wrong")
    data = sealed.cipher_value
    if len(data) < 2 * IV_LENGTH or len(data) % IV_LENGTH:
        raise KeyUnwrapError("encrypted content key has a bad length")
    from cryptography.hazmat.primitives import padding

    cipher, aes, cbc = _aes_cbc()
    decryptor = cipher(aes(keys.document_key), cbc(data[:IV_LENGTH])).decryptor()
    padded = decryptor.update(data[IV_LENGTH:]) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError:
        raise KeyUnwrapError("encrypted content key has bad padding") from None
