"""SPEKE v1 (speke-v1.md): document rules, the answer (keys, signalling per key, dropped children, echoes),
explicitIV, the dialect mix-ups, and that every refusal happens before any key is derived."""

from __future__ import annotations

import base64
import hmac
import uuid
import xml.etree.ElementTree as ET

import pytest
from speke_keyprovider import speke_http
from speke_keyprovider.cpix.dialect import V1
from speke_keyprovider.cpix.v1 import scheme_for
from speke_keyprovider.errors import SpekeError
from speke_keyprovider.key_derivation import derive_cek
from speke_keyprovider.key_sources import StaticMasterKey
from speke_keyprovider.service import KeyExchange
from speke_keyprovider.settings import Settings, SignallingSettings
from speke_keyprovider_tools.client.response_reader import read_content_keys
from speke_keyprovider_tools.client.signalling import (
    parse_content_protection_data,
    parse_playready_object,
    parse_pssh,
    parse_widevine_data,
)

from tests import cpixdocs as d2
from tests import cpixdocs_v1 as d
from tests.conftest import MASTER_KEY
from tests.cpixdocs_v1 import hostile_v1_cases

NS = {"cpix": "urn:dashif:org:cpix", "pskc": "urn:ietf:params:xml:ns:keyprov:pskc", "speke": d.SPEKE}


class SpyKeys(StaticMasterKey):
    """The test master key, counting every derivation (a refusal must come before any)."""

    def __init__(self) -> None:
        super().__init__(MASTER_KEY)
        self.calls = 0

    def content_keys(self, content_id, kids):
        self.calls += 1
        return super().content_keys(content_id, kids)

    def explicit_ivs(self, content_id, kids):
        self.calls += 1
        return super().explicit_ivs(content_id, kids)


def answer(body: bytes, header: str | None = None, **signalling):
    exchange = KeyExchange(Settings(signalling=SignallingSettings(**signalling)), StaticMasterKey(MASTER_KEY))
    return exchange.answer(body, header)


def root_of(body: bytes) -> ET.Element:
    return ET.fromstring(answer(body).body)


def values(root: ET.Element, system_id: str) -> dict[str, str]:
    """Local name -> text of the children of the DRMSystem with ``system_id`` (the first one)."""
    system = next(s for s in root.iterfind("cpix:DRMSystemList/cpix:DRMSystem", NS) if s.get("systemId") == system_id)
    return {child.tag.rsplit("}", 1)[1]: child.text or "" for child in system}


def b64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


# ------------------------------------------------------------------ keys


def test_clear_key_is_the_derivation_of_cpix_id():
    result = answer(d.document())
    assert result.dialect is V1 and result.content_id == "test_case_generic"
    assert read_content_keys(result.body)[d.KID].hex() == "f11a18a35cc5cb5080547aff81458d53"  # contract vector


def test_v1_and_v2_give_the_same_key_for_the_same_content_and_kid():
    v1 = read_content_keys(answer(d.document(root='id="channel-1"')).body)
    v2 = read_content_keys(answer(d2.document(root='contentId="channel-1" version="2.3"'), "2.0").body)
    assert v1[d.KID] == v2[d.KID] == bytes.fromhex("cd5c270734dae433313b53838fdf7a1d")


def test_encrypted_delivery_decrypts_with_the_certificate_key(delivery_cert_der, delivery_private_key):
    cert = base64.b64encode(delivery_cert_der).decode()
    body = d.document(delivery=d.delivery_data(cert), systems=d.system(d.WIDEVINE) + d.system(d.PLAYREADY))
    response = answer(body).body
    assert b"PlainValue" not in response and b"EncryptedValue" in response and b"ValueMAC" in response
    keys = read_content_keys(response, delivery_private_key)
    assert keys[d.KID] == derive_cek(MASTER_KEY, "test_case_generic", uuid.UUID(d.KID))
    tampered = response.replace(b"<pskc:ValueMAC>", b"<pskc:ValueMAC>AAAA", 1)
    with pytest.raises(ValueError):
        read_content_keys(tampered, delivery_private_key)


def test_more_than_one_key_when_each_follows_the_rules():
    keys = (
        f'<cpix:ContentKeyList><cpix:ContentKey kid="{d.KID}"/><cpix:ContentKey kid="{d.KID_2}"/></cpix:ContentKeyList>'
    )
    systems = d.system(d.FAIRPLAY) + d.system(d.FAIRPLAY, kid=d.KID_2)
    got = read_content_keys(answer(d.document(keys=keys, systems=systems, live=False)).body)
    assert got == {k: derive_cek(MASTER_KEY, "test_case_generic", uuid.UUID(k)) for k in (d.KID, d.KID_2)}


# ------------------------------------------------------------------ signalling, per key, per system


def test_fairplay_hls_children_carry_this_kid_and_the_rest_are_dropped():
    root = root_of(d.document())
    got = values(root, d.FAIRPLAY)
    assert sorted(got) == ["KeyFormat", "KeyFormatVersions", "URIExtXKey"]
    assert b64(got["URIExtXKey"]).decode() == f"skd://test_case_generic/{d.KID}"
    assert b64(got["KeyFormat"]).decode() == "com.apple.streamingkeydelivery"
    assert b64(got["KeyFormatVersions"]).decode() == "1"


