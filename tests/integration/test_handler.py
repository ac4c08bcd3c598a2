"""The Lambda handler in-process (the stand-in for `sam local invoke`): events/, every preset pair,
hostile input, headers, and the error mapping."""

import base64
import json
import uuid
from itertools import product

import pytest
from speke_keyprovider.key_derivation import derive_cek
from speke_keyprovider_tools.client.request_builder import AUDIO_PRESETS, VIDEO_PRESETS, build_request
from speke_keyprovider_tools.client.response_reader import read_content_keys

from tests import cpixdocs as d
from tests.certfactory import make_cert
from tests.conftest import CALLER_ARN, CERTS, EVENTS, MASTER_KEY, load_event, rest_event

EVENT_FILES = sorted(p.name for p in EVENTS.glob("*.json") if "-v1-" not in p.name)  # v1: test_speke_v1.py


def test_there_are_events():
    assert any(n.startswith("ok-") for n in EVENT_FILES) and any(n.startswith("bad-") for n in EVENT_FILES)


@pytest.mark.parametrize("name", EVENT_FILES)
def test_event_fixture(name, invoke, delivery_private_key):
    event = load_event(name)
    status, headers, body = invoke(event)
    if name.startswith("ok-"):
        assert status == 200, body[:300]
        assert headers["Content-Type"] == "application/xml"
        assert headers["X-Speke-Version"] == event["headers"].get("X-Speke-Version", "2.0")  # echoed
        assert headers["X-Speke-User-Agent"].startswith("speke-keyprovider/")
        raw = base64.b64decode(event["body"]) if event["isBase64Encoded"] else event["body"].encode()
        encrypted = b"DeliveryDataList" in raw
        keys = read_content_keys(body, delivery_private_key if encrypted else None)
        content_id = raw.split(b'contentId="')[1].split(b'"')[0].decode()
        assert keys and all(v == derive_cek(MASTER_KEY, content_id, uuid.UUID(k)) for k, v in keys.items())
    else:
        expected = int(name.split("-")[1])
        assert status == expected, body[:300]
        assert body and b"Traceback" not in body


PAIRS = [
    (v, a)
    for v, a in product(VIDEO_PRESETS, AUDIO_PRESETS)
    if "SHARED" not in (v, a) and (v, a) != ("UNENCRYPTED", "UNENCRYPTED")
] + [("SHARED", "SHARED")]


@pytest.mark.parametrize("encrypted", [False, True], ids=["clear", "encrypted"])
@pytest.mark.parametrize("periods", [1, 3], ids=["1period", "3periods"])
@pytest.mark.parametrize("scheme", ["cenc", "cbcs"])
@pytest.mark.parametrize(("video", "audio"), PAIRS)
def test_every_preset_pair(video, audio, scheme, periods, encrypted, invoke, delivery_cert_der, delivery_private_key):
    """Every preset pair x scheme x 1/3 periods x clear/encrypted: 200, keys = derivation, counts kept."""
    systems = ["widevine", "playready"] + (["fairplay"] if scheme == "cbcs" else [])
    built = build_request(
        content_id=f"ch-{video}-{audio}"[:64],
        video_preset=video,
        audio_preset=audio,
        drm_systems=systems,
        scheme=scheme,
        periods=periods,
        certificate_der=delivery_cert_der if encrypted else None,
    )
    status, _, body = invoke(rest_event(built.xml))
    assert status == 200, (scheme, periods, encrypted, body[:300])
    keys = read_content_keys(body, delivery_private_key if encrypted else None)
    assert keys == {str(k.kid): derive_cek(MASTER_KEY, built.content_id, k.kid) for k in built.keys}
    assert len(set(keys.values())) == len(built.keys), "every key distinct"
    assert body.count(b"<cpix:ContentKey ") == len(built.keys)
    assert body.count(b"<cpix:DRMSystem ") == len(built.systems)
    assert body.count(b"<cpix:ContentKeyUsageRule ") == len(built.keys)
    assert body.count(b"<cpix:ContentKeyPeriod ") == periods


