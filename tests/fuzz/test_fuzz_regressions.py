"""Inputs the fuzzers found that once broke the oracle (a 5xx, a leak, a wrong answer): each stays here
as a regression test. The atheris corpus and crash files live under build/; the minimal input is inline."""

from __future__ import annotations

import pytest

from tests.fuzz import fuzz_support as fz

pytestmark = pytest.mark.fuzz

DEEP_NESTING_FIXED = fz.deep_nesting_is_refused()


@pytest.fixture
def answer(app, lambda_context, delivery_private_key):
    def _answer(request, event):
        with fz.recording() as recorded:
            status, headers, body = fz.call(app.lambda_handler, event, lambda_context)
        fz.check_answer(request, status, headers, body, recorded, private_key=delivery_private_key)
        return status, headers, body

    return _answer


@pytest.mark.xfail(not DEEP_NESTING_FIXED, strict=True, raises=fz.OracleFailure,
                   reason="finding F1 (hypothesis, test_deep_nesting): a document nested ~1000 deep (e.g. in a "
                          "foreign extension the response echoes) makes ET.tostring raise RecursionError -> 500; "
                          "fix: refuse documents deeper than a small limit in cpix/parse.parse_xml")
@pytest.mark.parametrize("depth", [1_000, 5_000, 200_000])
@pytest.mark.parametrize("foreign", [True, False])
def test_deeply_nested_document_is_a_4xx(answer, depth, foreign):
    name, built = fz.seeds()[0]
    request = fz.deep_nesting(built.xml, depth, 3, foreign)
    status, _, body = answer(request, fz.proxy_event(request))
    assert 400 <= status < 500, body[:200]
