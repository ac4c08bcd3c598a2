"""Build SPEKE v1 requests shaped like the ones AWS Elemental MediaPackage v1 endpoints and MediaConvert
jobs send (no ``X-Speke-Version`` header, no ``CPIX@version``).

A v1 document names its content in ``CPIX@id``, carries one ``ContentKey`` (no commonEncryptionScheme), one
``DRMSystem`` per configured system id whose **empty** children are the requests (``cpix:PSSH``,
``cpix:ContentProtectionData``, ``cpix:URIExtXKey``, ``speke:KeyFormat``, ``speke:KeyFormatVersions``,
``speke:ProtectionHeader``: the AWS examples ask every system for all six, ``children="minimal"`` only for
what the system defines), and, live only, one ``ContentKeyPeriod`` with its ``index`` and a usage rule tying
the key to it. A certificate adds the DeliveryDataList (encrypted content keys).

Endpoint types (``ENDPOINTS``), as MediaPackage v1 packages them:

- ``hls`` (TS): FairPlay (SAMPLE-AES, cbcs) or HLS AES-128; one system.
- ``dash``: Widevine and/or PlayReady, cenc.
- ``cmaf``: Widevine, PlayReady and FairPlay (up to three), cbcs (SAMPLE_AES); without FairPlay the endpoint
  is expected to use AES_CTR (cenc).
- ``mss``: PlayReady, cenc.

Like ``request_builder`` it depends on nothing in the provider.
"""

from __future__ import annotations

import base64
import os
import re
import uuid
from collections.abc import Sequence

from ._xml import CPIX, DS, ENC, PSKC, Writer
from .request_builder import (
    AES128,
    CLEARKEY,
    FAIRPLAY,
    PLAYREADY,
    WIDEVINE,
    BuiltRequest,
    RequestedKey,
    RequestedSystem,
    resolve_system,
)

SPEKE = "urn:aws:amazon:com:speke"
AES128_V1 = "81376844-f976-481e-a84e-cc25d39b0b33"  # the SPEKE v1 documents' id for HLS AES-128

# Children, as written in the document (prefix:local).
V1_PSSH = "cpix:PSSH"
V1_CPD = "cpix:ContentProtectionData"
V1_URI = "cpix:URIExtXKey"
V1_KEY_FORMAT = "speke:KeyFormat"
V1_KEY_FORMAT_VERSIONS = "speke:KeyFormatVersions"
V1_PROTECTION_HEADER = "speke:ProtectionHeader"
V1_CHILDREN = (V1_CPD, V1_KEY_FORMAT, V1_KEY_FORMAT_VERSIONS, V1_PROTECTION_HEADER, V1_PSSH, V1_URI)  # AWS order

V1_DEFINED: dict[str, tuple[str, ...]] = {
    WIDEVINE: (V1_PSSH, V1_CPD),
    PLAYREADY: (V1_PSSH, V1_CPD, V1_PROTECTION_HEADER),
    FAIRPLAY: (V1_URI, V1_KEY_FORMAT, V1_KEY_FORMAT_VERSIONS),
    AES128: (V1_URI, V1_KEY_FORMAT, V1_KEY_FORMAT_VERSIONS),
    AES128_V1: (V1_URI, V1_KEY_FORMAT, V1_KEY_FORMAT_VERSIONS),
    CLEARKEY: (V1_PSSH, V1_CPD),
}
"""What each system fills in a v1 answer (speke-v1.md section 5); every other child is dropped."""

ENDPOINTS: dict[str, tuple[str, ...]] = {
    "hls": ("fairplay",),
    "dash": ("widevine", "playready"),
    "cmaf": ("widevine", "playready", "fairplay"),
    "mss": ("playready",),
}
_ALLOWED: dict[str, set[str]] = {
    "hls": {FAIRPLAY, AES128, AES128_V1},
    "dash": {WIDEVINE, PLAYREADY, CLEARKEY},
    "cmaf": {WIDEVINE, PLAYREADY, FAIRPLAY, CLEARKEY},
    "mss": {PLAYREADY},
}
_MAX_SYSTEMS = {"hls": 1, "dash": 2, "cmaf": 3, "mss": 1}
_CONTENT_ID = re.compile(r"^[0-9a-zA-Z_-]{1,256}$")


def endpoint_scheme(endpoint: str, system_ids: Sequence[str]) -> str:
    """The protection scheme the endpoint encrypts with (what its signalling must describe)."""
    if endpoint == "hls":
        return "cbcs" if FAIRPLAY in system_ids else "aes-128"
    if endpoint == "cmaf" and FAIRPLAY in system_ids:
        return "cbcs"
    return "cenc"