def test_base64_body_and_header_case(invoke):
    status, _, body = invoke(
        rest_event(
            d.document(), base64_body=True, headers={"content-type": "application/xml", "x-speke-version": "2.0"}
        )
    )
    assert status == 200
    assert read_content_keys(body)[d.KID_VIDEO].hex() == "f11a18a35cc5cb5080547aff81458d53"


def _cert_b64(**kwargs) -> str:
    return base64.b64encode(make_cert(**kwargs)[0]).decode()


def hostile_cases(cert_der: bytes):
    good_cert = base64.b64encode(cert_der).decode()
    doc = d.document()
    return {
        "no identity": (rest_event(doc, caller_arn=None), 403),
        "no version header": (rest_event(doc, headers={"Content-Type": "application/xml"}), 422),
        "speke 1.0": (rest_event(doc, headers={"X-Speke-Version": "1.0"}), 422),
        "speke 2.1": (rest_event(doc, headers={"X-Speke-Version": "2.1"}), 422),
        "text/plain": (rest_event(doc, headers={"X-Speke-Version": "2.0", "Content-Type": "text/plain"}), 415),
        "empty body": (rest_event(b""), 400),
        "no body": (rest_event(None), 400),
        "bad base64": (dict(rest_event(doc), body="@@@not base64@@@", isBase64Encoded=True), 400),
        "oversize": (rest_event(b"<a>" + b" " * (1024 * 1024) + b"</a>"), 413),
        "oversize base64": (rest_event(b"<a>" + b" " * (1024 * 1024) + b"</a>", base64_body=True), 413),
        "not xml": (rest_event(b"hello"), 422),
        "binary junk": (rest_event(bytes(range(256)) * 4, base64_body=True), 422),
        "xxe": (rest_event(b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>'), 422),
        "billion laughs": (
            rest_event(
                b'<!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">'
                b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;">]><l>&c;</l>'
            ),
            422,
        ),
        "doctype": (rest_event(b"<!DOCTYPE CPIX>" + doc.split(b"?>", 1)[1]), 422),
        "external dtd": (rest_event(b'<!DOCTYPE CPIX SYSTEM "http://example.com/x.dtd"><CPIX/>'), 422),
        "speke v1 namespace": (rest_event(doc.replace(b"urn:dashif:org:cpix", b"urn:aws:amazon:com:speke")), 422),
        "missing contentId": (rest_event(d.document(root='version="2.3"')), 422),
        "bad contentId": (rest_event(d.document(root='contentId="../../etc" version="2.3"')), 422),
        "missing version": (rest_event(d.document(root='contentId="c"')), 422),
        "version 2.2": (rest_event(d.document(root='contentId="c" version="2.2"')), 422),
        "no ContentKeyList": (rest_event(d.document(keys="")), 422),
        "no DRMSystemList": (rest_event(d.document(systems="")), 422),
        "no contract": (rest_event(d.document(usage="")), 422),
        "bad kid": (rest_event(d.document(keys=d.content_keys(kids=("x", d.KID_AUDIO)))), 422),
        "mixed schemes": (
            rest_event(doc.replace(b'commonEncryptionScheme="cbcs"/><', b'commonEncryptionScheme="cenc"/><', 1)),
            422,
        ),
        "unknown system": (
            rest_event(d.document(systems=d.drm_systems(systems=("11111111-2222-3333-4444-555555555555",)))),
            422,
        ),
        "fairplay cenc": (
            rest_event(d.document(keys=d.content_keys(scheme="cenc"), systems=d.drm_systems(systems=(d.FAIRPLAY,)))),
            422,
        ),
        "duplicate track": (
            rest_event(d.document(usage=d.rules(audio_type="VIDEO", audio_filter="<cpix:VideoFilter/>"))),
            422,
        ),
        "unknown period": (rest_event(d.document(usage=d.rules(period="keyPeriod_x"))), 422),
        "label filter": (rest_event(d.document(usage=d.rules(video_filter='<cpix:LabelFilter label="a"/>'))), 422),
        "cert not base64": (rest_event(d.document(delivery=d.delivery_data("***"))), 422),
        "cert garbage": (rest_event(d.document(delivery=d.delivery_data(base64.b64encode(b"junk").decode()))), 422),
        "cert missing": (
            rest_event(
                d.document(delivery=d.delivery_data("").replace("<ds:X509Certificate></ds:X509Certificate>", ""))
            ),
            422,
        ),
        "cert rsa1024": (rest_event(d.document(delivery=d.delivery_data(_cert_b64(key="rsa1024")))), 422),
        "cert ec": (rest_event(d.document(delivery=d.delivery_data(_cert_b64(key="ec")))), 422),
        "cert expired": (rest_event(d.document(delivery=d.delivery_data(_cert_b64(days_from=-30, days_to=-1)))), 422),
        "cert future": (rest_event(d.document(delivery=d.delivery_data(_cert_b64(days_from=3, days_to=30)))), 422),
        "document key in request": (
            rest_event(
                d.document(
                    delivery=d.delivery_data(good_cert).replace(
                        "</cpix:DeliveryKey>", "</cpix:DeliveryKey><cpix:DocumentKey/>"
                    )
                )
            ),
            422,
        ),
        "GET": (rest_event(doc, method="GET"), 404),
        "other path": (rest_event(doc, path="/admin"), 404),
    }


HOSTILE = hostile_cases((CERTS / "delivery.cert.der").read_bytes())
_SECRETS = [
    derive_cek(MASTER_KEY, cid, uuid.UUID(kid))
    for cid in ("test_case_generic", "c", "channel-1")
    for kid in (d.KID_VIDEO, d.KID_AUDIO)
]
_SECRET_FORMS = [f for s in _SECRETS for f in (s, s.hex().encode(), base64.b64encode(s))] + [MASTER_KEY]


def test_there_are_hostile_cases():
    assert len(HOSTILE) >= 35


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_input_is_refused_without_key_material(invoke, name):
    event, expected = HOSTILE[name]
    status, headers, body = invoke(event)
    assert status == expected, (status, body[:300])
    assert body
    assert not any(form in body for form in _SECRET_FORMS)
    assert b"Traceback" not in body and b"Error(" not in body


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        # behind a custom domain's base path mapping, path carries the base path; resource is the template's
        ({"path": "/speke/copyProtection"}, 200),
        ({"resource": None}, 200),  # a hand-made event with a path only
        ({"resource": "/copyProtection/"}, 404),
        ({"resource": "/copyprotection", "path": "/copyprotection"}, 404),
        ({"httpMethod": "PUT"}, 404),
        ({"httpMethod": None}, 404),
        ({"resource": ["/copyProtection"]}, 404),
    ],
    ids=["base-path-mapping", "path-only", "trailing-slash", "case", "PUT", "no-method", "resource-not-text"],
)
def test_routing_is_on_method_and_resource(invoke, change, expected):
    event = {**rest_event(d.document()), **change}
    if event.get("resource") is None:
        event.pop("resource")
    status, headers, body = invoke(event)
    assert status == expected, body[:200]
    if expected == 404:
        assert body.startswith(b"Not found") and headers["Content-Type"].startswith("text/plain")


