"""KID override (``speke-v2.1.md`` section 4, project rule; SPEKE v2.1 answers with ``KID_OVERRIDE=true``).

The provider answers with its own KID for each ContentKey, derived from the contentId, the key's
intendedTrackType and its key period (``key_derivation.kid_message``), and changes it consistently everywhere
the request named the old one: ``ContentKey@kid`` (and a ``@dependsOnKey`` naming it), ``DRMSystem@kid``,
``ContentKeyUsageRule@kid``. The signalling (PSSH, PlayReady header, HLS lines, key URIs) and the content key
are then computed from the new KID, so they agree with it by construction.

``plan`` runs before anything is derived and refuses (422) a request whose KIDs cannot be made deterministic:
a key that belongs to no single key period, a period start without a timezone, or two keys with the same
(track type, period-id). ``apply`` rewrites the request once the KIDs are known.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass

from .cpix.elements import quote
from .cpix.model import CpixRequest, KeyPeriod
from .cpix.namespaces import cpix
from .errors import CpixError
from .key_derivation import NO_PERIOD
from .key_sources import KidInput

_WHY = "KID override cannot be made deterministic for this request"


@dataclass(frozen=True, slots=True)
class Planned:
    kid: uuid.UUID  # the request's KID
    source: KidInput  # (intendedTrackType, period-id)


def period_id(period: KeyPeriod | None) -> str:
    """The period-id of the formula: UTC start ``YYYY-MM-DDTHH:MM:SSZ``, else the index, else ``-``."""
    if period is None:
        return NO_PERIOD
    if period.start is not None:
        if not period.start.has_timezone:
            raise CpixError(f"{_WHY}: ContentKeyPeriod {quote(period.id)} has a @start without a timezone")
        return period.start.utc_seconds_text()
    if period.index is not None:
        return str(period.index)
    return NO_PERIOD


def plan(request: CpixRequest) -> list[Planned]:
    """What each ContentKey's new KID is derived from; raises ``CpixError`` (422) when that is ambiguous."""
    periods = {period.id: period for period in request.periods}
    rules = {rule.kid: rule for rule in request.usage_rules}  # one rule per kid: validate_contract ran
    planned: list[Planned] = []
    for key in request.content_keys:
        rule = rules[key.kid]
        if not periods:
            period = None
        else:
            mine = rule.period_ids or list(periods)
            if len(mine) != 1:
                raise CpixError(
                    f"{_WHY}: the key for {rule.track_type} (KID {key.kid}) applies to {len(mine)} key periods; "
                    "each key needs exactly one KeyPeriodFilter"
                )
            period = periods[mine[0]]
        planned.append(Planned(kid=key.kid, source=(rule.track_type, period_id(period))))
    counts = Counter(item.source for item in planned)
    for (track_type, pid), count in counts.items():
        if count > 1:
            raise CpixError(f"{_WHY}: {count} keys for intendedTrackType {track_type} in key period {pid}")
    return planned


def apply(request: CpixRequest, new_kids: dict[uuid.UUID, uuid.UUID]) -> None:
    """Replace every request KID by its override, in the model and in the tree that becomes the answer."""
    for key in request.content_keys:
        key.kid = new_kids[key.kid]
        key.element.set("kid", str(key.kid))
        depends = key.element.get("dependsOnKey")
        if depends is not None:
            replaced = _mapped(depends, new_kids)
            if replaced is not None:
                key.element.set("dependsOnKey", str(replaced))
    for system in request.drm_systems:
        system.kid = new_kids[system.kid]
        system.element.set("kid", str(system.kid))
    for rule in request.usage_rules:
        rule.kid = new_kids[rule.kid]
    rule_list = request.root.find(cpix("ContentKeyUsageRuleList"))
    if rule_list is not None:
        tag = cpix("ContentKeyUsageRule")
        for element in rule_list:
            if element.tag == tag:
                replaced = _mapped(element.get("kid"), new_kids)
                if replaced is not None:
                    element.set("kid", str(replaced))


def _mapped(text: str | None, new_kids: dict[uuid.UUID, uuid.UUID]) -> uuid.UUID | None:
    try:
        return new_kids.get(uuid.UUID(text or ""))
    except ValueError:
        return None
