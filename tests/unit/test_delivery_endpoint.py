"""The key delivery endpoints without HTTP: routes, every error status in its order, token transports, CORS,
the ClearKey licence, and no key or token text in any refusal."""

import base64
import json
import uuid

import pytest
from speke_keyprovider.delivery.endpoint import DeliveryRequest, KeyDelivery, http_api_request
from speke_keyprovider.delivery.licence import MAX_KIDS
from speke_keyprovider.errors import BackendUnavailable, ConfigurationError
from speke_keyprovider.key_derivation import derive_cek
from speke_keyprovider.key_sources import StaticMasterKey
from speke_keyprovider.settings import DeliverySettings
from speke_keyprovider_tools.apigw_event import http_api_event

from tests.conftest import MASTER_KEY
from tests.delivery_support import KID_1, KID_2, KID_3, b64url, token, verifier

CID = "channel-1"
KEY_PATH = f"/keys/{CID}/{KID_1}"
LICENCE_PATH = f"/clearkey/{CID}"


class DownKeySource:
    name = "down"

    def content_keys(self, content_id, kids):
        raise BackendUnavailable(reason="secretsmanager_unavailable")


def delivery(mode="aes128+clearkey", key_source=None, **settings) -> KeyDelivery:
    return KeyDelivery(
        DeliverySettings(mode=mode, **settings),
        key_source or StaticMasterKey(MASTER_KEY),
        verifier("ES256", "RS256"),
        retry_after_seconds=7,
    )


def licence_body(*kids, type="temporary") -> bytes:
    return json.dumps({"kids": [b64url(k.bytes) for k in kids], "type": type}).encode()


def call(d: KeyDelivery, method="GET", path=KEY_PATH, *, tok=None, body=b"", headers=None, query="", cookies=()):
    headers = dict(headers or {})
    if tok is not None:
        headers["Authorization"] = f"Bearer {tok}"
    return d.handle(DeliveryRequest(method, path, headers, query, tuple(cookies), body))


def key_of(kid=KID_1, cid=CID) -> bytes:
    return derive_cek(MASTER_KEY, cid, kid)


# --- success ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kid_text", [str(KID_1), KID_1.hex, str(KID_1).upper(), KID_1.hex.upper()])
def test_key_get_serves_the_derived_key(kid_text):
    answer = call(delivery(), path=f"/keys/{CID}/{kid_text}", tok=token())
    assert answer.status == 200 and answer.body == key_of()
    assert answer.headers["Content-Type"] == "application/octet-stream"
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.log["decision"] == "served" and answer.log["jti"]


def test_percent_encoded_content_id_is_decoded():
    cid = "live/channel 1"
    answer = call(delivery(), path=f"/keys/live%2Fchannel%201/{KID_1}", tok=token(content_ids=[cid]))
    assert answer.status == 200 and answer.body == key_of(cid=cid)


def test_licence_serves_every_covered_kid_in_request_order():
    answer = call(delivery(), "POST", LICENCE_PATH, tok=token(), body=licence_body(KID_2, KID_1, KID_2))
    assert answer.status == 200 and answer.headers["Content-Type"] == "application/json"
    assert answer.headers["Cache-Control"] == "no-store"
    doc = json.loads(answer.body)
    assert doc["type"] == "temporary"
    assert [k["kid"] for k in doc["keys"]] == [b64url(KID_2.bytes), b64url(KID_1.bytes)]
    for entry, kid in zip(doc["keys"], (KID_2, KID_1), strict=True):
        assert entry["kty"] == "oct" and "=" not in entry["k"] + entry["kid"]
        assert base64.urlsafe_b64decode(entry["k"] + "==") == key_of(kid)


