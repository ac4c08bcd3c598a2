import hashlib
import hmac
import uuid

import pytest
from speke_keyprovider.errors import BackendUnavailable
from speke_keyprovider.key_derivation import cek_from_mac, derivation_message, derive_cek
from speke_keyprovider.key_sources import FileMasterKey, StaticMasterKey, master_key_from_text

from tests.conftest import DERIVATION_VECTORS, MASTER_KEY


@pytest.mark.parametrize(("content_id", "kid", "expected"), DERIVATION_VECTORS)
def test_contract_vectors(content_id, kid, expected):
    assert derive_cek(MASTER_KEY, content_id, uuid.UUID(kid)).hex() == expected


def test_message_layout_is_sp800_108_counter_mode():
    kid = uuid.UUID("0f083e4e-b831-4a3d-917e-ce78076e54aa")
    message = derivation_message("channel-1", kid)
    assert message == (b"\x00\x00\x00\x01" + b"speke-cek-v1" + b"\x00" + kid.bytes + b"channel-1" + b"\x00\x00\x00\x80")


@pytest.mark.parametrize(("content_id", "kid", "expected"), DERIVATION_VECTORS)
def test_kms_path_agrees_with_local_kdf(content_id, kid, expected):
    mac = hmac.new(MASTER_KEY, derivation_message(content_id, uuid.UUID(kid)), hashlib.sha256).digest()
    assert cek_from_mac(mac).hex() == expected


def test_other_kid_or_content_id_gives_other_key():
    kid = uuid.UUID("0f083e4e-b831-4a3d-917e-ce78076e54aa")
    base = derive_cek(MASTER_KEY, "channel-1", kid)
    assert derive_cek(MASTER_KEY, "channel-2", kid) != base
    assert derive_cek(MASTER_KEY, "channel-1", uuid.UUID(int=kid.int ^ 1)) != base
    assert derive_cek(MASTER_KEY, "channel-1", kid) == base


def test_short_master_is_refused():
    with pytest.raises(ValueError):
        derive_cek(b"x" * 31, "c", uuid.uuid4())
    with pytest.raises(BackendUnavailable):
        master_key_from_text("too short", source="test")


def test_file_home_strips_trailing_line_breaks(tmp_path):
    path = tmp_path / "master.key"
    path.write_bytes(MASTER_KEY + b"\r\n\n")
    kid = uuid.UUID(DERIVATION_VECTORS[0][1])
    keys = FileMasterKey(path).content_keys("test_case_generic", [kid])
    assert keys[kid].hex() == DERIVATION_VECTORS[0][2]
    assert keys == StaticMasterKey(MASTER_KEY).content_keys("test_case_generic", [kid])


def test_key_sources_do_not_show_secrets():
    assert MASTER_KEY.decode() not in repr(StaticMasterKey(MASTER_KEY))


def test_agrees_with_cryptography_kbkdf_for_random_inputs():
    """The derivation is NIST SP 800-108 counter mode exactly as cryptography's KBKDFHMAC computes it."""
    import os
    import random

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.kbkdf import KBKDFHMAC, CounterLocation, Mode

    rng = random.Random(7)
    for _ in range(200):
        master = os.urandom(rng.randint(32, 96))
        content_id = "".join(rng.choice("abcXYZ019_-") for _ in range(rng.randint(1, 256)))
        kid = uuid.UUID(int=rng.getrandbits(128))
        kdf = KBKDFHMAC(
            algorithm=hashes.SHA256(),
            mode=Mode.CounterMode,
            length=16,
            rlen=4,
            llen=4,
            location=CounterLocation.BeforeFixed,
            label=b"speke-cek-v1",
            context=kid.bytes + content_id.encode(),
            fixed=None,
        )
        assert derive_cek(master, content_id, kid) == kdf.derive(master)
