"""Regenerate ``events/*.json``: API Gateway REST proxy events for `sam local invoke -e` and the tests.

Fixed KIDs and contentIds (period ids are fresh uuids, as MediaPackage makes them).
Run: ``.venv/bin/python scripts/make_events.py``.
Each ``ok-*`` event must be answered 200; each ``bad-*`` event must be refused with the 4xx in its name.
"""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path

from speke_keyprovider_tools.apigw_event import rest_proxy_event
from speke_keyprovider_tools.client.request_builder import build_request

REPO = Path(__file__).resolve().parents[1]
EVENTS = REPO / "events"
CERT = (REPO / "tests" / "fixtures" / "certs" / "delivery.cert.der").read_bytes()


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


def _even_modulus(der: bytes) -> bytes:
    """The certificate with its RSA modulus made even (same length): a key that cannot encrypt."""
    from cryptography import x509

    n = x509.load_der_x509_certificate(der).public_key().public_numbers().n  # type: ignore[union-attr]
    length = (n.bit_length() + 7) // 8
    return der.replace(n.to_bytes(length, "big"), (n - 1).to_bytes(length, "big"), 1)


if __name__ == "__main__":
    main()
