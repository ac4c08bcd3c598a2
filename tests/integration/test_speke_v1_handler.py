"""SPEKE v1 through the Lambda handler in-process: the events/ fixtures of MediaPackage v1 endpoints and a
MediaConvert job, every endpoint type clear and encrypted with and without rotation, the dialect mix-ups,
the heartbeat, and no key material in any body or log line."""

from __future__ import annotations

import base64
import uuid
import xml.etree.ElementTree as ET

import pytest
from speke_keyprovider.key_derivation import derive_cek
from speke_keyprovider_tools.client.request_builder import build_request
from speke_keyprovider_tools.client.response_reader import read_content_keys
from speke_keyprovider_tools.client.signalling import parse_playready_object, parse_pssh, parse_widevine_data
from speke_keyprovider_tools.client.speke_v1_request import ENDPOINTS, V1_DEFINED, build_v1_request

from tests import cpixdocs_v1 as d
from tests.conftest import EVENTS, MASTER_KEY, load_event, rest_event
from tests.cpixdocs_v1 import hostile_v1_cases

V1_EVENTS = sorted(p.name for p in EVENTS.glob("*-v1-*.json"))
V1_HEADERS = {"Content-Type": "application/xml"}
NS = {"cpix": "urn:dashif:org:cpix", "speke": d.SPEKE}
WIDEVINE, PLAYREADY, FAIRPLAY = d.WIDEVINE, d.PLAYREADY, d.FAIRPLAY


def v1_event(body: bytes, **kwargs) -> dict:
    return rest_event(body, headers=V1_HEADERS, **kwargs)


def check_v1_answer(raw_request: bytes, status: int, headers: dict, body: bytes, private_key=None) -> dict:
    """200 with v1 headers, keys = the derivation of CPIX@id, signalling decoding to this request's kids,
    the children a system does not define dropped, the rest of the request echoed."""
    assert status == 200, body[:300]
    assert headers["Content-Type"] == "application/xml"
    assert headers["Speke-User-Agent"].startswith("speke-keyprovider/")
    assert "X-Speke-Version" not in headers and "X-Speke-User-Agent" not in headers
    request, answer = ET.fromstring(raw_request), ET.fromstring(body)
    content_id = request.get("id")
    assert answer.get("id") == content_id and answer.get("version") is None
    encrypted = request.find("cpix:DeliveryDataList", NS) is not None
    keys = read_content_keys(body, private_key if encrypted else None)
    assert keys == {k: derive_cek(MASTER_KEY, content_id, uuid.UUID(k)) for k in keys}
    assert (b"PlainValue" in body) is not encrypted
    request_keys = request.findall("cpix:ContentKeyList/cpix:ContentKey", NS)
    assert sorted(keys) == sorted(k.get("kid") for k in request_keys)
    for sent, got in zip(request_keys, answer.findall("cpix:ContentKeyList/cpix:ContentKey", NS), strict=True):
        assert got.get("explicitIV") == sent.get("explicitIV")  # echoed; none invented by default
    sent_systems = request.findall("cpix:DRMSystemList/cpix:DRMSystem", NS)
    got_systems = answer.findall("cpix:DRMSystemList/cpix:DRMSystem", NS)
    assert [s.attrib for s in got_systems] == [s.attrib for s in sent_systems]
    for sent, got in zip(sent_systems, got_systems, strict=True):
        system_id, kid = got.get("systemId"), uuid.UUID(got.get("kid"))
        defined = {c.split(":")[1] for c in V1_DEFINED[system_id]}
        asked = [c.tag.rsplit("}", 1)[1] for c in sent]
        filled = {c.tag.rsplit("}", 1)[1]: base64.b64decode(c.text, validate=True) for c in got}
        assert sorted(filled) == sorted(set(asked) & defined)
        if "PSSH" in filled:
            box = parse_pssh(filled["PSSH"])
            assert box.system_id == system_id
            if system_id == WIDEVINE:
                assert parse_widevine_data(box.data).key_ids == [kid.bytes]
            else:
                assert [k for k, _ in parse_playready_object(box.data).kids] == [kid]
        if "ProtectionHeader" in filled:
            assert [k for k, _ in parse_playready_object(filled["ProtectionHeader"]).kids] == [kid]
        if "URIExtXKey" in filled:
            assert filled["URIExtXKey"].decode().endswith(f"/{kid}")
            assert filled["KeyFormatVersions"] == b"1"
    for tag in ("ContentKeyPeriodList", "ContentKeyUsageRuleList"):
        sent_list, got_list = request.find(f"cpix:{tag}", NS), answer.find(f"cpix:{tag}", NS)
        assert (sent_list is None) == (got_list is None)
        if sent_list is not None:
            assert ET.tostring(sent_list) == ET.tostring(got_list)
    return keys


