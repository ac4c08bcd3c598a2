import os

import pytest
from speke_keyprovider.key_wrapping import (
    DeliveryKeys,
    KeyUnwrapError,
    SealedKey,
    open_content_key,
    rsa_oaep_unwrap,
    rsa_oaep_wrap,
    seal_content_key,
)


def test_seal_then_open_round_trip():
    keys = DeliveryKeys.generate()
    cek = os.urandom(16)
    sealed = seal_content_key(keys, cek)
    assert len(sealed.cipher_value) == 48 and len(sealed.value_mac) == 64
    assert open_content_key(keys, sealed) == cek


def test_fresh_iv_per_key():
    keys = DeliveryKeys.generate()
    cek = os.urandom(16)
    a, b = seal_content_key(keys, cek), seal_content_key(keys, cek)
    assert a.cipher_value[:16] != b.cipher_value[:16]
    assert a.cipher_value != b.cipher_value


@pytest.mark.parametrize("flip", [0, 20, 47])
def test_tampered_ciphertext_is_refused_before_decrypting(flip):
    keys = DeliveryKeys.generate()
    sealed = seal_content_key(keys, os.urandom(16))
    data = bytearray(sealed.cipher_value)
    data[flip] ^= 1
    with pytest.raises(KeyUnwrapError, match="ValueMAC"):
        open_content_key(keys, SealedKey(bytes(data), sealed.value_mac))


def test_wrong_mac_key_is_refused():
    keys = DeliveryKeys.generate()
    sealed = seal_content_key(keys, os.urandom(16))
    with pytest.raises(KeyUnwrapError):
        open_content_key(DeliveryKeys(keys.document_key, os.urandom(64)), sealed)


def test_rsa_oaep_round_trip(delivery_private_key):
    secret = os.urandom(32)
    wrapped = rsa_oaep_wrap(delivery_private_key.public_key(), secret)
    assert len(wrapped) == 256
    assert rsa_oaep_unwrap(delivery_private_key, wrapped) == secret
    with pytest.raises(KeyUnwrapError):
        rsa_oaep_unwrap(delivery_private_key, wrapped[:-1] + bytes([wrapped[-1] ^ 1]))


def test_repr_hides_keys():
    keys = DeliveryKeys.generate()
    text = repr(keys)
    assert keys.document_key.hex() not in text and str(keys.document_key) not in text