@pytest.mark.parametrize("event", [None, [], "copyProtection", {}], ids=["None", "list", "text", "empty"])
def test_an_event_that_is_not_a_proxy_event_is_404(app, lambda_context, event):
    result = app.lambda_handler(event, lambda_context)
    assert result["statusCode"] == 404 and result["isBase64Encoded"] is False
    assert result["multiValueHeaders"]["Content-Type"] == ["text/plain; charset=utf-8"]


@pytest.mark.parametrize(
    ("version", "version_answered", "user_agent"),
    [
        ("2.0", "2.0", "X-Speke-User-Agent"),
        ("2.1", "2.1", "X-Speke-User-Agent"),
        (" 2.1 ", "2.1", "X-Speke-User-Agent"),
        (None, None, "Speke-User-Agent"),  # SPEKE v1 (or a v2 request without its header): v1's header names
        ("3.0", None, "X-Speke-User-Agent"),  # nothing echoed that this provider does not speak
    ],
)
def test_a_refusal_answers_in_the_dialect_the_header_names(invoke, version, version_answered, user_agent):
    headers = {"Content-Type": "application/xml", **({"X-Speke-Version": version} if version is not None else {})}
    status, answered, body = invoke(rest_event(b"<not-cpix/>", headers=headers))
    assert 400 <= status < 500, body
    assert answered.get("X-Speke-Version") == version_answered
    assert answered[user_agent].startswith("speke-keyprovider/")
    other = {"X-Speke-User-Agent", "Speke-User-Agent"} - {user_agent}
    assert not other & set(answered)


