"""Keys and tokens for the key delivery tests: private JWKs of every accepted type, trust sets, and tokens,
well-formed or crafted to break one rule each (``forge``)."""

from __future__ import annotations

import base64
import functools
import json
import time
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm
from speke_keyprovider.delivery.tokens import StaticKeys, TokenVerifier, hmac_key, keys_from_jwks
from speke_keyprovider_tools.delivery_tokens import mint_token, public_jwks

AUDIENCE = "speke-keyprovider"
HMAC_SECRET = b"hs256-token-secret-for-tests-0123456789"
KID_1 = uuid.UUID("0f083e4e-b831-4a3d-917e-ce78076e54aa")
KID_2 = uuid.UUID("041fdd3a-7f5e-4848-a7cb-65e97758e9a0")
KID_3 = uuid.UUID("9b2a6c1e-3d4f-4a5b-8c7d-0e1f2a3b4c5d")


@functools.cache
def private_jwk(alg: str, kid: str | None = None) -> dict[str, Any]:
    """A private JWK for ``alg`` (one per (alg, kid) for the session)."""
    if alg == "ES256":
        jwk = ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256R1()), as_dict=True)
    elif alg == "RS256":
        jwk = RSAAlgorithm.to_jwk(rsa.generate_private_key(public_exponent=65537, key_size=2048), as_dict=True)
    elif alg == "EdDSA":
        jwk = OKPAlgorithm.to_jwk(ed25519.Ed25519PrivateKey.generate(), as_dict=True)
    else:
        raise ValueError(alg)
    jwk.update({"kid": kid or f"test-{alg.lower()}", "alg": alg})
    return jwk


def private_key_object(jwk: dict[str, Any]) -> Any:
    return jwt.PyJWK(jwk, algorithm=jwk["alg"]).key


def public_pem(jwk: dict[str, Any]) -> bytes:
    return (
        private_key_object(jwk)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def trust_jwks(*algs: str) -> str:
    return json.dumps(public_jwks([private_jwk(alg) for alg in algs]))


def verifier(*algs: str, hmac: bool = False, issuers=(), max_token_seconds: int = 86400) -> TokenVerifier:
    keys = list(keys_from_jwks(trust_jwks(*algs), source="test")) if algs else []
    if hmac:
        keys.append(hmac_key(HMAC_SECRET))
    return TokenVerifier(StaticKeys(keys), audience=AUDIENCE, issuers=issuers, max_token_seconds=max_token_seconds)


def token(alg: str = "ES256", *, content_ids=("channel-1",), **kwargs: Any) -> str:
    """A valid token signed by the test key of ``alg`` (``HS256``: the test secret)."""
    if alg == "HS256":
        return mint_token(None, content_ids=list(content_ids), hmac_secret=HMAC_SECRET, **kwargs)
    return mint_token(private_jwk(alg), content_ids=list(content_ids), **kwargs)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {"aud": AUDIENCE, "iat": now, "nbf": now, "exp": now + 600, "jti": str(uuid.uuid4())}
    base["content_ids"] = ["channel-1"]
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def unsigned(header: dict[str, Any], payload: dict[str, Any], signature: bytes = b"") -> str:
    """A JWS assembled by hand (``alg: none`` and other forgeries PyJWT would not make)."""
    parts = [json.dumps(header).encode(), json.dumps(payload).encode()]
    return ".".join([*(b64url(p) for p in parts), b64url(signature)])


def hmac_signed(secret: bytes, payload: dict[str, Any], header: dict[str, Any] | None = None) -> str:
    """HS256 over ``payload`` with any bytes as the secret (the algorithm-confusion attack)."""
    import hashlib
    import hmac as hmac_module

    head = {"alg": "HS256", "typ": "JWT", **(header or {})}
    signing_input = f"{b64url(json.dumps(head).encode())}.{b64url(json.dumps(payload).encode())}".encode()
    return signing_input.decode() + "." + b64url(hmac_module.new(secret, signing_input, hashlib.sha256).digest())


def signed(alg: str, payload: dict[str, Any], *, jwk: dict[str, Any] | None = None, header=None) -> str:
    jwk = jwk or private_jwk(alg)
    return jwt.encode(payload, private_key_object(jwk), algorithm=alg, headers={"kid": jwk["kid"], **(header or {})})
