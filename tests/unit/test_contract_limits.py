"""Key periods, usage rules and filters are bounded, and the contract check is linear in the contract's size
(periods x rules was quadratic: a cheap request cost seconds of CPU). Linearity is shown by counting the lines
the check executes (deterministic), not by timing; the worst case is measured in ``bench/worst_case.py``."""

from __future__ import annotations

import sys
import uuid
from collections import Counter
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st
from speke_keyprovider import contract
from speke_keyprovider.contract import validate_contract
from speke_keyprovider.cpix.model import UsageRule, VideoFilter
from speke_keyprovider.errors import ContractError, SpekeError
from speke_keyprovider.key_sources import StaticMasterKey
from speke_keyprovider.service import KeyExchange
from speke_keyprovider.settings import Settings

from tests import cpixdocs as d
from tests.conftest import MASTER_KEY
from tests.fuzz.fuzz_support import fuzz_settings

MAX_KEY_PERIODS = 512  # the documented limits (SECURITY.md), written out so this file runs against any version
MAX_USAGE_RULES = 512
MAX_RULE_FILTERS = 64


def answer(body: bytes):
    return KeyExchange(Settings(), StaticMasterKey(MASTER_KEY)).answer(body)


def refused(body: bytes, message: str) -> None:
    with pytest.raises(SpekeError, match=message) as info:
        answer(body)
    assert info.value.status == 422


@pytest.mark.parametrize("count", [MAX_KEY_PERIODS + 1, 5000])
def test_too_many_periods_are_refused(count):
    ids = [f"p{n}" for n in range(count)]
    refused(d.document(period_list=d.periods(ids=ids), usage=d.rules(period=None)), f"at most {MAX_KEY_PERIODS}")


def test_the_largest_number_of_periods_is_answered():
    ids = [f"p{n}" for n in range(MAX_KEY_PERIODS)]
    assert answer(d.document(period_list=d.periods(ids=ids), usage=d.rules(period=None))).periods == MAX_KEY_PERIODS


@pytest.mark.parametrize("count", [MAX_USAGE_RULES + 1, 3000])
def test_too_many_usage_rules_are_refused(count):
    rule = f'<cpix:ContentKeyUsageRule kid="{d.KID_VIDEO}" intendedTrackType="VIDEO"><cpix:VideoFilter/></cpix:ContentKeyUsageRule>'
    usage = "<cpix:ContentKeyUsageRuleList>" + rule * count + "</cpix:ContentKeyUsageRuleList>"
    refused(d.document(usage=usage), f"more than {MAX_USAGE_RULES} ContentKeyUsageRule")


@pytest.mark.parametrize("count", [MAX_RULE_FILTERS + 1, 4000])
def test_too_many_filters_in_one_rule_are_refused(count):
    refused(
        d.document(usage=d.rules(video_filter="<cpix:VideoFilter/>" * count)), f"more than {MAX_RULE_FILTERS} filters"
    )


# --- linear, and the same answers as the per-period walk ------------------------------------------


def _request(periods: int, rules: int, *, filtered: bool):
    kids = [uuid.UUID(int=n + 1) for n in range(rules)]
    pids = [f"p{n}" for n in range(periods)]
    usage = [
        UsageRule(
            kid=kid,
            track_type=f"T{n}",
            video_filters=[VideoFilter()],
            period_ids=[pids[n % periods]] if filtered else [],
        )
        for n, kid in enumerate(kids)
    ]
    return SimpleNamespace(
        usage_rules=usage,
        content_keys=[SimpleNamespace(kid=kid) for kid in kids],
        periods=[SimpleNamespace(id=pid, index=None) for pid in pids],
    )


def _lines_executed(request) -> int:
    count = 0
    path = contract.__file__

    def tracer(frame, event, arg):
        nonlocal count
        if frame.f_code.co_filename != path:
            return None
        if event == "line":
            count += 1
        return tracer

    sys.settrace(tracer)
    try:
        validate_contract(request)
    finally:
        sys.settrace(None)
    return count


@pytest.mark.parametrize("filtered", [False, True])
def test_contract_check_is_linear(filtered):
    small = _lines_executed(_request(40, 40, filtered=filtered))
    large = _lines_executed(_request(160, 160, filtered=filtered))
    assert large < 6 * small, (small, large)  # linear: ~4x for 4x the size; quadratic would be ~16x


def _reference(rules, period_ids):
    """The per-period walk (the old, quadratic check), for the equivalence property."""
    groups = (
        [(None, rules)]
        if not period_ids
        else [(pid, [r for r in rules if not r.period_ids or pid in r.period_ids]) for pid in period_ids]
    )
    for period, group in groups:
        where = "the document" if period is None else f"key period {period[:80]!r}"
        counts = Counter(rule.track_type for rule in group)
        for track_type, count in counts.items():
            if count > 1:
                return f"{contract.MALFORMED}: intendedTrackType {track_type} is not unique in {where}"
        if contract.ALL in counts and len(group) > 1:
            return f"{contract.MALFORMED}: {contract.ALL} must be the only ContentKeyUsageRule in {where}"
    return None


rule_sets = st.integers(0, 4).flatmap(
    lambda periods: st.tuples(
        st.just([f"p{n}" for n in range(periods)]),
        st.lists(
            st.tuples(
                st.sampled_from(["VIDEO", "AUDIO", "SD", "ALL"]),
                st.lists(st.integers(0, max(periods - 1, 0)), max_size=2 if periods else 0, unique=True),
            ),
            min_size=1,
            max_size=7,
        ),
    )
)


@fuzz_settings(100)
@given(rule_sets)
def test_grouping_matches_the_per_period_walk(spec):
    period_ids, shapes = spec
    rules = [
        UsageRule(kid=uuid.UUID(int=n + 1), track_type=track, period_ids=[period_ids[i] for i in picks])
        for n, (track, picks) in enumerate(shapes)
    ]
    expected = _reference(rules, period_ids)
    try:
        contract._check_groups(rules, period_ids)
        got = None
    except ContractError as exc:
        got = exc.public_message
    assert got == expected
