"""``speke-keyprovider``: the operator's command line (issue #5).

    request URL      send a MediaPackage-v2-style SPEKE v2 request (SigV4) and check the answer
    derive           the content key of (contentId, kid) from a key home, for licence servers
    cert check FILE  vet a delivery certificate exactly as the provider does; print its fingerprint
    cert new         make a self-signed RSA-2048/SHA-512 test certificate and key
    event FILE       wrap a CPIX request into an API Gateway REST proxy event (sam local invoke -e)
    token            mint an entitlement token for the key delivery endpoints (token_command.py)

Exit codes: 0 success, 1 the answer / certificate breaks a rule, 2 usage error, 3 could not reach
the provider or the key home (network, credentials, AWS). Heavy imports happen inside commands so
``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import itertools
import json
import os
import re
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

from . import __version__

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_UNAVAILABLE = 0, 1, 2, 3
DRM_NAMES = ("widevine", "playready", "fairplay", "clearkey", "aes128")


class CliError(Exception):
    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


# --- terminal output ------------------------------------------------------------------------------


class Out:
    """Writes to a stream; colour only on a TTY, never with NO_COLOR or --no-color."""

    def __init__(self, stream: IO[str], *, colour: bool | None = None) -> None:
        self.stream = stream
        if colour is None:
            colour = (
                hasattr(stream, "isatty")
                and stream.isatty()
                and not os.environ.get("NO_COLOR")
                and os.environ.get("TERM") != "dumb"
            )
        self.colour = bool(colour)

    def paint(self, text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.colour else text

    def green(self, text: str) -> str:
        return self.paint(text, "32")

    def red(self, text: str) -> str:
        return self.paint(text, "31")

    def yellow(self, text: str) -> str:
        return self.paint(text, "33")

    def bold(self, text: str) -> str:
        return self.paint(text, "1")

    def dim(self, text: str) -> str:
        return self.paint(text, "2")

    def line(self, text: str = "") -> None:
        print(text, file=self.stream)

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
        self.line(self.bold("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()))
        for row in rows:
            self.line("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def _emit_json(stream: IO[str], payload: Any) -> None:
    json.dump(payload, stream, indent=2, sort_keys=False, default=str)
    stream.write("\n")


# --- argument parsing -----------------------------------------------------------------------------

REQUEST_EXAMPLES = """\
examples:
  # against `make run` (it prints the credentials it accepts)
  speke-keyprovider request http://127.0.0.1:3000/copyProtection \\
      --access-key AKIALOCAL... --secret-key ... --region us-east-1
  # a deployed endpoint, credentials from the standard AWS chain, encrypted key delivery
  speke-keyprovider request https://abc123.execute-api.eu-west-1.amazonaws.com/Prod/copyProtection \\
      --video-preset PRESET_VIDEO_3 --audio-preset PRESET_AUDIO_2 --drm widevine,playready \\
      --scheme cenc --periods 2 --cert delivery.cert.pem --key delivery.key.pem --save ./speke-check
  # every preset pair and DRM combination, one line each
  speke-keyprovider request http://127.0.0.1:3000/copyProtection --matrix ...
"""

DERIVE_EXAMPLES = """\
examples:
  speke-keyprovider derive --content-id channel-1 --kid 0f083e4e-b831-4a3d-917e-ce78076e54aa \\
      --key-source file --master-key-file .local-state/master.key --show-keys
  speke-keyprovider derive --content-id channel-1 --kid K1 --kid K2 \\
      --key-source kms --kms-key-id alias/speke-master --region eu-west-1 --show-keys --json
The key source flags default to the function's environment variables (KEY_SOURCE, MASTER_KEY_FILE,
MASTER_KEY_SECRET_ID, KMS_HMAC_KEY_ID), so the same settings give the same keys.
"""

CERT_EXAMPLES = """\
examples:
  speke-keyprovider cert check delivery.cert.pem
  speke-keyprovider cert check mediapackage.der --allowlist 3f2a...,9bc1... --json
  speke-keyprovider cert new --out-dir ./certs --cn www.example.com
