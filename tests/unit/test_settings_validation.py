"""Settings are checked when first read: each bad value raises ConfigurationError naming its variable."""

from __future__ import annotations

import pytest
from speke_keyprovider.errors import ConfigurationError
from speke_keyprovider.settings import SETTINGS, ObservabilitySettings, Settings, read_bool

BASE = {"KEY_SOURCE": "file", "MASTER_KEY_FILE": "/dev/null"}

BAD = [
    ("KEY_SOURCE", "s3"),
    ("MASTER_KEY_SECRET_ID", ""),
    ("MASTER_KEY_CACHE_TTL_SECONDS", "0"),
    ("MASTER_KEY_CACHE_TTL_SECONDS", "five"),
    ("MASTER_KEY_GRACE_SECONDS", "-1"),
    ("MASTER_KEY_GRACE_SECONDS", "99999999"),
    ("CEK_CACHE_TTL_SECONDS", "86401"),
    ("TRUSTED_CERT_SHA256", "abc"),
    ("REQUIRE_ENCRYPTED_KEYS", "sometimes"),
    ("ALLOWED_CALLER_ARNS", "MediaPackageRole"),
    ("ALLOWED_CALLER_ARNS", "arn:aws:iam::1234:role/x"),
    ("RETRY_AFTER_SECONDS", "0"),
    ("RETRY_AFTER_SECONDS", "3601"),
    ("WIDEVINE_PROVIDER", "acme\ndrm"),
    ("WIDEVINE_PROVIDER", "x" * 256),
    ("PLAYREADY_LA_URL", "pr.example.com/rightsmanager.asmx"),
    ("PLAYREADY_LA_URL", "https://pr.example.com/a b"),
    ("PLAYREADY_LA_URL", "https://pr.example.com/\x01"),
    ("PLAYREADY_LA_URL", "https://pr.example.com/" + "a" * 8000),
    ("FAIRPLAY_SKD_TEMPLATE", 'skd://"{kid}'),
    ("FAIRPLAY_SKD_TEMPLATE", "skd://{kid}\r\n#EXT-X-ENDLIST"),
    ("FAIRPLAY_SKD_TEMPLATE", "skd://{kid}\x07"),
    ("FAIRPLAY_SKD_TEMPLATE", "skd://{key}"),
    ("FAIRPLAY_SKD_TEMPLATE", "https://keys.example.com/{kid}"),
    ("AES128_KEY_URI_TEMPLATE", 'https://k.example.com/{kid}" x="'),
    ("AES128_KEY_URI_TEMPLATE", "https://k.example.com/{0}"),
    ("AES128_KEY_URI_TEMPLATE", "ftp://k.example.com/{kid}"),
    ("DERIVED_EXPLICIT_IV", "maybe"),
    ("XRAY_TRACING", "enabled"),
    ("POWERTOOLS_SERVICE_NAME", "speke\tkeyprovider"),
    ("POWERTOOLS_METRICS_NAMESPACE", "AWS/Lambda"),
    ("POWERTOOLS_METRICS_NAMESPACE", "Speke|Keys"),
    ("POWERTOOLS_LOG_LEVEL", "VERBOSE"),
]


@pytest.mark.parametrize(("name", "value"), BAD, ids=[f"{n}={v[:30]!r}" for n, v in BAD])
def test_a_bad_value_is_refused_naming_its_variable(name, value):
    env = BASE | {name: value}
    if name == "MASTER_KEY_SECRET_ID":
        env["KEY_SOURCE"] = "secretsmanager"
    with pytest.raises(ConfigurationError, match=name):
        Settings.from_env(env)


def test_every_setting_has_a_bad_value_case_or_takes_any_text():
    takes_any_text = {"MASTER_KEY_FILE", "KMS_HMAC_KEY_ID"}  # checked by the key home itself
    assert set(SETTINGS) == {name for name, _ in BAD} | takes_any_text


def test_defaults_are_the_documented_ones():
    settings = Settings.from_env(BASE)
    defaults = Settings.from_env({name: value for name, value in SETTINGS.items() if value} | BASE)
    assert settings == defaults
    assert settings.retry_after_seconds == 5 and settings.signalling.fairplay_skd_template == "skd://{content_id}/{kid}"
    assert settings.observability == ObservabilitySettings(
        service_name="speke-keyprovider", metrics_namespace="SpekeKeyProvider", log_level="INFO", xray_tracing=False
    )


@pytest.mark.parametrize(
    ("raw", "value"),
    [("1", True), ("true", True), (" TRUE ", True), ("yes", True), ("On", True)]
    + [("0", False), ("false", False), ("No", False), ("off", False), ("", False)],
)
def test_one_boolean_grammar_for_every_flag(raw, value):
    for flag in ("REQUIRE_ENCRYPTED_KEYS", "DERIVED_EXPLICIT_IV", "XRAY_TRACING"):
        assert read_bool({flag: raw}, flag, not value) is value
    settings = Settings.from_env(
        BASE | {"REQUIRE_ENCRYPTED_KEYS": raw, "DERIVED_EXPLICIT_IV": raw, "XRAY_TRACING": raw}
    )
    assert settings.require_encrypted_keys is settings.signalling.derived_explicit_iv is value
    assert settings.observability.xray_tracing is value


def test_the_import_time_reading_falls_back_to_defaults_and_the_strict_one_names_the_variable():
    env = {"POWERTOOLS_LOG_LEVEL": "VERBOSE", "POWERTOOLS_METRICS_NAMESPACE": "AWS/x", "XRAY_TRACING": "enabled"}
    assert ObservabilitySettings.from_env(env, strict=False) == ObservabilitySettings()
    with pytest.raises(ConfigurationError, match="POWERTOOLS_METRICS_NAMESPACE"):
        ObservabilitySettings.from_env(env)


def test_largest_la_url_that_fits_the_playready_object():
    from speke_keyprovider.drm import playready

    fits = "https://pr.example.com/" + "a" * 8000
    while playready.header_budget_problem(fits):
        fits = fits[:-1]
    assert Settings.from_env(BASE | {"PLAYREADY_LA_URL": fits}).signalling.playready_la_url == fits
    with pytest.raises(ConfigurationError, match="PLAYREADY_LA_URL is too long"):
        Settings.from_env(BASE | {"PLAYREADY_LA_URL": fits + "a"})
