"""Bounded property-based fuzzing of the SPEKE v1 path of the handler: MediaPackage-v1-shaped documents
(every endpoint type, live and VOD, clear and encrypted) mutated structurally and in their attribute values,
sent without X-Speke-Version. Every answer must be a v1 200 whose keys equal the derivation of CPIX@id
(encrypted ones decrypt with the private key) and whose DRM systems are echoed with no empty child, or a 4xx
with a text: never a 5xx, never key material in an error body or unwrapped in an encrypted answer."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET

from hypothesis import given
from hypothesis import strategies as st
from speke_keyprovider.key_derivation import derive_cek
from speke_keyprovider_tools.client.response_reader import read_content_keys
from speke_keyprovider_tools.client.speke_v1_request import ENDPOINTS, build_v1_request

from tests.fuzz import fuzz_support as fz

V1_HEADERS = {"Content-Type": "application/xml"}
CPIX = f"{{{fz.CPIX_NS}}}"
SEEDS = {
    f"{endpoint}-{'live' if live else 'vod'}-{'enc' if enc else 'clear'}": build_v1_request(
        content_id=f"fz-{endpoint}",
        endpoint=endpoint,
        live=live,
        certificate_der=fz.delivery_cert_der() if enc else None,
        kids=[uuid.UUID(int=i + 1, version=4)],
    ).xml
    for i, (endpoint, live, enc) in enumerate(
        (e, live, enc) for e in ENDPOINTS for live in (True, False) for enc in (False, True)
    )
}
V1_ELEMENTS = ("PSSH", "ContentProtectionData", "URIExtXKey", "KeyFormat", "ProtectionHeader", "DRMSystem")
mutation = st.tuples(
    st.sampled_from(fz.MUTATIONS),
    st.integers(0, 1 << 16),
    st.integers(0, 1 << 16),
    st.one_of(
        st.sampled_from(("id", "kid", "systemId", "explicitIV", "index", "periodId", "contentId", "version")),
        st.sampled_from(V1_ELEMENTS),
    ),
    st.one_of(st.sampled_from(fz.HOSTILE_VALUES), st.text(max_size=40)),
)


def v1_answer(app, lambda_context, private_key, request: bytes) -> None:
    with fz.recording() as recorded:
        status, headers, body = fz.call(
            app.lambda_handler, fz.rest_proxy_event(request, headers=V1_HEADERS), lambda_context
        )
    if status != 200:
        fz.check_answer(request, status, headers, body, recorded, private_key=private_key)
        return
    lower = {k.lower(): v for k, v in headers.items()}
    assert lower.get("speke-user-agent") and "x-speke-version" not in lower, headers
    req, resp = fz._request_tree(request), fz._request_tree(body)
    content_id = req.get("id")
    assert resp.get("id") == content_id and content_id
    encrypted = req.find(f"{CPIX}DeliveryDataList") is not None
    if encrypted and not fz._addressed_to(req, private_key):
        assert b"PlainValue" not in body and not fz.find_leak(body, recorded.secrets())
        return
    keys = read_content_keys(fz._collapse_certificate_whitespace(body), private_key if encrypted else None)
    kids = [ck.get("kid") for ck in req.iterfind(f"{CPIX}ContentKeyList/{CPIX}ContentKey")]  # what is read
    for kid in kids:
        assert keys[str(uuid.UUID(kid))] == derive_cek(fz.MASTER_KEY, content_id, uuid.UUID(kid))
    asked = list(req.iterfind(f"{CPIX}DRMSystemList/{CPIX}DRMSystem"))
    got = list(resp.iterfind(f"{CPIX}DRMSystemList/{CPIX}DRMSystem"))
    assert [a.attrib for a in asked] == [g.attrib for g in got]
    assert all((c.text or "").strip() for g in got for c in g), "no empty signalling child"
    secrets = [*recorded.delivery, *recorded.masters] + (recorded.ceks if encrypted else [])
    assert not fz.find_leak(body, secrets)


@fz.fuzz_settings()
@given(seed=st.sampled_from(sorted(SEEDS)), mutations=st.lists(mutation, min_size=1, max_size=4))
def test_v1_structural_mutations(app, lambda_context, delivery_private_key, seed, mutations):
    root = fz.parse_seed(SEEDS[seed])
    for op, i, j, name, value in mutations:
        if op == "set_attr" and not name.isidentifier():
            continue
        fz.mutate_tree(root, op, i, j, name, value)
    v1_answer(app, lambda_context, delivery_private_key, fz.serialise(root))


@fz.fuzz_settings(share=60)
@given(seed=st.sampled_from(sorted(SEEDS)))
def test_v1_seeds_are_answered(app, lambda_context, delivery_private_key, seed):
    v1_answer(app, lambda_context, delivery_private_key, SEEDS[seed])
    assert ET.fromstring(SEEDS[seed]).get("version") is None
