"""client.conformance: good answers pass, each deliberately broken answer is reported."""

from __future__ import annotations

import base64
import hashlib
import itertools
import re
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from speke_keyprovider_tools.client.conformance import check_response
from speke_keyprovider_tools.client.request_builder import DRM_SYSTEM_IDS, PRESETS, build_request

from tests.reference_responder import FAULTS, ReferenceResponder

CERTS = Path(__file__).parents[1] / "fixtures" / "certs"
CERT_DER = (CERTS / "delivery.cert.der").read_bytes()
ALL_CHILDREN = [
    "PSSH",
    "ContentProtectionData",
    "HLSSignalingData:media",
    "HLSSignalingData:master",
    "SmoothStreamingProtectionHeaderData",
]


@pytest.fixture(scope="module")
def private_key():
    return load_pem_private_key((CERTS / "delivery.key.pem").read_bytes(), password=None)


def _request(encrypted=True, scheme="cbcs", systems=None, **kw):
    systems = systems or (list(DRM_SYSTEM_IDS) if scheme == "cbcs" else ["widevine", "playready", "clearkey", "aes128"])
    args = {
        "content_id": "channel-1",
        "video_preset": "PRESET_VIDEO_2",
        "audio_preset": "PRESET_AUDIO_1",
        "drm_systems": systems,
        "scheme": scheme,
        "certificate_der": CERT_DER if encrypted else None,
    } | kw
    return build_request(**args)


def _check(built, responder, private_key):
    answer = responder.http(built.xml)
    return check_response(built, answer.status, answer.headers, answer.body, private_key)


@pytest.mark.parametrize("scheme", ["cbcs", "cenc"])
@pytest.mark.parametrize("encrypted", [False, True])
def test_good_answer_passes_and_keys_are_reported(private_key, scheme, encrypted):
    built = _request(encrypted, scheme, periods=2, children={"playready": ALL_CHILDREN})
    responder = ReferenceResponder()
    report = _check(built, responder, private_key)
    assert report.violations == []
    assert report.ok and report.warnings == []
    assert [r.kid for r in report.keys] == [str(k.kid) for k in built.keys]
    for row in report.keys:
        assert row.key_bytes == responder.keys_served[row.kid]
        assert row.sha256_fingerprint_of_key == hashlib.sha256(row.key_bytes).hexdigest()
        assert row.scheme == scheme and row.period_id.startswith("keyPeriod_")
    assert set(report.signalling) == {"widevine", "playready", "clearkey", "aes128"} | (
        {"fairplay"} if scheme == "cbcs" else set()
    )
    pr = [e for e in report.signalling["playready"] if e["child"] == "PSSH"][0]
    assert pr["algid"] == ["AESCBC" if scheme == "cbcs" else "AESCTR"]
    wv = [e for e in report.signalling["widevine"] if e["child"] == "PSSH"][0]
    assert wv["protection_scheme"] == scheme and wv["key_ids"] == [wv["kid"]]


PRESET_PAIRS = [
    (video, audio)
    for video, audio in itertools.product(PRESETS["VIDEO"], PRESETS["AUDIO"])
    if (video == "SHARED") == (audio == "SHARED") and not video == audio == "UNENCRYPTED"
]


@pytest.mark.parametrize(("video", "audio"), PRESET_PAIRS)
def test_every_preset_pair_passes(private_key, video, audio):
    built = _request(False, video_preset=video, audio_preset=audio, systems=["widevine", "fairplay"])
    report = _check(built, ReferenceResponder(), private_key)
    assert report.violations == []


EXPECTED = {
    "wrong_mac": "ValueMAC does not verify",
    "pssh_cpd_mismatch": "ContentProtectionData cenc:pssh differs from the PSSH element",
    "changed_scheme": "commonEncryptionScheme is 'cenc', the request had 'cbcs'",
    "dropped_child": "requested child PSSH is missing",
    "added_child": "was not requested",
    "added_plainvalue": "PlainValue element(s) in an answer that must carry encrypted keys only",
    "changed_kid": "is missing: kids must be echoed",
    "wrong_hls_method": "METHOD is 'SAMPLE-AES-CTR', expected SAMPLE-AES for cbcs",
    "master_differs": "HLS master line differs from the media line",
    "wrong_pssh_kid": "Widevine key_ids do not include the kid",
    "changed_content_id": "CPIX@contentId is 'tampered'",
    "dropped_period": "ContentKeyPeriodList has 0 ContentKeyPeriod",
    "missing_user_agent": "X-Speke-User-Agent header missing",
    "missing_version_header": "X-Speke-Version header missing",
    "wrong_version_header": "X-Speke-Version is '1.0'",
    "wrong_content_type": "Content-Type is 'text/plain'",
    "status_500": "HTTP status 500",
    "error_with_200": "body is not a CPIX document",
}


