"""Every setting the function reads does what the documentation says: one test per variable, through the
handler in-process, reading the answer with the independent client parsers. ``test_every_setting_has_its_effect_test``
fails when a variable is added to ``settings.SETTINGS`` without a test here."""

from __future__ import annotations

import base64
import json
import sys
import uuid
import xml.etree.ElementTree as ET

import boto3
import pytest
from speke_keyprovider import runtime, settings
from speke_keyprovider.errors import BackendUnavailable
from speke_keyprovider.key_derivation import derive_cek
from speke_keyprovider_tools.client.response_reader import read_content_keys
from speke_keyprovider_tools.client.signalling import (
    parse_hls_key_tag,
    parse_playready_object,
    parse_pssh,
    parse_widevine_data,
)

from tests import cpixdocs as d
from tests.certfactory import make_cert
from tests.conftest import DERIVATION_VECTORS, MASTER_KEY, _load_app, rest_event
from tests.integration.test_aws_key_homes import _kms_hmac_key, aws  # noqa: F401 (fixture)

EFFECT_TESTS: set[str] = set()
CPIX = "{urn:dashif:org:cpix}"
AES128 = "3ea8778f-7742-4bf9-b18b-e834b2acbd47"
OTHER_CALLER = "arn:aws:sts::111122223333:assumed-role/SomeoneElse/session"


def effect_of(name: str):
    """Marks the test that proves ``name``'s effect."""

    def mark(test):
        EFFECT_TESTS.add(name)
        return test

    return mark


def test_every_setting_has_its_effect_test():
    assert set(settings.SETTINGS) == EFFECT_TESTS


def _signalled(body: bytes, system_id: str, child: str, playlist: str | None = None) -> bytes:
    root = ET.fromstring(body)  # noqa: S314 - our own answer
    for system in root.iter(f"{CPIX}DRMSystem"):
        if system.get("systemId") == system_id and system.get("kid") == d.KID_VIDEO:
            for item in system:
                if item.tag == f"{CPIX}{child}" and (playlist is None or item.get("playlist") == playlist):
                    return base64.b64decode(item.text or "")
    raise AssertionError(f"no {child} for {system_id}")


def _hls_uri(body: bytes, system_id: str) -> str:
    return parse_hls_key_tag(_signalled(body, system_id, "HLSSignalingData", "media").decode()).attributes["URI"]


def _ok(invoke, document: bytes | None = None, **event) -> bytes:
    status, _, body = invoke(rest_event(document or d.document(), **event))
    assert status == 200, body[:300]
    return body