"""

EVENT_EXAMPLES = """\
examples:
  speke-keyprovider event request.xml > events/my-request.json
  sam local invoke KeyProviderFunction -e events/my-request.json
  speke-keyprovider event request.xml --base64 --speke-version 2.1 --out events/v21.json
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="speke-keyprovider",
        description="Operator tools for a SPEKE v2 key provider (AWS Elemental MediaPackage v2).",
        epilog="exit codes: 0 ok, 1 a rule is broken (check failed / certificate rejected), "
        "2 usage error, 3 provider or key home unreachable.\n"
        "Run `speke-keyprovider COMMAND --help` for examples.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--json", action="store_true", help="machine-readable output on stdout")
        p.add_argument("--no-color", action="store_true", help="never colour the output")

    from .client.request_builder import AUDIO_PRESETS, SCHEMES, VIDEO_PRESETS

    p = sub.add_parser(
        "request",
        help="send a MediaPackage-style request and check the answer",
        description="Build a MediaPackage-v2-style SPEKE v2 request, sign it (SigV4, service "
        "execute-api), send it and check the answer against every rule of the "
        "contract. Works against any SPEKE v2 key provider.",
        epilog=REQUEST_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("url", help="the key provider URL, e.g. https://.../copyProtection")
    p.add_argument("--content-id", default="speke-keyprovider-check", help="CPIX@contentId (default: %(default)s)")
    p.add_argument(
        "--video-preset",
        default="PRESET_VIDEO_1",
        choices=VIDEO_PRESETS,
        metavar="PRESET",
        help="PRESET_VIDEO_1..8, SHARED or UNENCRYPTED (default: %(default)s)",
    )
    p.add_argument(
        "--audio-preset",
        default="PRESET_AUDIO_1",
        choices=AUDIO_PRESETS,
        metavar="PRESET",
        help="PRESET_AUDIO_1..3, SHARED or UNENCRYPTED (default: %(default)s)",
    )
    p.add_argument(
        "--drm",
        default="widevine,playready,fairplay",
        help=f"comma-separated: {','.join(DRM_NAMES)} or system ids (default: %(default)s)",
    )
    p.add_argument("--scheme", default="cbcs", choices=SCHEMES, help="commonEncryptionScheme (default: %(default)s)")
    p.add_argument("--periods", type=int, default=1, help="key periods in the request (default: %(default)s)")
    p.add_argument("--cert", type=Path, help="delivery certificate (PEM or DER): ask for encrypted keys")
    p.add_argument("--key", type=Path, help="its private key (PEM), to decrypt and verify the answer")
    p.add_argument("--region", help="SigV4 region (default: from the URL, else the AWS config, else us-east-1)")
    p.add_argument("--profile", help="AWS profile for the credential chain")
    p.add_argument("--access-key", help="explicit access key id (e.g. the one `make run` prints)")
    p.add_argument("--secret-key", help="explicit secret access key")
    p.add_argument("--session-token", help="explicit session token")
    p.add_argument("--timeout", type=float, default=15.0, help="seconds per HTTP request (default: %(default)s)")
    p.add_argument("--show-keys", action="store_true", help="print the content keys themselves")
    p.add_argument("--save", type=Path, metavar="DIR", help="keep the request, the response and the report in DIR")
    p.add_argument(
        "--matrix",
        action="store_true",
        help="run every preset pair and DRM combination (clear and, with --cert, encrypted)",
    )
    common(p)

    p = sub.add_parser(
        "derive",
        help="print the content key of (contentId, kid) from a key home",
        description="Derive content keys exactly as the function does, from any key home, for "
        "registering them with a licence server. Prints nothing secret unless "
        "--show-keys is given.",
        epilog=DERIVE_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--content-id", required=True)
    p.add_argument("--kid", action="append", required=True, help="KID (UUID); repeat or comma-separate for several")
    p.add_argument(
        "--key-source",
        choices=("file", "secretsmanager", "kms"),
        help="key home (default: $KEY_SOURCE, else file)",
    )
    p.add_argument("--master-key-file", help="file key home (default: $MASTER_KEY_FILE)")
    p.add_argument("--secret-id", help="Secrets Manager secret (default: $MASTER_KEY_SECRET_ID)")
    p.add_argument("--kms-key-id", help="KMS HMAC_256 key id/ARN/alias (default: $KMS_HMAC_KEY_ID)")
    p.add_argument("--region", help="AWS region for secretsmanager/kms")
    p.add_argument("--profile", help="AWS profile for secretsmanager/kms")
    p.add_argument("--show-keys", action="store_true", help="required: the output is secret")
    common(p)

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
    common(p)
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
    common(p)

    p = sub.add_parser(
        "event",
        help="wrap a CPIX request into an API Gateway REST proxy event",
        description="Wrap a CPIX request into an API Gateway REST proxy event (as `sam local "
        "generate-event apigateway aws-proxy` shapes it, with an IAM caller) for "
        "`sam local invoke -e`.",
        epilog=EVENT_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("file", type=Path, help="CPIX request document")
    p.add_argument("--out", type=Path, help="write here instead of stdout")
    p.add_argument("--base64", action="store_true", help="base64 body with isBase64Encoded=true (binary media types)")
    p.add_argument("--speke-version", default="2.0", help="X-Speke-Version header (default: %(default)s)")
    p.add_argument("--caller-arn", help="requestContext.identity.userArn (default: a MediaPackage role session)")
    p.add_argument("--no-identity", action="store_true", help="no IAM identity (the function must answer 403)")
    p.add_argument("--stage", default="Prod", help="API stage (default: %(default)s)")
    p.add_argument("--no-color", action="store_true", help=argparse.SUPPRESS)

    from . import token_command

    token_command.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None, *, stdout: IO[str] | None = None, stderr: IO[str] | None = None) -> int:
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return int(exc.code or 0)
    colour = False if getattr(args, "no_color", False) else None
    out, err = Out(stdout, colour=colour), Out(stderr, colour=colour)
    commands: dict[str, Callable[[argparse.Namespace, Out, Out], int]] = {
        "request": cmd_request,
        "derive": cmd_derive,
        "event": cmd_event,
    }
    try:
        if args.command == "token":
            from . import token_command

            return token_command.run(args, stdout, stderr)
        if args.command == "cert":
            return (cmd_cert_check if args.cert_command == "check" else cmd_cert_new)(args, out, err)
        return commands[args.command](args, out, err)
    except CliError as exc:
        err.line(f"{err.red('error:')} {exc}")
        return exc.code
    except KeyboardInterrupt:
        err.line("interrupted")
        return 130


# --- request --------------------------------------------------------------------------------------


def _read_cert_der(path: Path) -> bytes:
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


def _read_private_key(path: Path) -> Any:
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


_REGION_IN_URL = re.compile(r"\.execute-api\.([a-z0-9-]+)\.amazonaws\.com", re.I)


def _credentials(args: argparse.Namespace) -> tuple[Any, str]:
    import botocore.session
    from botocore.credentials import Credentials

    session = botocore.session.Session(profile=args.profile) if args.profile else botocore.session.Session()
    region = args.region
    if not region:
        match = _REGION_IN_URL.search(args.url)
        region = match.group(1) if match else None
    if not region:
        try:
            region = session.get_config_variable("region")
        except Exception:  # a broken profile config: fall back to the default region
            region = None
    region = region or "us-east-1"
    if args.access_key or args.secret_key:
        if not (args.access_key and args.secret_key):
            raise CliError("--access-key and --secret-key go together")
        return Credentials(args.access_key, args.secret_key, args.session_token), region
    try:
        creds = session.get_credentials()
    except Exception as exc:  # any credential-chain failure means "no credentials"
        raise CliError(f"AWS credentials could not be loaded ({type(exc).__name__})", EXIT_UNAVAILABLE) from None
    if creds is None:
        raise CliError(
            "no AWS credentials found (credential chain empty); use --profile or --access-key/--secret-key",
            EXIT_UNAVAILABLE,
        )
    return creds.get_frozen_credentials(), region


def send_signed(
    url: str, body: bytes, creds: Any, region: str, *, timeout: float, speke_version: str = "2.0"
) -> tuple[int, dict[str, str], bytes, float]:
    """POST ``body`` signed with SigV4 (execute-api). Returns status, headers, body, seconds."""
    import urllib.error
    import urllib.request

    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    request = AWSRequest(
        method="POST",
        url=url,
        data=body,
        headers={"Content-Type": "application/xml", "X-Speke-Version": speke_version},
    )
    SigV4Auth(creds, "execute-api", region).add_auth(request)
    prepared = request.prepare()
    http_request = urllib.request.Request(  # noqa: S310 - http(s) only, checked in cmd_request
        prepared.url, data=body, method="POST", headers=dict(prepared.headers.items())
    )
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(http_request, timeout=timeout) as response:  # noqa: S310  # nosec B310 - http(s) only, checked in cmd_request
            return (
                response.status,
                dict(response.headers.items()),
                response.read(),
                time.perf_counter() - started,
            )
    except urllib.error.HTTPError as exc:
        payload = exc.read() if exc.fp is not None else b""
        return (
            exc.code,
            dict(exc.headers.items()) if exc.headers else {},
            payload,
            time.perf_counter() - started,
        )
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise CliError(f"cannot reach {url}: {reason}", EXIT_UNAVAILABLE) from None


def _request_cases(args: argparse.Namespace) -> list[dict[str, Any]]:
    from .client.request_builder import AUDIO_PRESETS, VIDEO_PRESETS, resolve_system

    drm = [d.strip() for d in args.drm.split(",") if d.strip()]
    for name in drm:
        try:
            resolve_system(name)
        except ValueError as exc:
            raise CliError(str(exc)) from None
    if not args.matrix:
        return [{"video": args.video_preset, "audio": args.audio_preset, "drm": drm, "scheme": args.scheme}]
    cases = []
    pairs = [
        (v, a)
        for v, a in itertools.product(VIDEO_PRESETS, AUDIO_PRESETS)
        if (v == "SHARED") == (a == "SHARED") and not (v == a == "UNENCRYPTED")
    ]
    for scheme in ("cbcs", "cenc"):
        every = [d for d in DRM_NAMES if scheme == "cbcs" or d != "fairplay"]
        for video, audio in pairs:  # every preset pair, every system at once
            cases.append({"video": video, "audio": audio, "drm": every, "scheme": scheme})
        for size in range(1, len(every) + 1):  # every DRM combination, one preset pair
            for combo in itertools.combinations(every, size):
                cases.append(
                    {
                        "video": "PRESET_VIDEO_2",
                        "audio": "PRESET_AUDIO_2",
                        "drm": list(combo),
                        "scheme": scheme,
                    }
                )
    return cases


def cmd_request(args: argparse.Namespace, out: Out, err: Out) -> int:
    from .client.conformance import check_response
    from .client.request_builder import build_request

    if not args.url.startswith(("http://", "https://")):
        raise CliError("URL must start with http:// or https://")
    if not 1 <= args.periods <= 100:
        raise CliError("--periods must be between 1 and 100")
    if args.key and not args.cert:
        raise CliError("--key needs --cert (the certificate to put in the request)")
    cert_der = _read_cert_der(args.cert) if args.cert else None
    private_key = _read_private_key(args.key) if args.key else None
    creds, region = _credentials(args)
    cases = _request_cases(args)
    results = []
    failed = 0
    for number, case in enumerate(cases, start=1):
        try:
            built = build_request(
                content_id=args.content_id,
                video_preset=case["video"],
                audio_preset=case["audio"],
                drm_systems=case["drm"],
                scheme=case["scheme"],
                periods=args.periods,
                certificate_der=cert_der,
            )
        except ValueError as exc:
            raise CliError(str(exc)) from None
        status, headers, body, seconds = send_signed(args.url, built.xml, creds, region, timeout=args.timeout)
        report = check_response(built, status, headers, body, private_key)
        failed += not report.ok
        summary = {
            "video_preset": case["video"],
            "audio_preset": case["audio"],
            "drm": case["drm"],
            "scheme": case["scheme"],
            "periods": args.periods,
            "encrypted": cert_der is not None,
            "content_id": args.content_id,
            "url": args.url,
            "region": region,
            "elapsed_ms": round(seconds * 1000, 1),
            "user_agent": {k.lower(): v for k, v in headers.items()}.get("x-speke-user-agent"),
        }
        if args.save:
            _save(
                args.save / f"{number:03d}" if args.matrix else args.save,
                built.xml,
                status,
                headers,
                body,
                summary | report.to_dict(show_keys=args.show_keys),
            )
        results.append((summary, report))
        if args.matrix and not args.json:
            verdict = out.green("PASS") if report.ok else out.red("FAIL")
            out.line(
                f"{verdict} {case['scheme']} {case['video']}/{case['audio']} {','.join(case['drm'])} "
                f"{out.dim(f'{seconds * 1000:.0f} ms')}"
            )
            for violation in report.violations:
                out.line(f"     {out.red('x')} {violation}")
    if args.json:
        payload = [summary | report.to_dict(show_keys=args.show_keys) for summary, report in results]
        _emit_json(out.stream, payload if args.matrix else payload[0])
    elif args.matrix:
        out.line()
        out.line(
            f"{len(cases)} requests, {len(cases) - failed} passed, {failed} failed: "
            + (out.green("PASS") if not failed else out.red("FAIL"))
        )
    else:
        _print_report(out, *results[0], show_keys=args.show_keys)
    return EXIT_FAIL if failed else EXIT_OK


def _save(
    directory: Path,
    request_xml: bytes,
    status: int,
    headers: dict[str, str],
    body: bytes,
    report: dict[str, Any],
) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "request.xml").write_bytes(request_xml)
        (directory / "response.body").write_bytes(body)
        (directory / "response.json").write_text(json.dumps({"status": status, "headers": headers}, indent=2) + "\n")
        (directory / "report.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    except OSError as exc:
        raise CliError(f"cannot save into {directory}: {exc.strerror}") from None


def _print_report(out: Out, summary: dict[str, Any], report: Any, *, show_keys: bool) -> None:
    out.line(out.bold(f"SPEKE v2 check of {summary['url']}"))
    out.line(
        f"  request: contentId={summary['content_id']} presets={summary['video_preset']}/"
        f"{summary['audio_preset']} drm={','.join(summary['drm'])} scheme={summary['scheme']} "
        f"periods={summary['periods']} keys={'encrypted' if summary['encrypted'] else 'clear'} "
        f"region={summary['region']}"
    )
    out.line(
        f"  answer:  HTTP {report.status} in {summary['elapsed_ms']:.0f} ms"
        + (f", {summary['user_agent']}" if summary["user_agent"] else "")
    )
    out.line()
    if report.keys:
        headers = ["KID", "TRACK TYPE", "PERIOD", "SCHEME", "KEY SHA-256"] + (["KEY (hex)"] if show_keys else [])
        rows = []
        for row in report.keys:
            cells = [
                row.kid,
                row.track_type,
                _short_period(row.period_id),
                row.scheme,
                row.sha256_fingerprint_of_key or "-",
            ]
            if show_keys:
                cells.append(row.key_bytes.hex() if row.key_bytes else "-")
            rows.append(cells)
        out.table(headers, rows)
        out.line()
    if report.signalling:
        out.line(out.bold("Signalling"))
        for system, entries in report.signalling.items():
            for entry in entries:
                out.line(f"  {system:<9} {entry['kid']}  {entry['child']:<36} {_describe(entry)}")
        out.line()
    for warning in report.warnings:
        out.line(f"{out.yellow('warning:')} {warning}")
    if report.violations:
        out.line(out.bold(out.red(f"{len(report.violations)} violation(s)")))
        for violation in report.violations:
            out.line(f"  {out.red('x')} {violation}")
        out.line()
        out.line(f"Result: {out.red('FAIL')}")
    else:
        out.line(f"Result: {out.green('PASS')} (every rule of the SPEKE v2 contract holds)")


def _short_period(period_id: str | None) -> str:
    if not period_id:
        return "-"
    return period_id if len(period_id) <= 20 else period_id[:19] + "…"


def _describe(entry: dict[str, Any]) -> str:
    parts = []
    if "pssh_version" in entry:
        parts.append(f"pssh v{entry['pssh_version']}")
        if entry.get("kids"):
            parts.append(f"kids={len(entry['kids'])}")
    if "key_ids" in entry:
        parts.append(f"key_ids={len(entry['key_ids'])}")
    if entry.get("protection_scheme"):
        parts.append(f"protection_scheme={entry['protection_scheme']}")
    if entry.get("provider"):
        parts.append(f"provider={entry['provider']}")
    if "wrmheader_version" in entry:
        parts.append(f"WRMHEADER {entry['wrmheader_version']} ALGID={','.join(entry['algid'])}")
        if entry.get("la_url"):
            parts.append(f"LA_URL={entry['la_url']}")
    if "elements" in entry:
        parts.append(" + ".join(e.rsplit("}", 1)[-1] for e in entry["elements"]))
    if "line" in entry:
        line = entry["line"]
        parts.append(line if len(line) <= 110 else line[:107] + "...")
    return "  ".join(parts)


# --- derive ---------------------------------------------------------------------------------------


def cmd_derive(args: argparse.Namespace, out: Out, err: Out) -> int:
    from speke_keyprovider.errors import ConfigurationError, SpekeError
    from speke_keyprovider.key_sources import FileMasterKey
    from speke_keyprovider.settings import Settings

    kids = []
    for item in args.kid:
        for text in item.split(","):
            if text.strip():
                try:
                    kids.append(uuid.UUID(text.strip()))
                except ValueError:
                    raise CliError(f"--kid {text.strip()!r} is not a UUID") from None
    if not args.show_keys:
        raise CliError(
            "refusing to print content keys without --show-keys (they are secrets: mind your terminal history and logs)"
        )
    env = dict(os.environ)
    env["KEY_SOURCE"] = args.key_source or env.get("KEY_SOURCE", "file")
    for flag, name in (
        ("master_key_file", "MASTER_KEY_FILE"),
        ("secret_id", "MASTER_KEY_SECRET_ID"),
        ("kms_key_id", "KMS_HMAC_KEY_ID"),
    ):
        if getattr(args, flag):
            env[name] = getattr(args, flag)
    try:
        settings = Settings.from_env(env)
    except ConfigurationError as exc:
        flags = {
            "MASTER_KEY_FILE": "--master-key-file",
            "MASTER_KEY_SECRET_ID": "--secret-id",
            "KMS_HMAC_KEY_ID": "--kms-key-id",
        }
        message = str(exc)
        for name, flag in flags.items():
            message = message.replace(f"{name} is required", f"{flag} (or {name}) is required")
        raise CliError(message) from None
    try:
        if settings.key_source == "file":
            assert settings.master_key_file is not None
            source: Any = FileMasterKey(settings.master_key_file)
        else:
            source = _aws_key_source(settings, args)
        keys = source.content_keys(args.content_id, kids)
    except ConfigurationError as exc:
        raise CliError(str(exc)) from None
    except SpekeError as exc:  # BackendUnavailable and friends: never the key, never the raw AWS error
        raise CliError(f"key home {settings.key_source} unavailable: {exc}", EXIT_UNAVAILABLE) from None
    except ValueError as exc:
        raise CliError(str(exc)) from None
    rows = [
        {
            "content_id": args.content_id,
            "kid": str(kid),
            "key_source": settings.key_source,
            "hex": keys[kid].hex(),
            "base64": base64.b64encode(keys[kid]).decode(),
        }
        for kid in kids
    ]
    if args.json:
        _emit_json(out.stream, rows)
    else:
        out.table(
            ["CONTENT ID", "KID", "CEK (hex)", "CEK (base64)"],
            [[r["content_id"], r["kid"], r["hex"], r["base64"]] for r in rows],
        )
    return EXIT_OK


def _aws_key_source(settings: Any, args: argparse.Namespace) -> Any:
    import boto3
    from botocore.exceptions import BotoCoreError
    from speke_keyprovider import aws_key_sources

    try:
        session = boto3.session.Session(profile_name=args.profile, region_name=args.region)
        if settings.key_source == "kms":
            client = session.client("kms", config=aws_key_sources.CLIENT_CONFIG)
            return aws_key_sources.KmsDerivedKeys(settings.kms_hmac_key_id, client=client)
        client = session.client("secretsmanager", config=aws_key_sources.CLIENT_CONFIG)
        return aws_key_sources.SecretsManagerMasterKey(settings.master_key_secret_id, client=client)
    except BotoCoreError as exc:
        raise CliError(f"AWS set-up failed: {exc}", EXIT_UNAVAILABLE) from None


# --- cert -----------------------------------------------------------------------------------------


def cmd_cert_check(args: argparse.Namespace, out: Out, err: Out) -> int:
    import warnings

    from speke_keyprovider.errors import SpekeError
    from speke_keyprovider.trust import certificate_fingerprint, check_certificate

    der = _read_cert_der(args.file)
    allowlist_text = args.allowlist if args.allowlist is not None else os.environ.get("TRUSTED_CERT_SHA256", "")
    allowlist = frozenset(item.strip().replace(":", "").lower() for item in allowlist_text.split(",") if item.strip())
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
            _emit_json(out.stream, result)
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
        _emit_json(out.stream, result)
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
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    if not 1 <= args.days <= 3650:
        raise CliError("--days must be between 1 and 3650")
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", args.name):
        raise CliError("--name must be a plain file name stem")
    paths = {kind: args.out_dir / f"{args.name}.{kind}" for kind in ("cert.pem", "cert.der", "key.pem")}
    existing = [str(p) for p in paths.values() if p.exists()]
    if existing and not args.force:
        raise CliError(f"refusing to overwrite {', '.join(existing)} (use --force)")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, args.cn)])
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=args.days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA512())
    )
    der = cert.public_bytes(serialization.Encoding.DER)
    try:
        args.out_dir.mkdir(parents=True, exist_ok=True)
        paths["cert.pem"].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        paths["cert.der"].write_bytes(der)
        key_path = paths["key.pem"]
        if key_path.exists():
            key_path.unlink()
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
    except OSError as exc:
        raise CliError(f"cannot write into {args.out_dir}: {exc.strerror}") from None
    import hashlib

    fingerprint = hashlib.sha256(der).hexdigest()
    result = {
        "certificate_pem": str(paths["cert.pem"]),
        "certificate_der": str(paths["cert.der"]),
        "private_key": str(paths["key.pem"]),
        "subject": f"CN={args.cn}",
        "sha256": fingerprint,
        "not_after": cert.not_valid_after_utc.isoformat(),
    }
    if args.json:
        _emit_json(out.stream, result)
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


