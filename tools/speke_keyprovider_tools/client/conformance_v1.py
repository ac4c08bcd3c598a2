"""Check a SPEKE v1 answer the way a MediaPackage v1 endpoint or a MediaConvert job would take it
(speke-v1.md), on top of the exchange rules in ``conformance`` (keys, delivery, echoes, per-system checks).

What differs from v2: ``Speke-User-Agent`` and no version header; the root keeps ``CPIX@id`` and has no
``version`` or ``contentId``; no ``commonEncryptionScheme``; no encryption contract; each DRMSystem must
fill exactly the children its system defines among those asked (``speke_v1_request.V1_DEFINED``) and
**drop** the others (an encryptor may ask every system for all six). The signalling values go through the
same per-system checks as v2 (``checks/``), for the scheme the endpoint encrypts with (``BuiltRequest.scheme``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from xml.etree.ElementTree import Element

from ._xml import CPIX, children, local_name, namespace
from .conformance import _Checker, _name
from .request_builder import RequestedSystem
from .speke_v1_request import SPEKE, V1_CHILDREN, V1_DEFINED

_PREFIXES = {CPIX: "cpix", SPEKE: "speke"}
_KNOWN = {tuple(name.split(":")) for name in V1_CHILDREN}  # (prefix, local)


class SpekeV1Checker(_Checker):
    def headers(self, lower: Mapping[str, str]) -> None:
        self.content_type(lower)
        if not lower.get("speke-user-agent", "").strip():
            self.fail("Speke-User-Agent header missing (SPEKE v1's name for the user agent)")
        if "x-speke-version" in lower:
            self.fail(f"X-Speke-Version {lower['x-speke-version']!r} in a SPEKE v1 answer, which has no version header")

    def root_attributes(self, root: Element) -> None:
        built = self.built
        if root.get("id") != built.content_id:
            self.fail(f"CPIX@id is {root.get('id')!r}, expected {built.content_id!r} (echoed)")
        for name in ("contentId", "version"):
            if root.get(name) is not None:
                self.fail(f"CPIX@{name} in a SPEKE v1 answer (the request had none)")
        for name in ("ContentKeyList", "DRMSystemList"):
            count = len(children(root, CPIX, name))
            if count != 1:
                self.fail(f"{name} appears {count} times, expected once")

    def scheme_attribute(self) -> str | None:
        return None

    def wanted_children(self, system: RequestedSystem) -> Counter[str]:
        defined = V1_DEFINED.get(system.system_id)
        asked = [name for name in system.children if defined is None or name in defined]
        return Counter(name.split(":", 1)[1] for name in asked)

    def child_key(self, item: Element) -> str:
        prefix = _PREFIXES.get(namespace(item.tag))
        local = local_name(item.tag)
        return local if (prefix, local) in _KNOWN else item.tag

    def unwanted_child(self, system: RequestedSystem, name: str) -> str:
        where = f"DRMSystem {_name(system.system_id)} for {system.kid}"
        asked = {child.split(":", 1)[1] for child in system.children}
        if name in asked:
            return f"{where}: child {name} is not defined for this system and must be dropped from the answer"
        return f"{where}: child {name} was not requested"
