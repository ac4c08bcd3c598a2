"""``speke-keyprovider token``: mint an entitlement token for the key delivery endpoints.

By default it signs with the ES256 key ``make run`` trusts (``<state-dir>/delivery-signing-key.jwk.json``,
created on first use); ``--key PATH`` signs with any private JWK or JWKS (ES256, RS256, EdDSA) instead,
``--hmac-secret-file`` with an HS256 secret. Prints the token on stdout (``--json``: the claims too).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import uuid
from pathlib import Path
from typing import IO

EXAMPLES = """\
examples:
  speke-keyprovider token --content-id channel-1
  speke-keyprovider token --content-id channel-1 --kid 0f083e4e-b831-4a3d-917e-ce78076e54aa --ttl 600
  speke-keyprovider token --content-id channel-1 --delivery clearkey --key my-issuer.jwks.json --iss https://idp
  curl -H "Authorization: Bearer $(speke-keyprovider token --content-id channel-1)" \\
       http://127.0.0.1:3000/keys/channel-1/0f083e4e-b831-4a3d-917e-ce78076e54aa | xxd
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "token",
        help="mint an entitlement token for the key delivery endpoints",
        description="Mint a JWT entitlement token (docs/key-delivery.md) for GET /keys/... and POST /clearkey/...",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--content-id", action="append", required=True, help="contentId covered; repeat for several")
    p.add_argument("--kid", action="append", help="restrict to this kid (UUID); repeat or comma-separate")
    p.add_argument("--ttl", type=int, default=3600, help="seconds until exp (default: %(default)s)")
    p.add_argument(
        "--delivery", choices=("aes128", "clearkey"), action="append", help="restrict the endpoint; repeat for both"
    )
    p.add_argument("--key", type=Path, help="private JWK or JWKS file (default: the make-run key in --state-dir)")
    p.add_argument("--key-id", help="with a JWKS --key: the kid of the key to sign with")
    p.add_argument("--hmac-secret-file", type=Path, help="sign HS256 with the secret in this file instead")
    p.add_argument(
        "--state-dir",
        type=Path,
        default=Path(os.environ.get("LOCAL_STATE_DIR", ".local-state")),
        help="make run's state folder (default: $LOCAL_STATE_DIR or .local-state)",
    )
    p.add_argument("--aud", default=os.environ.get("KEY_DELIVERY_AUDIENCE") or "speke-keyprovider", help="audience")
    p.add_argument("--iss", help="issuer claim")
    p.add_argument("--sub", help="subject claim (appears in the server's log)")
    p.add_argument("--json", action="store_true", help="print {token, claims} as JSON")
    p.add_argument("--no-color", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(run=lambda args, out, err: run(args, out.stream, err.stream))


def run(args: argparse.Namespace, stdout: IO[str] | None = None, stderr: IO[str] | None = None) -> int:
    from ..delivery_tokens import load_private_jwk, local_signing_key, mint_token

    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    kids: list[str] | None = None
    if args.kid:
        kids = [item.strip() for value in args.kid for item in value.split(",") if item.strip()]
        try:
            kids = [str(uuid.UUID(kid)) for kid in kids]
        except ValueError:
            print("error: --kid must be a UUID", file=stderr)
            return 2
    if args.ttl < 1:
        print("error: --ttl must be at least 1 second", file=stderr)
        return 2
    try:
        secret = args.hmac_secret_file.read_bytes().rstrip(b"\r\n") if args.hmac_secret_file else None
        jwk = None
        if secret is None:
            jwk = load_private_jwk(args.key, args.key_id) if args.key else local_signing_key(args.state_dir)
    except (OSError, ValueError) as exc:
        print(f"error: cannot load the signing key: {exc}", file=stderr)
        return 2
    delivery = args.delivery[0] if args.delivery and len(set(args.delivery)) == 1 else args.delivery
    token = mint_token(
        jwk,
        content_ids=args.content_id,
        kids=kids,
        delivery=delivery,
        ttl=args.ttl,
        audience=args.aud,
        issuer=args.iss,
        subject=args.sub,
        hmac_secret=secret,
    )
    if args.json:
        import jwt

        claims = jwt.decode(token, options={"verify_signature": False})
        print(json.dumps({"token": token, "claims": claims}, indent=2), file=stdout)
    else:
        print(token, file=stdout)
    return 0
