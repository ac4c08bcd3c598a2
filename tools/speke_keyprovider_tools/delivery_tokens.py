"""Entitlement tokens for the key delivery endpoints, from the workstation side: the local ES256 signing
key ``make run`` trusts, public JWKS from private keys, and minting (``speke-keyprovider token``).

    from speke_keyprovider_tools.delivery_tokens import local_signing_key, mint_token
    token = mint_token(local_signing_key(Path(".local-state")), content_ids=["channel-1"], ttl=600)

The claims follow docs/key-delivery.md: ``aud`` (default ``speke-keyprovider``), ``exp`` = now + ttl,
``iat``, ``nbf``, ``jti``, ``content_ids``, and optionally ``kids``, ``delivery``, ``iss``, ``sub``.
"""

from __future__ import annotations

import json
import os
import secrets
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

LOCAL_KEY_FILE = "delivery-signing-key.jwk.json"
DEFAULT_AUDIENCE = "speke-keyprovider"
_PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")
_ALG_BY_KTY = {("EC", "P-256"): "ES256", ("RSA", None): "RS256", ("OKP", "Ed25519"): "EdDSA"}


def generate_es256_jwk() -> dict[str, Any]:
    """A new private P-256 JWK with ``kid``, ``alg`` ES256 and ``use`` sig."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from jwt.algorithms import ECAlgorithm

    jwk: dict[str, Any] = ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256R1()), as_dict=True)
    jwk.update({"kid": "local-" + secrets.token_hex(6), "alg": "ES256", "use": "sig"})
    return jwk


def local_signing_key(state_dir: Path) -> dict[str, Any]:
    """The private JWK ``make run`` trusts, created in ``state_dir`` on first use (mode 0600)."""
    path = Path(state_dir) / LOCAL_KEY_FILE
    if not path.exists():
        Path(state_dir).mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it first
        else:
            with os.fdopen(fd, "w") as handle:
                json.dump(generate_es256_jwk(), handle)
    return load_private_jwk(path)


def load_private_jwk(path: Path, kid: str | None = None) -> dict[str, Any]:
    """A private JWK from a file holding one JWK or a JWKS (the first private key, or the one ``kid`` names)."""
    value = json.loads(Path(path).read_text())
    candidates = value.get("keys", []) if isinstance(value, dict) and "keys" in value else [value]
    for jwk in candidates:
        if isinstance(jwk, dict) and "d" in jwk and (kid is None or jwk.get("kid") == kid):
            return jwk
    raise ValueError(f"{path} holds no private JWK" + (f" with kid {kid}" if kid else ""))


def public_jwk(jwk: Mapping[str, Any]) -> dict[str, Any]:
    public = {k: v for k, v in jwk.items() if k not in _PRIVATE_MEMBERS}
    public.setdefault("alg", algorithm_of(jwk))
    public.setdefault("use", "sig")
    return public


def public_jwks(jwks: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    return {"keys": [public_jwk(jwk) for jwk in jwks]}


def merge_jwks(*sets: Mapping[str, Any] | None) -> dict[str, Any]:
    return {"keys": [key for jwks in sets if jwks for key in jwks.get("keys", [])]}


def algorithm_of(jwk: Mapping[str, Any]) -> str:
    kty = str(jwk.get("kty"))
    crv = None if kty == "RSA" else jwk.get("crv")
    alg = jwk.get("alg") or _ALG_BY_KTY.get((kty, None if crv is None else str(crv)))
    if alg is None:
        raise ValueError(f"no ES256/RS256/EdDSA algorithm for kty {kty!r}")
    return str(alg)


def mint_token(
    jwk: Mapping[str, Any] | None,
    *,
    content_ids: Sequence[str] | str,
    kids: Sequence[str | uuid.UUID] | None = None,
    delivery: Sequence[str] | str | None = None,
    ttl: int = 3600,
    audience: str | Sequence[str] = DEFAULT_AUDIENCE,
    issuer: str | None = None,
    subject: str | None = None,
    hmac_secret: bytes | None = None,
    now: float | None = None,
    extra: Mapping[str, Any] | None = None,
    headers: Mapping[str, Any] | None = None,
) -> str:
    """A signed token: with ``jwk`` (a private JWK, its own algorithm) or, for HS256, ``hmac_secret``."""
    import jwt

    issued = int(time.time() if now is None else now)
    claims: dict[str, Any] = {
        "aud": audience if isinstance(audience, str) else list(audience),
        "iat": issued,
        "nbf": issued,
        "exp": issued + int(ttl),
        "jti": str(uuid.uuid4()),
        "content_ids": [content_ids] if isinstance(content_ids, str) else list(content_ids),
    }
    if kids is not None:
        claims["kids"] = [str(uuid.UUID(str(kid))) for kid in kids]
    if delivery is not None:
        claims["delivery"] = delivery if isinstance(delivery, str) else list(delivery)
    if issuer is not None:
        claims["iss"] = issuer
    if subject is not None:
        claims["sub"] = subject
    claims.update(extra or {})
    if hmac_secret is not None:
        return jwt.encode(claims, hmac_secret, algorithm="HS256", headers=dict(headers or {}))
    if jwk is None:
        raise ValueError("a private JWK or an HS256 secret is needed")
    algorithm = algorithm_of(jwk)
    key = jwt.PyJWK(dict(jwk), algorithm=algorithm)
    header = {"kid": jwk["kid"]} if jwk.get("kid") else {}
    header.update(headers or {})
    return jwt.encode(claims, key.key, algorithm=algorithm, headers=header)
