"""Entitlement tokens: every rule of docs/key-delivery.md section 2, each by a token that breaks only it."""

import json
import time
import uuid

import pytest
from speke_keyprovider.delivery.errors import TokenRejected
from speke_keyprovider.delivery.tokens import (
    LEEWAY_SECONDS,
    MAX_TOKEN_CHARS,
    JwksUrlKeys,
    LoadedKey,
    TokenVerifier,
    hmac_key,
    keys_from_jwks,
)
from speke_keyprovider.errors import BackendUnavailable, ConfigurationError
from speke_keyprovider_tools.delivery_tokens import public_jwk

from tests.delivery_support import (
    AUDIENCE,
    HMAC_SECRET,
    KID_1,
    KID_2,
    b64url,
    claims,
    hmac_signed,
    private_jwk,
    public_pem,
    signed,
    token,
    trust_jwks,
    unsigned,
    verifier,
)

ALL = ("ES256", "RS256", "EdDSA")


def rejected(v: TokenVerifier, text: str) -> str:
    with pytest.raises(TokenRejected) as info:
        v.verify(text)
    assert info.value.status == 401 and info.value.presented
    return info.value.public_message


# --- what is accepted ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("alg", [*ALL, "HS256"])
def test_each_accepted_algorithm_verifies(alg):
    v = verifier(*ALL, hmac=True)
    got = v.verify(token(alg, kids=[KID_1], delivery="aes128", subject="viewer-7"))
    assert got.content_ids == {"channel-1"} and got.kids == {KID_1} and got.delivery == {"aes128"}
    assert got.sub == "viewer-7" and got.jti and got.algorithm == alg


def test_scope_claims_default_to_everything_but_content():
    got = verifier("ES256").verify(token())
    assert got.kids is None and got.delivery is None
    assert got.covers_kid(uuid.uuid4()) and got.covers_endpoint("clearkey")


# --- signature and algorithm --------------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "", None])
def test_alg_none_is_refused(alg):
    v = verifier(*ALL, hmac=True)
    header = {"typ": "JWT"} if alg is None else {"alg": alg, "typ": "JWT"}
    assert "algorithm" in rejected(v, unsigned(header, claims()))
    assert "algorithm" in rejected(v, unsigned({**header, "kid": "test-es256"}, claims(), b"x" * 64))


@pytest.mark.parametrize("alg", ["RS256", "ES256", "EdDSA"])
def test_hs256_signed_with_a_trusted_public_key_is_refused(alg):
    """Algorithm confusion: an attacker HMACs with the public key (PEM or JWK text) the server trusts."""
    jwk = private_jwk(alg)
    for secret in (public_pem(jwk), json.dumps(public_jwk(jwk)).encode()):
        for header in ({"kid": jwk["kid"]}, {}):
            forged = hmac_signed(secret, claims(), header)
            rejected(verifier(*ALL), forged)
            rejected(verifier(*ALL, hmac=True), forged)  # an HS256 secret is trusted, but not that one


def test_hs256_is_refused_without_a_configured_secret():
    assert "No trusted key" in rejected(verifier(*ALL), token("HS256"))


@pytest.mark.parametrize(("token_alg", "key_alg"), [("RS256", "ES256"), ("ES256", "RS256"), ("EdDSA", "ES256")])
def test_algorithm_other_than_the_keys_pinned_one_is_refused(token_alg, key_alg):
    """A token claiming the kid of a key of another type: never verified with that key."""
    victim = private_jwk(key_alg)
    forged = signed(token_alg, claims(), header={"kid": victim["kid"]})
    assert "No trusted key" in rejected(verifier(key_alg), forged)


def test_a_jwk_alg_disagreeing_with_its_key_type_is_refused():
    jwk = public_jwk(private_jwk("ES256")) | {"alg": "RS256"}
    with pytest.raises(ConfigurationError):
        keys_from_jwks({"keys": [jwk]}, source="KEY_DELIVERY_JWKS")


def test_bad_signature_and_tampering_are_refused():
    v = verifier("ES256")
    impostor = private_jwk("ES256", kid="test-es256-impostor") | {"kid": "test-es256"}
    assert "signature" in rejected(v, signed("ES256", claims(), jwk=impostor))
    head, body, sig = token().split(".")
    tampered_body = b64url(json.dumps(claims(content_ids=["other"])).encode())
    assert "signature" in rejected(v, f"{head}.{tampered_body}.{sig}")


