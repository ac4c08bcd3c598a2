"""SPEKE v2.1 through the Lambda handler in-process: the header echoed, settings from the environment, KID override
with the file and KMS homes (GenerateMac on the speke-kid-v1 message), and hostile v2.1 requests."""

import base64
import datetime as dt
import hmac
import itertools
import re
import uuid

import boto3
import pytest
from botocore.stub import Stubber
from speke_keyprovider.aws_key_sources import KmsDerivedKeys
from speke_keyprovider.errors import BackendUnavailable
from speke_keyprovider.key_derivation import derive_cek, derive_override_kid, kid_message
from speke_keyprovider_tools.client.conformance import check_response
from speke_keyprovider_tools.client.request_builder import AUDIO_PRESETS, VIDEO_PRESETS, build_request
from speke_keyprovider_tools.client.response_reader import read_content_keys

from tests import cpixdocs as d
from tests import cpixdocs_v21 as d21
from tests.conftest import EVENTS, MASTER_KEY, load_event, rest_event


def test_v21_header_echoed_and_keys_derived(invoke):
    status, headers, body = invoke(rest_event(d21.document(), headers=d21.HEADERS))
    assert status == 200, body
    assert headers["X-Speke-Version"] == "2.1"
    assert b'version="2.4"' in body
    assert read_content_keys(body)[d.KID_VIDEO] == derive_cek(MASTER_KEY, "test_case_generic", uuid.UUID(d.KID_VIDEO))


def test_v20_still_answered_20(invoke):
    status, headers, _ = invoke(rest_event(d.document()))
    assert status == 200 and headers["X-Speke-Version"] == "2.0"


def test_kid_override_from_the_environment(invoke, handler_env):
    handler_env.setenv("KID_OVERRIDE", "true")
    status, _, body = invoke(rest_event(d21.document(), headers=d21.HEADERS))
    assert status == 200, body
    kid = derive_override_kid(MASTER_KEY, "test_case_generic", "VIDEO", "2026-12-01T20:00:00Z")
    assert read_content_keys(body)[str(kid)] == derive_cek(MASTER_KEY, "test_case_generic", kid)


def test_bad_v21_setting_is_a_500_naming_nothing(invoke, handler_env):
    handler_env.setenv("HDCP_LEVELS", "UHD=TYPE-9")
    status, _, body = invoke(rest_event(d21.document(), headers=d21.HEADERS))
    assert status == 500 and body == b"Internal error"


HOSTILE = {
    "2.1 header, 2.3 document": (d.document(), "Unsupported CPIX@version: 2.3 is SPEKE v2.0"),
    "2.0 header, 2.4 document": (d21.document(), "Unsupported CPIX@version: 2.4 is SPEKE v2.1"),
    "no header, 2.4 document": (d21.document(), "Unsupported SPEKE version"),
    "start after end": (
        d21.document(
            periods=d21.period_list(
                d21.period(d.PERIOD, d21.LIVE[1].replace("end", "start"), d21.LIVE[0].replace("start", "end"))
            )
        ),
        "@start must be before @end",
    ),
    "end and duration": (
        d21.document(periods=d21.period_list(d21.period(d.PERIOD, *d21.LIVE, 'duration="PT1M"'))),
        "never together",
    ),
    "escaped start": (
        d21.document(periods=d21.period_list(d21.period(d.PERIOD, 'start="2026-12-01T20:00:00&#x5A;"', d21.LIVE[1]))),
        "byte for byte",
    ),
    "AES-128 with Widevine": (
        d21.document(scheme="AES-128", systems=d21.hls_systems(d.WIDEVINE)),
        "non compatible with DRMSystem",
    ),
}


