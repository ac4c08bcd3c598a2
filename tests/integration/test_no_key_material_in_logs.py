"""Every log record of the clear and encrypted paths (and of refusals) is free of key material in any
form: CEKs, the document key, the MAC key and the master key, raw, hex or base64."""

import base64
import uuid

from speke_keyprovider import key_wrapping
from speke_keyprovider.key_derivation import derive_cek
from speke_keyprovider_tools.client.request_builder import build_request

from tests import cpixdocs as d
from tests.conftest import MASTER_KEY, rest_event


def forms(secret: bytes) -> list[bytes]:
    out = [
        secret,
        secret.hex().encode(),
        secret.hex().upper().encode(),
        base64.b64encode(secret),
        base64.urlsafe_b64encode(secret),
        repr(secret).encode(),
    ]
    return [f for f in out if len(f) >= 8]


def test_no_key_material_in_logs(invoke, app, caplog, capfd, monkeypatch, delivery_cert_der):
    caplog.set_level("DEBUG")
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "DEBUG")
    app.logger.setLevel("DEBUG")
    generated: list[key_wrapping.DeliveryKeys] = []
    original = key_wrapping.DeliveryKeys.generate.__func__

    def recording(cls):
        keys = original(cls)
        generated.append(keys)
        return keys

    monkeypatch.setattr(key_wrapping.DeliveryKeys, "generate", classmethod(recording))
    requests = [
        build_request(
            content_id="channel-1",
            video_preset="PRESET_VIDEO_5",
            audio_preset="PRESET_AUDIO_3",
            drm_systems=["widevine", "playready", "fairplay"],
            scheme="cbcs",
            periods=2,
        ),
        build_request(
            content_id="channel-1",
            video_preset="PRESET_VIDEO_5",
            audio_preset="PRESET_AUDIO_3",
            drm_systems=["widevine", "playready", "fairplay"],
            scheme="cbcs",
            periods=2,
            certificate_der=delivery_cert_der,
        ),
    ]
    for built in requests:
        assert invoke(rest_event(built.xml))[0] == 200
    assert invoke(rest_event(d.document(root='contentId="c" version="2.2"')))[0] == 422
    assert invoke(rest_event(d.document(), caller_arn=None))[0] == 403
    assert len(generated) == 1

    secrets = [derive_cek(MASTER_KEY, "channel-1", k.kid) for built in requests for k in built.keys]
    secrets += [derive_cek(MASTER_KEY, "test_case_generic", uuid.UUID(kid)) for kid in (d.KID_VIDEO, d.KID_AUDIO)]
    secrets += [generated[0].document_key, generated[0].mac_key, MASTER_KEY]
    formatter = app.logger.registered_formatter
    logged = "\n".join(formatter.format(r) for r in caplog.records).encode()
    out, err = capfd.readouterr()
    logged += out.encode() + err.encode()
    assert b"key request answered" in logged, "the capture saw the handler's logs"
    for secret in secrets:
        for form in forms(secret):
            assert form not in logged
