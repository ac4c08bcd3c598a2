"""Bounded properties over the newer hostile classes: trailing newlines and Unicode digits in every
attribute, key-bearing elements planted anywhere, odd certificates, and requests whose answer would pass
Lambda's response limit. Every answer must pass the oracle (``fuzz_support.check_answer``): a checked 200
or a 4xx, never a 5xx, never key material in a body or a header, never a 200 over the limit."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz import fuzz_support as fz

SEEDS = dict(fz.seeds())
seed_names = st.sampled_from(sorted(SEEDS))
NEWLINE_OR_DIGITS = [
    v for v in fz.HOSTILE_VALUES if v.endswith("\n") or any(ch.isdigit() and not ch.isascii() for ch in v)
]


@fz.fuzz_settings(share=100)
@given(
    seed=seed_names,
    attribute=st.sampled_from(fz.KNOWN_ATTRIBUTES),
    element=st.integers(0, 1 << 16),
    value=st.one_of(
        st.sampled_from(NEWLINE_OR_DIGITS),
        st.text(alphabet="0123456789\u00b2\u2460\u0663\uff11", min_size=1, max_size=6),
        st.sampled_from(fz.HOSTILE_VALUES).map(lambda v: v + "\n"),
    ),
)
def test_trailing_newlines_and_unicode_digits(answer, seed, attribute, element, value):
    root = fz.parse_seed(SEEDS[seed].xml)
    fz.mutate_tree(root, "set_attr", element, 0, attribute, value)
    request = fz.serialise(root)
    answer(request, fz.proxy_event(request))


@fz.fuzz_settings(share=100)
@given(seed=seed_names, where=st.integers(0, 1 << 16), which=st.integers(0, 1 << 16))
def test_key_data_planted_anywhere(answer, seed, where, which):
    root = fz.parse_seed(SEEDS[seed].xml)
    fz.mutate_tree(root, "key_data", where, which, "", "")
    request = fz.serialise(root)
    status, _, _ = answer(request, fz.proxy_event(request))
    snippet = fz.KEY_DATA_SNIPPETS[which % len(fz.KEY_DATA_SNIPPETS)]
    if "PlainValue" in snippet or "DocumentKey" in snippet or "MACMethod" in snippet:
        assert status != 200  # key data, wherever it sits, is refused


@fz.fuzz_settings(share=50)
@given(kind=st.sampled_from(sorted(fz.odd_certificates())), seed=st.integers(0, 3))
def test_odd_certificates(answer, kind, seed):
    request = fz.with_certificate(fz.odd_certificates()[kind], seed)
    status, _, _ = answer(request, fz.proxy_event(request))
    assert status == 422


@fz.fuzz_settings(share=20)
@given(kind=st.integers(0, 2), seed=st.integers(0, 3))
def test_oversize_answers(answer, kind, seed):
    request = fz.oversize_answer(kind, seed)
    assert len(request) <= fz.MAX_REQUEST_BYTES
    status, _, body = answer(request, fz.proxy_event(request))
    assert status == 413 and b"6,000,000-byte limit" in body
