"""SigV4 verification for the local server (``make run``), doing what API Gateway's AWS_IAM
authorisation does: the signature must be valid for our credentials, service ``execute-api``, our
region, and no older (or newer) than five minutes. The signature itself is recomputed with botocore.

The signature always covers the body received: the canonical request is built over the SHA-256 of the bytes
that arrived, never over a client-supplied ``X-Amz-Content-SHA256``. When a client sends (and signs) that
header it must equal the real hash; ``UNSIGNED-PAYLOAD`` and the streaming forms are refused.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

MAX_SKEW = dt.timedelta(minutes=5)
_AUTH = re.compile(
    r"AWS4-HMAC-SHA256\s+Credential=(?P<ak>[^/,\s]+)/(?P<date>[0-9]{8})/(?P<region>[^/,\s]+)/(?P<service>[^/,\s]+)"
    r"/aws4_request,\s*SignedHeaders=(?P<signed>[a-z0-9;\-]+),\s*Signature=(?P<sig>[0-9a-f]{64})"
)
_AMZ_DATE = re.compile(r"[0-9]{8}T[0-9]{6}Z")  # ASCII digits only (strptime's %Y takes any Unicode digit)
CONTENT_SHA256 = "x-amz-content-sha256"


class SigV4Rejected(Exception):
    """Authentication failed; ``str()`` is safe to return to the caller."""


@dataclass(frozen=True)
class LocalCredentials:
    access_key_id: str
    secret_access_key: str
    region: str = "us-east-1"
    service: str = "execute-api"


def check_authorization(
    headers: Mapping[str, str], creds: LocalCredentials, now: dt.datetime | None = None
) -> re.Match[str]:
    """Everything that can be checked before the body is read (header syntax, key id, scope, date, skew,
    signed header names), so an unsigned or mis-scoped request is refused without reading its body.
    Raises ``SigV4Rejected``."""
    lower = {k.lower(): v for k, v in headers.items()}
    auth = lower.get("authorization")
    if not auth:
        raise SigV4Rejected("Missing Authentication Token")
    match = _AUTH.fullmatch(auth.strip())
    if not match:
        raise SigV4Rejected("Authorization header is not a valid SigV4 signature")
    if not hmac.compare_digest(match["ak"], creds.access_key_id):
        raise SigV4Rejected("The security token included in the request is invalid")
    if match["service"] != creds.service:
        raise SigV4Rejected(f"Credential should be scoped to correct service: '{creds.service}'")
    if match["region"] != creds.region:
        raise SigV4Rejected(f"Credential should be scoped to a valid region: '{creds.region}'")
    amz_date = lower.get("x-amz-date", "")
    if not _AMZ_DATE.fullmatch(amz_date):
        raise SigV4Rejected("Missing or malformed X-Amz-Date")
    try:
        signed_at = dt.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
    except ValueError:
        raise SigV4Rejected("Missing or malformed X-Amz-Date") from None
    if amz_date[:8] != match["date"]:
        raise SigV4Rejected("Credential date does not match X-Amz-Date")
    now = now or dt.datetime.now(dt.UTC)
    if abs(now - signed_at) > MAX_SKEW:
        raise SigV4Rejected("Signature expired: the request is more than 5 minutes from the server time")
    signed_names = match["signed"].split(";")
    if "host" not in signed_names:
        raise SigV4Rejected("SignedHeaders must include host")
    missing = [name for name in signed_names if name not in lower]
    if missing:
        raise SigV4Rejected("A signed header is missing from the request")
    return match


def verify(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    creds: LocalCredentials,
    now: dt.datetime | None = None,
) -> str:
    """Verify a SigV4-signed request; returns the access key id. Raises ``SigV4Rejected``."""
    match = check_authorization(headers, creds, now)
    lower = {k.lower(): v for k, v in headers.items()}
    amz_date = lower["x-amz-date"]
    signed_names = match["signed"].split(";")
    body_sha256 = hashlib.sha256(body).hexdigest()
    claimed = lower.get(CONTENT_SHA256)
    if claimed is not None and not hmac.compare_digest(claimed.strip(), body_sha256):
        raise SigV4Rejected(
            "X-Amz-Content-SHA256 does not match the body received (UNSIGNED-PAYLOAD and streaming are refused)"
        )
    signed = {name: lower[name] for name in signed_names}
    if CONTENT_SHA256 in signed:  # botocore takes this header as the payload hash: it is the real one (checked)
        signed[CONTENT_SHA256] = body_sha256
    request = AWSRequest(method=method, url=url, data=body, headers=signed)
    request.context["timestamp"] = amz_date
    request.context["payload_signing_enabled"] = True  # else botocore signs UNSIGNED-PAYLOAD over https
    signer = SigV4Auth(Credentials(creds.access_key_id, creds.secret_access_key), creds.service, creds.region)
    expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    if not hmac.compare_digest(expected, match["sig"]):
        raise SigV4Rejected("The request signature we calculated does not match the signature you provided")
    return match["ak"]
