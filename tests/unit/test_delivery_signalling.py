"""KEY_DELIVERY* settings and the signalling that points players at the deployment's own endpoints."""

import base64
import uuid

import defusedxml.ElementTree as ET
import pytest
from speke_keyprovider import drm
from speke_keyprovider.errors import ConfigurationError
from speke_keyprovider.settings import DeliverySettings, Settings

from tests.delivery_support import trust_jwks

AES128 = "3ea8778f-7742-4bf9-b18b-e834b2acbd47"
CLEARKEY = "1077efec-c0b2-4d02-ace3-3c1e52e2fb4b"
KID = uuid.UUID("0f083e4e-b831-4a3d-917e-ce78076e54aa")
BASE = {"KEY_SOURCE": "file", "MASTER_KEY_FILE": "/x"}
URL = "https://keys.media.example/prod"


def settings(**env) -> Settings:
    return Settings.from_env({**BASE, **env})


def signalled(s: Settings, system: str, child: drm.Child, content_id: str = "channel-1") -> str:
    ctx = drm.KeySignalContext(system_id=system, kid=KID, content_id=content_id, scheme="cenc", settings=s.signalling)
    return base64.b64decode(drm.signal(ctx, [child])[child]).decode()


# --- settings -----------------------------------------------------------------------------------------------


def test_off_by_default_and_signalling_unchanged():
    s = settings()
    assert s.delivery.mode == "none" and not s.delivery.aes128
    assert s.signalling == Settings.from_env(BASE).signalling
    assert s.signalling.clearkey_laurl_template is None
    assert "Laurl" not in signalled(s, CLEARKEY, drm.Child.CONTENT_PROTECTION_DATA)


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"KEY_DELIVERY": "clearkey"}, "KEY_DELIVERY"),
        ({"KEY_DELIVERY": "aes128"}, "KEY_DELIVERY_URL"),
        ({"KEY_DELIVERY": "aes128", "KEY_DELIVERY_URL": "http://keys.example"}, "KEY_DELIVERY_URL"),
        ({"KEY_DELIVERY": "aes128", "KEY_DELIVERY_URL": "ftp://keys.example"}, "KEY_DELIVERY_URL"),
        ({"KEY_DELIVERY": "aes128", "KEY_DELIVERY_URL": "https://k.example/?a=1"}, "KEY_DELIVERY_URL"),
        ({"KEY_DELIVERY": "aes128", "KEY_DELIVERY_URL": 'https://k.example/"x'}, "KEY_DELIVERY_URL"),
        ({"KEY_DELIVERY_JWKS": "{not json"}, "KEY_DELIVERY_JWKS"),
        ({"KEY_DELIVERY_JWKS": '{"keys": []}'}, "KEY_DELIVERY_JWKS"),
        ({"KEY_DELIVERY_JWKS_URL": "http://idp.example/jwks"}, "KEY_DELIVERY_JWKS_URL"),
        ({"KEY_DELIVERY_ALLOWED_ORIGINS": "https://a.example/path"}, "KEY_DELIVERY_ALLOWED_ORIGINS"),
        ({"KEY_DELIVERY_MAX_TOKEN_SECONDS": "0"}, "KEY_DELIVERY_MAX_TOKEN_SECONDS"),
        ({"KEY_DELIVERY_ACCEPT_COOKIES": "maybe"}, "KEY_DELIVERY_ACCEPT_COOKIES"),
    ],
)
def test_bad_values_fail_at_settings_time_naming_the_variable(env, variable):
    with pytest.raises(ConfigurationError, match=variable):
        settings(**env)


def test_loopback_http_is_allowed_for_make_run():
    s = settings(KEY_DELIVERY="aes128+clearkey", KEY_DELIVERY_URL="http://127.0.0.1:3000/")
    assert s.delivery.url == "http://127.0.0.1:3000" and s.delivery.clearkey