@pytest.mark.parametrize("system_id", [d.AES128, d.AES128_V1])
def test_aes128_under_both_system_ids(system_id):
    got = values(root_of(d.document(systems=d.system(system_id))), system_id)
    assert sorted(got) == ["KeyFormat", "KeyFormatVersions", "URIExtXKey"]
    uri = b64(got["URIExtXKey"]).decode()
    assert uri.startswith("https://") and uri.endswith(f"/test_case_generic/{d.KID}")
    assert b64(got["KeyFormat"]).decode() == "identity"  # never base64("")
    assert b64(got["KeyFormatVersions"]).decode() == "1"


def test_aes128_key_uri_follows_the_v2_setting():
    settings = {"aes128_key_uri_template": "https://keys.example.net/k/{content_id}/{kid}"}
    v1 = values(ET.fromstring(answer(d.document(systems=d.system(d.AES128)), **settings).body), d.AES128)
    assert b64(v1["URIExtXKey"]).decode() == f"https://keys.example.net/k/test_case_generic/{d.KID}"


def test_widevine_pssh_and_content_protection_data_carry_this_kid():
    got = values(root_of(d.document(systems=d.system(d.WIDEVINE))), d.WIDEVINE)
    assert sorted(got) == ["ContentProtectionData", "PSSH"]
    box = parse_pssh(b64(got["PSSH"]))
    assert box.version == 0 and box.system_id == d.WIDEVINE
    data = parse_widevine_data(box.data)
    assert data.key_ids == [uuid.UUID(d.KID).bytes] and data.content_id == b"test_case_generic"
    assert data.protection_scheme_fourcc in (None, "cenc")  # DASH: cenc
    cpd = parse_content_protection_data(b64(got["ContentProtectionData"]))
    assert [(local, text) for _, local, text in cpd] == [("pssh", got["PSSH"])]


@pytest.mark.parametrize(("systems", "algid"), [((d.PLAYREADY,), "AESCTR"), ((d.PLAYREADY, d.FAIRPLAY), "AESCBC")])
def test_playready_mss_protection_header_pssh_and_cpd(systems, algid):
    root = root_of(d.document(systems="".join(d.system(s) for s in systems)))
    got = values(root, d.PLAYREADY)
    assert sorted(got) == ["ContentProtectionData", "PSSH", "ProtectionHeader"]
    header = parse_playready_object(b64(got["ProtectionHeader"]))
    assert header.kids == [(uuid.UUID(d.KID), algid)]
    box = parse_pssh(b64(got["PSSH"]))
    assert box.system_id == d.PLAYREADY and box.data == b64(got["ProtectionHeader"])
    cpd = parse_content_protection_data(b64(got["ContentProtectionData"]))
    assert [local for _, local, _ in cpd] == ["pssh", "pro"]
    assert cpd[0][2] == got["PSSH"] and cpd[1][2] == got["ProtectionHeader"]


def test_clearkey_pssh_lists_the_kid():
    got = values(root_of(d.document(systems=d.system(d.CLEARKEY))), d.CLEARKEY)
    box = parse_pssh(b64(got["PSSH"]))
    assert box.version == 1 and box.kids == [uuid.UUID(d.KID)] and box.data == b""


def test_each_key_gets_its_own_signalling():
    keys = (
        f'<cpix:ContentKeyList><cpix:ContentKey kid="{d.KID}"/><cpix:ContentKey kid="{d.KID_2}"/></cpix:ContentKeyList>'
    )
    systems = d.system(d.WIDEVINE) + d.system(d.WIDEVINE, kid=d.KID_2)
    root = root_of(d.document(keys=keys, systems=systems, live=False))
    for system in root.iterfind("cpix:DRMSystemList/cpix:DRMSystem", NS):
        pssh = system.find("cpix:PSSH", NS).text
        kid = uuid.UUID(system.get("kid")).bytes
        assert parse_widevine_data(parse_pssh(b64(pssh)).data).key_ids == [kid]


@pytest.mark.parametrize(
    ("systems", "scheme"),
    [
        ({d.FAIRPLAY}, "cbcs"),
        ({d.WIDEVINE, d.PLAYREADY, d.FAIRPLAY}, "cbcs"),
        ({d.AES128}, "cbc1"),
        ({d.AES128_V1}, "cbc1"),
        ({d.WIDEVINE, d.PLAYREADY}, "cenc"),
        ({d.PLAYREADY}, "cenc"),
        ({d.CLEARKEY}, "cenc"),
    ],
)
def test_scheme_choice_per_packaging(systems, scheme):
    assert scheme_for(systems) == scheme


# ------------------------------------------------------------------ echoes and the answer's shape