@pytest.mark.parametrize("name", V1_EVENTS)
def test_v1_event_fixture(name, invoke, delivery_private_key):
    event = load_event(name)
    status, headers, body = invoke(event)
    raw = base64.b64decode(event["body"]) if event["isBase64Encoded"] else event["body"].encode()
    if name.startswith("ok-"):
        assert "X-Speke-Version" not in event["headers"]
        check_v1_answer(raw, status, headers, body, delivery_private_key)
    else:
        assert status == int(name.split("-")[1]), body[:300]
        assert body and b"Traceback" not in body and b"<" not in body


def test_the_v1_events_cover_every_mediapackage_v1_shape():
    assert {
        "ok-v1-hls-fairplay-live-rotation.json",
        "ok-v1-hls-aes128.json",
        "ok-v1-dash-widevine-playready-encrypted.json",
        "ok-v1-mss-playready.json",
        "ok-v1-cmaf-encrypted.json",
        "ok-v1-mediaconvert-vod.json",
    } <= set(V1_EVENTS)
    assert sum(n.startswith("bad-") for n in V1_EVENTS) >= 5


CASES = [
    (endpoint, systems, live, periods, encrypted, children)
    for endpoint, systems in [
        ("hls", ["fairplay"]),
        ("hls", ["aes128"]),
        ("hls", ["aes128-v1"]),
        ("dash", ["widevine", "playready"]),
        ("mss", ["playready"]),
        ("cmaf", ["widevine", "playready", "fairplay"]),
        ("cmaf", ["widevine", "playready"]),
    ]
    for live, periods in [(True, 1), (True, 3), (False, 1)]
    for encrypted in (False, True)
    for children in ("all", "minimal")
]


@pytest.mark.parametrize(("endpoint", "systems", "live", "periods", "encrypted", "children"), CASES)
def test_every_endpoint_type(
    endpoint, systems, live, periods, encrypted, children, invoke, delivery_cert_der, delivery_private_key
):
    built = build_v1_request(
        content_id=f"mp1-{endpoint}",
        endpoint=endpoint,
        drm_systems=systems,
        live=live,
        periods=periods,
        first_index=1000,
        certificate_der=delivery_cert_der if encrypted else None,
        children=children,
        explicit_iv=live,
    )
    status, headers, body = invoke(v1_event(built.xml))
    keys = check_v1_answer(built.xml, status, headers, body, delivery_private_key)
    assert len(keys) == periods and len(set(keys.values())) == periods


def test_same_key_over_v1_and_v2(invoke):
    kid = uuid.uuid4()
    v1 = build_v1_request(content_id="moved-channel", endpoint="dash", kids=[kid])
    v2 = build_request(
        content_id="moved-channel",
        video_preset="SHARED",
        audio_preset="SHARED",
        drm_systems=["widevine", "playready"],
        scheme="cenc",
        kids=[kid],
    )
    status1, _, body1 = invoke(v1_event(v1.xml))
    status2, headers2, body2 = invoke(rest_event(v2.xml))
    assert status1 == status2 == 200 and headers2["X-Speke-Version"] == "2.0"
    assert (
        read_content_keys(body1) == read_content_keys(body2) == {str(kid): derive_cek(MASTER_KEY, "moved-channel", kid)}
    )