def test_every_fault_has_an_expectation():
    assert set(EXPECTED) == set(FAULTS)


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_each_broken_answer_is_reported(private_key, fault):
    report = _check(_request(True), ReferenceResponder(fault=fault), private_key)
    assert not report.ok
    assert any(EXPECTED[fault] in v for v in report.violations), report.violations


def test_mac_is_verified_before_decrypting_so_no_key_is_reported(private_key):
    report = _check(_request(True), ReferenceResponder(fault="wrong_mac"), private_key)
    assert report.keys[0].key_bytes is None and report.keys[0].sha256_fingerprint_of_key is None
    assert all(r.key_bytes for r in report.keys[1:])


@pytest.mark.parametrize("form", ["dashif", "rfc6030"])
def test_other_mac_key_forms_decrypt_with_a_warning(private_key, form):
    report = _check(_request(True), ReferenceResponder(mac_key_form=form), private_key)
    assert report.ok, report.violations
    assert any("MAC key is in" in w for w in report.warnings)


def test_without_private_key_shape_is_checked_and_a_warning_given():
    report = _check(_request(True), ReferenceResponder(), None)
    assert report.ok
    assert any("no private key" in w for w in report.warnings)
    assert all(r.key_bytes is None for r in report.keys)
    report = _check(_request(True), ReferenceResponder(fault="added_plainvalue"), None)
    assert not report.ok


def test_headers_are_case_insensitive_and_utf8_charset_is_fine(private_key):
    built = _request(False)
    answer = ReferenceResponder().http(built.xml)
    headers = {
        "content-type": "application/xml; charset=UTF-8",
        "x-speke-version": "2.0",
        "x-speke-user-agent": "other/1",
    }
    assert check_response(built, 200, headers, answer.body, private_key).ok
    headers["content-type"] = "application/xml; charset=iso-8859-1"
    report = check_response(built, 200, headers, answer.body, private_key)
    assert any("charset" in v for v in report.violations)


def _mutate(body: bytes, pattern: str, repl) -> bytes:
    new, n = re.subn(pattern, repl, body.decode(), count=1)
    assert n == 1
    return new.encode()


def _good(built):
    answer = ReferenceResponder().http(built.xml)
    return answer.headers, answer.body


def test_clear_answer_to_an_encrypted_request_is_reported(private_key):
    built = _request(True)
    clear = ReferenceResponder().http(_request(False).xml)
    report = check_response(built, 200, clear.headers, clear.body, private_key)
    assert any("DeliveryDataList missing" in v for v in report.violations)


def test_wrong_document_key_algorithm(private_key):
    built = _request(True)
    headers, body = _good(built)
    body = _mutate(
        body,
        r'DocumentKey Algorithm="[^"]+"',
        'DocumentKey Algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc"',
    )
    report = check_response(built, 200, headers, body, private_key)
    assert any("DocumentKey@Algorithm" in v for v in report.violations)


def test_wrong_mac_algorithm(private_key):
    built = _request(True)
    headers, body = _good(built)
    body = _mutate(
        body,
        r'MACMethod Algorithm="[^"]+"',
        'MACMethod Algorithm="http://www.w3.org/2000/09/xmldsig#hmac-sha1"',
    )
    report = check_response(built, 200, headers, body, private_key)
    assert any("MACMethod@Algorithm" in v for v in report.violations)


def test_changed_contract_is_reported(private_key):
    built = _request(False)
    headers, body = _good(built)
    body = _mutate(body, r'maxPixels="589824"', 'maxPixels="589825"')
    report = check_response(built, 200, headers, body, private_key)
    assert any("ContentKeyUsageRuleList differs" in v for v in report.violations)


def test_empty_requested_child_is_reported(private_key):
    built = _request(False, systems=["widevine"])
    headers, body = _good(built)
    body = _mutate(body, r"<cpix:PSSH>[^<]+</cpix:PSSH>", "<cpix:PSSH></cpix:PSSH>")
    report = check_response(built, 200, headers, body, private_key)
    assert any("requested child PSSH is empty" in v for v in report.violations)