@pytest.mark.parametrize("content_type", [None, "application/json", "text/plain", "application/octet-stream"])
def test_licence_takes_any_or_no_content_type(content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    answer = call(delivery(), "POST", LICENCE_PATH, tok=token(), body=licence_body(KID_1), headers=headers)
    assert answer.status == 200


def test_licence_type_may_be_omitted():
    body = json.dumps({"kids": [b64url(KID_1.bytes)]}).encode()
    assert call(delivery(), "POST", LICENCE_PATH, tok=token(), body=body).status == 200


# --- 401: authentication first ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", KEY_PATH, b""),
        ("GET", f"/keys/{CID}/not-a-kid", b""),
        ("POST", LICENCE_PATH, b"not json"),
        ("POST", LICENCE_PATH, b"x" * 100_000),
        ("GET", "/nowhere", b""),
        ("GET", f"{KEY_PATH}/extra", b""),
        ("DELETE", KEY_PATH, b""),
        ("GET", LICENCE_PATH, b""),
    ],
)
def test_without_a_token_everything_is_401_and_nothing_else_is_learnt(method, path, body):
    answer = call(delivery(key_source=DownKeySource()), method, path, body=body)
    assert answer.status == 401
    assert answer.headers["WWW-Authenticate"] == 'Bearer realm="speke-keyprovider"'
    assert answer.body == b"A token is required"
    bad = call(delivery(key_source=DownKeySource()), method, path, body=body, tok=token(ttl=-600))
    assert bad.status == 401
    assert bad.headers["WWW-Authenticate"] == 'Bearer realm="speke-keyprovider", error="invalid_token"'


def test_a_non_bearer_authorization_header_is_an_invalid_request():
    answer = call(delivery(), headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert answer.status == 401 and 'error="invalid_request"' in answer.headers["WWW-Authenticate"]


# --- token transports ---------------------------------------------------------------------------------------


def test_token_from_the_query_parameter():
    answer = call(delivery(), query=f"foo=1&token={token()}")
    assert answer.status == 200 and answer.log["token_source"] == "query"
    two = call(delivery(), query=f"token={token()}&token={token()}")
    assert two.status == 401 and 'error="invalid_request"' in two.headers["WWW-Authenticate"]


def test_token_from_the_cookie_only_when_cookies_are_accepted():
    tok = token()
    for cookies, headers in (([f"speke_token={tok}"], {}), ([], {"Cookie": f"a=b; speke_token={tok}"})):
        answer = call(delivery(accept_cookies=True), cookies=cookies, headers=headers)
        assert answer.status == 200 and answer.log["token_source"] == "cookie"
        refused = call(delivery(), cookies=cookies, headers=headers)
        assert refused.status == 401 and "error=" not in refused.headers["WWW-Authenticate"]


def test_the_header_wins_over_query_and_cookie():
    answer = call(
        delivery(accept_cookies=True),
        tok=token(),
        query=f"token={token(content_ids=['other'])}",
        cookies=[f"speke_token={token(content_ids=['other'])}"],
    )
    assert answer.status == 200 and answer.log["token_source"] == "header"


# --- 400, 403, 404, 405, 413, 503 ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kid",
    [
        "not-a-kid",
        KID_1.hex[:-1],
        KID_1.hex + "0",
        "0f083e4e-b831-4a3d917e-ce78076e54aa",
        "{" + str(KID_1) + "}",
        str(KID_1) + "%0A",  # a trailing newline: the whole value must match, not all but a final \n
        KID_1.hex + "%0a",
        str(KID_1) + "\n",
    ],
)
def test_malformed_kid_is_400(kid):
    answer = call(delivery(), path=f"/keys/{CID}/{kid}", tok=token())
    assert answer.status == 400 and b"kid" in answer.body


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"", b"Empty"),
        (b"{not json", b"not JSON"),
        (b"\xff\xfe", b"not JSON"),
        (b"[]", b"object"),
        (b'{"type": "temporary"}', b"kids"),
        (b'{"kids": []}', b"kids"),
        (b'{"kids": "AAAA"}', b"kids"),
        (json.dumps({"kids": [b64url(uuid.uuid4().bytes) for _ in range(MAX_KIDS + 1)]}).encode(), b"more than"),
        (b'{"kids": ["AAAA"]}', b"kids[0]"),
        (json.dumps({"kids": [b64url(KID_1.bytes), base64.b64encode(b"\xfb" * 16).decode()]}).encode(), b"kids[1]"),
        (licence_body(KID_1, type="persistent-license"), b"temporary"),
    ],
)
def test_malformed_licence_request_is_400_naming_the_problem(body, problem):
    answer = call(delivery(), "POST", LICENCE_PATH, tok=token(), body=body)
    assert answer.status == 400 and problem in answer.body


def test_oversized_licence_body_is_413():
    body = licence_body(KID_1) + b" " * 8192
    answer = call(delivery(), "POST", LICENCE_PATH, tok=token(), body=body)
    assert answer.status == 413


