"""Small hand-written SPEKE v2.1 (CPIX 2.4) documents for rule-by-rule tests, on top of ``cpixdocs``."""

from __future__ import annotations

from tests import cpixdocs as d

ROOT = 'contentId="test_case_generic" version="2.4"'
LIVE = ('start="2026-12-01T20:00:00Z"', 'end="2026-12-01T20:15:00Z"')
VOD = ('startOffset="PT0S"', 'endOffset="PT10M"')
AES128 = "3ea8778f-7742-4bf9-b18b-e834b2acbd47"
HEADERS = {"X-Speke-Version": "2.1", "Content-Type": "application/xml"}


def period(pid: str = d.PERIOD, *attrs: str) -> str:
    return f'<cpix:ContentKeyPeriod id="{pid}" {" ".join(attrs)}/>'


def period_list(*periods: str) -> str:
    return "<cpix:ContentKeyPeriodList>" + "".join(periods) + "</cpix:ContentKeyPeriodList>"


def document(*, scheme: str = "cbcs", periods: str | None = None, systems: str | None = None, **kwargs) -> bytes:
    """A v2.1 request: cpixdocs' two keys (VIDEO, AUDIO) with one timed period unless told otherwise."""
    return d.document(
        root=kwargs.pop("root", ROOT),
        keys=kwargs.pop("keys", d.content_keys(scheme=scheme)),
        systems=systems,
        period_list=period_list(period(d.PERIOD, 'index="7"', *LIVE)) if periods is None else periods,
        **kwargs,
    )


def hls_systems(system_id: str, playlist: str = "master", kids=(d.KID_VIDEO, d.KID_AUDIO)) -> str:
    items = "".join(
        f'<cpix:DRMSystem kid="{kid}" systemId="{system_id}"><cpix:HLSSignalingData playlist="media"/>'
        f'<cpix:HLSSignalingData playlist="{playlist}"/></cpix:DRMSystem>'
        for kid in kids
    )
    return f"<cpix:DRMSystemList>{items}</cpix:DRMSystemList>"