def build_v1_request(
    *,
    content_id: str,
    endpoint: str,
    drm_systems: Sequence[str] | None = None,
    live: bool = True,
    periods: int = 1,
    first_index: int = 1,
    certificate_der: bytes | None = None,
    kids: Sequence[uuid.UUID] | None = None,
    children: str = "all",
    explicit_iv: bool = False,
) -> BuiltRequest:
    """A MediaPackage-v1 (``live``) or MediaConvert / VOD (``live=False``) request for one endpoint type.

    ``drm_systems``: names or system ids (default ``ENDPOINTS[endpoint]``; ``aes128-v1`` is the legacy id).
    ``periods`` (live only): keys with one ContentKeyPeriod each, indexes from ``first_index`` (MediaPackage
    sends one per request; several test a provider's rotation look-ahead). ``children``: ``all`` (every
    placeholder to every system, as the AWS examples) or ``minimal``. ``explicit_iv``: the request carries
    its own random explicitIV (the provider must echo it).
    """
    if not _CONTENT_ID.match(content_id):
        raise ValueError("content id must match [0-9a-zA-Z_-]{1,256}")
    if endpoint not in ENDPOINTS:
        raise ValueError(f"endpoint must be one of {', '.join(ENDPOINTS)}")
    if children not in ("all", "minimal"):
        raise ValueError("children must be all or minimal")
    if not isinstance(periods, int) or not 1 <= periods <= 100:
        raise ValueError("periods must be between 1 and 100")
    if not live and periods != 1:
        raise ValueError("a VOD request has one key and no key periods")
    names = list(drm_systems) if drm_systems else list(ENDPOINTS[endpoint])
    system_ids: list[str] = []
    for name in names:
        system_id = AES128_V1 if name.strip().lower() == "aes128-v1" else resolve_system(name)
        if system_id in system_ids:
            raise ValueError(f"DRM system {name!r} given twice")
        system_ids.append(system_id)
    if not system_ids:
        raise ValueError("at least one DRM system is required")
    for system_id in system_ids:
        if system_id not in _ALLOWED[endpoint]:
            raise ValueError(f"a MediaPackage v1 {endpoint} endpoint does not package DRM system {system_id}")
    if len(system_ids) > _MAX_SYSTEMS[endpoint]:
        raise ValueError(f"a {endpoint} endpoint takes at most {_MAX_SYSTEMS[endpoint]} system id(s)")

    count = periods
    kid_list = [uuid.uuid4() for _ in range(count)] if kids is None else list(kids)
    if len(kid_list) != count or len(set(kid_list)) != count:
        raise ValueError(f"{count} distinct kid(s) needed")
    period_list = [(f"keyPeriod_{uuid.uuid4()}", first_index + i) for i in range(periods)] if live else []
    keys = [
        RequestedKey(kid, "", period_list[i][0] if live else None, period_list[i][1] if live else None)
        for i, kid in enumerate(kid_list)
    ]
    wanted = {
        system_id: (V1_CHILDREN if children == "all" else V1_DEFINED.get(system_id, V1_CHILDREN))
        for system_id in system_ids
    }
    systems = [RequestedSystem(key.kid, sid, wanted[sid]) for key in keys for sid in system_ids]

    w = Writer()
    root = {"xmlns:cpix": CPIX, "xmlns:pskc": PSKC, "xmlns:speke": SPEKE}
    if certificate_der is not None:
        root.update({"xmlns:ds": DS, "xmlns:enc": ENC})
    root["id"] = content_id
    w.open("cpix:CPIX", root)
    if certificate_der is not None:
        w.open("cpix:DeliveryDataList")
        w.open("cpix:DeliveryData", {"id": f"deliveryData_{uuid.uuid4()}"})
        w.open("cpix:DeliveryKey")
        w.open("ds:X509Data")
        w.leaf("ds:X509Certificate", base64.b64encode(certificate_der).decode("ascii"))
        w.close("ds:X509Data")
        w.close("cpix:DeliveryKey")
        w.close("cpix:DeliveryData")
        w.close("cpix:DeliveryDataList")
    w.open("cpix:ContentKeyList")
    for key in keys:
        attrs: dict[str, object] = {"kid": key.kid}
        if explicit_iv:
            attrs["explicitIV"] = base64.b64encode(os.urandom(16)).decode("ascii")
        w.empty("cpix:ContentKey", attrs)
    w.close("cpix:ContentKeyList")
    w.open("cpix:DRMSystemList")
    for system in systems:
        w.open("cpix:DRMSystem", {"kid": system.kid, "systemId": system.system_id})
        for child in system.children:
            w.empty(child)
        w.close("cpix:DRMSystem")
    w.close("cpix:DRMSystemList")
    if live:
        w.open("cpix:ContentKeyPeriodList")
        for period_id, index in period_list:
            w.empty("cpix:ContentKeyPeriod", {"id": period_id, "index": index})
        w.close("cpix:ContentKeyPeriodList")
        w.open("cpix:ContentKeyUsageRuleList")
        for key in keys:
            w.open("cpix:ContentKeyUsageRule", {"kid": key.kid})
            w.empty("cpix:KeyPeriodFilter", {"periodId": key.period_id})
            w.close("cpix:ContentKeyUsageRule")
        w.close("cpix:ContentKeyUsageRuleList")
    w.close("cpix:CPIX")
    return BuiltRequest(
        xml=w.to_bytes(),
        content_id=content_id,
        scheme=endpoint_scheme(endpoint, system_ids),
        keys=keys,
        systems=systems,
        periods=period_list,
        certificate_der=certificate_der,
        speke_version=None,
        endpoint=endpoint,
    )
