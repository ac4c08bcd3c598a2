"""``speke-keyprovider event FILE``: wrap a CPIX request into an API Gateway REST proxy event (sam local invoke -e)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from .. import __version__
from ._output import EXIT_OK, CliError, Out

EVENT_EXAMPLES = """\
examples:
  speke-keyprovider event request.xml > events/my-request.json
  sam local invoke KeyProviderFunction -e events/my-request.json
  speke-keyprovider event request.xml --base64 --speke-version 2.1 --out events/v21.json
"""


def register(sub: Any) -> None:
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
    p.set_defaults(run=cmd_event)


def cmd_event(args: argparse.Namespace, out: Out, err: Out) -> int:
    from ..apigw_event import DEFAULT_CALLER_ARN, SPEKE_HEADERS, rest_proxy_event

    try:
        body = args.file.read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read {args.file}: {exc.strerror}") from None
    if not body.strip():
        raise CliError(f"{args.file} is empty")
    try:
        from ..client._xml import XmlError, parse

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