def test_unknown_kid_is_refused():
    other = private_jwk("ES256", kid="not-trusted")
    assert "No trusted key" in rejected(verifier("ES256"), signed("ES256", claims(), jwk=other))


def test_malformed_long_and_critical_tokens_are_refused():
    v = verifier("ES256")
    for text in ("", "abc", "a.b.c", "eyJhbGciOiJFUzI1NiJ9..", "\u00e9.\u00e9.\u00e9"):
        rejected(v, text)
    assert "too long" in rejected(v, token(extra={"pad": "x" * MAX_TOKEN_CHARS}))
    rejected(v, signed("ES256", claims(), header={"crit": ["exp"], "exp": 1}))  # no extension is understood


# --- time claims --------------------------------------------------------------------------------------------


def test_exp_is_required():
    assert "exp" in rejected(verifier("ES256"), signed("ES256", claims(exp=None)))


def test_expired_tokens_are_refused_after_the_leeway():
    now = int(time.time())
    v = verifier("ES256")
    assert "expired" in rejected(v, signed("ES256", claims(exp=now - LEEWAY_SECONDS - 60)))
    v.verify(signed("ES256", claims(exp=now - LEEWAY_SECONDS + 20)))  # within the leeway


def test_exp_beyond_the_maximum_lifetime_is_refused():
    now = int(time.time())
    v = verifier("ES256", max_token_seconds=3600)
    assert "longer than 3600" in rejected(v, signed("ES256", claims(exp=now + 3600 + LEEWAY_SECONDS + 60)))
    v.verify(signed("ES256", claims(exp=now + 3600 - 60)))


@pytest.mark.parametrize("exp", ["tomorrow", True, [1]])
def test_exp_must_be_a_number(exp):
    rejected(verifier("ES256"), signed("ES256", claims(exp=exp)))


@pytest.mark.parametrize("claim", ["nbf", "iat"])
def test_not_yet_valid_tokens_are_refused_after_the_leeway(claim):
    now = int(time.time())
    v = verifier("ES256")
    assert "not valid yet" in rejected(v, signed("ES256", claims(**{claim: now + LEEWAY_SECONDS + 60})))
    v.verify(signed("ES256", claims(**{claim: now + LEEWAY_SECONDS - 20})))


# --- audience and issuer ------------------------------------------------------------------------------------


def test_aud_must_contain_the_audience():
    v = verifier("ES256")
    assert "aud" in rejected(v, signed("ES256", claims(aud=None)))
    assert "aud" in rejected(v, signed("ES256", claims(aud="another-service")))
    assert "aud" in rejected(v, signed("ES256", claims(aud=["a", "b"])))
    v.verify(signed("ES256", claims(aud=["another-service", AUDIENCE])))


def test_iss_must_be_on_the_allowlist_when_one_is_set():
    v = verifier("ES256", issuers=("https://idp.example", "https://idp2.example"))
    assert "iss" in rejected(v, signed("ES256", claims()))
    assert "iss" in rejected(v, signed("ES256", claims(iss="https://evil.example")))
    v.verify(signed("ES256", claims(iss="https://idp2.example")))
    verifier("ES256").verify(signed("ES256", claims(iss="https://anyone.example")))  # no allowlist: any


# --- scope claims -------------------------------------------------------------------------------------------


def test_content_ids_match_exactly_and_star_is_no_wildcard():
    v = verifier("ES256")
    assert v.verify(signed("ES256", claims(content_ids="channel-1"))).covers_content("channel-1")
    star = v.verify(signed("ES256", claims(content_ids=["*"])))
    assert not star.covers_content("channel-1") and not star.covers_content("")
    assert not v.verify(signed("ES256", claims(content_ids=["Channel-1", "channel-"]))).covers_content("channel-1")
    assert not v.verify(signed("ES256", claims(content_ids=None))).covers_content("channel-1")


def test_kids_restrict_and_must_be_uuids():
    v = verifier("ES256")
    got = v.verify(signed("ES256", claims(kids=[str(KID_1), KID_2.hex.upper()])))
    assert got.covers_kid(KID_1) and got.covers_kid(KID_2) and not got.covers_kid(uuid.uuid4())
    assert not v.verify(signed("ES256", claims(kids=[]))).covers_kid(KID_1)