def _fresh_app(monkeypatch, **env):
    """The handler module loaded again with ``env`` (Powertools objects are built at import)."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv(
        "POWERTOOLS_SERVICE_NAME", env.get("POWERTOOLS_SERVICE_NAME", f"speke-test-{uuid.uuid4().hex[:8]}")
    )
    saved = sys.modules.get("speke_app_under_test")
    try:
        return _load_app()
    finally:
        if saved is not None:
            sys.modules["speke_app_under_test"] = saved


def _emf(captured: str) -> list[dict]:
    return [json.loads(line) for line in captured.splitlines() if line.startswith("{") and '"_aws"' in line]


# --- key homes ---------------------------------------------------------------------------------------------


@effect_of("KEY_SOURCE")
@effect_of("MASTER_KEY_FILE")
def test_file_key_home_gives_the_vector_keys_of_its_master(invoke, handler_env, tmp_path):
    keys = read_content_keys(_ok(invoke))
    assert keys[d.KID_VIDEO].hex() == DERIVATION_VECTORS[0][2]
    other = tmp_path / "other.key"
    other.write_bytes(b"another master key of 32+ characters")
    handler_env.setenv("MASTER_KEY_FILE", str(other))
    runtime.reset_runtime()
    keys = read_content_keys(_ok(invoke))
    assert keys[d.KID_VIDEO] == derive_cek(other.read_bytes(), "test_case_generic", uuid.UUID(d.KID_VIDEO))


@effect_of("MASTER_KEY_SECRET_ID")
def test_secrets_manager_home_reads_the_named_secret(aws, handler_env, invoke):  # noqa: F811
    client = boto3.client("secretsmanager")
    decoy = "a decoy master key of 32 or more characters"  # pragma: allowlist secret
    client.create_secret(Name="decoy", SecretString=decoy)
    arn = client.create_secret(Name="speke/master", SecretString=MASTER_KEY.decode())["ARN"]
    handler_env.setenv("KEY_SOURCE", "secretsmanager")
    handler_env.setenv("MASTER_KEY_SECRET_ID", arn)
    assert read_content_keys(_ok(invoke))[d.KID_VIDEO].hex() == DERIVATION_VECTORS[0][2]


@effect_of("KMS_HMAC_KEY_ID")
def test_kms_home_uses_the_named_hmac_key(aws, handler_env, invoke):  # noqa: F811
    _kms_hmac_key(b"a decoy master key of 32 or more characters")
    handler_env.setenv("KEY_SOURCE", "kms")
    handler_env.setenv("KMS_HMAC_KEY_ID", _kms_hmac_key(MASTER_KEY))
    assert read_content_keys(_ok(invoke))[d.KID_VIDEO].hex() == DERIVATION_VECTORS[0][2]


# The caches' behaviour (refresh after the TTL, serving within the grace period, 503 after it) is proven by
# test_aws_key_homes / test_faults on the key-source classes; these prove the variables reach them.


@effect_of("MASTER_KEY_CACHE_TTL_SECONDS")
@effect_of("MASTER_KEY_GRACE_SECONDS")
def test_secrets_manager_cache_settings_reach_the_key_home(handler_env):
    handler_env.setenv("KEY_SOURCE", "secretsmanager")
    handler_env.setenv("MASTER_KEY_SECRET_ID", "speke/master")
    handler_env.setenv("MASTER_KEY_CACHE_TTL_SECONDS", "17")
    handler_env.setenv("MASTER_KEY_GRACE_SECONDS", "29")
    source = runtime.get_runtime().key_source
    assert (source._ttl, source._grace) == (17, 29)


@effect_of("CEK_CACHE_TTL_SECONDS")
def test_kms_cache_settings_reach_the_key_home(handler_env):
    handler_env.setenv("KEY_SOURCE", "kms")
    handler_env.setenv("KMS_HMAC_KEY_ID", "alias/speke")
    handler_env.setenv("CEK_CACHE_TTL_SECONDS", "0")
    handler_env.setenv("MASTER_KEY_GRACE_SECONDS", "31")
    source = runtime.get_runtime().key_source
    assert (source._ttl, source._grace) == (0, 31)


# --- trust -------------------------------------------------------------------------------------------------


@effect_of("TRUSTED_CERT_SHA256")
def test_only_allowlisted_certificates_get_keys(invoke, handler_env, delivery_cert_der):
    import hashlib

    other_der, _ = make_cert()
    handler_env.setenv("TRUSTED_CERT_SHA256", hashlib.sha256(delivery_cert_der).hexdigest().upper())
    ours = d.document(delivery=d.delivery_data(base64.b64encode(delivery_cert_der).decode()))
    theirs = d.document(delivery=d.delivery_data(base64.b64encode(other_der).decode()))
    assert invoke(rest_event(ours))[0] == 200
    assert invoke(rest_event(theirs))[0] == 403


@effect_of("REQUIRE_ENCRYPTED_KEYS")
def test_require_encrypted_keys_refuses_clear_requests(invoke, handler_env, delivery_cert_der):
    assert invoke(rest_event(d.document()))[0] == 200
    handler_env.setenv("REQUIRE_ENCRYPTED_KEYS", "yes")
    runtime.reset_runtime()
    status, _, body = invoke(rest_event(d.document()))
    assert status == 422 and b"Encrypted content keys required" in body
    encrypted = d.document(delivery=d.delivery_data(base64.b64encode(delivery_cert_der).decode()))
    assert invoke(rest_event(encrypted))[0] == 200


@effect_of("ALLOWED_CALLER_ARNS")
def test_only_allowed_callers_get_keys(invoke, handler_env):
    handler_env.setenv("ALLOWED_CALLER_ARNS", "arn:aws:iam::111122223333:role/MediaPackageSpeke")
    assert invoke(rest_event(d.document(), caller_arn=OTHER_CALLER))[0] == 403
    mediapackage = "arn:aws:sts::111122223333:assumed-role/MediaPackageSpeke/session-1"
    assert invoke(rest_event(d.document(), caller_arn=mediapackage))[0] == 200


# --- the HTTP answer ---------------------------------------------------------------------------------------


@effect_of("RETRY_AFTER_SECONDS")
def test_retry_after_is_the_setting(invoke, handler_env, monkeypatch):
    handler_env.setenv("RETRY_AFTER_SECONDS", "42")

    def unavailable(self, content_id, kids):
        raise BackendUnavailable()

    monkeypatch.setattr(type(runtime.get_runtime().key_source), "content_keys", unavailable)
    status, headers, _ = invoke(rest_event(d.document()))
    assert status == 503 and headers["Retry-After"] == "42"


# --- signalling --------------------------------------------------------------------------------------------


@effect_of("WIDEVINE_PROVIDER")
def test_widevine_provider_is_in_the_pssh(invoke, handler_env):
    handler_env.setenv("WIDEVINE_PROVIDER", "acme-drm")
    box = parse_pssh(_signalled(_ok(invoke), d.WIDEVINE, "PSSH"))
    assert parse_widevine_data(box.data).provider == "acme-drm"


@effect_of("PLAYREADY_LA_URL")
def test_playready_la_url_is_in_the_header(invoke, handler_env):
    document = d.document(systems=d.drm_systems(systems=(d.PLAYREADY,)))
    box = parse_pssh(_signalled(_ok(invoke, document), d.PLAYREADY, "PSSH"))
    assert parse_playready_object(box.data).la_url is None
    handler_env.setenv("PLAYREADY_LA_URL", "https://pr.example.com/rightsmanager.asmx?a=1&b=2")
    runtime.reset_runtime()
    box = parse_pssh(_signalled(_ok(invoke, document), d.PLAYREADY, "PSSH"))
    assert parse_playready_object(box.data).la_url == "https://pr.example.com/rightsmanager.asmx?a=1&b=2"


@effect_of("FAIRPLAY_SKD_TEMPLATE")
def test_fairplay_key_uri_follows_the_template(invoke, handler_env):
    handler_env.setenv("FAIRPLAY_SKD_TEMPLATE", "skd://keys.example.com/{kid}?asset={content_id}")
    body = _ok(invoke, d.document(systems=d.drm_systems(systems=(d.FAIRPLAY,))))
    assert _hls_uri(body, d.FAIRPLAY) == f"skd://keys.example.com/{d.KID_VIDEO}?asset=test_case_generic"


@effect_of("AES128_KEY_URI_TEMPLATE")
def test_aes128_key_uri_follows_the_template(invoke, handler_env):
    handler_env.setenv("AES128_KEY_URI_TEMPLATE", "https://lic.example.com/k/{content_id}/{kid}.key")
    body = _ok(
        invoke,
        d.document(systems=d.drm_systems(systems=(AES128,)).replace("<cpix:PSSH/><cpix:ContentProtectionData/>", "")),
    )
    assert _hls_uri(body, AES128) == f"https://lic.example.com/k/test_case_generic/{d.KID_VIDEO}.key"


@effect_of("DERIVED_EXPLICIT_IV")
def test_derived_explicit_iv_adds_the_derived_iv(invoke, handler_env):
    def ivs(body):
        return [ck.get("explicitIV") for ck in ET.fromstring(body).iter(f"{CPIX}ContentKey")]  # noqa: S314

    assert ivs(_ok(invoke)) == [None, None]
    handler_env.setenv("DERIVED_EXPLICIT_IV", "true")
    runtime.reset_runtime()
    values = ivs(_ok(invoke))
    assert all(v and len(base64.b64decode(v)) == 16 for v in values) and len(set(values)) == 2
    assert ivs(_ok(invoke)) == values, "derived: the same IV on a retry"


# --- observability -----------------------------------------------------------------------------------------


@effect_of("POWERTOOLS_SERVICE_NAME")
@effect_of("POWERTOOLS_METRICS_NAMESPACE")
def test_powertools_names_are_the_settings(handler_env, monkeypatch, lambda_context, capsys):
    app = _fresh_app(
        monkeypatch, POWERTOOLS_SERVICE_NAME="speke-settings-test", POWERTOOLS_METRICS_NAMESPACE="Acme/Speke"
    )
    capsys.readouterr()
    assert app.lambda_handler(rest_event(d.document()), lambda_context)["statusCode"] == 200
    out = capsys.readouterr().out
    (blob,) = _emf(out)
    assert blob["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Acme/Speke"
    assert blob["service"] == "speke-settings-test"
    logs = [json.loads(line) for line in out.splitlines() if '"key request answered"' in line]
    assert logs and logs[0]["service"] == "speke-settings-test"


@effect_of("POWERTOOLS_LOG_LEVEL")
def test_log_level_is_the_setting(handler_env, monkeypatch, lambda_context, capsys):
    for level, logged in (("INFO", True), ("warning", False)):
        app = _fresh_app(monkeypatch, POWERTOOLS_LOG_LEVEL=level)
        capsys.readouterr()
        assert app.lambda_handler(rest_event(d.document()), lambda_context)["statusCode"] == 200
        assert ('"key request answered"' in capsys.readouterr().out) is logged


@effect_of("XRAY_TRACING")
@pytest.mark.parametrize(
    ("value", "traced"), [("true", True), ("On", True), ("1", True), ("false", False), ("", False)]
)
def test_xray_tracing_wraps_the_handler_in_the_tracer(handler_env, monkeypatch, value, traced):
    import aws_lambda_powertools

    made = []

    class FakeTracer:
        def __init__(self, service):
            made.append(service)

        def capture_lambda_handler(self, handler, *, capture_response=True, capture_error=True):
            # the handler never lets the tracer record an answer (keys) or an error
            assert capture_response is False and capture_error is False
            return handler

    monkeypatch.setattr(aws_lambda_powertools, "Tracer", FakeTracer)
    _fresh_app(monkeypatch, XRAY_TRACING=value, POWERTOOLS_SERVICE_NAME="speke-xray-test")
    assert made == (["speke-xray-test"] if traced else [])


# --- a bad deployment fails its first request, naming the variable, before any key is derived --------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("FAIRPLAY_SKD_TEMPLATE", 'skd://"{kid}'),
        ("AES128_KEY_URI_TEMPLATE", "https://k.example.com/{kid}\n#EXT-X-ENDLIST"),
        ("PLAYREADY_LA_URL", "https://pr.example.com/" + "a" * 8000),
        ("RETRY_AFTER_SECONDS", "soon"),
        ("XRAY_TRACING", "enabled"),
        ("POWERTOOLS_METRICS_NAMESPACE", "AWS/Lambda"),
    ],
)
def test_a_bad_setting_fails_the_first_request_before_any_key_is_derived(
    invoke, handler_env, monkeypatch, caplog, name, value
):
    from speke_keyprovider import key_sources

    derived = []
    real = key_sources.FileMasterKey.content_keys
    monkeypatch.setattr(key_sources.FileMasterKey, "content_keys", lambda self, *a: derived.append(a) or real(self, *a))
    handler_env.setenv(name, value)
    document = d.document(systems=d.drm_systems(systems=(d.FAIRPLAY, d.PLAYREADY)))
    status, _, body = invoke(rest_event(document))
    assert status == 500 and body == b"Internal error"
    assert not derived
    (logged,) = [r for r in caplog.records if r.getMessage() == "key provider misconfigured"]
    assert logged.error.startswith(name)
