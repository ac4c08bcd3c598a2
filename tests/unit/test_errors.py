"""The closed error vocabulary: one enum of rejection reasons (the Rejected.<reason> metric names), each error
class admitting only its own reasons, and the specific class raised for every refusal of its kind."""

from __future__ import annotations

import ast
import base64
import functools
import inspect
import re
from pathlib import Path

import pytest
from speke_keyprovider.errors import (
    CertificateNotTrusted,
    CertificateRejected,
    ContractError,
    CpixError,
    Reason,
    SpekeError,
    UnsupportedDrmSystem,
)
from speke_keyprovider.key_sources import StaticMasterKey
from speke_keyprovider.service import KeyExchange
from speke_keyprovider.settings import Settings

from tests import cpixdocs as d
from tests.certfactory import make_cert
from tests.conftest import MASTER_KEY

SERVER = Path(__file__).resolve().parents[2] / "layers" / "speke_keyprovider" / "speke_keyprovider"


def _answer(body: bytes, **settings) -> None:
    KeyExchange(Settings(**settings), StaticMasterKey(MASTER_KEY)).answer(body)


def test_reasons_are_unique_metric_name_suffixes():
    values = [reason.value for reason in Reason]
    assert len(values) == len(set(values))
    assert all(re.fullmatch(r"[a-z][a-z0-9_]{2,40}", value) for value in values)
    assert f"Rejected.{Reason.CERTIFICATE_REJECTED}" == "Rejected.certificate_rejected"


def _error_classes() -> list[type[SpekeError]]:
    found, todo = [], [SpekeError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo += cls.__subclasses__()
    return found


@pytest.mark.parametrize("cls", _error_classes(), ids=lambda c: c.__name__)
def test_each_error_class_admits_only_its_own_reasons(cls):
    assert isinstance(cls.reason, Reason)
    make = cls
    if "allow" in inspect.signature(cls).parameters:  # MethodNotAllowed names the allowed methods
        make = functools.partial(cls, allow="GET")
    assert make("message").reason is cls.reason
    if "reason" not in inspect.signature(cls).parameters:
        return
    for reason in cls.allowed_reasons():
        assert make("m", reason=reason).reason is reason
    foreign = next(r for r in Reason if r not in cls.allowed_reasons())
    with pytest.raises(TypeError, match="cannot carry reason"):
        make("m", reason=foreign)
    with pytest.raises(TypeError):
        make("m", reason="made_up_reason")  # type: ignore[arg-type]


def test_no_raise_site_spells_a_reason_as_a_string():
    offenders = []
    for path in sorted(SERVER.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                for keyword in node.keywords:
                    if keyword.arg == "reason" and isinstance(keyword.value, ast.Constant):
                        offenders.append(f"{path.relative_to(SERVER)}:{node.lineno}")
    assert not offenders, offenders


def _cert_b64(**kwargs) -> str:
    return base64.b64encode(make_cert(**kwargs)[0]).decode()


CERTIFICATE_REFUSALS = {
    "empty X509Certificate": d.delivery_data(""),
    "X509Certificate with child elements": d.delivery_data("<ds:Extra/>QUJD"),
    "X509Certificate not base64": d.delivery_data("***"),
    "not X.509 DER": d.delivery_data(base64.b64encode(b"not a certificate").decode()),
    "RSA 1024": d.delivery_data(_cert_b64(key="rsa1024")),
    "EC key": d.delivery_data(_cert_b64(key="ec")),
    "expired": d.delivery_data(_cert_b64(days_from=-30, days_to=-1)),
    "not yet valid": d.delivery_data(_cert_b64(days_from=1, days_to=30)),
}


@pytest.mark.parametrize("delivery", CERTIFICATE_REFUSALS.values(), ids=CERTIFICATE_REFUSALS.keys())
def test_every_certificate_refusal_is_a_certificate_rejected(delivery):
    with pytest.raises(CertificateRejected) as info:
        _answer(d.document(delivery=delivery))
    assert info.value.reason is Reason.CERTIFICATE_REJECTED and info.value.status == 422


def test_a_certificate_off_the_allowlist_is_not_trusted():
    with pytest.raises(CertificateNotTrusted):
        _answer(d.document(delivery=d.delivery_data(_cert_b64())), trusted_cert_sha256=frozenset({"0" * 64}))


CONTRACT_REFUSALS = {
    "no usage rule list": ({"usage": ""}, Reason.CONTRACT_MISSING),
    "no intendedTrackType": (
        {"usage": d.rules().replace('intendedTrackType="VIDEO"', "")},
        Reason.CONTRACT_INVALID,
    ),
    "KeyPeriodFilter without periodId": (
        {"usage": d.rules().replace(f'periodId="{d.PERIOD}"', "")},
        Reason.CONTRACT_INVALID,
    ),
    "bad filter integer": (
        {"usage": d.rules(video_filter='<cpix:VideoFilter minPixels="many"/>')},
        Reason.CONTRACT_INVALID,
    ),
    "bad filter boolean": (
        {"usage": d.rules(video_filter='<cpix:VideoFilter hdr="maybe"/>')},
        Reason.CONTRACT_INVALID,
    ),
}


@pytest.mark.parametrize(("parts", "reason"), CONTRACT_REFUSALS.values(), ids=CONTRACT_REFUSALS.keys())
def test_every_contract_refusal_is_a_contract_error(parts, reason):
    with pytest.raises(ContractError) as info:
        _answer(d.document(**parts))
    assert info.value.reason is reason


DRM_REFUSALS = {
    "unknown system id": d.drm_systems(systems=("11111111-2222-3333-4444-555555555555",)),
    "unknown child": d.drm_systems().replace("<cpix:PSSH/>", "<cpix:PSSH/><cpix:URIExtXKey/>", 1),
    "FairPlay with cenc": d.drm_systems(systems=(d.FAIRPLAY,)),
}


@pytest.mark.parametrize("systems", DRM_REFUSALS.values(), ids=DRM_REFUSALS.keys())
def test_every_drm_system_refusal_is_an_unsupported_drm_system(systems):
    keys = d.content_keys("cenc") if "FairPlay" in str(systems) or d.FAIRPLAY in systems else None
    with pytest.raises(UnsupportedDrmSystem) as info:
        _answer(d.document(systems=systems, keys=keys))
    assert isinstance(info.value, CpixError) and info.value.reason is Reason.DRM_UNSUPPORTED
