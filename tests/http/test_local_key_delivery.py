"""`make run` serves key delivery on its own port next to SPEKE: an ES256 key made on first run, tokens minted by
the CLI, the key a SigV4 SPEKE answer gave served at the URI it signalled, ClearKey licences, CORS preflight,
a JWKS URL served on loopback, and nothing of a token or a key in the server's output."""

import base64
import json
import stat
import subprocess
import sys
import threading
import urllib.error
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from speke_keyprovider_tools.client.request_builder import build_request
from speke_keyprovider_tools.client.response_reader import read_content_keys
from speke_keyprovider_tools.client.signalling import parse_hls_key_tag
from speke_keyprovider_tools.delivery_tokens import LOCAL_KEY_FILE, local_signing_key, mint_token, public_jwks

from tests.conftest import REPO
from tests.delivery_support import b64url, private_jwk
from tests.http.test_local_server import AK, SK, start_server

AES128 = "3ea8778f-7742-4bf9-b18b-e834b2acbd47"


def http(method, url, *, body=None, headers=None):
    request = urllib.request.Request(url, data=body, headers=dict(headers or {}), method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def speke(url, xml):
    aws = AWSRequest(
        method="POST", url=url, data=xml, headers={"Content-Type": "application/xml", "X-Speke-Version": "2.0"}
    )
    SigV4Auth(Credentials(AK, SK), "execute-api", "us-east-1").add_auth(aws)
    return http("POST", url, body=xml, headers=dict(aws.prepare().headers))


def cli_token(state_dir, *args):
    out = subprocess.run(  # noqa: S603 - our interpreter, fixed arguments
        [sys.executable, "-m", "speke_keyprovider_tools", "token", "--state-dir", str(state_dir), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return out.stdout.strip()


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("delivery")
    proc, url = start_server(tmp, {"KEY_DELIVERY_ALLOWED_ORIGINS": "http://127.0.0.1:9999"})
    base = url.rsplit("/", 1)[0]
    yield proc, base, tmp / "state"
    if proc.poll() is None:  # test_nothing_secret_in_the_server_output stops it to read its output
        proc.terminate()
        proc.communicate(timeout=10)


def server_output(local):
    proc = local[0]
    proc.terminate()
    return proc.communicate(timeout=10)[0]


def test_first_run_makes_a_private_es256_key(local):
    _, _, state = local
    path = state / LOCAL_KEY_FILE
    assert path.is_file() and stat.S_IMODE(path.stat().st_mode) == 0o600
    jwk = json.loads(path.read_text())
    assert jwk["kty"] == "EC" and jwk["crv"] == "P-256" and jwk["alg"] == "ES256" and "d" in jwk


def test_speke_answer_points_at_this_server_and_the_key_is_served(local):
    _, base, state = local
    built = build_request(
        content_id="channel-1",
        video_preset="PRESET_VIDEO_2",
        audio_preset="PRESET_AUDIO_1",
        drm_systems=["aes128", "clearkey"],
        scheme="cbcs",
    )
    status, _, body = speke(f"{base}/copyProtection", built.xml)
    assert status == 200, body[:300]
    keys = read_content_keys(body)
    import defusedxml.ElementTree as ET

    root = ET.fromstring(body)
    uris = {}
    for system in root.iter("{urn:dashif:org:cpix}DRMSystem"):
        if system.get("systemId") == AES128:
            text = base64.b64decode(system.find("{urn:dashif:org:cpix}HLSSignalingData").text).decode()
            uris[system.get("kid")] = parse_hls_key_tag(text).attributes["URI"]
    assert uris and all(uri == f"{base}/keys/channel-1/{kid}" for kid, uri in uris.items())
    tok = cli_token(state, "--content-id", "channel-1", "--ttl", "300")
    for kid, uri in uris.items():
        status, headers, served = http("GET", uri, headers={"Authorization": f"Bearer {tok}"})
        assert status == 200 and served == keys[kid] and headers["Cache-Control"] == "no-store"
        assert http("GET", f"{uri}?token={tok}")[2] == keys[kid]
    kids = [uuid.UUID(k) for k in keys]
    request = json.dumps({"kids": [b64url(k.bytes) for k in kids], "type": "temporary"}).encode()
    status, headers, licence = http("POST", f"{base}/clearkey/channel-1?token={tok}", body=request)
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert {e["k"] for e in json.loads(licence)["keys"]} == {b64url(v) for v in keys.values()}


def test_cli_token_scopes(local):
    _, base, state = local
    kid = uuid.uuid4()
    scoped = cli_token(state, "--content-id", "c1", "--kid", str(kid), "--delivery", "clearkey")
    assert http("GET", f"{base}/keys/c1/{kid}", headers={"Authorization": f"Bearer {scoped}"})[0] == 403
    body = json.dumps({"kids": [b64url(kid.bytes)]}).encode()
    assert http("POST", f"{base}/clearkey/c1", body=body, headers={"Authorization": f"Bearer {scoped}"})[0] == 200
    other = json.dumps({"kids": [b64url(uuid.uuid4().bytes)]}).encode()
    assert http("POST", f"{base}/clearkey/c1", body=other, headers={"Authorization": f"Bearer {scoped}"})[0] == 403


def test_refusals_over_http(local):
    _, base, state = local
    kid = uuid.uuid4()
    status, headers, _ = http("GET", f"{base}/keys/c1/{kid}")
    assert status == 401 and headers["WWW-Authenticate"] == 'Bearer realm="speke-keyprovider"'
    foreign = mint_token(private_jwk("ES256", kid="not-trusted"), content_ids=["c1"])
    status, headers, _ = http("GET", f"{base}/keys/c1/{kid}", headers={"Authorization": f"Bearer {foreign}"})
    assert status == 401 and 'error="invalid_token"' in headers["WWW-Authenticate"]
    tok = cli_token(state, "--content-id", "c1")
    auth = {"Authorization": f"Bearer {tok}"}
    assert http("GET", f"{base}/keys/c1/nope", headers=auth)[0] == 400
    assert http("GET", f"{base}/keys/c2/{kid}", headers=auth)[0] == 403
    assert http("GET", f"{base}/keys/c1/{kid}/x", headers=auth)[0] == 404
    status, headers, _ = http("DELETE", f"{base}/keys/c1/{kid}", headers=auth)
    assert status == 405 and headers["Allow"] == "GET, OPTIONS"
    assert http("POST", f"{base}/clearkey/c1", body=b"{" * 9000, headers=auth)[0] == 413
    assert http("HEAD", f"{base}/keys/c1/{kid}", headers=auth)[0] == 405
    assert http("GET", f"{base}/copyProtection")[0] == 405  # the SPEKE path keeps API Gateway's answers


def test_cors_preflight_for_the_configured_origin(local):
    _, base, _ = local
    status, headers, body = http(
        "OPTIONS",
        f"{base}/clearkey/c1",
        headers={"Origin": "http://127.0.0.1:9999", "Access-Control-Request-Method": "POST"},
    )
    assert status == 204 and body == b""
    assert headers["Access-Control-Allow-Origin"] == "http://127.0.0.1:9999"
    assert "Authorization" in headers["Access-Control-Allow-Headers"]


def test_nothing_secret_in_the_server_output(local):
    _, base, state = local
    tok = cli_token(state, "--content-id", "c9")
    kid = uuid.uuid4()
    _, _, key = http("GET", f"{base}/keys/c9/{kid}?token={tok}")
    assert len(key) == 16
    http("GET", f"{base}/keys/c8/{kid}?token={tok}")
    output = server_output(local)
    assert f"/keys/c9/{kid} 200" in output
    assert tok not in output and tok.split(".")[2] not in output and "token=" not in output
    assert key.hex() not in output and b64url(key) not in output and base64.b64encode(key).decode() not in output
    assert json.loads((state / LOCAL_KEY_FILE).read_text())["d"] not in output


class _Jwks(BaseHTTPRequestHandler):
    body = b""

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        return


def test_make_run_without_delivery_and_with_a_jwks_url(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    issuer = private_jwk("RS256", kid="issuer-rs256")
    _Jwks.body = json.dumps(public_jwks([issuer])).encode()
    jwks_server = ThreadingHTTPServer(("127.0.0.1", 0), _Jwks)
    threading.Thread(target=jwks_server.serve_forever, daemon=True).start()
    try:
        jwks_url = f"http://127.0.0.1:{jwks_server.server_address[1]}/.well-known/jwks.json"
        proc, url = start_server(tmp_path / "a", {"KEY_DELIVERY_JWKS_URL": jwks_url})
        base = url.rsplit("/", 1)[0]
        try:
            kid = uuid.uuid4()
            tok = mint_token(issuer, content_ids=["c1"], issuer="https://idp.example")
            assert http("GET", f"{base}/keys/c1/{kid}", headers={"Authorization": f"Bearer {tok}"})[0] == 200
            local_tok = mint_token(local_signing_key(tmp_path / "a" / "state"), content_ids=["c1"])
            assert http("GET", f"{base}/keys/c1/{kid}", headers={"Authorization": f"Bearer {local_tok}"})[0] == 200
        finally:
            proc.terminate()
            proc.communicate(timeout=10)
    finally:
        jwks_server.shutdown()
    proc, url = start_server(tmp_path / "b", {"KEY_DELIVERY": "none"})
    base = url.rsplit("/", 1)[0]
    try:
        assert http("GET", f"{base}/keys/c1/{uuid.uuid4()}")[0] == 403  # API Gateway's answer: no such route
        assert not (tmp_path / "b" / "state" / LOCAL_KEY_FILE).exists()
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
