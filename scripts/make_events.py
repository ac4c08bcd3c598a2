"""Regenerate ``events/*.json``: API Gateway REST proxy events for `sam local invoke -e` and the tests.

Fixed KIDs and contentIds (period ids are fresh uuids, as MediaPackage makes them).
Run: ``.venv/bin/python scripts/make_events.py``.
Each ``ok-*`` event must be answered 200; each ``bad-*`` event must be refused with the 4xx in its name.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from pathlib import Path

from speke_keyprovider_tools.apigw_event import rest_proxy_event
from speke_keyprovider_tools.client.request_builder import build_request
from speke_keyprovider_tools.client.speke_v1_request import build_v1_request

REPO = Path(__file__).resolve().parents[1]
EVENTS = REPO / "events"
CERT = (REPO / "tests" / "fixtures" / "certs" / "delivery.cert.der").read_bytes()
V1_HEADERS = {"Content-Type": "application/xml"}  # SPEKE v1: no X-Speke-Version header


def kids(seed: int, n: int) -> list[uuid.UUID]:
    return [uuid.UUID(int=(seed << 64) | (i + 1), version=4) for i in range(n)]


def write(name: str, body: bytes | str | None, **kwargs) -> None:
    event = rest_proxy_event(body, request_id=str(uuid.UUID(int=len(name), version=4)), **kwargs)
    event["requestContext"]["requestTimeEpoch"] = 1795000000000
    (EVENTS / name).write_text(json.dumps(event, indent=2) + "\n")


def main() -> None:
    EVENTS.mkdir(exist_ok=True)
    clear = build_request(
        content_id="channel-1",
        video_preset="PRESET_VIDEO_1",
        audio_preset="PRESET_AUDIO_1",
        drm_systems=["widevine", "playready"],
        scheme="cenc",
        kids=kids(1, 2),
    ).xml
    write("ok-clear-widevine-playready-cenc.json", clear)
    encrypted = build_request(
        content_id="channel-1",
        video_preset="PRESET_VIDEO_2",
        audio_preset="PRESET_AUDIO_1",
        drm_systems=["widevine", "playready", "fairplay"],
        scheme="cbcs",
        certificate_der=CERT,
        kids=kids(2, 3),
    ).xml
    write("ok-encrypted-widevine-playready-fairplay-cbcs.json", encrypted)
    rotation = build_request(
        content_id="live-sports-7",
        video_preset="PRESET_VIDEO_5",
        audio_preset="PRESET_AUDIO_3",
        drm_systems=["widevine", "playready", "fairplay"],
        scheme="cbcs",
        periods=3,
        certificate_der=CERT,
        kids=kids(3, 24),
    ).xml
    write("ok-key-rotation-3-periods-encrypted.json", rotation)
    shared = build_request(
        content_id="channel-2",
        video_preset="SHARED",
        audio_preset="SHARED",
        drm_systems=["clearkey"],
        scheme="cenc",
        kids=kids(4, 1),
    ).xml
    write("ok-shared-clearkey-cenc.json", shared)
    aes = build_request(
        content_id="channel-3",
        video_preset="PRESET_VIDEO_1",
        audio_preset="UNENCRYPTED",
        drm_systems=["aes128"],
        scheme="cbcs",
        kids=kids(5, 1),
    ).xml
    write("ok-hls-aes128.json", aes, base64_body=True)

    write("bad-403-no-iam-identity.json", clear, caller_arn=None)
    write(
        "bad-422-speke-version-1.0.json", clear, headers={"Content-Type": "application/xml", "X-Speke-Version": "1.0"}
    )
    write("bad-422-cpix-version-2.2.json", clear.replace(b'version="2.3"', b'version="2.2"'))
    fairplay = build_request(
        content_id="channel-1",
        video_preset="PRESET_VIDEO_1",
        audio_preset="PRESET_AUDIO_1",
        drm_systems=["fairplay"],
        scheme="cbcs",
        kids=kids(6, 2),
    ).xml
    write("bad-422-fairplay-with-cenc.json", fairplay.replace(b'"cbcs"', b'"cenc"'))
    write(
        "bad-422-xxe.json",
        b'<?xml version="1.0"?><!DOCTYPE CPIX [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<CPIX xmlns="urn:dashif:org:cpix" contentId="a" version="2.3">&x;</CPIX>',
    )
    write(
        "bad-422-speke-v1-namespace.json",
        b'<cpix:CPIX xmlns:cpix="urn:aws:amazon:com:speke" contentId="a" version="2.3"/>',
    )
    write("bad-413-oversize.json", b"<CPIX>" + b" " * (1024 * 1024) + b"</CPIX>")
    # hostile classes: each refused before any key is derived
    first_kid = str(kids(1, 2)[0]).encode()
    write("bad-422-kid-trailing-newline.json", clear.replace(first_kid + b'"', first_kid + b'&#10;"', 1))
    write("bad-422-unicode-digit-period-index.json", clear.replace(b'index="', 'index="\u00b2'.encode(), 1))
    write(
        "bad-422-key-data-in-content-key.json",
        clear.replace(
            b'commonEncryptionScheme="cenc"/>',
            b'commonEncryptionScheme="cenc"><pskc:Secret xmlns:pskc="urn:ietf:params:xml:ns:keyprov:pskc">'
            b"<pskc:PlainValue>AAAAAAAAAAAAAAAAAAAAAA==</pskc:PlainValue></pskc:Secret></cpix:ContentKey>",
            1,
        ),
    )
    write(
        "bad-422-even-modulus-certificate.json",
        encrypted.replace(base64.b64encode(CERT), base64.b64encode(_even_modulus(CERT))),
    )
    quotes = b'"' * (1024 * 1024 - len(clear) - 200)
    write(
        "bad-413-answer-too-large.json",
        clear.replace(b"<cpix:CPIX ", b"<cpix:CPIX xmlns:q='urn:q' q:a='" + quotes + b"' ", 1),
    )
    main_v21()
    speke_v1_events()


V21 = {"Content-Type": "application/xml", "X-Speke-Version": "2.1"}
START = dt.datetime(2026, 12, 1, 20, 0, tzinfo=dt.UTC)


def main_v21() -> None:
    """SPEKE v2.1 (CPIX 2.4) events: both timing modes, rotation, the HLS-method schemes, clear and encrypted."""
    start_end = build_request(
        content_id="live-eu-1",
        video_preset="PRESET_VIDEO_2",
        audio_preset="PRESET_AUDIO_1",
        drm_systems=["widevine", "playready"],
        scheme="SAMPLE-AES",
        kids=kids(11, 3),
        speke_version="2.1",
        period_timing="start-end",
        start=START,
    ).xml
    write("ok-v21-start-end-widevine-playready-sample-aes.json", start_end, headers=V21)
    rotation = build_request(
        content_id="live-eu-1",
        video_preset="PRESET_VIDEO_3",
        audio_preset="PRESET_AUDIO_2",
        drm_systems=["widevine", "playready", "fairplay"],
        scheme="cbcs",
        periods=3,
        certificate_der=CERT,
        kids=kids(12, 15),
        speke_version="2.1",
        period_timing="index+start-end",
        start=START,
        playlist="multiVariant",
    ).xml
    write("ok-v21-index-start-end-rotation-3-periods-encrypted.json", rotation, headers=V21)
    ctr = build_request(
        content_id="live-eu-2",
        video_preset="PRESET_VIDEO_1",
        audio_preset="PRESET_AUDIO_1",
        drm_systems=["widevine", "clearkey"],
        scheme="SAMPLE-AES-CTR",
        periods=2,
        kids=kids(13, 4),
        speke_version="2.1",
        period_timing="start-end",
        start=START,
    ).xml
    write("ok-v21-sample-aes-ctr-2-periods.json", ctr, headers=V21)
    aes = build_request(
        content_id="live-eu-3",
        video_preset="PRESET_VIDEO_1",
        audio_preset="UNENCRYPTED",
        drm_systems=["aes128"],
        scheme="AES-128",
        kids=kids(14, 1),
        speke_version="2.1",
        period_timing="index",
        certificate_der=CERT,
    ).xml
    write("ok-v21-aes128-method-encrypted.json", aes, headers=V21, base64_body=True)

    write("bad-422-v21-header-with-cpix-2.3.json", start_end.replace(b'version="2.4"', b'version="2.3"'), headers=V21)
    write(
        "bad-422-v21-start-after-end.json",
        start_end.replace(b'start="2026-12-01T20:00:00Z"', b'start="2026-12-01T21:00:00Z"'),
        headers=V21,
    )
    write(
        "bad-422-v21-end-with-duration.json",
        start_end.replace(b'end="2026-12-01T20:15:00Z"', b'end="2026-12-01T20:15:00Z" duration="PT15M"'),
        headers=V21,
    )
    write(
        "bad-422-v21-start-with-character-reference.json",
        start_end.replace(b'start="2026-12-01T20:00:00Z"', b'start="2026-12-01T20&#58;00:00Z"'),
        headers=V21,
    )
    write(
        "bad-422-v21-aes128-with-widevine.json",
        aes.replace(b"3ea8778f-7742-4bf9-b18b-e834b2acbd47", b"edef8ba9-79d6-4ace-a3c8-27dcd51d21ed"),
        headers=V21,
    )


def speke_v1_events() -> None:
    """MediaPackage v1 endpoints and a MediaConvert job (SPEKE v1), and v1 inputs that must be refused."""

    def v1(name: str, **kwargs) -> bytes:
        body = build_v1_request(**kwargs).xml
        write(name, body, headers=V1_HEADERS)
        return body

    hls = v1(
        "ok-v1-hls-fairplay-live-rotation.json",
        content_id="mp1-hls-channel",
        endpoint="hls",
        first_index=459201,
        kids=kids(11, 1),
    )
    v1(
        "ok-v1-hls-aes128.json",
        content_id="mp1-hls-aes",
        endpoint="hls",
        drm_systems=["aes128-v1"],
        first_index=17,
        kids=kids(12, 1),
    )
    v1(
        "ok-v1-dash-widevine-playready-encrypted.json",
        content_id="mp1-dash-channel",
        endpoint="dash",
        certificate_der=CERT,
        first_index=1201,
        kids=kids(13, 1),
    )
    v1("ok-v1-mss-playready.json", content_id="mp1-mss-channel", endpoint="mss", kids=kids(14, 1))
    v1("ok-v1-cmaf-encrypted.json", content_id="mp1-cmaf", endpoint="cmaf", certificate_der=CERT, kids=kids(15, 1))
    v1(
        "ok-v1-mediaconvert-vod.json",
        content_id="mediaconvert-job-42",
        endpoint="dash",
        live=False,
        children="minimal",
        kids=kids(16, 1),
    )

    write("bad-422-v1-content-id-attribute.json", hls.replace(b' id="', b' contentId="'), headers=V1_HEADERS)
    write(
        "bad-422-v1-version-header-without-cpix-version.json",
        hls,
        headers={"Content-Type": "application/xml", "X-Speke-Version": "2.0"},
    )
    write(
        "bad-422-v1-unknown-child.json",
        hls.replace(b"<cpix:URIExtXKey/>", b"<speke:KeyUri/>"),
        headers=V1_HEADERS,
    )
    write(
        "bad-422-v1-non-empty-child.json",
        hls.replace(b"<cpix:URIExtXKey/>", b"<cpix:URIExtXKey>c2tkOi8vZXZpbA==</cpix:URIExtXKey>"),
        headers=V1_HEADERS,
    )
    write(
        "bad-422-v1-unknown-system.json",
        hls.replace(b"94ce86fb-07ff-4f43-adb8-93d2fa968ca2", b"11111111-2222-4333-8444-555555555555"),
        headers=V1_HEADERS,
    )
    write(
        "bad-422-v1-common-encryption-scheme.json",
        hls.replace(b"<cpix:ContentKey ", b'<cpix:ContentKey commonEncryptionScheme="cbcs" '),
        headers=V1_HEADERS,
    )


def _even_modulus(der: bytes) -> bytes:
    """The certificate with its RSA modulus made even (same length): a key that cannot encrypt."""
    from cryptography import x509

    n = x509.load_der_x509_certificate(der).public_key().public_numbers().n  # type: ignore[union-attr]
    length = (n.bit_length() + 7) // 8
    return der.replace(n.to_bytes(length, "big"), (n - 1).to_bytes(length, "big"), 1)


if __name__ == "__main__":
    main()
