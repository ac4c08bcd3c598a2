"""SPEKE v2.1 (CPIX 2.4) documents: timed key periods validated and echoed byte for byte, the HLS-method schemes
and their system compatibility, playlist master/multiVariant, answers valid against the CPIX 2.4 schema; v2.0
unchanged by all of it."""

import base64
import re
import uuid
import xml.etree.ElementTree as ET

import pytest
import xmlschema
from speke_keyprovider.cpix.xsd_time import parse_datetime, parse_duration
from speke_keyprovider.errors import CpixError, SpekeError
from speke_keyprovider.key_derivation import derive_cek
from speke_keyprovider.key_sources import StaticMasterKey
from speke_keyprovider.service import KeyExchange
from speke_keyprovider.settings import Settings
from speke_keyprovider_tools.client.response_reader import read_content_keys
from speke_keyprovider_tools.client.signalling import (
    parse_hls_key_tag,
    parse_playready_object,
    parse_pssh,
    parse_widevine_data,
)

from tests import cpixdocs as d
from tests import cpixdocs_v21 as d21
from tests.conftest import FIXTURES, MASTER_KEY

CPIX = "{urn:dashif:org:cpix}"


@pytest.fixture(scope="module")
def schema_24():
    return xmlschema.XMLSchema10(str(FIXTURES / "cpix-xsd" / "cpix-2.4.xsd"), allow="local")


def answer(body: bytes, version: str = "2.1", **settings) -> bytes:
    return KeyExchange(Settings(**settings), StaticMasterKey(MASTER_KEY)).answer(body, version).body


def refused(body: bytes, version: str = "2.1") -> str:
    with pytest.raises(SpekeError) as caught:
        answer(body, version)
    assert caught.value.status == 422
    return caught.value.public_message


def for_xsd(body: bytes) -> bytes:
    """Two places where SPEKE v2.1 and the CPIX 2.4 schema differ, mapped for validation: its PlaylistType has
    no ``master`` (SPEKE v2.1 and MediaPackage send it, the answer echoes it), and its DocumentKeyType no
    ``@Algorithm`` (the SPEKE answer keeps the v2.0 contract's DocumentKey form, as AWS documents it)."""
    body = body.replace(b'playlist="master"', b'playlist="multiVariant"')
    return body.replace(
        b'<cpix:DocumentKey Algorithm="http://www.w3.org/2001/04/xmlenc#aes256-cbc">', b"<cpix:DocumentKey>"
    )


# --- versions -------------------------------------------------------------------------------------------------


def test_v21_answered_with_cpix_24_and_content_id_unchanged(schema_24):
    body = answer(d21.document())
    root = ET.fromstring(body)
    assert root.get("version") == "2.4" and root.get("contentId") == "test_case_generic"
    keys = read_content_keys(body)
    assert keys == {
        kid: derive_cek(MASTER_KEY, "test_case_generic", uuid.UUID(kid)) for kid in (d.KID_VIDEO, d.KID_AUDIO)
    }
    schema_24.validate(ET.fromstring(for_xsd(body)))


@pytest.mark.parametrize(
    ("header", "cpix_version", "expected"),
    [
        ("2.1", "2.3", "Unsupported CPIX@version: 2.3 is SPEKE v2.0"),
        ("2.0", "2.4", "Unsupported CPIX@version: 2.4 is SPEKE v2.1"),
        ("2.1", "2.5", "Unsupported CPIX@version"),
        ("2.2", "2.4", "Unsupported SPEKE version"),
    ],
)
def test_wrong_pairings_refused(header, cpix_version, expected):
    body = d21.document(root=f'contentId="c" version="{cpix_version}"')
    assert refused(body, header).startswith(expected)


# --- key period timing ----------------------------------------------------------------------------------------