# --- event ----------------------------------------------------------------------------------------


def cmd_event(args: argparse.Namespace, out: Out, err: Out) -> int:
    from .apigw_event import DEFAULT_CALLER_ARN, SPEKE_HEADERS, rest_proxy_event

    try:
        body = args.file.read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read {args.file}: {exc.strerror}") from None
    if not body.strip():
        raise CliError(f"{args.file} is empty")
    try:
        from .client._xml import XmlError, parse

        parse(body)
    except XmlError as exc:
        err.line(f"{err.yellow('warning:')} {args.file} is not a usable XML document ({exc}); wrapped anyway")
    headers = dict(SPEKE_HEADERS) | {
        "X-Speke-Version": args.speke_version,
        "Host": "localhost",
        "User-Agent": f"speke-keyprovider-cli/{__version__}",
    }
    event = rest_proxy_event(
        body,
        headers=headers,
        base64_body=True if args.base64 else None,
        caller_arn=None if args.no_identity else (args.caller_arn or DEFAULT_CALLER_ARN),
        stage=args.stage,
    )
    text = json.dumps(event, indent=2) + "\n"
    if args.out:
        try:
            args.out.write_text(text)
        except OSError as exc:
            raise CliError(f"cannot write {args.out}: {exc.strerror}") from None
        err.line(f"wrote {args.out}")
    else:
        out.stream.write(text)
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
