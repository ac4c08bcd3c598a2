"""Which SPEKE dialect a request speaks, decided once, from the X-Speke-Version header and CPIX@version.

- SPEKE v1 (MediaPackage v1, MediaConvert without presets): no header and no ``CPIX@version``.
- SPEKE v2.0: header ``2.0`` with ``CPIX@version="2.3"``; SPEKE v2.1: header ``2.1`` with ``"2.4"``.
- One present without the other, an unknown value, or another pairing: 422 naming the inconsistency.
  Never best effort: a guessed dialect would answer with the wrong keys or signalling.

Each dialect's document rules live in their own module (``v1``, ``v2``, ``v2_1``); ``SERVED`` lists the dialects this
provider answers.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import CpixError, UnsupportedVersion


@dataclass(frozen=True, slots=True)
class Dialect:
    """A SPEKE dialect: the header value (``None`` for v1) and the CPIX@version it pairs with."""

    name: str
    speke_version: str | None
    cpix_version: str | None

    @property
    def is_v1(self) -> bool:
        return self.speke_version is None


V1 = Dialect("SPEKE v1", None, None)
V2_0 = Dialect("SPEKE v2.0", "2.0", "2.3")
V2_1 = Dialect("SPEKE v2.1", "2.1", "2.4")

BY_HEADER = {dialect.speke_version: dialect for dialect in (V2_0, V2_1)}
SERVED: frozenset[Dialect] = frozenset({V1, V2_0, V2_1})


def check_header(speke_version: str | None) -> None:
    """Refuse an X-Speke-Version value no dialect has, before the body is read (the spec's text)."""
    if speke_version is not None and speke_version.strip() not in BY_HEADER:
        raise UnsupportedVersion("Unsupported SPEKE version")


def detect(speke_version: str | None, cpix_version: str | None) -> Dialect:
    """The dialect of a request, from its header value and its root's ``version`` attribute (``None``: absent)."""
    header = None if speke_version is None else speke_version.strip()
    if header is None and cpix_version is None:
        dialect = V1
    elif header is None:
        raise UnsupportedVersion(
            "Unsupported SPEKE version: the document has CPIX@version but the request has no X-Speke-Version header"
        )
    elif header not in BY_HEADER:
        raise UnsupportedVersion("Unsupported SPEKE version")
    elif cpix_version is None or not cpix_version.strip():
        raise CpixError(f"Missing CPIX@version (required with X-Speke-Version {header})")
    else:
        dialect = BY_HEADER[header]
        if cpix_version != dialect.cpix_version:
            known = {d.cpix_version: d for d in BY_HEADER.values()}
            if cpix_version in known:
                raise CpixError(
                    f"Unsupported CPIX@version: {cpix_version} is {known[cpix_version].name}, "
                    f"X-Speke-Version {header} needs {dialect.cpix_version}"
                )
            raise CpixError("Unsupported CPIX@version")
    if dialect not in SERVED:
        raise UnsupportedVersion(f"Unsupported SPEKE version: {dialect.name} is not served by this provider")
    return dialect