GOOD_TIMING = {
    "start/end, no index": d21.period(d.PERIOD, *d21.LIVE),
    "index + start/end": d21.period(d.PERIOD, 'index="12"', *d21.LIVE),
    "offsets": d21.period(d.PERIOD, *d21.VOD),
    "start + duration": d21.period(d.PERIOD, d21.LIVE[0], 'duration="PT15M"'),
    "startOffset + duration": d21.period(d.PERIOD, 'startOffset="PT1H2M3.5S"', 'duration="P1DT2H"'),
    "timezone offset, fraction": d21.period(
        d.PERIOD, 'start="2026-12-01T21:00:00.250+01:00"', 'end="2026-12-01T20:15:00.5Z"'
    ),
    "no timezone on either": d21.period(d.PERIOD, 'start="2026-12-01T20:00:00"', 'end="2026-12-01T20:00:01"'),
    "index only": d21.period(d.PERIOD, 'index="3"'),
    "label": d21.period(d.PERIOD, 'label="Tom &amp; Jerry &lt;1&gt;"', *d21.LIVE),
}


@pytest.mark.parametrize("period", GOOD_TIMING.values(), ids=GOOD_TIMING.keys())
def test_timed_period_accepted_and_echoed_byte_for_byte(period, schema_24):
    body = answer(d21.document(periods=d21.period_list(period)))
    assert period.replace("/>", " />").encode() in body  # the serialiser writes empty elements as "<x />"
    schema_24.validate(ET.fromstring(for_xsd(body)))


def test_period_attributes_echoed_in_every_quote_and_whitespace_style():
    raw = "<cpix:ContentKeyPeriod\n\tid='p1'  start = '2026-12-01T20:00:00Z'\nend=\"2026-12-01T20:15:00Z\" />"
    body = answer(d21.document(periods=d21.period_list(raw), usage=d.rules(period="p1")))
    assert b'id="p1" start="2026-12-01T20:00:00Z" end="2026-12-01T20:15:00Z"' in body


BAD_TIMING = {
    "start not a dateTime": (('start="yesterday"', 'end="2026-12-01T20:15:00Z"'), "@start 'yesterday'"),
    "date only": (('start="2026-12-01"', 'end="2026-12-02"'), "xs:dateTime expected"),
    "no such day": (('start="2026-02-30T00:00:00Z"', 'end="2026-03-01T00:00:00Z"'), "does not exist"),
    "bad timezone": (('start="2026-12-01T20:00:00+15:00"', 'end="2026-12-01T21:00:00Z"'), "timezone"),
    "end before start": ((d21.LIVE[1].replace("end", "start"), d21.LIVE[0].replace("start", "end")), "before @end"),
    "start equals end": (('start="2026-12-01T20:00:00Z"', 'end="2026-12-01T21:00:00+01:00"'), "before @end"),
    "mixed timezones": (('start="2026-12-01T20:00:00Z"', 'end="2026-12-01T21:00:00"'), "both have a timezone"),
    "end with duration": ((*d21.LIVE, 'duration="PT1M"'), "never together"),
    "endOffset with duration": ((*d21.VOD, 'duration="PT1M"'), "never together"),
    "start alone": (('start="2026-12-01T20:00:00Z"',), "CPIX 2.4 allows"),
    "start with endOffset": (('start="2026-12-01T20:00:00Z"', 'endOffset="PT1M"'), "CPIX 2.4 allows"),
    "offsets reversed": (('startOffset="PT10M"', 'endOffset="PT1M"'), "@startOffset must be before"),
    "offsets undecidable": (('startOffset="P1M"', 'endOffset="PT1H"'), "@startOffset must be before"),
    "negative offset": (('startOffset="-PT1M"', 'endOffset="PT1M"'), "must not be negative"),
    "zero duration": ((d21.LIVE[0], 'duration="PT0S"'), "positive"),
    "duration junk": ((d21.LIVE[0], 'duration="P"'), "xs:duration expected"),
    "duration T alone": ((d21.LIVE[0], 'duration="P1DT"'), "xs:duration expected"),
    "space around": ((' start=" 2026-12-01T20:00:00Z"', d21.LIVE[1]), "xs:dateTime expected"),
    "huge year": (('start="99999999999-01-01T00:00:00Z"', d21.LIVE[1]), "0001..9999"),
}


