"""``speke-keyprovider``: the operator's command line, one module per command.

    request URL      send a MediaPackage-style SPEKE v2, v2.1 or v1 request (SigV4) and check the answer  (request.py)
    compare A B      the same channel window to two providers: same KIDs and keys?  (compare.py)
    kid              the KIDs KID override answers for a channel and window  (kid.py)
    derive           the content key of (contentId, kid) from a key home, for licence servers  (derive.py)
    cert check FILE  vet a delivery certificate exactly as the provider does; print its fingerprint  (cert.py)
    cert new         make a self-signed RSA-2048/SHA-512 test certificate and key  (cert.py)
    event FILE       wrap a CPIX request into an API Gateway REST proxy event (sam local invoke -e)  (event.py)
    token            mint an entitlement token for the key delivery endpoints  (token.py)

Exit codes: 0 success, 1 the answer / certificate breaks a rule, 2 usage error, 3 could not reach
the provider or the key home (network, credentials, AWS). Heavy imports happen inside commands so
``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import IO

from .. import __version__
from . import cert, compare, derive, event, kid, request, token
from ._output import EXIT_FAIL, EXIT_OK, EXIT_UNAVAILABLE, EXIT_USAGE, CliError, Out

__all__ = ["EXIT_FAIL", "EXIT_OK", "EXIT_UNAVAILABLE", "EXIT_USAGE", "CliError", "Out", "build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="speke-keyprovider",
        description="Operator tools for a SPEKE key provider (AWS Elemental MediaPackage v1 and v2, MediaConvert).",
        epilog="exit codes: 0 ok, 1 a rule is broken (check failed / certificate rejected), "
        "2 usage error, 3 provider or key home unreachable.\n"
        "Run `speke-keyprovider COMMAND --help` for examples.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in (request, compare, kid, derive, cert, event, token):
        command.register(sub)
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
    try:
        return int(args.run(args, out, err))
    except CliError as exc:
        err.line(f"{err.red('error:')} {exc}")
        return exc.code
    except KeyboardInterrupt:
        err.line("interrupted")
        return 130
