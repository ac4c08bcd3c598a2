"""The independent checker's SPEKE v1 rules (client/conformance_v1.py): a correct answer passes, and each
deliberately broken answer (the provider's own answer, then damaged) is reported with a sentence naming it."""

from __future__ import annotations

import base64
import uuid

import pytest
from speke_keyprovider import speke_http
from speke_keyprovider.cpix.dialect import V1
from speke_keyprovider.key_sources import StaticMasterKey
from speke_keyprovider.service import KeyExchange
from speke_keyprovider.settings import Settings
from speke_keyprovider_tools.client.conformance import check_response
from speke_keyprovider_tools.client.speke_v1_request import ENDPOINTS, build_v1_request

from tests.conftest import MASTER_KEY

KID = uuid.UUID("0f083e4e-b831-4a3d-917e-ce78076e54aa")
HEADERS = speke_http.success_headers(V1)


def answered(built, **settings) -> bytes:
    return KeyExchange(Settings(**settings), StaticMasterKey(MASTER_KEY)).answer(built.xml, None).body


@pytest.mark.parametrize("endpoint", sorted(ENDPOINTS))
@pytest.mark.parametrize("children", ["all", "minimal"])
def test_provider_answers_pass(endpoint, children, delivery_cert_der, delivery_private_key):
    for cert in (None, delivery_cert_der):
        built = build_v1_request(content_id="chk", endpoint=endpoint, certificate_der=cert, children=children)
        report = check_response(built, 200, HEADERS, answered(built), delivery_private_key)
        assert report.ok, report.violations
        assert [row.kid for row in report.keys] == [str(k.kid) for k in built.keys]


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def fp_uri(kid: uuid.UUID) -> str:
    return _b64(f"skd://chk/{kid}")


FAULTS = {
    # name: (endpoint, damage(body, built) -> body, headers change, expected text in a violation)
    "version header": ("hls", lambda b, _: b, {"X-Speke-Version": "2.0"}, "X-Speke-Version"),
    "no user agent": ("hls", lambda b, _: b, {"Speke-User-Agent": None}, "Speke-User-Agent header missing"),
    "id changed": ("hls", lambda b, _: b.replace(b' id="chk"', b' id="other"'), {}, "CPIX@id is 'other'"),
    "contentId added": (
        "hls",
        lambda b, _: b.replace(b' id="chk"', b' id="chk" contentId="chk"'),
        {},
        "CPIX@contentId",
    ),
    "scheme added": (
        "hls",
        lambda b, _: b.replace(b"<cpix:ContentKey ", b'<cpix:ContentKey commonEncryptionScheme="cbcs" '),
        {},
        "commonEncryptionScheme",
    ),
    "undefined child kept": (
        "hls",
        lambda b, _: b.replace(b"</cpix:DRMSystem>", b"<cpix:PSSH>AAAA</cpix:PSSH></cpix:DRMSystem>"),
        {},
        "must be dropped",
    ),
    "defined child dropped": (
        "hls",
        lambda b, _: b.split(b"<cpix:URIExtXKey>")[0] + b.split(b"</cpix:URIExtXKey>")[1],
        {},
        "requested child URIExtXKey is missing",
    ),
    "wrong key format": (
        "hls",
        lambda b, _: b.replace(_b64("com.apple.streamingkeydelivery").encode(), _b64("identity").encode()),
        {},
        "KeyFormat is 'identity'",
    ),
    "empty key format (reference server fault)": (
        "hls",
        lambda b, _: b.replace(_b64("com.apple.streamingkeydelivery").encode(), b""),
        {},
        "requested child KeyFormat is empty",
    ),
    "key format versions 2": ("hls", lambda b, _: b.replace(b">MQ==<", b">Mg==<"), {}, "KeyFormatVersions is '2'"),
    "not an skd uri": (
        "hls",
        lambda b, built: b.replace(fp_uri(built.keys[0].kid).encode(), _b64(f"https://x/{built.keys[0].kid}").encode()),
        {},
        "not an skd:// URI",
    ),
    "static protection header (reference server fault)": (
        "mss",
        lambda b, _: _swap_kid_in_pro(b),
        {},
        "do not include the kid",
    ),
}


def _swap_kid_in_pro(body: bytes) -> bytes:
    """Replace the ProtectionHeader with a PRO for another kid (a static blob)."""
    from speke_keyprovider.drm import playready
    from speke_keyprovider.drm.base import KeySignalContext
    from speke_keyprovider.settings import SignallingSettings

    other = KeySignalContext(PLAYREADY, uuid.uuid4(), "chk", "cenc", SignallingSettings())
    pro = base64.b64encode(playready.playready_object(playready.wrm_header(other))).decode()
    start = body.index(b"<speke:ProtectionHeader>") + len(b"<speke:ProtectionHeader>")
    end = body.index(b"</speke:ProtectionHeader>")
    return body[:start] + pro.encode() + body[end:]


PLAYREADY = "9a04f079-9840-4286-ab92-e65be0885f95"


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_each_fault_is_reported(name):
    endpoint, damage, header_change, text = FAULTS[name]
    built = build_v1_request(content_id="chk", endpoint=endpoint)
    body = damage(answered(built), built)
    headers = {k: v for k, v in {**HEADERS, **header_change}.items() if v is not None}
    report = check_response(built, 200, headers, body)
    assert not report.ok, name
    assert any(text in v for v in report.violations), report.violations


def test_a_changed_explicit_iv_is_reported():
    built = build_v1_request(content_id="chk", endpoint="hls", explicit_iv=True)
    body = answered(built)
    sent = built.xml.split(b'explicitIV="')[1].split(b'"')[0]
    report = check_response(built, 200, HEADERS, body.replace(sent, base64.b64encode(bytes(16))))
    assert any("explicitIV changed" in v for v in report.violations), report.violations


def test_an_error_status_is_reported():
    built = build_v1_request(content_id="chk", endpoint="hls")
    report = check_response(built, 422, {"Content-Type": "text/plain"}, b"Unsupported SPEKE version")
    assert not report.ok and "HTTP status 422" in report.violations[0]