@pytest.mark.parametrize(("attrs", "expected"), BAD_TIMING.values(), ids=BAD_TIMING.keys())
def test_bad_period_timing_refused(attrs, expected):
    message = refused(d21.document(periods=d21.period_list(d21.period(d.PERIOD, *attrs))))
    assert expected in message
    assert "ContentKeyPeriod" in message


@pytest.mark.parametrize(
    "raw",
    [
        'start="2026-12-01T20&#58;00:00Z" end="2026-12-01T20:15:00Z"',  # a character reference
        'start="2026-12-01T20:00:00Z" end="2026-12-01T20:15:00&#x5A;"',
        'start="2026-12-01T20:00:00Z" end="2026-12-01T20:15:00Z" label="a&#10;b"',  # the serialiser's own form
        'start="2026-12-01T20:00:00Z" end="2026-12-01T20:15:00Z" label="a\nb"',  # parsed as "a b"
        'start="2026-12-01T20:00:00Z" end="2026-12-01T20:15:00Z" label=\'say "hi" &apos;x&apos;\'',
    ],
)
def test_period_attribute_that_cannot_be_echoed_byte_for_byte_is_refused(raw):
    if "a&#10;b" in raw:  # the form the serialiser writes itself: echoed exactly, so accepted
        body = answer(d21.document(periods=d21.period_list(f'<cpix:ContentKeyPeriod id="{d.PERIOD}" {raw}/>')))
        assert b'label="a&#10;b"' in body
        return
    message = refused(d21.document(periods=d21.period_list(f'<cpix:ContentKeyPeriod id="{d.PERIOD}" {raw}/>')))
    assert "byte for byte" in message


def test_utf16_request_checked_and_echoed():
    doc = d21.document().decode().replace('encoding="UTF-8"', 'encoding="UTF-16"')
    body = answer(doc.encode("utf-16"))
    assert d21.LIVE[0].encode() in body and d21.LIVE[1].encode() in body
    bad = doc.replace(d21.LIVE[0], 'start="2026-12-01T20&#58;00:00Z"')
    assert "byte for byte" in refused(bad.encode("utf-16"))


def test_several_timed_periods_with_rotation():
    periods = [
        d21.period(
            f"keyPeriod_{i}", f'index="{100 + i}"', f'start="2026-12-01T2{i}:00:00Z"', f'end="2026-12-01T2{i}:30:00Z"'
        )
        for i in range(3)
    ]
    kids = [str(uuid.UUID(int=i + 1, version=4)) for i in range(6)]
    keys = "".join(f'<cpix:ContentKey kid="{k}" commonEncryptionScheme="cenc"/>' for k in kids)
    rules = "".join(
        f'<cpix:ContentKeyUsageRule kid="{kids[2 * i + j]}" intendedTrackType="{t}">'
        f'<cpix:KeyPeriodFilter periodId="keyPeriod_{i}"/><cpix:{t.title()}Filter/></cpix:ContentKeyUsageRule>'
        for i in range(3)
        for j, t in enumerate(("VIDEO", "AUDIO"))
    )
    body = answer(
        d21.document(
            keys=f"<cpix:ContentKeyList>{keys}</cpix:ContentKeyList>",
            systems=d.drm_systems(systems=(d.WIDEVINE, d.PLAYREADY), kids=kids),
            periods=d21.period_list(*periods),
            usage=f"<cpix:ContentKeyUsageRuleList>{rules}</cpix:ContentKeyUsageRuleList>",
        )
    )
    for period in periods:
        assert period.replace("/>", " />").encode() in body
    assert read_content_keys(body) == {k: derive_cek(MASTER_KEY, "test_case_generic", uuid.UUID(k)) for k in kids}


