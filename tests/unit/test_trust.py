import datetime as dt
import hashlib

import pytest
from speke_keyprovider.errors import CertificateNotTrusted, CertificateRejected, Forbidden
from speke_keyprovider.trust import caller_arn, check_caller, check_certificate

from tests.certfactory import make_cert
from tests.conftest import DASHIF


def test_good_certificate(delivery_cert_der):
    cert = check_certificate(delivery_cert_der)
    assert cert.key_bits == 2048
    assert cert.sha256 == hashlib.sha256(delivery_cert_der).hexdigest()
    assert cert.signature_hash == "sha512"


def test_allowlist(delivery_cert_der):
    fingerprint = hashlib.sha256(delivery_cert_der).hexdigest()
    assert check_certificate(delivery_cert_der, allowlist=frozenset({fingerprint}))
    with pytest.raises(CertificateNotTrusted, match="not registered") as info:
        check_certificate(delivery_cert_der, allowlist=frozenset({"0" * 64}))
    assert info.value.status == 403


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"key": "rsa1024"}, "1024 bits; at least 2048"),
        ({"key": "ec"}, "must be RSA"),
        ({"days_from": -30, "days_to": -1}, "expired"),
        ({"days_from": 2, "days_to": 30}, "not yet valid"),
        ({"digest": "sha1"}, "too weak"),
    ],
)
def test_rejected_certificates(kwargs, message):
    der, _ = make_cert(**kwargs)
    with pytest.raises(CertificateRejected, match=message) as info:
        check_certificate(der)
    assert 400 <= info.value.status < 500


def test_dashif_2048_bit_vector_meets_the_minimum():
    # The DASH-IF "WeakCert_SmallKey" is 2048 bits: weak for them (they use 4096), the floor for SPEKE.
    assert check_certificate((DASHIF / "WeakCert_SmallKey.cer").read_bytes()).key_bits == 2048


@pytest.mark.parametrize("der", [b"", b"not a certificate", b"\x30\x82\x01\x00" + b"\x00" * 10])
def test_garbage_is_not_a_certificate(der):
    with pytest.raises(CertificateRejected, match="not a valid X.509"):
        check_certificate(der)


def test_validity_uses_the_given_clock(delivery_cert_der):
    with pytest.raises(CertificateRejected, match="expired"):
        check_certificate(delivery_cert_der, now=dt.datetime(2050, 1, 1, tzinfo=dt.UTC))


def test_caller_identity_required():
    with pytest.raises(Forbidden):
        caller_arn({})
    with pytest.raises(Forbidden):
        caller_arn({"identity": {"userArn": None}})
    assert caller_arn({"identity": {"userArn": "arn:aws:iam::1:user/x"}}) == "arn:aws:iam::1:user/x"


ROLE = "arn:aws:iam::111122223333:role/service/SpekeRole"


@pytest.mark.parametrize(
    ("caller", "allowed"),
    [
        ("arn:aws:sts::111122223333:assumed-role/SpekeRole/session-1", (ROLE,)),
        (ROLE, (ROLE,)),
        ("arn:aws:iam::111122223333:user/ops", ("arn:aws:iam::111122223333:user/ops",)),
        ("arn:aws:iam::111122223333:user/anyone", ()),
    ],
)
def test_allowed_callers(caller, allowed):
    check_caller(caller, allowed)


@pytest.mark.parametrize(
    "caller",
    [
        "arn:aws:sts::999999999999:assumed-role/SpekeRole/session-1",  # other account
        "arn:aws:sts::111122223333:assumed-role/SpekeRoleX/session-1",  # other role
        "arn:aws-cn:sts::111122223333:assumed-role/SpekeRole/s",  # other partition
        "arn:aws:iam::111122223333:user/SpekeRole",
    ],
)
def test_refused_callers(caller):
    with pytest.raises(Forbidden):
        check_caller(caller, (ROLE,))