@pytest.mark.parametrize("headers", [["X-Speke-Version", "2.0"], "X-Speke-Version: 2.0", {1: "2.0"}])
def test_headers_of_any_shape_give_a_4xx_not_a_500(invoke, headers):
    event = {**rest_event(d.document()), "headers": headers, "multiValueHeaders": None}
    status, _, body = invoke(event)
    assert 400 <= status < 500, body


def test_caller_allowlist(invoke, handler_env):
    handler_env.setenv("ALLOWED_CALLER_ARNS", "arn:aws:iam::111122223333:role/SpekeMediaPackageRole")
    assert invoke(rest_event(d.document()))[0] == 200
    status, _, body = invoke(rest_event(d.document(), caller_arn="arn:aws:iam::111122223333:user/intruder"))
    assert status == 403 and b"not allowed" in body


def test_certificate_allowlist(invoke, handler_env, delivery_cert_der, delivery_private_key):
    import hashlib

    cert_b64 = base64.b64encode(delivery_cert_der).decode()
    event = rest_event(d.document(delivery=d.delivery_data(cert_b64)))
    handler_env.setenv("TRUSTED_CERT_SHA256", "ab" * 32)
    status, _, body = invoke(event)
    assert status == 403 and b"not registered" in body
    from speke_keyprovider.runtime import reset_runtime

    reset_runtime()
    handler_env.setenv("TRUSTED_CERT_SHA256", hashlib.sha256(delivery_cert_der).hexdigest().upper())
    status, _, body = invoke(event)
    assert status == 200
    assert read_content_keys(body, delivery_private_key)


def test_require_encrypted_keys(invoke, handler_env, delivery_cert_der):
    handler_env.setenv("REQUIRE_ENCRYPTED_KEYS", "true")
    status, _, body = invoke(rest_event(d.document()))
    assert status == 422 and b"Encrypted content keys required" in body
    cert_b64 = base64.b64encode(delivery_cert_der).decode()
    assert invoke(rest_event(d.document(delivery=d.delivery_data(cert_b64))))[0] == 200


def test_unexpected_failure_is_a_generic_500(invoke, monkeypatch):
    from speke_keyprovider import service

    def boom(*args, **kwargs):
        raise RuntimeError("secret detail 0123456789abcdef")

    monkeypatch.setattr(service, "render_response", boom)
    status, _, body = invoke(rest_event(d.document()))
    assert status == 500 and body == b"Internal error"


def test_misconfiguration_is_a_generic_500(invoke, handler_env):
    handler_env.setenv("KEY_SOURCE", "vault")
    status, _, body = invoke(rest_event(d.document()))
    assert status == 500 and body == b"Internal error"


def test_missing_master_file_is_500_not_200(invoke, handler_env, tmp_path):
    handler_env.setenv("MASTER_KEY_FILE", str(tmp_path / "absent.key"))
    status, _, body = invoke(rest_event(d.document()))
    assert status == 500 and body == b"Internal error"


def test_logs_describe_the_request(invoke, app, caplog):
    caplog.set_level("INFO")
    invoke(rest_event(d.document()))
    formatter = app.logger.registered_formatter
    records = [json.loads(formatter.format(r)) for r in caplog.records if r.name == "speke-keyprovider"]
    answered = [r for r in records if r.get("message") == "key request answered"]
    assert answered, records
    record = answered[0]
    assert record["content_id"] == "test_case_generic" and record["key_count"] == 2
    assert record["caller"] == CALLER_ARN and record["encrypted"] is False
    assert set(record["kids"]) == {d.KID_VIDEO, d.KID_AUDIO}
    assert record["correlation_id"] and record["duration_ms"] >= 0