def test_derived_iv_setting_through_the_handler(invoke, handler_env):
    handler_env.setenv("DERIVED_EXPLICIT_IV", "true")
    built = build_v1_request(content_id="iv-channel", endpoint="hls")
    first = ET.fromstring(invoke(v1_event(built.xml))[2]).find(".//cpix:ContentKey", NS).get("explicitIV")
    again = ET.fromstring(invoke(v1_event(built.xml))[2]).find(".//cpix:ContentKey", NS).get("explicitIV")
    assert first and first == again and len(base64.b64decode(first)) == 16


def test_hostile_v1_inputs_through_the_handler(invoke, delivery_cert_der):
    cases = hostile_v1_cases(base64.b64encode(delivery_cert_der).decode())
    secrets = [
        derive_cek(MASTER_KEY, cid, uuid.UUID(kid)) for cid in ("test_case_generic", "c1") for kid in (d.KID, d.KID_2)
    ]
    forms = [f for s in secrets for f in (s, s.hex().encode(), base64.b64encode(s))] + [MASTER_KEY]
    for name, (body, header, _text) in cases.items():
        headers = dict(V1_HEADERS) if header is None else {**V1_HEADERS, "X-Speke-Version": header}
        status, _, answer = invoke(rest_event(body, headers=headers))
        assert 400 <= status < 500, (name, status, answer[:300])
        assert answer and b"Traceback" not in answer, name
        assert not any(form in answer for form in forms), name


def test_heartbeat(invoke):
    status, headers, body = invoke(rest_event(None, method="GET", path="/heartbeat", headers={}))
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    assert body.startswith(b"OK speke-keyprovider/")


def test_heartbeat_needs_an_allowed_iam_caller(invoke, handler_env):
    from speke_keyprovider.runtime import reset_runtime

    assert invoke(rest_event(None, method="GET", path="/heartbeat", headers={}, caller_arn=None))[0] == 403
    reset_runtime()
    handler_env.setenv("ALLOWED_CALLER_ARNS", "arn:aws:iam::111122223333:role/SpekeMediaPackageRole")
    assert invoke(rest_event(None, method="GET", path="/heartbeat", headers={}))[0] == 200
    intruder = "arn:aws:iam::111122223333:user/intruder"
    assert invoke(rest_event(None, method="GET", path="/heartbeat", headers={}, caller_arn=intruder))[0] == 403


def test_heartbeat_is_get_only(invoke):
    assert invoke(rest_event(b"x", method="POST", path="/heartbeat"))[0] == 404


def test_no_key_material_in_v1_logs(invoke, app, caplog, capfd, monkeypatch, delivery_cert_der):
    from speke_keyprovider import key_wrapping

    caplog.set_level("DEBUG")
    app.logger.setLevel("DEBUG")
    generated = []
    original = key_wrapping.DeliveryKeys.generate.__func__

    def recording(cls):
        keys = original(cls)
        generated.append(keys)
        return keys

    monkeypatch.setattr(key_wrapping.DeliveryKeys, "generate", classmethod(recording))
    built = [
        build_v1_request(content_id="log-ch", endpoint=e, certificate_der=c)
        for e in ENDPOINTS
        for c in (None, delivery_cert_der)
    ]
    for item in built:
        assert invoke(v1_event(item.xml))[0] == 200
    assert invoke(v1_event(d.document(root='contentId="log-ch"')))[0] == 422
    secrets = [derive_cek(MASTER_KEY, "log-ch", k.kid) for item in built for k in item.keys]
    secrets += [x for keys in generated for x in (keys.document_key, keys.mac_key)] + [MASTER_KEY]
    formatter = app.logger.registered_formatter
    logged = "\n".join(formatter.format(r) for r in caplog.records).encode()
    out, err = capfd.readouterr()
    logged += out.encode() + err.encode()
    assert b"key request answered" in logged and b"SPEKE v1" in logged
    for secret in secrets:
        for form in (secret, secret.hex().encode(), base64.b64encode(secret)):
            assert form not in logged
