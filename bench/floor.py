"""The floor of a two-key answer, encrypted and clear: the work no implementation in CPython can skip, timed alone.

    python bench/floor.py [--rounds 20]

On the bench's 2-key requests (Widevine + PlayReady + FairPlay, cbcs; encrypted: one recipient): one expat pass
over the request with a Python callback per element (the least any reader of the document does); per key the
KDF (one HMAC-SHA256); encrypted, also a fresh document and MAC key, two RSA-OAEP encryptions to the recipient's
certificate (parsed once, as the provider caches it), per key AES-256-CBC of the CEK under a fresh IV and its
HMAC-SHA512; base64 of what is written, and writing an answer of the real answer's size (18.5 / 15.2 KB) as one
join + encode. No request rule, no DRM signalling, no log line or metric: a lower bound, not a design. It says
what a ratio against the reference server can be at most on this machine.
"""

from __future__ import annotations

import argparse
import binascii
import hmac
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    for name in ("encrypted-2", "clear-2"):
        _time(name, args.rounds)


def _time(name: str, rounds: int) -> None:
    import pyexpat

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    sc = next(s for s in common.scenarios() if s.name == name)
    request = common.scenario_request(sc, "floor").xml
    public_key = x509.load_der_x509_certificate(common.CERT_DER.read_bytes()).public_key()
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None)  # noqa: S303  # nosec B303 - xmlenc rsa-oaep-mgf1p
    master = common.MASTER_KEY.encode()
    kids = [uuid.uuid4().bytes for _ in range(sc.keys)]
    answer_text = "x" * (18_000 if sc.encrypted else 15_000)  # the rest of the answer (18.5 / 15.2 KB), written

    def floor() -> bytes:
        elements = []
        parser = pyexpat.ParserCreate(namespace_separator="}")
        parser.StartElementHandler = lambda name, attrs: elements.append(name)
        parser.Parse(request, True)
        if not sc.encrypted:
            parts = [hmac.digest(master, b"floor" + kid, "sha256")[:16] for kid in kids]
            return (answer_text + "".join(binascii.b2a_base64(p, newline=False).decode() for p in parts)).encode()
        document_key, mac_key = os.urandom(32), os.urandom(64)
        parts = [public_key.encrypt(document_key, oaep), public_key.encrypt(mac_key, oaep)]  # type: ignore[union-attr]
        for kid in kids:
            cek = hmac.digest(master, b"floor" + kid, "sha256")[:16]
            iv = os.urandom(16)
            encryptor = Cipher(algorithms.AES(document_key), modes.CBC(iv)).encryptor()
            sealed = iv + encryptor.update(cek + b"\x10" * 16) + encryptor.finalize()
            parts += [sealed, hmac.digest(mac_key, sealed, "sha512")]
        return (answer_text + "".join(binascii.b2a_base64(p, newline=False).decode() for p in parts)).encode()

    for _ in range(300):
        floor()
    per_call = []
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(300):
            floor()
        per_call.append((time.perf_counter() - started) / 300 * 1000)
    print(
        f"floor of the {sc.name} answer ({len(request)} B request): "
        f"median {statistics.median(per_call):.3f} ms, min {min(per_call):.3f} ms over {rounds} rounds of 300"
    )


if __name__ == "__main__":
    main()
