"""Bounded property-based fuzzing of the key delivery endpoints: hostile methods, paths, query strings, cookies,
Authorization headers, licence bodies and token texts (valid tokens mutated byte by byte). Every answer is a
200 whose key equals the derivation, a 204 preflight, or a refusal of the contract's statuses with a text and
``Cache-Control: no-store``; never a 5xx, never a key or the token in an error."""

from __future__ import annotations

import base64
import json
import uuid
from urllib.parse import unquote

from hypothesis import given
from hypothesis import strategies as st
from speke_keyprovider.delivery.endpoint import DeliveryRequest, KeyDelivery
from speke_keyprovider.key_derivation import derive_cek
from speke_keyprovider.key_sources import StaticMasterKey
from speke_keyprovider.settings import DeliverySettings

from tests.conftest import MASTER_KEY
from tests.delivery_support import KID_1, b64url, token, verifier
from tests.fuzz import fuzz_support as fz

DELIVERY = KeyDelivery(
    DeliverySettings(mode="aes128+clearkey", allowed_origins=("https://player.example",), accept_cookies=True),
    StaticMasterKey(MASTER_KEY),
    verifier("ES256", "EdDSA", hmac=True),
)
REFUSALS = {400, 401, 403, 404, 405, 413}
GOOD = token(content_ids=["channel-1", "c"], ttl=3600)

segments = st.one_of(
    st.sampled_from(["keys", "clearkey", "channel-1", "c", str(KID_1), KID_1.hex, "", "%", "%ff", "%2F", ".."]),
    st.text(max_size=20),
)
paths = st.builds(lambda parts: "/" + "/".join(parts), st.lists(segments, max_size=5))


def mutated_token(data: st.DataObject) -> str:
    raw = bytearray(GOOD.encode())
    for _ in range(data.draw(st.integers(0, 4))):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.sampled_from(b"A_-.=+/0aZ\x00 "))
    return raw.decode("latin-1")


bodies = st.one_of(
    st.binary(max_size=200),
    st.builds(
        lambda kids, kind: json.dumps({"kids": kids, "type": kind}).encode(),
        st.lists(st.one_of(st.just(b64url(KID_1.bytes)), st.text(max_size=30)), max_size=70),
        st.one_of(st.just("temporary"), st.text(max_size=10)),
    ),
    st.builds(lambda n: b'{"kids":' + b"[" * n, st.integers(0, 5000)),
)


def check(request: DeliveryRequest) -> None:
    answer = DELIVERY.handle(request)
    assert answer.headers["Cache-Control"] == "no-store"
    if answer.status == 204:
        assert request.method == "OPTIONS"
        return
    if answer.status == 200:
        if answer.headers["Content-Type"] == "application/octet-stream":
            _, _, content_id, kid = request.path.split("/")
            assert answer.body == derive_cek(MASTER_KEY, unquote(content_id), uuid.UUID(kid))
        else:
            for entry in json.loads(answer.body)["keys"]:
                kid = uuid.UUID(bytes=base64.urlsafe_b64decode(entry["kid"] + "=="))
                content_id = unquote(request.path.split("/")[2])
                assert base64.urlsafe_b64decode(entry["k"] + "==") == derive_cek(MASTER_KEY, content_id, kid)
        return
    assert answer.status in REFUSALS, (answer.status, answer.body)
    assert answer.body and answer.headers["Content-Type"].startswith("text/plain")
    assert GOOD not in answer.body.decode() and GOOD.rsplit(".", 1)[1] not in answer.body.decode()
    if answer.status == 401:
        assert answer.headers["WWW-Authenticate"].startswith('Bearer realm="speke-keyprovider"')


@fz.fuzz_settings(share=100)
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "get", "TRACE"]),
    path=st.one_of(paths, st.sampled_from([f"/keys/c/{KID_1}", "/clearkey/c", f"/keys/channel-1/{KID_1.hex}"])),
    body=bodies,
    data=st.data(),
)
def test_requests_never_fail_open_or_crash(method, path, body, data):
    where = data.draw(st.sampled_from(["header", "query", "cookie", "none", "garbage-header"]))
    text = GOOD if data.draw(st.booleans()) else mutated_token(data)
    headers: dict[str, str] = {"Origin": data.draw(st.sampled_from(["https://player.example", "https://x.example"]))}
    query, cookies = data.draw(st.sampled_from(["", "a=b", "token=&token=x", "%zz"])), ()
    if where == "header":
        headers["Authorization"] = f"Bearer {text}"
    elif where == "query":
        query = f"{query}&token={text}"
    elif where == "cookie":
        cookies = (f"speke_token={text}",)
    elif where == "garbage-header":
        headers["Authorization"] = data.draw(st.text(max_size=40))
    check(DeliveryRequest(method.upper(), path, headers, query, cookies, body))
