"""`speke-keyprovider token`: tokens the key delivery verifier accepts, for the make-run key, any private JWK(S)
and an HS256 secret; usage errors exit 2."""

import io
import json
import uuid

import pytest
from speke_keyprovider.delivery.tokens import StaticKeys, TokenVerifier, hmac_key, keys_from_jwks
from speke_keyprovider_tools import cli
from speke_keyprovider_tools.delivery_tokens import LOCAL_KEY_FILE, local_signing_key, public_jwks

from tests.delivery_support import HMAC_SECRET, private_jwk


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(["token", *argv], stdout=out, stderr=err)
    return code, out.getvalue().strip(), err.getvalue()


def verify(token, jwks=None, secret=None):
    keys = list(keys_from_jwks(jwks, source="test")) if jwks else []
    if secret:
        keys.append(hmac_key(secret))
    return TokenVerifier(StaticKeys(keys), audience="speke-keyprovider").verify(token)


def test_the_local_key_is_made_once_and_signs(tmp_path):
    kid = uuid.uuid4()
    code, token, _ = run("--content-id", "c1", "--content-id", "c2", "--kid", str(kid), "--state-dir", str(tmp_path))
    assert code == 0
    jwk = local_signing_key(tmp_path)
    got = verify(token, public_jwks([jwk]))
    assert got.content_ids == {"c1", "c2"} and got.kids == {kid} and got.delivery is None
    assert run("--content-id", "c1", "--state-dir", str(tmp_path))[0] == 0
    assert json.loads((tmp_path / LOCAL_KEY_FILE).read_text()) == jwk  # not replaced


@pytest.mark.parametrize("alg", ["ES256", "RS256", "EdDSA"])
def test_any_private_jwks_signs(tmp_path, alg):
    jwk = private_jwk(alg)
    path = tmp_path / "issuer.jwks.json"
    path.write_text(json.dumps({"keys": [private_jwk("ES256", kid="other"), jwk]}))
    code, token, _ = run("--content-id", "c", "--key", str(path), "--key-id", jwk["kid"], "--delivery", "clearkey")
    assert code == 0
    got = verify(token, public_jwks([jwk]))
    assert got.algorithm == alg and got.delivery == {"clearkey"}


def test_hs256_json_output_and_claims(tmp_path):
    secret = tmp_path / "hs256.secret"
    secret.write_bytes(HMAC_SECRET + b"\n")
    code, out, _ = run("--content-id", "c", "--hmac-secret-file", str(secret), "--ttl", "60", "--sub", "v1", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["claims"]["exp"] - doc["claims"]["iat"] == 60 and doc["claims"]["sub"] == "v1"
    assert verify(doc["token"], secret=HMAC_SECRET).sub == "v1"


@pytest.mark.parametrize(
    "argv",
    [
        ["--content-id", "c", "--kid", "nope"],
        ["--content-id", "c", "--ttl", "0"],
        ["--content-id", "c", "--key", "/nonexistent.jwk"],
        ["--kid", "0f083e4e-b831-4a3d-917e-ce78076e54aa"],
        ["--content-id", "c", "--delivery", "widevine"],
    ],
)
def test_usage_errors_exit_2(tmp_path, argv):
    assert run(*argv, "--state-dir", str(tmp_path))[0] == 2
