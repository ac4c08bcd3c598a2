"""Bounded property-based fuzzing of the Lambda handler, in process.

Valid SPEKE v2 documents are mutated structurally (drop / duplicate / reorder / relocate elements, bad
and huge attribute values, renamed and foreign elements), re-encoded (UTF-16/32, BOMs, lying or unknown
declarations, invalid UTF-8, NUL), nested deeply, truncated, spliced with random bytes or replaced by
them, and wrapped in odd HTTP envelopes. Every answer must pass ``fuzz_support.check_answer``: a 200
that passes the contract checks (keys equal the derivation; encrypted keys decrypt with the private
key) or a 4xx with a text; never a 5xx, never key material in an error body.

Bounded by ``fuzz_support.fuzz_settings`` (200 examples per property by default, derandomized with
HYPOTHESIS_PROFILE=ci); ``HYPOTHESIS_PROFILE=long`` explores more.
"""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st
from speke_keyprovider_tools.client.conformance import check_response
from speke_keyprovider_tools.client.request_builder import (
    AUDIO_PRESETS,
    DRM_SYSTEM_IDS,
    VIDEO_PRESETS,
    build_request,
)

from tests.fuzz import fuzz_support as fz

SEED_NAMES = [name for name, _ in fz.seeds()]
SEEDS = dict(fz.seeds())


seed_names = st.sampled_from(SEED_NAMES)
hostile_values = st.one_of(
    st.sampled_from(fz.HOSTILE_VALUES),
    st.text(max_size=40),
    st.text(alphabet="0123456789abcdefABCDEF-{}", min_size=30, max_size=40),
)
mutation = st.tuples(
    st.sampled_from(fz.MUTATIONS),
    st.integers(0, 1 << 16),
    st.integers(0, 1 << 16),
    st.one_of(st.sampled_from(fz.KNOWN_ATTRIBUTES), st.sampled_from(fz.CPIX_ELEMENTS)),
    hostile_values,
)


def _valid_attr_name(name: str) -> bool:
    return name.isidentifier()


# --- valid documents: the baseline the mutations start from ---------------------------------------


@st.composite
def valid_requests(draw):
    video = draw(st.sampled_from(VIDEO_PRESETS))
    audio = draw(st.sampled_from(AUDIO_PRESETS))
    if (video == "SHARED") != (audio == "SHARED"):
        audio = video = "SHARED"
    if video == audio == "UNENCRYPTED":
        video = "PRESET_VIDEO_1"
    scheme = draw(st.sampled_from(["cenc", "cbcs"]))
    names = sorted(DRM_SYSTEM_IDS)
    systems = draw(st.lists(st.sampled_from(names), min_size=1, max_size=len(names), unique=True))
    if scheme == "cenc" and "fairplay" in systems:
        systems.remove("fairplay")
        systems = systems or ["widevine"]
    periods = draw(st.integers(1, 3))
    encrypted = draw(st.booleans())
    content_id = draw(st.from_regex(r"\A[0-9a-zA-Z_-]{1,64}\Z"))
    from speke_keyprovider_tools.client.request_builder import contract_tracks

    count = periods * len(contract_tracks(video, audio))
    kids = draw(st.lists(st.uuids(), min_size=count, max_size=count, unique=True))
    return build_request(
        content_id=content_id,
        video_preset=video,
        audio_preset=audio,
        drm_systems=systems,
        scheme=scheme,
        periods=periods,
        kids=kids,
        certificate_der=fz.delivery_cert_der() if encrypted else None,
    )


@fz.fuzz_settings(share=60)
@given(
    built=valid_requests(),
    as_base64=st.booleans(),
    header_case=st.sampled_from(["canonical", "lower", "upper"]),
)
def test_valid_requests_are_answered_per_contract(answer, delivery_private_key, built, as_base64, header_case):
    headers = {"Content-Type": "application/xml", "X-Speke-Version": "2.0"}
    if header_case != "canonical":
        headers = {(k.lower() if header_case == "lower" else k.upper()): v for k, v in headers.items()}
    status, out_headers, body = answer(built.xml, fz.proxy_event(built.xml, headers=headers, base64_body=as_base64))
    assert status == 200, body[:300]
    report = check_response(built, status, out_headers, body, delivery_private_key if built.encrypted else None)
    assert report.ok, report.violations


# --- structural mutations -------------------------------------------------------------------------


@fz.fuzz_settings()
@given(seed=seed_names, mutations=st.lists(mutation, min_size=1, max_size=4))
def test_structural_mutations(answer, seed, mutations):
    root = fz.parse_seed(SEEDS[seed].xml)
    for op, i, j, name, value in mutations:
        if op == "set_attr" and not _valid_attr_name(name):
            continue
        fz.mutate_tree(root, op, i, j, name, value)
    request = fz.serialise(root)
    answer(request, fz.proxy_event(request))