def test_the_delivery_function_needs_no_url_but_a_token_key():
    s = Settings.from_env({**BASE, "KEY_DELIVERY": "aes128"}, delivery_url_required=False)
    with pytest.raises(ConfigurationError, match="KEY_DELIVERY_JWKS"):
        s.delivery.check_serving()
    DeliverySettings.from_env({"KEY_DELIVERY": "aes128", "KEY_DELIVERY_JWKS": trust_jwks("ES256")}).check_serving()
    with pytest.raises(ConfigurationError, match="none"):
        DeliverySettings.from_env({"KEY_DELIVERY_JWKS": trust_jwks("ES256")}).check_serving()


def test_parsed_values():
    d = DeliverySettings.from_env(
        {
            "KEY_DELIVERY": "AES128+ClearKey",
            "KEY_DELIVERY_ISSUERS": "https://a, https://b",
            "KEY_DELIVERY_ALLOWED_ORIGINS": "https://p.example, http://localhost:8080",
            "KEY_DELIVERY_AUDIENCE": "my-aud",
            "KEY_DELIVERY_MAX_TOKEN_SECONDS": "600",
            "KEY_DELIVERY_ACCEPT_COOKIES": "true",
        }
    )
    assert d.mode == "aes128+clearkey" and d.issuers == ("https://a", "https://b") and d.audience == "my-aud"
    assert d.allowed_origins == ("https://p.example", "http://localhost:8080") and d.accept_cookies
    assert d.max_token_seconds == 600


# --- signalling ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["aes128", "aes128+clearkey"])
def test_aes128_key_uri_points_at_key_delivery(mode):
    s = settings(KEY_DELIVERY=mode, KEY_DELIVERY_URL=URL + "/")
    line = signalled(s, AES128, drm.Child.HLS_MEDIA)
    assert line == (
        f'#EXT-X-KEY:METHOD=AES-128,URI="{URL}/keys/channel-1/{KID}",KEYFORMAT="identity",KEYFORMATVERSIONS="1"'
    )
    assert signalled(s, AES128, drm.Child.HLS_MASTER).startswith(f'#EXT-X-SESSION-KEY:METHOD=AES-128,URI="{URL}/keys/')


def test_one_function_gives_the_aes128_uri_and_escapes_the_content_id():
    s = settings(KEY_DELIVERY="aes128", KEY_DELIVERY_URL=URL)
    ctx = drm.KeySignalContext(AES128, KID, 'a/b "c"', "cbc1", s.signalling)
    assert drm.aes128_key_uri(ctx) == f"{URL}/keys/a%2Fb%20%22c%22/{KID}"


def test_aes128_key_uri_template_still_overrides():
    s = settings(KEY_DELIVERY="aes128", KEY_DELIVERY_URL=URL, AES128_KEY_URI_TEMPLATE="https://elsewhere/{kid}")
    assert f'URI="https://elsewhere/{KID}"' in signalled(s, AES128, drm.Child.HLS_MEDIA)


def test_braces_in_the_url_are_not_placeholders():
    s = settings(KEY_DELIVERY="aes128", KEY_DELIVERY_URL="https://k.example/{kid}")
    assert f'URI="https://k.example/{{kid}}/keys/channel-1/{KID}"' in signalled(s, AES128, drm.Child.HLS_MEDIA)


def test_clearkey_content_protection_data_carries_the_licence_url():
    s = settings(KEY_DELIVERY="aes128+clearkey", KEY_DELIVERY_URL=URL)
    fragment = signalled(s, CLEARKEY, drm.Child.CONTENT_PROTECTION_DATA, content_id="live&1")
    root = ET.fromstring(f'<r xmlns:cenc="urn:mpeg:cenc:2013" xmlns:dashif="https://dashif.org/CPS">{fragment}</r>')
    children = list(root)
    assert [child.tag for child in children] == ["{urn:mpeg:cenc:2013}pssh", "{https://dashif.org/CPS}Laurl"]
    assert children[1].text == f"{URL}/clearkey/live%261"
    assert 'xmlns:dashif="https://dashif.org/CPS"' in fragment and "<dashif:Laurl " in fragment


def test_no_licence_url_while_only_aes128_delivery_is_on():
    s = settings(KEY_DELIVERY="aes128", KEY_DELIVERY_URL=URL)
    assert "Laurl" not in signalled(s, CLEARKEY, drm.Child.CONTENT_PROTECTION_DATA)
