"""Reading the certificate and private key files the commands are given (PEM or DER)."""

from __future__ import annotations

import base64
import os
import re
from pathlib import Path
from typing import Any

from ._output import CliError


def read_cert_der(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror}") from None
    if b"-----BEGIN" in raw:
        match = re.search(rb"-----BEGIN CERTIFICATE-----(.+?)-----END CERTIFICATE-----", raw, re.S)
        if match is None:
            raise CliError(f"{path} holds no PEM CERTIFICATE block")
        try:
            return base64.b64decode(b"".join(match.group(1).split()), validate=True)
        except ValueError:
            raise CliError(f"{path}: the PEM certificate is not valid base64") from None
    return raw


def read_private_key(path: Path) -> Any:
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import load_der_private_key, load_pem_private_key

    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror}") from None
    password = os.environ.get("SPEKE_KEY_PASSWORD")
    try:
        loader = load_pem_private_key if b"-----BEGIN" in raw else load_der_private_key
        key = loader(raw, password=password.encode() if password else None)
    except (ValueError, TypeError) as exc:
        raise CliError(
            f"{path} is not a usable private key ({type(exc).__name__}); "
            "an encrypted key takes its password from SPEKE_KEY_PASSWORD"
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CliError(f"{path} is not an RSA private key")
    return key
