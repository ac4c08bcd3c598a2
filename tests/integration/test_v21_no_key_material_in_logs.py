"""The SPEKE v2.1 paths (timed periods, KID override, HDCP signalling, clear and encrypted, refusals) log no key
material in any form: CEKs derived from the overriding KIDs, the document and MAC keys, the master key."""

import base64

from speke_keyprovider import key_wrapping
from speke_keyprovider.key_derivation import derive_cek, derive_override_kid

from tests import cpixdocs as d
from tests import cpixdocs_v21 as d21
from tests.conftest import MASTER_KEY, rest_event
from tests.integration.test_no_key_material_in_logs import forms


def test_no_key_material_in_v21_logs(invoke, app, caplog, capfd, monkeypatch, handler_env, delivery_cert_der):
    caplog.set_level("DEBUG")
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "DEBUG")
    handler_env.setenv("KID_OVERRIDE", "true")
    handler_env.setenv("HDCP_LEVELS", "*=TYPE-1")
    app.logger.setLevel("DEBUG")
    generated: list[key_wrapping.DeliveryKeys] = []
    original = key_wrapping.DeliveryKeys.generate.__func__

    def recording(cls):
        keys = original(cls)
        generated.append(keys)
        return keys

    monkeypatch.setattr(key_wrapping.DeliveryKeys, "generate", classmethod(recording))
    cert = base64.b64encode(delivery_cert_der).decode()
    assert invoke(rest_event(d21.document(), headers=d21.HEADERS))[0] == 200
    assert invoke(rest_event(d21.document(delivery=d.delivery_data(cert)), headers=d21.HEADERS))[0] == 200
    bad = d21.document(periods=d21.period_list(d21.period(d.PERIOD, 'start="x"', 'end="y"')))
    assert invoke(rest_event(bad, headers=d21.HEADERS))[0] == 422
    assert len(generated) == 1

    kids = [derive_override_kid(MASTER_KEY, "test_case_generic", t, "2026-12-01T20:00:00Z") for t in ("VIDEO", "AUDIO")]
    secrets = [derive_cek(MASTER_KEY, "test_case_generic", kid) for kid in kids]
    secrets += [generated[0].document_key, generated[0].mac_key, MASTER_KEY]
    formatter = app.logger.registered_formatter
    logged = "\n".join(formatter.format(r) for r in caplog.records).encode()
    out, err = capfd.readouterr()
    logged += out.encode() + err.encode()
    assert b"key request answered" in logged and b"requested_kids" in logged, "the capture saw the handler's logs"
    assert str(kids[0]).encode() in logged  # KIDs are not secret: the answered ones are logged
    for secret in secrets:
        for form in forms(secret):
            assert form not in logged
