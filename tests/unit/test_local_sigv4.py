"""The local SigV4 check always covers the body received: a client-supplied (even signed)
X-Amz-Content-SHA256 must equal the real hash, and UNSIGNED-PAYLOAD / streaming are refused; everything
about the signature that does not need the body is checked before the body is read."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from speke_keyprovider_tools.local_sigv4 import LocalCredentials, SigV4Rejected, verify

URL = "http://127.0.0.1:3000/copyProtection"
CREDS = LocalCredentials("AKIALOCALTEST", "local-test-secret")
CHANNEL_A = b'<cpix:CPIX contentId="channel-a"/>'
CHANNEL_B = b'<cpix:CPIX contentId="channel-b"/>'


def signed(body: bytes, extra: dict[str, str] | None = None, url: str = URL) -> dict[str, str]:
    request = AWSRequest(
        method="POST", url=url, data=body, headers={"Content-Type": "application/xml", **(extra or {})}
    )
    SigV4Auth(Credentials(CREDS.access_key_id, CREDS.secret_access_key), "execute-api", "us-east-1").add_auth(request)
    headers = dict(request.prepare().headers)
    headers.setdefault("Host", "127.0.0.1:3000")
    return headers


def sha(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def test_plain_signature_is_accepted():
    assert verify("POST", URL, signed(CHANNEL_A), CHANNEL_A, CREDS) == CREDS.access_key_id


def test_signed_real_body_hash_is_accepted():
    headers = signed(CHANNEL_A, {"X-Amz-Content-SHA256": sha(CHANNEL_A)})
    assert "X-Amz-Content-SHA256" in headers
    assert verify("POST", URL, headers, CHANNEL_A, CREDS) == CREDS.access_key_id


@pytest.mark.parametrize(
    "claimed",
    [
        sha(CHANNEL_A),  # a captured signature of channel A replayed with channel B's body
        "UNSIGNED-PAYLOAD",
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        sha(CHANNEL_A).upper(),
        "",
    ],
)
def test_signed_content_hash_must_be_the_body_received(claimed):
    headers = signed(CHANNEL_A, {"X-Amz-Content-SHA256": claimed})
    with pytest.raises(SigV4Rejected):
        verify("POST", URL, headers, CHANNEL_B, CREDS)


@pytest.mark.parametrize("claimed", ["UNSIGNED-PAYLOAD", sha(b"")])
def test_unsigned_payload_is_refused_even_for_its_own_body(claimed):
    headers = signed(CHANNEL_A, {"X-Amz-Content-SHA256": claimed})
    with pytest.raises(SigV4Rejected):
        verify("POST", URL, headers, CHANNEL_A, CREDS)


def test_an_unsigned_content_hash_header_cannot_redirect_the_check():
    headers = signed(CHANNEL_A)
    headers["X-Amz-Content-SHA256"] = sha(CHANNEL_B)  # added after signing: not in SignedHeaders
    with pytest.raises(SigV4Rejected):
        verify("POST", URL, headers, CHANNEL_A, CREDS)
    with pytest.raises(SigV4Rejected):
        verify("POST", URL, headers, CHANNEL_B, CREDS)


def test_a_different_body_without_the_header_is_refused():
    with pytest.raises(SigV4Rejected):
        verify("POST", URL, signed(CHANNEL_A), CHANNEL_B, CREDS)


@pytest.mark.parametrize("date", ["２０２６１２０１T000000Z", "20261201T000000Z\n", "20261201T000000"])
def test_malformed_dates_are_refused(date):
    headers = signed(CHANNEL_A)
    headers["X-Amz-Date"] = date
    with pytest.raises(SigV4Rejected):
        verify("POST", URL, headers, CHANNEL_A, CREDS, now=dt.datetime(2026, 12, 1, tzinfo=dt.UTC))


def test_authorization_with_a_trailing_newline_is_refused():
    headers = signed(CHANNEL_A)
    headers["Authorization"] = headers["Authorization"] + "\nX"
    with pytest.raises(SigV4Rejected):
        verify("POST", URL, headers, CHANNEL_A, CREDS)