@pytest.mark.parametrize(
    "bad",
    [
        {"content_ids": 7},
        {"content_ids": ["a", 1]},
        {"kids": str(KID_1)},
        {"kids": ["not-a-uuid"]},
        {"delivery": "widevine"},
        {"delivery": []},
        {"delivery": ["aes128", 3]},
    ],
)
def test_malformed_scope_claims_make_the_token_invalid(bad):
    rejected(verifier("ES256"), signed("ES256", claims(**bad)))


def test_delivery_restricts_the_endpoint():
    v = verifier("ES256")
    one = v.verify(signed("ES256", claims(delivery="clearkey")))
    assert one.covers_endpoint("clearkey") and not one.covers_endpoint("aes128")
    both = v.verify(signed("ES256", claims(delivery=["clearkey", "aes128"])))
    assert both.covers_endpoint("aes128") and both.covers_endpoint("clearkey")


# --- trusted keys -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("jwk", "problem"),
    [
        ({"kty": "oct", "k": b64url(HMAC_SECRET)}, "symmetric"),
        ("private", "private"),
        ({"kty": "EC", "crv": "P-384", "x": "AA", "y": "AA"}, "only ES256"),
        ("rsa1024", "2048"),
        ("use-enc", "use"),
    ],
)
def test_unusable_trusted_keys_fail_at_start_up(jwk, problem):
    if jwk == "private":
        jwk = private_jwk("ES256")
    elif jwk == "rsa1024":
        from cryptography.hazmat.primitives.asymmetric import rsa
        from jwt.algorithms import RSAAlgorithm

        key = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()
        jwk = RSAAlgorithm.to_jwk(key, as_dict=True)
    elif jwk == "use-enc":
        jwk = public_jwk(private_jwk("ES256")) | {"use": "enc"}
    with pytest.raises(ConfigurationError, match=problem):
        keys_from_jwks({"keys": [jwk]}, source="KEY_DELIVERY_JWKS")


def test_a_fetched_jwks_skips_unusable_keys():
    good = public_jwk(private_jwk("ES256"))
    keys = keys_from_jwks({"keys": [{"kty": "oct", "k": "AA"}, good]}, source="url", strict=False)
    assert [key.kid for key in keys] == [good["kid"]]


def test_hs256_secret_must_be_long_enough():
    with pytest.raises(ConfigurationError, match="32"):
        hmac_key(b"short")
    with pytest.raises(ConfigurationError):
        LoadedKey(lambda: b"short").trusted()


class FakeFetch:
    def __init__(self, body: str | None):
        self.body, self.calls = body, 0

    def __call__(self, url: str) -> bytes:
        self.calls += 1
        if self.body is None:
            raise OSError("down")
        return self.body.encode()


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_jwks_url_is_cached_and_refetched_for_an_unknown_kid_at_most_once_a_minute():
    fetch, clock = FakeFetch(trust_jwks("ES256")), Clock()
    keys = JwksUrlKeys("https://idp.example/jwks", ttl=300, fetch=fetch, clock=clock)
    v = TokenVerifier(keys, audience=AUDIENCE)
    v.verify(token())
    v.verify(token())
    assert fetch.calls == 1
    rejected(v, token("RS256"))  # unknown kid: one refetch, still unknown
    rejected(v, token("RS256"))
    assert fetch.calls == 1  # (the first fetch was just now: no refetch within the minute)
    clock.now += 61
    fetch.body = trust_jwks("ES256", "RS256")  # the issuer published a new key
    v.verify(token("RS256"))
    assert fetch.calls == 2
    clock.now += 300
    v.verify(token())
    assert fetch.calls == 3  # stale after the ttl


def test_jwks_url_failure_keeps_the_last_good_set_and_without_one_is_503():
    fetch, clock = FakeFetch(trust_jwks("ES256")), Clock()
    v = TokenVerifier(JwksUrlKeys("https://idp.example/jwks", ttl=10, fetch=fetch, clock=clock), audience=AUDIENCE)
    v.verify(token())
    fetch.body = None
    clock.now += 100
    v.verify(token())  # the refresh failed: the cached set still verifies
    down = TokenVerifier(
        JwksUrlKeys("https://idp.example/jwks", fetch=FakeFetch(None), clock=Clock()), audience=AUDIENCE
    )
    with pytest.raises(BackendUnavailable):
        down.verify(token())


def test_the_token_text_is_in_no_refusal():
    v = verifier("ES256")
    for text in (token(ttl=-600), unsigned({"alg": "none"}, claims())):
        message = rejected(v, text)
        assert text not in message and text.split(".")[1] not in message
