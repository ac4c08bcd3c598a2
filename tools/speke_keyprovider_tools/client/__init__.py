"""The encryptor's side of SPEKE v2: build MediaPackage-v2-style requests, read and check answers.

Independent of the provider's own modules on purpose, so it can vet any SPEKE v2 key provider:
``request_builder`` (CPIX 2.3 requests), ``response_reader`` (clear and encrypted content keys),
``signalling`` (PSSH / PlayReady / HLS parsers), ``conformance`` (every rule of the contract, with
the per-DRM-system signalling rules in ``checks/``).
The reference responder with named faults that tests the checker lives in ``tests/reference_responder.py``.
"""

from .request_builder import DRM_SYSTEM_IDS, PRESETS, BuiltRequest, RequestedKey, build_request
from .response_reader import CpixReadError, read_content_keys

__all__ = [
    "DRM_SYSTEM_IDS",
    "PRESETS",
    "BuiltRequest",
    "CpixReadError",
    "RequestedKey",
    "build_request",
    "read_content_keys",
]
