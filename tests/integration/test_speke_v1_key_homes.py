"""The derived explicitIV (DERIVED_EXPLICIT_IV, speke-v1.md section 5) from every key home: the KMS home sends
GenerateMac the same message with the label speke-iv-v1 and agrees with the secret homes; v1 over KMS too."""

import base64
import hmac
import uuid
import xml.etree.ElementTree as ET

import boto3
from botocore.stub import Stubber
from speke_keyprovider.aws_key_sources import KmsDerivedKeys
from speke_keyprovider.key_derivation import IV_LABEL, derivation_message, derive_explicit_iv
from speke_keyprovider.key_sources import StaticMasterKey
from speke_keyprovider_tools.client.response_reader import read_content_keys

from tests import cpixdocs_v1 as d
from tests.conftest import DERIVATION_VECTORS, MASTER_KEY, rest_event
from tests.integration.test_aws_key_homes import REGION, _kms_hmac_key, aws  # noqa: F401 - the fixture

NS = {"cpix": "urn:dashif:org:cpix"}


def test_iv_vector_is_the_kdf_with_the_iv_label():
    kid = uuid.UUID(DERIVATION_VECTORS[2][1])
    message = b"\x00\x00\x00\x01speke-iv-v1\x00" + kid.bytes + b"channel-1\x00\x00\x00\x80"
    assert derivation_message("channel-1", kid, IV_LABEL) == message
    iv = derive_explicit_iv(MASTER_KEY, "channel-1", kid)
    assert iv == hmac.digest(MASTER_KEY, message, "sha256")[:16]
    assert iv != bytes.fromhex(DERIVATION_VECTORS[2][2]), "never the key"
    assert StaticMasterKey(MASTER_KEY).explicit_ivs("channel-1", [kid]) == {kid: iv}


def test_kms_iv_request_is_exactly_the_iv_message():
    client = boto3.client("kms", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    kid = uuid.UUID(DERIVATION_VECTORS[2][1])
    stubber = Stubber(client)
    stubber.add_response(
        "generate_mac",
        {"Mac": bytes(range(32)), "MacAlgorithm": "HMAC_SHA_256", "KeyId": "k"},
        {
            "KeyId": "alias/speke",
            "MacAlgorithm": "HMAC_SHA_256",
            "Message": derivation_message("channel-1", kid, IV_LABEL),
        },
    )
    stubber.add_response(
        "generate_mac",
        {"Mac": bytes(range(1, 33)), "MacAlgorithm": "HMAC_SHA_256", "KeyId": "k"},
        {"KeyId": "alias/speke", "MacAlgorithm": "HMAC_SHA_256", "Message": derivation_message("channel-1", kid)},
    )
    home = KmsDerivedKeys("alias/speke", client=client)
    with stubber:
        ivs = home.explicit_ivs("channel-1", [kid])
        keys = home.content_keys("channel-1", [kid])  # another label: its own call, never the cached IV
        assert home.explicit_ivs("channel-1", [kid]) == ivs  # cached
    stubber.assert_no_pending_responses()
    assert ivs[kid] == bytes(range(16)) and keys[kid] == bytes(range(1, 17))


def test_kms_home_v1_with_derived_iv_agrees_with_the_secret_home(aws, handler_env, invoke):  # noqa: F811
    key_id = _kms_hmac_key(MASTER_KEY)
    handler_env.setenv("KEY_SOURCE", "kms")
    handler_env.setenv("KMS_HMAC_KEY_ID", key_id)
    handler_env.setenv("DERIVED_EXPLICIT_IV", "true")
    status, headers, body = invoke(
        rest_event(d.document(root='id="channel-1"'), headers={"Content-Type": "application/xml"})
    )
    assert status == 200 and "Speke-User-Agent" in headers
    kid = uuid.UUID(d.KID)
    assert read_content_keys(body)[d.KID].hex() == DERIVATION_VECTORS[2][2]
    iv = ET.fromstring(body).find("cpix:ContentKeyList/cpix:ContentKey", NS).get("explicitIV")
    assert base64.b64decode(iv) == derive_explicit_iv(MASTER_KEY, "channel-1", kid)
