"""How each SPEKE dialect is answered, in one place: what differs between a v1 and a v2 answer besides the
document rules (``v1`` / ``v2``).

- success headers: v1 ``Speke-User-Agent`` and no version header; v2 ``X-Speke-User-Agent`` and
  ``X-Speke-Version`` echoed.
- root ``id``: v1 keeps it (it is the content id); v2 drops a legacy ``id``.
- DRM systems and children: v1 ``drm.SPEKE_V1_SYSTEMS``, and the empty children a system does not define are
  **removed** from the answer (encryptors may ask every system for every child); v2 ``drm.SYSTEMS``, and such
  a child is refused (422).
- ContentKeyUsageRuleList: v1 ties keys to key periods only (checked by ``v1``); v2 it is the encryption
  contract (``contract.validate_contract``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .. import drm
from .dialect import Dialect
from .model import CpixRequest


@dataclass(frozen=True, slots=True)
class AnswerRules:
    name: str
    user_agent_header: str
    echoes_version_header: bool
    keeps_root_id: bool
    drm_systems: Mapping[str, drm.DrmSystem]
    drops_undefined_children: bool
    checks_encryption_contract: bool

    def success_headers(self, dialect: Dialect, user_agent: str) -> dict[str, str]:
        headers = {"Content-Type": "application/xml", self.user_agent_header: user_agent}
        if self.echoes_version_header and dialect.speke_version is not None:
            headers["X-Speke-Version"] = dialect.speke_version
        return headers


SPEKE_V1_ANSWER = AnswerRules(
    name="SPEKE v1",
    user_agent_header="Speke-User-Agent",
    echoes_version_header=False,
    keeps_root_id=True,
    drm_systems=drm.SPEKE_V1_SYSTEMS,
    drops_undefined_children=True,
    checks_encryption_contract=False,
)
SPEKE_V2_ANSWER = AnswerRules(
    name="SPEKE v2",
    user_agent_header="X-Speke-User-Agent",
    echoes_version_header=True,
    keeps_root_id=False,
    drm_systems=drm.SYSTEMS,
    drops_undefined_children=False,
    checks_encryption_contract=True,
)


def answer_rules(dialect: Dialect) -> AnswerRules:
    return SPEKE_V1_ANSWER if dialect.is_v1 else SPEKE_V2_ANSWER


def drop_undefined_children(request: CpixRequest, rules: AnswerRules) -> None:
    """Remove, from the request model and the tree that becomes the answer, every empty signalling child its
    system does not define (an encryptor may ask every system for every child). Unknown systems are left for
    ``drm.check_system`` to refuse."""
    for system in request.drm_systems:
        known = rules.drm_systems.get(system.system_id)
        if known is None:
            continue
        kept = []
        for name, element in system.children:
            if drm.child_named(name) in known.children:
                kept.append((name, element))
            else:
                system.element.remove(element)
        system.children = kept
