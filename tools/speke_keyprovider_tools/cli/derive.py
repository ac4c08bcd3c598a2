"""``speke-keyprovider derive``: the content key of (contentId, kid) from a key home, for licence servers."""

from __future__ import annotations

import argparse
import base64
import os
import uuid
from collections.abc import Callable
from typing import Any

from ._output import EXIT_OK, EXIT_UNAVAILABLE, CliError, Out, add_common_flags, emit_json

DERIVE_EXAMPLES = """\
examples:
  speke-keyprovider derive --content-id channel-1 --kid 0f083e4e-b831-4a3d-917e-ce78076e54aa \\
      --key-source file --master-key-file .local-state/master.key --show-keys
  speke-keyprovider derive --content-id channel-1 --kid K1 --kid K2 \\
      --key-source kms --kms-key-id alias/speke-master --region eu-west-1 --show-keys --json
The key source flags default to the function's environment variables (KEY_SOURCE, MASTER_KEY_FILE,
MASTER_KEY_SECRET_ID, KMS_HMAC_KEY_ID), so the same settings give the same keys.
"""


def register(sub: Any) -> None:
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
    add_common_flags(p)
    p.set_defaults(run=cmd_derive)


def cmd_derive(args: argparse.Namespace, out: Out, err: Out) -> int:
    from speke_keyprovider.errors import ConfigurationError, SpekeError
    from speke_keyprovider.runtime import build_key_source
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
    try:  # the function's own key home, from the same settings
        source = build_key_source(
            settings, client_factory=None if settings.key_source == "file" else _aws_clients(args)
        )
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
        emit_json(out.stream, rows)
    else:
        out.table(
            ["CONTENT ID", "KID", "CEK (hex)", "CEK (base64)"],
            [[r["content_id"], r["kid"], r["hex"], r["base64"]] for r in rows],
        )
    return EXIT_OK


def _aws_clients(args: argparse.Namespace) -> Callable[[str], Any]:
    """boto3 clients from ``--profile`` / ``--region`` (else the standard chain), with the function's client config."""
    import boto3
    from botocore.exceptions import BotoCoreError
    from speke_keyprovider.aws_key_sources import CLIENT_CONFIG

    try:
        session = boto3.session.Session(profile_name=args.profile, region_name=args.region)
    except BotoCoreError as exc:
        raise CliError(f"AWS set-up failed: {exc}", EXIT_UNAVAILABLE) from None

    def client(service: str) -> Any:
        try:
            return session.client(service, config=CLIENT_CONFIG)
        except BotoCoreError as exc:
            raise CliError(f"AWS set-up failed: {exc}", EXIT_UNAVAILABLE) from None

    return client
