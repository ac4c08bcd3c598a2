"""``speke-keyprovider cert check FILE`` (vet a delivery certificate as the provider does) and
``cert new`` (a self-signed test certificate and key)."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
from pathlib import Path
from typing import Any

from ._files import read_cert_der
from ._output import EXIT_FAIL, EXIT_OK, CliError, Out, add_common_flags, emit_json

CERT_EXAMPLES = """\
examples:
  speke-keyprovider cert check delivery.cert.pem
  speke-keyprovider cert check mediapackage.der --allowlist 3f2a...,9bc1... --json
  speke-keyprovider cert new --out-dir ./certs --cn www.example.com
"""


def register(sub: Any) -> None:
    cert = sub.add_parser(
        "cert",
        help="vet or make delivery certificates",
        epilog=CERT_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cert_sub = cert.add_subparsers(dest="cert_command", metavar="ACTION", required=True)
    p = cert_sub.add_parser(
        "check",
        help="vet a certificate exactly as the provider does",
        description="Vet a delivery certificate with the provider's own rules (X.509 DER, "
        "RSA >= 2048 bits, SHA-256 or better signature, validity, allowlist) and "
        "print the SHA-256 fingerprint to put in TrustedCertSha256.",
        epilog=CERT_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("file", type=Path, help="certificate, PEM or DER")
    p.add_argument("--allowlist", help="comma-separated SHA-256 fingerprints (default: $TRUSTED_CERT_SHA256)")
    p.add_argument("--at", help="check validity at this ISO 8601 time instead of now")
    add_common_flags(p)
    p.set_defaults(run=cmd_cert_check)
    p = cert_sub.add_parser(
        "new",
        help="make a self-signed RSA-2048/SHA-512 test certificate and key",
        description="Like `openssl req -x509 -newkey rsa:2048 -sha512 -nodes -subj /CN=...`: "
        "writes NAME.cert.pem, NAME.cert.der and NAME.key.pem (mode 0600).",
        epilog=CERT_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--out-dir", type=Path, default=Path("."), help="directory (default: current)")
    p.add_argument("--name", default="delivery", help="file name stem (default: %(default)s)")
    p.add_argument("--cn", default="www.speke-keyprovider-test.example", help="subject CN (default: %(default)s)")
    p.add_argument("--days", type=int, default=365, help="validity in days (default: %(default)s)")
    p.add_argument("--force", action="store_true", help="overwrite existing files")
    add_common_flags(p)
    p.set_defaults(run=cmd_cert_new)


def cmd_cert_check(args: argparse.Namespace, out: Out, err: Out) -> int:
    import warnings

    from speke_keyprovider.errors import ConfigurationError, SpekeError
    from speke_keyprovider.settings import parse_fingerprints
    from speke_keyprovider.trust import certificate_fingerprint, check_certificate

    der = read_cert_der(args.file)
    allowlist_text = args.allowlist if args.allowlist is not None else os.environ.get("TRUSTED_CERT_SHA256", "")
    try:  # the function's own parser of TRUSTED_CERT_SHA256
        allowlist = parse_fingerprints(allowlist_text, name="--allowlist" if args.allowlist is not None else None)
    except ConfigurationError as exc:
        raise CliError(str(exc)) from None
    now = None
    if args.at:
        try:
            now = dt.datetime.fromisoformat(args.at.replace("Z", "+00:00"))
        except ValueError:
            raise CliError("--at must be an ISO 8601 time, e.g. 2030-01-01T00:00:00Z") from None
        if now.tzinfo is None:
            now = now.replace(tzinfo=dt.UTC)
    fingerprint = certificate_fingerprint(der)
    result: dict[str, Any] = {"file": str(args.file), "sha256": fingerprint}
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            cert = check_certificate(der, now=now, allowlist=allowlist)
    except SpekeError as exc:
        result |= {"ok": False, "reason": exc.public_message}
        if args.json:
            emit_json(out.stream, result)
        else:
            out.line(f"{out.red('REJECTED')} {args.file}: {exc.public_message}")
            out.line(f"SHA-256 fingerprint: {fingerprint}")
        return EXIT_FAIL
    notes = sorted({str(w.message).split(".")[0] for w in caught})
    result |= {
        "ok": True,
        "subject": cert.subject,
        "key": f"RSA {cert.key_bits}",
        "signature_hash": cert.signature_hash,
        "not_before": cert.not_before.isoformat(),
        "not_after": cert.not_after.isoformat(),
        "allowlisted": bool(allowlist) or None,
        "notes": notes,
    }
    if args.json:
        emit_json(out.stream, result)
        return EXIT_OK
    out.line(f"{out.green('OK')} {args.file}: accepted as a SPEKE delivery certificate")
    out.table(
        ["FIELD", "VALUE"],
        [
            ["subject", cert.subject],
            ["key", f"RSA {cert.key_bits} bits"],
            ["signature hash", str(cert.signature_hash)],
            ["valid", f"{cert.not_before:%Y-%m-%d %H:%M:%SZ} .. {cert.not_after:%Y-%m-%d %H:%M:%SZ}"],
            ["allowlist", "registered" if allowlist else "not configured"],
        ],
    )
    for note in notes:
        out.line(f"{out.yellow('note:')} {note}")
    out.line(f"SHA-256 fingerprint (TrustedCertSha256): {out.bold(fingerprint)}")
    return EXIT_OK


def cmd_cert_new(args: argparse.Namespace, out: Out, err: Out) -> int:
    from ..certificates import self_signed

    if not 1 <= args.days <= 3650:
        raise CliError("--days must be between 1 and 3650")
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", args.name):
        raise CliError("--name must be a plain file name stem")
    paths = {kind: args.out_dir / f"{args.name}.{kind}" for kind in ("cert.pem", "cert.der", "key.pem")}
    existing = [str(p) for p in paths.values() if p.exists()]
    if existing and not args.force:
        raise CliError(f"refusing to overwrite {', '.join(existing)} (use --force)")
    made = self_signed(cn=args.cn, key="rsa2048", digest="sha512", days=args.days, key_encipherment_only=True)
    cert = made.certificate
    try:
        args.out_dir.mkdir(parents=True, exist_ok=True)
        paths["cert.pem"].write_bytes(made.pem)
        paths["cert.der"].write_bytes(made.der)
        key_path = paths["key.pem"]
        if key_path.exists():
            key_path.unlink()
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(made.key_pem)
    except OSError as exc:
        raise CliError(f"cannot write into {args.out_dir}: {exc.strerror}") from None
    fingerprint = made.sha256
    result = {
        "certificate_pem": str(paths["cert.pem"]),
        "certificate_der": str(paths["cert.der"]),
        "private_key": str(paths["key.pem"]),
        "subject": f"CN={args.cn}",
        "sha256": fingerprint,
        "not_after": cert.not_valid_after_utc.isoformat(),
    }
    if args.json:
        emit_json(out.stream, result)
    else:
        out.line(
            f"{out.green('created')} self-signed RSA-2048/SHA-512 certificate CN={args.cn}, "
            f"valid {args.days} days (testing only)"
        )
        out.table(
            ["FILE", "PATH"],
            [
                ["certificate (PEM)", result["certificate_pem"]],
                ["certificate (DER)", result["certificate_der"]],
                ["private key (0600)", result["private_key"]],
            ],
        )
        out.line(f"SHA-256 fingerprint (TrustedCertSha256): {out.bold(fingerprint)}")
    return EXIT_OK