def test_token_for_another_content_id_is_403():
    for content_ids in (["channel-2"], ["*"], ["Channel-1"]):
        answer = call(delivery(), tok=token(content_ids=content_ids))
        assert answer.status == 403 and b"contentId" in answer.body
        answer = call(delivery(), "POST", LICENCE_PATH, tok=token(content_ids=content_ids), body=licence_body(KID_1))
        assert answer.status == 403


def test_kids_claim_restricts_keys_and_licences():
    tok = token(kids=[KID_1])
    assert call(delivery(), tok=tok).status == 200
    assert call(delivery(), path=f"/keys/{CID}/{KID_2}", tok=tok).status == 403
    answer = call(delivery(), "POST", LICENCE_PATH, tok=tok, body=licence_body(KID_2, KID_1, KID_3))
    assert answer.status == 200
    assert [k["kid"] for k in json.loads(answer.body)["keys"]] == [b64url(KID_1.bytes)]
    assert answer.log["kids_refused"] == 2
    none = call(delivery(), "POST", LICENCE_PATH, tok=tok, body=licence_body(KID_2, KID_3))
    assert none.status == 403 and b"none of the kids" in none.body


def test_delivery_claim_restricts_the_endpoint():
    aes = token(delivery="aes128")
    clear = token(delivery="clearkey")
    assert call(delivery(), tok=aes).status == 200
    assert call(delivery(), tok=clear).status == 403
    assert call(delivery(), "POST", LICENCE_PATH, tok=clear, body=licence_body(KID_1)).status == 200
    assert call(delivery(), "POST", LICENCE_PATH, tok=aes, body=licence_body(KID_1)).status == 403


def test_clearkey_is_403_while_only_aes128_delivery_is_on():
    d = delivery(mode="aes128")
    assert call(d, tok=token()).status == 200
    answer = call(d, "POST", LICENCE_PATH, tok=token(), body=licence_body(KID_1))
    assert answer.status == 403 and b"only AES-128" in answer.body


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/keys",
        f"/keys/{CID}",
        f"/keys/{CID}/",
        f"{KEY_PATH}/",
        f"{KEY_PATH}/extra",
        "/clearkey",
        "/clearkey/",
        f"{LICENCE_PATH}/",
        f"{LICENCE_PATH}/x",
        f"//keys/{CID}/{KID_1}",
        "/copyProtection",
        "/KEYS/c/k",
    ],
)
def test_unknown_routes_are_404_with_a_valid_token(path):
    assert call(delivery(), path=path, tok=token()).status == 404


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("POST", KEY_PATH, "GET, OPTIONS"),
        ("PUT", KEY_PATH, "GET, OPTIONS"),
        ("HEAD", KEY_PATH, "GET, OPTIONS"),
        ("GET", LICENCE_PATH, "POST, OPTIONS"),
        ("DELETE", LICENCE_PATH, "POST, OPTIONS"),
    ],
)
def test_wrong_method_is_405_with_allow(method, path, allow):
    answer = call(delivery(), method, path, tok=token())
    assert answer.status == 405 and answer.headers["Allow"] == allow


def test_key_home_down_is_503_with_retry_after():
    d = delivery(key_source=DownKeySource())
    for answer in (
        call(d, tok=token()),
        call(d, "POST", LICENCE_PATH, tok=token(), body=licence_body(KID_1)),
    ):
        assert answer.status == 503 and answer.headers["Retry-After"] == "7"
        assert answer.headers["Cache-Control"] == "no-store"


def test_error_order_400_before_403_before_405():
    wrong_content = token(content_ids=["other"])
    assert call(delivery(), path=f"/keys/{CID}/bad", tok=wrong_content).status == 400
    assert call(delivery(), "PUT", KEY_PATH, tok=wrong_content).status == 403
    assert call(delivery(), "POST", LICENCE_PATH, tok=wrong_content, body=b"{").status == 400


def test_no_refusal_carries_key_or_token_text():
    key_forms = {key_of().hex(), key_of().hex().upper(), b64url(key_of()), base64.b64encode(key_of()).decode()}
    tok = token(content_ids=["other"])
    cases = [
        call(delivery(), tok=tok),
        call(delivery(), path=f"/keys/{CID}/bad", tok=tok),
        call(delivery(), "PUT", KEY_PATH, tok=token()),
        call(delivery(), path="/x", tok=token()),
        call(delivery(), "POST", LICENCE_PATH, tok=token(kids=[KID_2]), body=licence_body(KID_1)),
        call(delivery(), "POST", LICENCE_PATH, tok=token(), body=b"{" + tok.encode()),
        call(delivery(), query=f"token={tok}x"),
    ]
    for answer in cases:
        assert answer.status >= 400
        text = answer.body.decode() + json.dumps(answer.headers) + json.dumps(answer.log, default=str)
        assert not any(form in text for form in key_forms)
        assert tok not in text and tok.split(".")[1] not in text and tok.split(".")[2] not in text


