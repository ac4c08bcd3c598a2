"""AWS credentials and region for SigV4, and the signed POST (service ``execute-api``)."""

from __future__ import annotations

import argparse
import re
import time
from typing import Any

from ._output import EXIT_UNAVAILABLE, CliError

_REGION_IN_URL = re.compile(r"\.execute-api\.([a-z0-9-]+)\.amazonaws\.com", re.I)


def credentials(args: argparse.Namespace) -> tuple[Any, str]:
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
    url: str, body: bytes, creds: Any, region: str, *, timeout: float, speke_version: str | None = "2.0"
) -> tuple[int, dict[str, str], bytes, float]:
    """POST ``body`` signed with SigV4 (execute-api). Returns status, headers, body, seconds.
    ``speke_version=None``: no X-Speke-Version header (SPEKE v1)."""
    import urllib.error
    import urllib.request

    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    request = AWSRequest(
        method="POST",
        url=url,
        data=body,
        headers={"Content-Type": "application/xml"}
        | ({"X-Speke-Version": speke_version} if speke_version is not None else {}),
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
