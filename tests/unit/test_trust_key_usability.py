"""A delivery certificate's key must be able to wrap, and that is decided when it is loaded: bounded modulus
size, an odd modulus, the public exponent 65537, a trial RSA-OAEP wrap; any exception parsing raises is a
422. Every refusal comes before a content key is derived."""

from __future__ import annotations

import base64
import math

import pytest
from speke_keyprovider.errors import CertificateRejected, SpekeError
from speke_keyprovider.service import KeyExchange
from speke_keyprovider.settings import Settings
from speke_keyprovider.trust import check_certificate

from tests import cpixdocs as d
from tests.certfactory import _rsa, cert_with_rsa_numbers, cert_with_version, make_cert

MAX_RSA_BITS = 16384  # the documented bounds (SECURITY.md), written out so this file runs against any version
RSA_PUBLIC_EXPONENT = 65537


class NoKeys:
    """A key source that fails the test if a key is derived."""

    name = "no-keys"

    def content_keys(self, content_id, kids):
        raise AssertionError("a content key was derived for a request that is refused")


def _numbers(bits: int = 2048):
    return _rsa(bits).public_key().public_numbers()


def _lambda_plus_one(bits: int = 2048) -> tuple[int, int]:
    """(n, lambda(n) + 1): an exponent for which RSA is the identity, x^e = x mod n."""
    private = _rsa(bits).private_numbers()
    p, q = private.p, private.q
    return p * q, math.lcm(p - 1, q - 1) + 1


def _odd_certificates() -> dict[str, tuple[bytes, str]]:
    n, e = _numbers().n, _numbers().e
    identity_n, identity_e = _lambda_plus_one()
    return {
        "even modulus": (cert_with_rsa_numbers(n - 1, e), "modulus is even"),
        "even modulus 4096": (cert_with_rsa_numbers(_numbers(4096).n + 1, e), "modulus is even"),
        "modulus over 16384 bits": (cert_with_rsa_numbers((1 << 16400) + 1, e), "at most 16384"),
        "modulus of 20000 bits": (cert_with_rsa_numbers((1 << 19999) | 1, e), "at most 16384"),
        "huge exponent, large modulus": (cert_with_rsa_numbers((1 << 16000) | 1, (1 << 15990) | 1), "exponent"),
        "lambda(n)+1 (identity)": (cert_with_rsa_numbers(identity_n, identity_e), "exponent"),
        "2*lambda(n)+1 (identity)": (cert_with_rsa_numbers(identity_n, 2 * (identity_e - 1) + 1), "exponent"),
        "exponent 3": (cert_with_rsa_numbers(n, 3), "exponent is 3; 65537 required"),
        "exponent 2^32+1": (cert_with_rsa_numbers(n, (1 << 32) + 1), "exponent"),
        "even exponent": (cert_with_rsa_numbers(n, 65536), "exponent|not a valid X.509"),
        "exponent 1": (cert_with_rsa_numbers(n, 1), "exponent|not a valid X.509"),
        "X.509 version 4 (v5)": (cert_with_version(4), "not a valid X.509"),
        "X.509 version 127": (cert_with_version(0x7F), "not a valid X.509"),
    }


ODD = _odd_certificates()


@pytest.mark.parametrize("name", sorted(ODD))
def test_unusable_keys_are_refused_when_loaded(name):
    der, message = ODD[name]
    with pytest.raises(CertificateRejected, match=message) as info:
        check_certificate(der)
    assert info.value.status == 422


@pytest.mark.parametrize("name", sorted(ODD))
def test_unusable_keys_are_refused_before_any_key_is_derived(name):
    der, _ = ODD[name]
    body = d.document(delivery=d.delivery_data(base64.b64encode(der).decode()))
    with pytest.raises(SpekeError) as info:
        KeyExchange(Settings(), NoKeys()).answer(body)
    assert info.value.status == 422, info.value.public_message


def test_the_identity_exponent_really_is_the_identity():
    """The finding's premise, so the test above refuses what matters: with e = lambda(n) + 1, x^e = x."""
    n, e = _lambda_plus_one()
    for x in (2, 0xC0FFEE, n - 2):
        assert pow(x, e, n) == x


@pytest.mark.parametrize("bits", [2048, 3072, 4096])
def test_ordinary_keys_pass(bits):
    der, _ = make_cert(key=f"rsa{bits}")
    cert = check_certificate(der)
    assert cert.key_bits == bits and cert.public_key.public_numbers().e == RSA_PUBLIC_EXPONENT


def test_hand_built_certificate_with_good_numbers_passes():
    """The DER editing itself is sound: the same numbers as a good key load and pass."""
    numbers = _numbers()
    cert = check_certificate(cert_with_rsa_numbers(numbers.n, numbers.e))
    assert cert.public_key.public_numbers() == numbers


def test_largest_modulus_passes():
    prime_like = (1 << (MAX_RSA_BITS - 1)) | 1  # odd, exactly MAX_RSA_BITS bits: RSA-OAEP can wrap with it
    assert check_certificate(cert_with_rsa_numbers(prime_like, RSA_PUBLIC_EXPONENT)).key_bits == MAX_RSA_BITS
