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
    for period, group in _groups(rules, [period.id for period in request.periods]):
        _check_group(period, group)


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


def _groups(rules: list[UsageRule], period_ids: list[str]) -> list[tuple[str | None, list[UsageRule]]]:
    """Rules per key period; a rule without KeyPeriodFilter applies to every period."""
    if not period_ids:
        return [(None, rules)]
    return [(pid, [r for r in rules if not r.period_ids or pid in r.period_ids]) for pid in period_ids]


def _check_group(period: str | None, rules: list[UsageRule]) -> None:
    where = "the document" if period is None else f"key period {period[:80]!r}"
    counts = Counter(rule.track_type for rule in rules)
    for track_type, count in counts.items():
        if count > 1:
            raise ContractError(f"{MALFORMED}: intendedTrackType {track_type} is not unique in {where}")
    if ALL in counts and len(rules) > 1:
        raise ContractError(f"{MALFORMED}: {ALL} must be the only ContentKeyUsageRule in {where}")