@pytest.mark.parametrize(("body", "expected"), HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_v21_requests(body, expected, invoke, request):
    name = request.node.callspec.id
    headers = {"Content-Type": "application/xml"}
    if not name.startswith("no header"):
        headers["X-Speke-Version"] = "2.0" if name.startswith("2.0 header") else "2.1"
    status, _, answer = invoke(rest_event(body, headers=headers))
    assert status == 422
    assert expected.encode() in answer


def test_kms_override_kid_is_generate_mac_over_the_kid_message():
    client = boto3.client("kms", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    message = kid_message("channel-1", "VIDEO", "2026-12-01T20:00:00Z")
    assert message == b"\x00\x00\x00\x01speke-kid-v1\x00channel-1\x00VIDEO\x002026-12-01T20:00:00Z\x00\x00\x00\x80"
    mac = hmac.digest(MASTER_KEY, message, "sha256")  # what a KMS HMAC key holding the same material answers
    stubber = Stubber(client)
    stubber.add_response(
        "generate_mac",
        {"Mac": mac, "MacAlgorithm": "HMAC_SHA_256", "KeyId": "k"},
        {"KeyId": "alias/speke", "MacAlgorithm": "HMAC_SHA_256", "Message": message},
    )
    home = KmsDerivedKeys("alias/speke", client=client, ttl=60, grace=0)
    with stubber:
        kids = home.override_kids("channel-1", [("VIDEO", "2026-12-01T20:00:00Z")])
        assert home.override_kids("channel-1", [("VIDEO", "2026-12-01T20:00:00Z")]) == kids  # cached: no call
    stubber.assert_no_pending_responses()
    assert kids[("VIDEO", "2026-12-01T20:00:00Z")] == derive_override_kid(
        MASTER_KEY, "channel-1", "VIDEO", "2026-12-01T20:00:00Z"
    )


def test_kms_override_kid_failure_is_503():
    client = boto3.client("kms", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(client)
    stubber.add_client_error("generate_mac", service_error_code="ThrottlingException", http_status_code=400)
    with stubber, pytest.raises(BackendUnavailable):
        KmsDerivedKeys("k", client=client).override_kids("c", [("VIDEO", "-")])


# --- every preset pair, both timing modes, 1 and several periods, clear and encrypted -----------------------

V21_PAIRS = [
    (v, a)
    for v, a in itertools.product(VIDEO_PRESETS, AUDIO_PRESETS)
    if "SHARED" not in (v, a) and (v, a) != ("UNENCRYPTED", "UNENCRYPTED")
] + [("SHARED", "SHARED")]
V21_SCHEMES = ("SAMPLE-AES", "cbcs", "SAMPLE-AES-CTR", "cenc")


@pytest.mark.parametrize(("video", "audio"), V21_PAIRS)
def test_every_preset_pair_v21(video, audio, invoke, delivery_cert_der, delivery_private_key):
    """200 with X-Speke-Version 2.1 and CPIX 2.4, every period attribute echoed byte for byte, keys equal to the
    derivation and (encrypted) decrypting with valid MACs: the independent checker says so for each request."""
    scheme = V21_SCHEMES[V21_PAIRS.index((video, audio)) % len(V21_SCHEMES)]
    systems = ["widevine", "playready"] + (["fairplay"] if scheme in ("cbcs", "SAMPLE-AES") else ["clearkey"])
    start = dt.datetime(2026, 12, 1, 20, 0, tzinfo=dt.UTC)
    for timing, periods, encrypted in itertools.product(("start-end", "index+start-end"), (1, 3), (False, True)):
        built = build_request(
            content_id=f"ch-{video}-{audio}"[:64],
            video_preset=video,
            audio_preset=audio,
            drm_systems=systems,
            scheme=scheme,
            periods=periods,
            certificate_der=delivery_cert_der if encrypted else None,
            speke_version="2.1",
            period_timing=timing,
            start=start,
            playlist="master" if periods == 1 else "multiVariant",
        )
        status, headers, body = invoke(rest_event(built.xml, headers=d21.HEADERS))
        where = (scheme, timing, periods, encrypted)
        assert status == 200 and headers["X-Speke-Version"] == "2.1", (where, body[:300])
        report = check_response(built, status, headers, body, delivery_private_key if encrypted else None)
        assert report.ok, (where, report.violations)
        keys = read_content_keys(body, delivery_private_key if encrypted else None)
        assert keys == {str(k.kid): derive_cek(MASTER_KEY, built.content_id, k.kid) for k in built.keys}
        assert body.count(b"<cpix:ContentKeyPeriod ") == periods


def test_kid_override_matrix_checked_independently(invoke, handler_env, delivery_cert_der, delivery_private_key):
    handler_env.setenv("KID_OVERRIDE", "true")
    for timing in ("start-end", "index+start-end"):
        built = build_request(
            content_id="live-1",
            video_preset="PRESET_VIDEO_8",
            audio_preset="PRESET_AUDIO_3",
            drm_systems=["widevine", "playready", "fairplay"],
            periods=3,
            certificate_der=delivery_cert_der,
            speke_version="2.1",
            period_timing=timing,
        )
        status, headers, body = invoke(rest_event(built.xml, headers=d21.HEADERS))
        report = check_response(
            built, status, headers, body, delivery_private_key, kid_override=True, master_key=MASTER_KEY
        )
        assert report.ok, report.violations
        assert {row.kid for row in report.keys}.isdisjoint({str(k.kid) for k in built.keys})
        assert not check_response(built, status, headers, body, delivery_private_key).ok  # echo expected: caught


V21_EVENTS = sorted(p.name for p in EVENTS.glob("*v21*.json"))


def test_there_are_v21_events():
    names = " ".join(V21_EVENTS)
    for part in ("start-end", "index-start-end", "rotation", "sample-aes", "sample-aes-ctr", "aes128", "encrypted"):
        assert part in names, part
    assert sum(n.startswith("bad-") for n in V21_EVENTS) >= 4


@pytest.mark.parametrize("name", V21_EVENTS)
def test_v21_event_periods_echoed_byte_for_byte(name, invoke):
    event = load_event(name)
    raw = base64.b64decode(event["body"]) if event["isBase64Encoded"] else event["body"].encode()
    status, headers, body = invoke(event)
    if name.startswith("bad-"):
        assert status == 422 and body
        return
    assert status == 200 and headers["X-Speke-Version"] == "2.1" and b'version="2.4"' in body
    for tag in re.findall(rb"<cpix:ContentKeyPeriod [^>]*/>", raw):
        assert tag.replace(b"/>", b" />") in body
