"""SPEKE v1 over `make run`'s server with real SigV4: MediaPackage-v1-shaped requests of each endpoint type
(clear and encrypted, live and VOD) and GET /heartbeat, signed like the rest."""

import signal
import urllib.error
import urllib.request
import uuid

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from speke_keyprovider.key_derivation import derive_cek
from speke_keyprovider_tools.client.response_reader import read_content_keys
from speke_keyprovider_tools.client.speke_v1_request import ENDPOINTS, build_v1_request

from tests.conftest import MASTER_KEY
from tests.http.test_local_server import AK, SK, start_server


@pytest.fixture(scope="module")
def base_url(tmp_path_factory):
    proc, url = start_server(tmp_path_factory.mktemp("srv-v1"))
    yield url.rsplit("/", 1)[0]
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=10)


def signed(method: str, url: str, body: bytes | None = None, headers: dict | None = None, sign: bool = True):
    request = AWSRequest(method=method, url=url, data=body, headers=headers or {})
    if sign:
        SigV4Auth(Credentials(AK, SK), "execute-api", "us-east-1").add_auth(request)
    req = urllib.request.Request(url, data=body, headers=dict(request.prepare().headers), method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


@pytest.mark.parametrize("endpoint", sorted(ENDPOINTS))
@pytest.mark.parametrize("encrypted", [False, True])
@pytest.mark.parametrize("live", [True, False])
def test_v1_requests_over_sigv4(base_url, endpoint, encrypted, live, delivery_cert_der, delivery_private_key):
    built = build_v1_request(
        content_id=f"http-{endpoint}",
        endpoint=endpoint,
        live=live,
        certificate_der=delivery_cert_der if encrypted else None,
    )
    status, headers, body = signed("POST", f"{base_url}/copyProtection", built.xml, {"Content-Type": "application/xml"})
    assert status == 200, body[:300]
    assert headers["Speke-User-Agent"].startswith("speke-keyprovider/") and "X-Speke-Version" not in headers
    keys = read_content_keys(body, delivery_private_key if encrypted else None)
    assert keys == {str(k.kid): derive_cek(MASTER_KEY, built.content_id, k.kid) for k in built.keys}


def test_v1_document_with_v2_header_is_422(base_url):
    built = build_v1_request(content_id="mix", endpoint="hls", kids=[uuid.uuid4()])
    status, _, body = signed(
        "POST", f"{base_url}/copyProtection", built.xml, {"Content-Type": "application/xml", "X-Speke-Version": "2.0"}
    )
    assert status == 422 and body.startswith(b"Missing CPIX@version")


def test_heartbeat_is_signed_like_the_rest(base_url):
    status, headers, body = signed("GET", f"{base_url}/heartbeat")
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    assert body.startswith(b"OK speke-keyprovider/")
    assert signed("GET", f"{base_url}/heartbeat", sign=False)[0] == 403
    assert signed("POST", f"{base_url}/heartbeat", b"x")[0] == 405