def test_answer_echoes_id_periods_rules_and_keeps_no_version():
    result = answer(d.document())
    root = ET.fromstring(result.body)
    assert root.get("id") == "test_case_generic" and root.get("version") is None and root.get("contentId") is None
    period = root.find("cpix:ContentKeyPeriodList/cpix:ContentKeyPeriod", NS)
    assert period.attrib == {"id": d.PERIOD, "index": "11425"}
    rule = root.find("cpix:ContentKeyUsageRuleList/cpix:ContentKeyUsageRule", NS)
    assert rule.get("kid") == d.KID and rule.find("cpix:KeyPeriodFilter", NS).get("periodId") == d.PERIOD
    assert result.periods == 1
    assert b'xmlns:speke="urn:aws:amazon:com:speke"' in result.body


def test_vod_has_no_periods_and_is_answered():
    result = answer(d.document(live=False, systems=d.system(d.WIDEVINE, "<cpix:PSSH/>")))
    assert result.periods == 0 and b"ContentKeyPeriodList" not in result.body
    assert read_content_keys(result.body)[d.KID]


def test_a_system_left_with_nothing_to_fill_is_echoed():
    root = root_of(d.document(systems=d.system(d.WIDEVINE, "<cpix:URIExtXKey/><speke:KeyFormat/>")))
    (system,) = root.iterfind("cpix:DRMSystemList/cpix:DRMSystem", NS)
    assert system.attrib == {"kid": d.KID, "systemId": d.WIDEVINE} and len(system) == 0


def test_success_headers_are_v1s():
    headers = speke_http.success_headers(V1)
    assert headers["Speke-User-Agent"].startswith("speke-keyprovider/")
    assert "X-Speke-Version" not in headers and "X-Speke-User-Agent" not in headers
    assert headers["Content-Type"] == "application/xml"


# ------------------------------------------------------------------ explicitIV


def _iv_of(body: bytes) -> str | None:
    return ET.fromstring(body).find("cpix:ContentKeyList/cpix:ContentKey", NS).get("explicitIV")


def test_request_iv_is_echoed_never_replaced():
    iv = base64.b64encode(bytes(range(16))).decode()
    body = d.document(
        keys=f'<cpix:ContentKeyList><cpix:ContentKey kid="{d.KID}" explicitIV="{iv}"/></cpix:ContentKeyList>'
    )
    assert _iv_of(answer(body).body) == iv
    assert _iv_of(answer(body, derived_explicit_iv=True).body) == iv


def test_no_iv_is_invented_by_default():
    assert _iv_of(answer(d.document()).body) is None


def test_derived_iv_is_the_contracts_kdf_and_the_same_for_v1_and_v2():
    message = b"\x00\x00\x00\x01speke-iv-v1\x00" + uuid.UUID(d.KID).bytes + b"channel-1" + b"\x00\x00\x00\x80"
    expected = base64.b64encode(hmac.digest(MASTER_KEY, message, "sha256")[:16]).decode()
    v1 = answer(d.document(root='id="channel-1"'), derived_explicit_iv=True).body
    assert _iv_of(v1) == expected
    assert _iv_of(answer(d.document(root='id="channel-1"'), derived_explicit_iv=True).body) == expected  # retries
    v2 = answer(d2.document(root='contentId="channel-1" version="2.3"'), "2.0", derived_explicit_iv=True).body
    v2_ivs = {k.get("kid"): k.get("explicitIV") for k in ET.fromstring(v2).iterfind(".//cpix:ContentKey", NS)}
    assert v2_ivs[d.KID] == expected
    assert base64.b64decode(expected) != derive_cek(MASTER_KEY, "channel-1", uuid.UUID(d.KID))


# ------------------------------------------------------------------ refusals, before any key


@pytest.mark.parametrize("name", sorted(hostile_v1_cases("")))
def test_hostile_v1_inputs_are_4xx_naming_the_problem_before_any_key(name, delivery_cert_der):
    body, header, text = hostile_v1_cases(base64.b64encode(delivery_cert_der).decode())[name]
    keys = SpyKeys()
    exchange = KeyExchange(Settings(signalling=SignallingSettings(derived_explicit_iv=True)), keys)
    with pytest.raises(SpekeError) as info:
        exchange.answer(body, header)
    assert 400 <= info.value.status < 500
    assert info.value.public_message.startswith(text) or text in info.value.public_message, info.value.public_message
    assert keys.calls == 0, "refused before any key (or IV) is derived"


def test_required_encrypted_keys_refuse_a_clear_v1_request():
    keys = SpyKeys()
    with pytest.raises(SpekeError, match="Encrypted content keys required"):
        KeyExchange(Settings(require_encrypted_keys=True), keys).answer(d.document(), None)
    assert keys.calls == 0


def test_allowlisted_certificate_only(delivery_cert_der):
    cert = base64.b64encode(delivery_cert_der).decode()
    keys = SpyKeys()
    settings = Settings(trusted_cert_sha256=frozenset({"0" * 64}))
    with pytest.raises(SpekeError) as info:
        KeyExchange(settings, keys).answer(d.document(delivery=d.delivery_data(cert)), None)
    assert info.value.status == 403 or 400 <= info.value.status < 500
    assert keys.calls == 0
