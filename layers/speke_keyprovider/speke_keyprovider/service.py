"""The key exchange, start to end, without HTTP or AWS: CPIX bytes in, CPIX bytes out.

parse -> encryption contract -> DRM systems -> trust (certificates) -> signalling -> answer size -> keys -> wrap
-> render. Every check that can refuse a request runs before a single key is derived (the answer's size is
predicted from the request; the rendered size is checked again before returning).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from . import answer_size, drm, kid_override
from .contract import validate_contract
from .cpix import v2_1_answer
from .cpix.answer_rules import answer_rules, drop_undefined_children
from .cpix.dialect import V2_0, V2_1, Dialect
from .cpix.model import CpixRequest
from .cpix.parse import parse_request
from .cpix.render import render_response, signal_values
from .errors import EncryptionRequired
from .key_sources import KeySource
from .key_wrapping import DeliveryKeys
from .settings import Settings
from .trust import check_certificate


@dataclass(frozen=True, slots=True)
class KeyExchangeResult:
    """What was answered, for logs and metrics. Holds no key material."""

    body: bytes = field(repr=False)
    dialect: Dialect
    content_id: str
    kids: tuple[str, ...]
    scheme: str
    encrypted: bool
    drm_systems: tuple[str, ...]
    periods: int
    certificate_sha256: tuple[str, ...] = ()
    requested_kids: tuple[str, ...] = ()  # the request's KIDs when the answer overrides them (KID_OVERRIDE)

    @property
    def key_count(self) -> int:
        return len(self.kids)


class KeyExchange:
    def __init__(
        self,
        settings: Settings,
        key_source: KeySource,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self._settings = settings
        self._key_source = key_source
        self._clock = clock

    def answer(self, cpix_body: bytes, speke_version: str | None = V2_0.speke_version) -> KeyExchangeResult:
        """The answer to a CPIX body sent with ``X-Speke-Version: speke_version`` (``None``: no such header)."""
        request = parse_request(cpix_body, speke_version)
        rules = answer_rules(request.dialect)
        if rules.checks_encryption_contract:
            validate_contract(request)
        if rules.drops_undefined_children:
            drop_undefined_children(request, rules)
        scheme = request.scheme
        for system in request.drm_systems:
            drm.check_system(
                system.system_id, scheme, [drm.child_named(name) for name, _ in system.children], rules.drm_systems
            )
        if self._settings.require_encrypted_keys and not request.encrypted:
            raise EncryptionRequired("Encrypted content keys required: the request has no DeliveryDataList")
        v21 = self._settings.v21 if request.dialect is V2_1 else None  # v2.0 answers: KIDs echoed, nothing added
        planned = kid_override.plan(request) if v21 is not None and v21.kid_override else None
        now = self._clock()
        certificates = [
            check_certificate(recipient.certificate_der, now=now, allowlist=self._settings.trusted_cert_sha256)
            for recipient in request.recipients
        ]
        signalling = self._settings.signalling
        signals = signal_values(request, signalling)  # KID-sized values: an override changes none of the sizes
        answer_size.check_predicted(
            request, len(cpix_body), signals, certificates, random_explicit_iv=signalling.derived_explicit_iv
        )
        requested_kids = tuple(str(kid) for kid in request.kids)
        if planned is not None:
            overrides = self._key_source.override_kids(request.content_id, [item.source for item in planned])
            kid_override.apply(request, {item.kid: overrides[item.source] for item in planned})
            signals = signal_values(request, signalling)  # the signalling carries the overriding kids
        if v21 is not None:
            v2_1_answer.add_signalling(request, v21)
        keys = self._key_source.content_keys(request.content_id, request.kids)
        explicit_ivs = self._explicit_ivs(request)
        delivery = DeliveryKeys.generate() if request.encrypted else None
        body = render_response(
            request,
            keys,
            signalling=signalling,
            delivery=delivery,
            certificates=certificates,
            explicit_ivs=explicit_ivs,
            signals=signals,
        )
        answer_size.check_rendered(body)
        return KeyExchangeResult(
            body=body,
            dialect=request.dialect,
            content_id=request.content_id,
            kids=tuple(str(kid) for kid in request.kids),
            scheme=scheme,
            encrypted=request.encrypted,
            drm_systems=tuple(sorted({system.system_id for system in request.drm_systems})),
            periods=len(request.periods),
            certificate_sha256=tuple(cert.sha256 for cert in certificates),
            requested_kids=requested_kids if planned is not None else (),
        )

    def _explicit_ivs(self, request: CpixRequest) -> dict[uuid.UUID, bytes]:
        """DERIVED_EXPLICIT_IV: the derived IV (speke-v1.md section 5) of each key sent without one."""
        if not self._settings.signalling.derived_explicit_iv:
            return {}
        missing = [key.kid for key in request.content_keys if key.explicit_iv is None]
        return self._key_source.explicit_ivs(request.content_id, missing) if missing else {}