def test_missing_drm_system_and_short_key(private_key):
    built = _request(False, systems=["widevine", "aes128"])
    headers, body = _good(built)
    body = _mutate(body, r'<cpix:DRMSystem kid="[^"]+" systemId="3ea8778f[^"]+">.*?</cpix:DRMSystem>', "")
    body = _mutate(
        body,
        r"<pskc:PlainValue>[^<]+</pskc:PlainValue>",
        "<pskc:PlainValue>" + base64.b64encode(b"short").decode() + "</pskc:PlainValue>",
    )
    report = check_response(built, 200, headers, body, private_key)
    assert any("DRMSystem aes128" in v and "is missing" in v for v in report.violations)
    assert any("PlainValue is 5 bytes" in v for v in report.violations)


def test_fairplay_and_aes128_hls_rules(private_key):
    built = _request(False, systems=["fairplay", "aes128"])
    headers, body = _good(built)
    text = body.decode()

    def swap(system_id, old, new):
        def repl(match):
            line = base64.b64decode(match.group(2)).decode().replace(old, new)
            return match.group(1) + base64.b64encode(line.encode()).decode() + "<"

        return re.sub(
            rf'(systemId="{system_id}">.*?<cpix:HLSSignalingData playlist="media">)([^<]+)<',
            repl,
            text,
            count=1,
            flags=re.S,
        )

    text = swap(DRM_SYSTEM_IDS["fairplay"], "skd://", "https://")
    text = swap(DRM_SYSTEM_IDS["aes128"], 'KEYFORMAT="identity"', 'KEYFORMAT="other"')
    report = check_response(built, 200, headers, text.encode(), private_key)
    assert any("not an skd:// URI" in v for v in report.violations)
    assert any("KEYFORMAT is 'other'" in v for v in report.violations)


def test_status_error_body_is_shown_but_report_stops():
    built = _request(False)
    report = check_response(built, 422, {"Content-Type": "text/plain"}, b"Missing CPIX@contentId")
    assert report.violations == ["HTTP status 422, expected 200 (body: 'Missing CPIX@contentId')"]


def test_report_hides_keys_unless_asked(private_key):
    report = _check(_request(False), ReferenceResponder(), private_key)
    plain = report.to_dict()
    assert "key_hex" not in plain["keys"][0]
    shown = report.to_dict(show_keys=True)
    assert shown["keys"][0]["key_hex"] == report.keys[0].key_bytes.hex()
    assert report.keys[0].key_bytes.hex() not in repr(report.keys[0])


def test_reused_iv_is_reported(private_key):
    built = _request(True, systems=["widevine"])
    headers, body = _good(built)
    text = body.decode()
    secrets = re.findall(r"<pskc:Secret><pskc:EncryptedValue>.*?</pskc:Secret>", text, flags=re.S)
    assert len(secrets) == 4  # the DocumentKey's, then the three content keys'
    text = text.replace(secrets[2], secrets[1])  # a valid MAC, but the same IV (and key) twice
    report = check_response(built, 200, headers, text.encode(), private_key)
    assert any("reuses another content key's IV" in v for v in report.violations)


def test_mangled_answers_give_a_report_never_an_exception(private_key):
    import random

    rng = random.Random(5)
    built = _request(True, systems=["widevine", "playready", "fairplay", "clearkey", "aes128"])
    headers, body = _good(built)
    flagged = 0
    for _ in range(300):
        data = bytearray(body)
        for _ in range(rng.randint(1, 8)):
            position = rng.randrange(len(data))
            if rng.random() < 0.5:
                data[position] = rng.randrange(256)
            else:
                del data[position : position + rng.randint(1, 40)]
        report = check_response(built, 200, headers, bytes(data), private_key)
        # some mutations are harmless (a kid's letter case, whitespace): the point is a report, not a crash
        assert not any("could not be checked" in v for v in report.violations), report.violations
        flagged += bool(report.violations)
    assert flagged > 250


def test_deep_nesting_and_unknown_encodings_are_violations(private_key):
    built = _request(False, systems=["widevine"])
    headers, _ = _good(built)
    deep = b"<a>" * 100_000 + b"</a>" * 100_000
    unknown = b'<?xml version="1.0" encoding="x-no-such-encoding"?><a/>'
    for body in (deep, unknown):
        report = check_response(built, 200, headers, body, private_key)
        assert report.violations
    report = check_response(built, 200, headers, unknown, private_key)
    assert "unknown character encoding" in report.violations[0]