def test_v20_ignores_v21_timing_rules():
    """v2.0 is unchanged: its periods are echoed as before, whatever their attributes (no 2.4 checks)."""
    doc = d.document(period_list=d21.period_list(d21.period(d.PERIOD, 'index="1"', 'start="junk"')))
    assert b'start="junk"' in answer(doc, "2.0")


# --- xsd_time -------------------------------------------------------------------------------------------------


def test_xsd_time_reading():
    assert parse_datetime("2026-12-01T21:30:00+01:00").utc_seconds_text() == "2026-12-01T20:30:00Z"
    assert parse_datetime("2026-12-31T24:00:00Z").utc_seconds_text() == "2027-01-01T00:00:00Z"
    assert parse_datetime("2026-12-01T20:30:59.999Z").utc_seconds_text() == "2026-12-01T20:30:59Z"
    assert not parse_datetime("2026-12-01T20:30:00").has_timezone
    assert parse_duration("P1Y2M3DT4H5M6.5S").months == 14
    assert parse_duration("PT1H").seconds == 3600
    for bad in ("P", "PT", "P1S", "1D", "P-1D", "PT1.S"):
        with pytest.raises(ValueError):
            parse_duration(bad)


# --- schemes --------------------------------------------------------------------------------------------------


def _system_values(body: bytes, system_id: str, kid: str) -> dict[str, str]:
    root = ET.fromstring(body)
    for system in root.iter(f"{CPIX}DRMSystem"):
        if system.get("systemId") == system_id and system.get("kid") == kid:
            return {(c.tag[len(CPIX) :] + "/" + (c.get("playlist") or "")).rstrip("/"): c.text for c in system}
    raise AssertionError("no such DRMSystem")


@pytest.mark.parametrize(
    ("scheme", "behaves_as", "method"),
    [("SAMPLE-AES", "cbcs", "SAMPLE-AES"), ("SAMPLE-AES-CTR", "cenc", "SAMPLE-AES-CTR")],
)
def test_hls_method_schemes_behave_as_cenc_schemes(scheme, behaves_as, method):
    systems = (d.WIDEVINE, d.PLAYREADY) + ((d.FAIRPLAY,) if behaves_as == "cbcs" else ())
    body = answer(d21.document(scheme=scheme, systems=d.drm_systems(systems=systems)))
    assert body.count(f'commonEncryptionScheme="{scheme}"'.encode()) == 2  # echoed as sent
    widevine = _system_values(body, d.WIDEVINE, d.KID_VIDEO)
    data = parse_widevine_data(parse_pssh(base64.b64decode(widevine["PSSH"])).data)
    assert data.protection_scheme_fourcc == behaves_as
    assert (
        parse_hls_key_tag(base64.b64decode(widevine["HLSSignalingData/media"]).decode()).attributes["METHOD"] == method
    )
    playready = _system_values(body, d.PLAYREADY, d.KID_VIDEO)
    header = parse_playready_object(parse_pssh(base64.b64decode(playready["PSSH"])).data)
    assert header.kids == [(uuid.UUID(d.KID_VIDEO), {"cbcs": "AESCBC", "cenc": "AESCTR"}[behaves_as])]
    assert (
        parse_hls_key_tag(base64.b64decode(playready["HLSSignalingData/master"]).decode()).attributes["METHOD"]
        == method
    )


def test_aes128_scheme_with_the_aes128_system():
    body = answer(d21.document(scheme="AES-128", systems=d21.hls_systems(d21.AES128)))
    tag = parse_hls_key_tag(
        base64.b64decode(_system_values(body, d21.AES128, d.KID_VIDEO)["HLSSignalingData/media"]).decode()
    )
    assert tag.attributes["METHOD"] == "AES-128" and tag.attributes["KEYFORMAT"] == "identity"
    assert b'commonEncryptionScheme="AES-128"' in body