# --- CORS ---------------------------------------------------------------------------------------------------


def test_cors_for_configured_origins_only():
    d = delivery(allowed_origins=("https://player.example",))
    ok = call(d, tok=token(), headers={"Origin": "https://player.example"})
    assert ok.headers["Access-Control-Allow-Origin"] == "https://player.example"
    assert ok.headers["Vary"] == "Origin" and "Access-Control-Allow-Credentials" not in ok.headers
    other = call(d, tok=token(), headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
    refused = call(d, headers={"Origin": "https://player.example"})
    assert refused.status == 401 and refused.headers["Access-Control-Allow-Origin"] == "https://player.example"
    assert "WWW-Authenticate" in refused.headers["Access-Control-Expose-Headers"]


def test_no_cors_headers_without_configured_origins():
    answer = call(delivery(), tok=token(), headers={"Origin": "https://player.example"})
    assert not any(name.startswith("Access-Control") for name in answer.headers)


def test_star_origin_without_cookies():
    answer = call(delivery(allowed_origins=("*",)), tok=token(), headers={"Origin": "https://any.example"})
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in answer.headers


def test_credentials_only_with_cookies_and_an_allowed_origin():
    d = delivery(allowed_origins=("https://player.example",), accept_cookies=True)
    ok = call(d, cookies=[f"speke_token={token()}"], headers={"Origin": "https://player.example"})
    assert ok.status == 200 and ok.headers["Access-Control-Allow-Credentials"] == "true"
    other = call(d, cookies=[f"speke_token={token()}"], headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Credentials" not in other.headers


def test_star_origin_with_cookies_is_refused_at_settings_time():
    with pytest.raises(ConfigurationError, match=r"\*"):
        DeliverySettings.from_env({"KEY_DELIVERY_ALLOWED_ORIGINS": "*", "KEY_DELIVERY_ACCEPT_COOKIES": "true"})


@pytest.mark.parametrize("path", [KEY_PATH, LICENCE_PATH, "/anything"])
def test_preflight_is_204_with_cors_for_an_allowed_origin(path):
    d = delivery(allowed_origins=("https://player.example",))
    answer = call(
        d,
        "OPTIONS",
        path,
        headers={"Origin": "https://player.example", "Access-Control-Request-Headers": "authorization"},
    )
    assert answer.status == 204 and answer.body == b""
    assert answer.headers["Access-Control-Allow-Origin"] == "https://player.example"
    assert "Authorization" in answer.headers["Access-Control-Allow-Headers"]
    assert "POST" in answer.headers["Access-Control-Allow-Methods"]
    assert answer.headers["Cache-Control"] == "no-store"
    stranger = call(d, "OPTIONS", path, headers={"Origin": "https://evil.example"})
    assert stranger.status == 204 and "Access-Control-Allow-Origin" not in stranger.headers


# --- the HTTP API event -------------------------------------------------------------------------------------


def test_http_api_event_round_trip():
    tok = token()
    event = http_api_event(
        "POST", LICENCE_PATH, headers={"Cookie": f"speke_token={tok}", "Origin": "o"}, body=licence_body(KID_1)
    )
    request = http_api_request(event, max_body_bytes=8192)
    assert request.method == "POST" and request.path == LICENCE_PATH and request.cookies == (f"speke_token={tok}",)
    assert (
        call(delivery(accept_cookies=True), "POST", LICENCE_PATH, cookies=request.cookies, body=request.body).status
        == 200
    )


def test_http_api_event_oversized_body_is_not_decoded():
    event = http_api_event("POST", LICENCE_PATH, body=b"x" * 100_000)
    assert len(http_api_request(event, max_body_bytes=8192).body) == 8193
    event = http_api_event("POST", LICENCE_PATH, body=b"\xff" * 10)
    assert event["isBase64Encoded"] and http_api_request(event, max_body_bytes=8192).body == b"\xff" * 10