@fz.fuzz_settings()
@given(
    seed=seed_names,
    attribute=st.sampled_from(fz.KNOWN_ATTRIBUTES),
    element=st.integers(0, 1 << 16),
    value=st.one_of(hostile_values, st.integers(1, 1_200_000).map(lambda n: "7" * n)),
)
def test_bad_and_huge_attribute_values(answer, seed, attribute, element, value):
    root = fz.parse_seed(SEEDS[seed].xml)
    fz.mutate_tree(root, "set_attr", element, 0, attribute, value)
    request = fz.serialise(root)
    answer(request, fz.proxy_event(request))


# --- encodings ------------------------------------------------------------------------------------


@fz.fuzz_settings()
@given(
    seed=seed_names,
    how=st.sampled_from(fz.ENCODINGS),
    position=st.integers(0, 1 << 16),
    base64_forced=st.booleans(),
    pre=st.lists(mutation, max_size=1),
)
def test_odd_encodings(answer, seed, how, position, base64_forced, pre):
    root = fz.parse_seed(SEEDS[seed].xml)
    for op, i, j, name, value in pre:
        if op != "set_attr" or _valid_attr_name(name):
            fz.mutate_tree(root, op, i, j, name, value)
    request = fz.reencode(fz.serialise(root), how, position)
    answer(request, fz.proxy_event(request, base64_body=True if base64_forced else None))


# --- nesting, truncation, random bytes ------------------------------------------------------------


@fz.fuzz_settings(share=100)
@given(seed=seed_names, depth=st.integers(1, 100_000), where=st.integers(0, 1 << 10), foreign=st.booleans())
def test_deep_nesting(answer, seed, depth, where, foreign):
    request = fz.deep_nesting(SEEDS[seed].xml, depth, where, foreign)
    answer(request, fz.proxy_event(request))


@fz.fuzz_settings()
@given(
    source=st.one_of(
        seed_names.map(lambda n: SEEDS[n].xml),
        st.sampled_from([body for _, body in fz.event_bodies()] or [SEEDS[SEED_NAMES[0]].xml]),
    ),
    op=st.sampled_from(fz.BYTE_MUTATIONS),
    a=st.integers(0, 1 << 20),
    b=st.integers(0, 1 << 16),
    junk=st.binary(max_size=64),
    rounds=st.integers(1, 3),
)
def test_truncation_splices_and_random_bytes(answer, source, op, a, b, junk, rounds):
    request = source
    for n in range(rounds):
        request = fz.mutate_bytes(request, op, a + n * 7919, b, junk)
    answer(request, fz.proxy_event(request))


# --- the HTTP envelope ----------------------------------------------------------------------------

header_values = st.one_of(st.sampled_from(["2.0", " 2.0 ", "2.00", "2.1", "1.0", "", "2.0, 2.0"]), st.text(max_size=20))
content_types = st.one_of(
    st.sampled_from(
        [
            "application/xml",
            "text/xml; charset=utf-8",
            "application/xml; charset=utf-16",
            "application/json",
            "",
            "APPLICATION/XML",
            "multipart/form-data; boundary=x",
        ]
    ),
    st.text(max_size=30),
)


@fz.fuzz_settings()
@given(
    seed=seed_names,
    version=st.one_of(st.none(), header_values),
    content_type=st.one_of(st.none(), content_types),
    as_list=st.booleans(),
    base64_flag=st.sampled_from([None, True, False]),
    body_kind=st.sampled_from(["doc", "none", "empty", "bad-base64", "whitespace"]),
    caller=st.sampled_from([fz.CALLER_ARN, None, "", "not-an-arn", "arn:aws:iam::111122223333:user/x"]),
)
def test_http_envelope(answer, seed, version, content_type, as_list, base64_flag, body_kind, caller):
    headers: dict = {}
    if version is not None:
        headers["X-Speke-Version"] = [version] if as_list else version
    if content_type is not None:
        headers["Content-Type"] = content_type
    doc = SEEDS[seed].xml
    if body_kind == "doc":
        event = fz.proxy_event(doc, headers=headers, base64_body=base64_flag, caller_arn=caller)
    else:
        body = {"none": None, "empty": "", "bad-base64": "%%%not base64%%%", "whitespace": " \n"}[body_kind]
        event = fz.proxy_event(None, headers=headers, caller_arn=caller)
        event["body"] = body
        event["isBase64Encoded"] = bool(base64_flag)
        doc = None
    status, _, _ = answer(doc, event)
    if status == 200:
        assert caller and caller.startswith("arn:")


def test_seed_documents_are_valid(answer):
    """The mutations start from documents the provider answers with 200."""
    for _, built in fz.seeds():
        status, _, body = answer(built.xml, fz.proxy_event(built.xml))
        assert status == 200, body[:300]
    assert uuid.UUID(str(fz.seeds()[0][1].keys[0].kid))