@pytest.mark.parametrize(
    ("scheme", "system"),
    [("AES-128", d.WIDEVINE), ("AES-128", d.PLAYREADY), ("AES-128", d.FAIRPLAY), ("SAMPLE-AES-CTR", d.FAIRPLAY)],
)
def test_hls_method_scheme_incompatible_with_system(scheme, system):
    message = refused(d21.document(scheme=scheme, systems=d21.hls_systems(system)))
    assert message == f"ContentKey@commonEncryptionScheme non compatible with DRMSystem {system}"


def test_one_scheme_value_per_document():
    keys = (
        f'<cpix:ContentKeyList><cpix:ContentKey kid="{d.KID_VIDEO}" commonEncryptionScheme="SAMPLE-AES"/>'
        f'<cpix:ContentKey kid="{d.KID_AUDIO}" commonEncryptionScheme="cbcs"/></cpix:ContentKeyList>'
    )
    assert refused(d21.document(keys=keys)) == "Non compliant ContentKey@commonEncryptionScheme combination"


@pytest.mark.parametrize("scheme", ["AES-128", "SAMPLE-AES", "SAMPLE-AES-CTR"])
def test_v20_does_not_take_hls_method_schemes(scheme):
    assert refused(d.document(keys=d.content_keys(scheme=scheme)), "2.0").startswith(
        "Unsupported ContentKey@commonEncryptionScheme"
    )


# --- playlists ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("playlist", ["master", "multiVariant"])
def test_multivariant_playlist_both_names_echoed(playlist, schema_24):
    body = answer(d21.document(systems=d21.hls_systems(d.FAIRPLAY, playlist)))
    assert body.count(f'playlist="{playlist}"'.encode()) == 2
    line = base64.b64decode(_system_values(body, d.FAIRPLAY, d.KID_VIDEO)[f"HLSSignalingData/{playlist}"]).decode()
    assert line.startswith("#EXT-X-SESSION-KEY:METHOD=SAMPLE-AES,")
    schema_24.validate(ET.fromstring(for_xsd(body)))


def test_master_and_multivariant_together_is_a_duplicate():
    systems = (
        f'<cpix:DRMSystemList><cpix:DRMSystem kid="{d.KID_VIDEO}" systemId="{d.FAIRPLAY}">'
        '<cpix:HLSSignalingData playlist="master"/><cpix:HLSSignalingData playlist="multiVariant"/>'
        "</cpix:DRMSystem></cpix:DRMSystemList>"
    )
    assert "Duplicate HLSSignalingData" in refused(d21.document(systems=systems))


def test_v20_refuses_multivariant_with_its_old_text():
    message = refused(d.document(systems=d21.hls_systems(d.FAIRPLAY, "multiVariant")), "2.0")
    assert message == "Invalid HLSSignalingData@playlist 'multiVariant': media or master expected"


def test_v21_unknown_playlist_names_the_three():
    message = refused(d21.document(systems=d21.hls_systems(d.FAIRPLAY, "Master")))
    assert message == "Invalid HLSSignalingData@playlist 'Master': media, master or multiVariant expected"


def test_encrypted_v21_answer_schema_valid(schema_24, delivery_cert_der, delivery_private_key):
    cert = base64.b64encode(delivery_cert_der).decode()
    body = answer(d21.document(delivery=d.delivery_data(cert)))
    assert b"PlainValue" not in body
    keys = read_content_keys(body, delivery_private_key)
    assert keys[d.KID_VIDEO] == derive_cek(MASTER_KEY, "test_case_generic", uuid.UUID(d.KID_VIDEO))
    schema_24.validate(ET.fromstring(for_xsd(body)))
    assert re.search(rb"<cpix:ContentKeyPeriod [^>]*start=\"2026-12-01T20:00:00Z\"", body)


def test_v21_errors_are_cpix_errors():
    with pytest.raises(CpixError):
        answer(d21.document(periods=d21.period_list(d21.period(d.PERIOD, 'start="x"', 'end="y"'))))
