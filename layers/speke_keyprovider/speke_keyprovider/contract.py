"""The encryption contract (ContentKeyUsageRuleList) and key periods: contract section 2.

Filters are parsed as sent; presets are never looked up in a table. The texts use the spec's
``Missing CPIX encryption contract`` / ``Malformed encryption contract`` /
``Requested CPIX encryption contract not supported`` followed by the detail.
"""

from __future__ import annotations

import uuid
from collections import Counter

from .cpix.model import CpixRequest, UsageRule
from .errors import ContractError, Reason

ALL = "ALL"
MISSING = "Missing CPIX encryption contract"
MALFORMED = "Malformed encryption contract"
NOT_SUPPORTED = "Requested CPIX encryption contract not supported"


def validate_contract(request: CpixRequest) -> None:
    """Linear in the size of the contract: O(rules + filters + periods), whatever their mix (the parser
    bounds each count; ``cpix.elements.MAX_*``)."""
    rules = request.usage_rules
    if not any(rule.video_filters or rule.audio_filters for rule in rules):
        raise ContractError(MISSING, reason=Reason.CONTRACT_MISSING)
    kids = {key.kid for key in request.content_keys}
    period_ids = {period.id for period in request.periods}
    rules_per_kid = Counter(rule.kid for rule in rules)
    for rule in rules:
        _check_rule(rule, kids, period_ids)
        if rules_per_kid[rule.kid] > 1:
            raise ContractError(f"{MALFORMED}: more than one ContentKeyUsageRule for KID {rule.kid}")
    for kid in kids:
        if kid not in rules_per_kid:
            raise ContractError(f"{MALFORMED}: no ContentKeyUsageRule for KID {kid}")
    _check_groups(rules, [period.id for period in request.periods])


def _check_rule(rule: UsageRule, kids: set[uuid.UUID], period_ids: set[str]) -> None:
    where = f"ContentKeyUsageRule {rule.track_type} (KID {rule.kid})"
    if rule.other_filters:
        raise ContractError(
            f"{NOT_SUPPORTED}: {', '.join(sorted(set(rule.other_filters)))} in {where}",
            reason=Reason.CONTRACT_UNSUPPORTED,
        )
    if rule.kid not in kids:
        raise ContractError(f"{MALFORMED}: ContentKeyUsageRule@kid {rule.kid} does not match any ContentKey")
    for period_id in rule.period_ids:
        if period_id not in period_ids:
            raise ContractError(
                f"{MALFORMED}: KeyPeriodFilter@periodId {period_id[:80]!r} in {where} "
                "does not match any ContentKeyPeriod"
            )
    if len(set(rule.period_ids)) != len(rule.period_ids):
        raise ContractError(f"{MALFORMED}: duplicate KeyPeriodFilter in {where}")
    video, audio = rule.video_filters, rule.audio_filters
    if rule.track_type == ALL:
        if len(video) != 1 or len(audio) != 1 or not video[0].bare or not audio[0].bare:
            raise ContractError(f"{MALFORMED}: {ALL} takes exactly one bare AudioFilter and one bare VideoFilter")
        return
    if not video and not audio:
        raise ContractError(f"{MALFORMED}: {where} has no VideoFilter or AudioFilter")
    if video and audio:
        raise ContractError(f"{MALFORMED}: {where} mixes VideoFilter and AudioFilter")
    parts = rule.track_type.split("+")
    if any(not part for part in parts):
        raise ContractError(f"{MALFORMED}: invalid intendedTrackType {rule.track_type!r}")
    count = len(video or audio)
    allowed = {1, len(parts)}
    if count not in allowed:
        expected = " or ".join(str(n) for n in sorted(allowed))
        raise ContractError(f"{MALFORMED}: {where} has {count} filters, expected {expected}")
    for item in video:
        _check_range(item.min_pixels, item.max_pixels, "VideoFilter minPixels/maxPixels", where)
        _check_range(item.min_fps, item.max_fps, "VideoFilter minFps/maxFps", where)
    for audio_filter in audio:
        _check_range(audio_filter.min_channels, audio_filter.max_channels, "AudioFilter minChannels/maxChannels", where)


def _check_range(low: int | None, high: int | None, what: str, where: str) -> None:
    if low is not None and high is not None and low > high:
        raise ContractError(f"{MALFORMED}: {what} range is empty in {where}")


def _check_groups(rules: list[UsageRule], period_ids: list[str]) -> None:
    """Per key period (or for the document when it has none), each intendedTrackType once and ALL alone;
    a rule without KeyPeriodFilter applies to every period.

    The rules of a period are the period-free ones plus those naming it. Both are counted once (the
    period-free ones for all periods together), so the check is linear, not periods x rules; the error
    names the same period and track type as a per-period walk in document order would."""
    if not period_ids:
        _check_group(None, rules)
        return
    shared = [(n, rule) for n, rule in enumerate(rules) if not rule.period_ids]
    by_period: dict[str, list[tuple[int, UsageRule]]] = {}
    for n, rule in enumerate(rules):
        for pid in dict.fromkeys(rule.period_ids):
            by_period.setdefault(pid, []).append((n, rule))
    shared_first: dict[str, int] = {}
    shared_count: Counter[str] = Counter()
    for n, rule in shared:
        shared_first.setdefault(rule.track_type, n)
        shared_count[rule.track_type] += 1
    shared_duplicate = min(
        ((first, track) for track, first in shared_first.items() if shared_count[track] > 1), default=None
    )
    for pid in period_ids:
        own = by_period.get(pid, [])
        first: dict[str, int] = {}
        count: Counter[str] = Counter()
        for n, rule in own:
            first.setdefault(rule.track_type, n)
            count[rule.track_type] += 1
        candidates = [
            (min(n, shared_first.get(track, n)), track)
            for track, n in first.items()
            if count[track] + shared_count[track] > 1
        ]
        if shared_duplicate is not None:
            candidates.append(shared_duplicate)
        where = f"key period {pid[:80]!r}"
        if candidates:
            track = min(candidates)[1]
            raise ContractError(f"{MALFORMED}: intendedTrackType {track} is not unique in {where}")
        if (ALL in count or ALL in shared_count) and len(own) + len(shared) > 1:
            raise ContractError(f"{MALFORMED}: {ALL} must be the only ContentKeyUsageRule in {where}")


def _check_group(period: str | None, rules: list[UsageRule]) -> None:
    where = "the document" if period is None else f"key period {period[:80]!r}"
    counts = Counter(rule.track_type for rule in rules)
    for track_type, count in counts.items():
        if count > 1:
            raise ContractError(f"{MALFORMED}: intendedTrackType {track_type} is not unique in {where}")
    if ALL in counts and len(rules) > 1:
        raise ContractError(f"{MALFORMED}: {ALL} must be the only ContentKeyUsageRule in {where}")
