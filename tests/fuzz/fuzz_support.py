"""What the fuzzers share: seed documents, structural / encoding / byte mutations, the handler call and
the oracle every answer must pass.

Used by the bounded hypothesis properties in ``tests/fuzz/`` and by the coverage-guided atheris harness
``fuzz/fuzz_handler.py`` (which imports this module by path), so both judge answers the same way.

The oracle (``check_answer``): an answer is either
* a 200 that passes the contract checks: SPEKE headers, the request's contentId and kids echoed in order,
  every requested signalling child filled, keys equal to the derivation (``derive_cek``) and, when the
  request carried a DeliveryDataList, encrypted (no PlainValue) and decrypting with the test private key;
* or a 4xx whose body is a non-empty text;
never a 5xx, and never a byte of key material (the CEKs derived while answering, the document and MAC
keys generated, the master key: raw, hex or base64) in a non-200 body or in any header, nor anything but
wrapped forms of them in a 200 body. A 200 fits Lambda's response limit (``MAX_ANSWER_WIRE_BYTES`` as a
JSON string) and an encrypted one carries exactly one DocumentKey per DeliveryData.

The hostile catalogue: ``HOSTILE_VALUES`` (attribute values: trailing newlines, Unicode digits...),
``KEY_DATA_SNIPPETS`` (key-bearing elements to plant anywhere), ``ODD_CERTIFICATES`` (keys that cannot
wrap, or wrap to the identity; bad X.509 versions) and ``OVERSIZE_ANSWERS`` (requests whose answer would pass
Lambda's 6 MB limit).
"""

from __future__ import annotations

import base64
import contextlib
import copy
import dataclasses
import json
import os
import random
import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET  # noqa: S405 - serialising trees built from trusted seeds

from cryptography.hazmat.primitives.serialization import load_pem_private_key
from defusedxml.ElementTree import fromstring as defused_fromstring
from hypothesis import HealthCheck, settings
from speke_keyprovider import key_sources, key_wrapping
from speke_keyprovider.key_derivation import derive_cek
from speke_keyprovider_tools.apigw_event import rest_proxy_event
from speke_keyprovider_tools.client.request_builder import BuiltRequest, build_request
from speke_keyprovider_tools.client.response_reader import CpixReadError, read_content_keys

from tests import hypothesis_profiles

REPO = Path(__file__).resolve().parents[2]
CERTS = REPO / "tests" / "fixtures" / "certs"
EVENTS = REPO / "events"

# Contract section 5 test vector master key.
MASTER_KEY = json.loads((REPO / "tests" / "fixtures" / "kdf" / "vectors.json").read_text())["master_key"].encode()
CPIX_NS = "urn:dashif:org:cpix"
OTHER_NS = "urn:example:fuzz"

# Register the usual prefixes so re-serialised seeds keep a familiar look (prefixes are not significant).
for _prefix, _uri in (
    ("cpix", CPIX_NS),
    ("pskc", "urn:ietf:params:xml:ns:keyprov:pskc"),
    ("ds", "http://www.w3.org/2000/09/xmldsig#"),
    ("enc", "http://www.w3.org/2001/04/xmlenc#"),
):
    ET.register_namespace(_prefix, _uri)


# --- hypothesis settings --------------------------------------------------------------------------
# The profile (tests/hypothesis_profiles.py): ``ci`` derandomized, 200 examples per property; ``dev`` random,
# 200; ``long`` random, 5000. FUZZ_MAX_EXAMPLES overrides the count.
PROFILE = hypothesis_profiles.PROFILE
_EXAMPLES = {"ci": 200, "dev": 200, "long": 5000}


def fuzz_settings(share: int = 200) -> settings:
    """Bounded settings for one property: ``share`` examples per 200 of the profile's count."""
    base = int(os.environ.get("FUZZ_MAX_EXAMPLES", _EXAMPLES.get(PROFILE, 200)))
    return settings(
        max_examples=max(1, base * share // 200),
        deadline=None,
        derandomize=PROFILE == "ci",
        database=None if PROFILE == "ci" else settings.default.database,
        print_blob=True,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
            HealthCheck.filter_too_much,
        ],
    )


def delivery_cert_der() -> bytes:
    return (CERTS / "delivery.cert.der").read_bytes()


def b64_delivery_cert() -> bytes:
    return base64.b64encode(delivery_cert_der())


def delivery_private_key() -> Any:
    return load_pem_private_key((CERTS / "delivery.key.pem").read_bytes(), password=None)


# --- seed documents -------------------------------------------------------------------------------

_SEED_SPECS: tuple[tuple[str, dict[str, Any]], ...] = (
    (
        "clear-cbcs-video3-audio2-wv-pr-fp",
        dict(
            video_preset="PRESET_VIDEO_3",
            audio_preset="PRESET_AUDIO_2",
            drm_systems=["widevine", "playready", "fairplay"],
            scheme="cbcs",
        ),
    ),
    (
        "encrypted-cenc-video1-audio1-wv-pr-ck",
        dict(
            video_preset="PRESET_VIDEO_1",
            audio_preset="PRESET_AUDIO_1",
            drm_systems=["widevine", "playready", "clearkey"],
            scheme="cenc",
            encrypted=True,
        ),
    ),
    (
        "clear-cbcs-shared-fp-aes128-2periods",
        dict(
            video_preset="SHARED",
            audio_preset="SHARED",
            drm_systems=["fairplay", "aes128"],
            scheme="cbcs",
            periods=2,
        ),
    ),
    (
        "encrypted-cbcs-video7-audio3-wv",
        dict(
            video_preset="PRESET_VIDEO_7",
            audio_preset="PRESET_AUDIO_3",
            drm_systems=["widevine"],
            scheme="cbcs",
            encrypted=True,
        ),
    ),
)


def _deterministic(built: BuiltRequest, name: str) -> BuiltRequest:
    """Replace the builder's random period / DeliveryData ids so a seed is the same bytes every run."""
    xml = built.xml.decode("utf-8")
    renamed: dict[str | None, str] = {}
    periods = []
    for n, (period_id, index) in enumerate(built.periods):
        fixed = f"keyPeriod_{uuid.uuid5(uuid.NAMESPACE_URL, f'{name}/period/{n}')}"
        xml = xml.replace(period_id, fixed)
        renamed[period_id] = fixed
        periods.append((fixed, index))
    xml = re.sub(r'id="deliveryData_[0-9a-f-]+"', f'id="deliveryData_{uuid.uuid5(uuid.NAMESPACE_URL, name)}"', xml)
    keys = [dataclasses.replace(k, period_id=renamed.get(k.period_id, k.period_id)) for k in built.keys]
    return dataclasses.replace(built, xml=xml.encode("utf-8"), keys=keys, periods=periods)


def build_seed(
    name: str,
    *,
    video_preset: str,
    audio_preset: str,
    drm_systems: Sequence[str],
    scheme: str,
    periods: int = 1,
    encrypted: bool = False,
    content_id: str | None = None,
) -> BuiltRequest:
    from speke_keyprovider_tools.client.request_builder import contract_tracks

    count = periods * len(contract_tracks(video_preset, audio_preset))
    kids = [uuid.uuid5(uuid.NAMESPACE_URL, f"{name}/kid/{n}") for n in range(count)]
    built = build_request(
        content_id=content_id or name.replace("+", "_")[:60],
        video_preset=video_preset,
        audio_preset=audio_preset,
        drm_systems=drm_systems,
        scheme=scheme,
        periods=periods,
        certificate_der=delivery_cert_der() if encrypted else None,
        kids=kids,
    )
    return _deterministic(built, name)


_SEEDS: list[tuple[str, BuiltRequest]] | None = None


def seeds() -> list[tuple[str, BuiltRequest]]:
    """A few valid MediaPackage-v2-shaped requests (clear and encrypted, cenc and cbcs, 1-2 periods)."""
    global _SEEDS
    if _SEEDS is None:
        _SEEDS = [(name, build_seed(name, **spec)) for name, spec in _SEED_SPECS]
    return _SEEDS


def event_bodies() -> list[tuple[str, bytes]]:
    """The CPIX bodies of ``events/*.json`` (API Gateway proxy events), decoded."""
    import json

    out = []
    for path in sorted(EVENTS.glob("*.json")):
        try:
            event = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        body = event.get("body")
        if not isinstance(body, str):
            continue
        raw = base64.b64decode(body) if event.get("isBase64Encoded") else body.encode("utf-8")
        out.append((path.stem, raw))
    return out


# --- structural mutations (on a parsed tree of a trusted seed) ------------------------------------

KNOWN_ATTRIBUTES = (
    "contentId",
    "version",
    "id",
    "kid",
    "commonEncryptionScheme",
    "explicitIV",
    "systemId",
    "playlist",
    "index",
    "intendedTrackType",
    "periodId",
    "minPixels",
    "maxPixels",
    "hdr",
    "minFps",
    "maxFps",
    "minChannels",
    "maxChannels",
    "Algorithm",
)
CPIX_ELEMENTS = (
    "CPIX",
    "DeliveryDataList",
    "DeliveryData",
    "DeliveryKey",
    "DocumentKey",
    "MACMethod",
    "ContentKeyList",
    "ContentKey",
    "Data",
    "DRMSystemList",
    "DRMSystem",
    "PSSH",
    "ContentProtectionData",
    "HLSSignalingData",
    "SmoothStreamingProtectionHeaderData",
    "URIExtXKey",
    "ContentKeyPeriodList",
    "ContentKeyPeriod",
    "ContentKeyUsageRuleList",
    "ContentKeyUsageRule",
    "KeyPeriodFilter",
    "VideoFilter",
    "AudioFilter",
    "BitrateFilter",
    "LabelFilter",
)
MUTATIONS = (
    "key_data",
    "drop",
    "duplicate",
    "reorder",
    "relocate",
    "set_attr",
    "del_attr",
    "set_text",
    "rename",
    "insert",
    "strip_namespace",
)


def parse_seed(xml: bytes) -> ET.Element:
    return defused_fromstring(xml)


def elements(root: ET.Element) -> list[ET.Element]:
    return list(root.iter())


def _parents(root: ET.Element) -> dict[ET.Element, ET.Element]:
    return {child: parent for parent in root.iter() for child in parent}


def mutate_tree(root: ET.Element, op: str, i: int, j: int, name: str, value: str) -> None:
    """Apply one structural mutation. ``i``/``j`` pick elements (mod the count), ``name``/``value`` are
    the attribute / tag / text material. Operations that do not apply to the picked element do nothing."""
    nodes = elements(root)
    target = nodes[i % len(nodes)]
    parents = _parents(root)
    parent = parents.get(target)
    if op == "drop" and parent is not None:
        parent.remove(target)
    elif op == "duplicate" and parent is not None:
        parent.insert(list(parent).index(target) + 1, copy.deepcopy(target))
    elif op == "reorder" and parent is not None:
        parent.remove(target)
        parent.insert(j % (len(parent) + 1), target)
    elif op == "relocate" and parent is not None:
        subtree = set(target.iter())
        candidates = [n for n in nodes if n not in subtree]
        if candidates:
            new_parent = candidates[j % len(candidates)]
            parent.remove(target)
            new_parent.insert(j % (len(new_parent) + 1), target)
    elif op == "set_attr":
        target.set(name, value)
    elif op == "del_attr" and target.attrib:
        keys = sorted(target.attrib)
        del target.attrib[keys[j % len(keys)]]
    elif op == "set_text":
        target.text = value
    elif op == "rename":
        target.tag = f"{{{CPIX_NS}}}{name}" if j % 3 else f"{{{OTHER_NS}}}{name}"
    elif op == "insert":
        child = ET.Element(
            f"{{{CPIX_NS}}}{name}" if j % 2 else f"{{{OTHER_NS}}}{name}", {"kid": value} if j % 5 == 0 else {}
        )
        if j % 7 == 0:
            child.text = value
        target.insert(j % (len(target) + 1), child)
    elif op == "strip_namespace":
        target.tag = target.tag.rsplit("}", 1)[-1]
    elif op == "key_data":
        snippet = ET.fromstring(KEY_DATA_SNIPPETS[j % len(KEY_DATA_SNIPPETS)])  # noqa: S314 - our own constant
        target.insert(j % (len(target) + 1), snippet)


def serialise(root: ET.Element) -> bytes:
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


# --- text / encoding / byte mutations -------------------------------------------------------------

ENCODINGS = (
    "utf-8-bom",
    "utf-16",
    "utf-16-le",
    "utf-16-be",
    "utf-16-le-declared",
    "utf-32",
    "latin-1",
    "lying-declaration",
    "unknown-declaration",
    "multibyte-declaration",
    "invalid-utf8",
    "nul",
    "crlf",
    "leading-space",
    "cp037",
)


def reencode(xml: bytes, how: str, position: int = 0) -> bytes:
    """The same document in an odd encoding (or broken in an encoding-related way)."""
    text = xml.decode("utf-8")
    body = re.sub(r"^<\?xml[^>]*\?>\s*", "", text)
    if how == "utf-8-bom":
        return b"\xef\xbb\xbf" + xml
    if how == "utf-16":
        return ('<?xml version="1.0" encoding="UTF-16"?>' + body).encode("utf-16")  # with BOM
    if how == "utf-16-le":
        return body.encode("utf-16-le")  # no BOM, no declaration
    if how == "utf-16-be":
        return ('<?xml version="1.0" encoding="UTF-16BE"?>' + body).encode("utf-16-be")
    if how == "utf-16-le-declared":
        return ('<?xml version="1.0" encoding="UTF-16LE"?>' + body).encode("utf-16-le")
    if how == "utf-32":
        return body.encode("utf-32")
    if how == "latin-1":
        marked = body.replace('contentId="', 'contentId="\u00e9', 1)
        return ('<?xml version="1.0" encoding="ISO-8859-1"?>' + marked).encode("latin-1", "xmlcharrefreplace")
    if how == "lying-declaration":
        return ('<?xml version="1.0" encoding="UTF-16"?>' + body).encode("utf-8")
    if how == "unknown-declaration":
        return ('<?xml version="1.0" encoding="x-no-such-encoding"?>' + body).encode("utf-8")
    if how == "multibyte-declaration":
        return ('<?xml version="1.0" encoding="utf-7"?>' + body).encode("utf-8")
    if how == "invalid-utf8":
        at = position % (len(xml) + 1)
        return xml[:at] + b"\xc3\x28\xff\xfe\xed\xa0\x80" + xml[at:]
    if how == "nul":
        at = position % (len(xml) + 1)
        return xml[:at] + b"\x00" + xml[at:]
    if how == "crlf":
        return xml.replace(b">", b">\r\n")
    if how == "leading-space":
        return b"  \n" + xml
    if how == "cp037":
        return ('<?xml version="1.0" encoding="cp037"?>' + body).encode("cp037", "xmlcharrefreplace")
    raise ValueError(how)


def deep_nesting(xml: bytes, depth: int, where: int, foreign: bool = True) -> bytes:
    """Insert ``depth`` nested elements just after the ``where``-th start tag (text level, so the test
    itself never recurses)."""
    tag = "x:n" if foreign else "cpix:ContentKeyList"
    opening = f'<x:n xmlns:x="{OTHER_NS}">' if foreign else "<cpix:ContentKeyList>"
    nest = (opening + f"<{tag}>" * (depth - 1) + f"</{tag}>" * depth).encode()
    starts = [m.end() for m in re.finditer(rb"<cpix:[A-Za-z]+[^>]*?(?<!/)>", xml)]
    at = starts[where % len(starts)] if starts else len(xml)
    return xml[:at] + nest + xml[at:]


BYTE_MUTATIONS = ("truncate", "splice", "overwrite", "repeat", "flip", "random")


def mutate_bytes(xml: bytes, op: str, a: int, b: int, junk: bytes) -> bytes:
    n = len(xml)
    if op == "truncate":
        return xml[: a % (n + 1)]
    if op == "splice":
        at = a % (n + 1)
        return xml[:at] + junk + xml[at:]
    if op == "overwrite":
        at = a % (n + 1)
        return xml[:at] + junk + xml[at + len(junk) :]
    if op == "repeat":
        start = a % (n + 1)
        piece = xml[start : start + 1 + b % 200]
        return xml[:start] + piece * (1 + b % 5000) + xml[start:]
    if op == "flip":
        if not n:
            return xml
        at = a % n
        return xml[:at] + bytes([xml[at] ^ (1 << (b % 8))]) + xml[at + 1 :]
    if op == "random":
        return junk
    raise ValueError(op)


def random_structural(xml: bytes, rng: random.Random, rounds: int = 3) -> bytes:
    """Structural mutation driven by ``rng`` (the atheris custom mutator). Falls back to the input when
    it does not parse."""
    try:
        root = parse_seed(xml)
    except Exception:  # noqa: BLE001 - not XML any more: let the byte mutator have it
        return xml
    try:
        for _ in range(1 + rng.randrange(rounds)):
            op = rng.choice(MUTATIONS)
            name = rng.choice(KNOWN_ATTRIBUTES) if op in ("set_attr",) else rng.choice(CPIX_ELEMENTS)
            mutate_tree(root, op, rng.randrange(1 << 16), rng.randrange(1 << 16), name, rng.choice(HOSTILE_VALUES))
        return serialise(root)
    except (RecursionError, ValueError):  # a deeply nested input: copying / writing it recurses
        return xml


_KID = "0f083e4e-b831-4a3d-917e-ce78076e54aa"
HOSTILE_VALUES: tuple[str, ...] = (
    # a final newline (an &#10; reference): patterns must match whole values
    f"{_KID}\n",
    "edef8ba9-79d6-4ace-a3c8-27dcd51d21ed\n",
    "VIDEO\n",
    "cbcs\n",
    "c" * 256 + "\n",
    "c" * 257,
    "1\n",
    # Unicode digits: numbers are ASCII only
    "\u00b2",
    "\u2460",
    "\u0663",
    "\u0661\u0662",
    "1\u00b2",
    "\U0001d7ce",
    # growth on echo: quotes become &quot;
    '"' * 64,
    "",
    " ",
    "2.3",
    "2.3 ",
    "2.4",
    "1.0",
    "cenc",
    "cbcs",
    "CBCS",
    "cbc1",
    "cens",
    "cenc ",
    "media",
    "master",
    "MEDIA",
    "ALL",
    "VIDEO",
    "SD",
    "HD",
    "AUDIO",
    "-1",
    "0",
    "1",
    "01",
    "1e9",
    "99999999999999999999",
    "\uff11\uff12",
    "true",
    "false",
    "maybe",
    "0f083e4e-b831-4a3d-917e-ce78076e54aa",
    "0F083E4E-B831-4A3D-917E-CE78076E54AA",
    "{0f083e4e-b831-4a3d-917e-ce78076e54aa}",
    "urn:uuid:0f083e4e-b831-4a3d-917e-ce78076e54aa",
    "0f083e4eb8314a3d917ece78076e54aa",  # pragma: allowlist secret - a KID without dashes
    "edef8ba9-79d6-4ace-a3c8-27dcd51d21ed",
    "94ce86fb-07ff-4f43-adb8-93d2fa968ca2",
    "00000000-0000-0000-0000-000000000000",
    "keyPeriod_",
    "AAAAAAAAAAAAAAAAAAAAAA==",
    "!!notbase64!!",
    "../../etc/passwd",
    "<x>",
    "&amp;",
    "%s%s%n",
    "{content_id}",
    "\u202e\u0000\u0007",
    "\ud7ff\ue000\ufffd",
    "A" * 300,
    "9" * 40,
    "x" * 70_000,
)


_PSKC = "urn:ietf:params:xml:ns:keyprov:pskc"
_SECRET = f'<pskc:Secret xmlns:pskc="{_PSKC}"><pskc:PlainValue>QUFBQUFBQUFBQUFBQUFBQQ==</pskc:PlainValue></pskc:Secret>'
KEY_DATA_SNIPPETS: tuple[str, ...] = (
    _SECRET,
    f'<x:Data xmlns:x="{OTHER_NS}">{_SECRET}</x:Data>',
    f'<x:Data xmlns:x="{OTHER_NS}"><x:PlainValue>QUFBQUFBQUFBQUFBQUFBQQ==</x:PlainValue></x:Data>',
    f'<cpix:Data xmlns:cpix="{CPIX_NS}">{_SECRET}</cpix:Data>',
    f'<cpix:DocumentKey xmlns:cpix="{CPIX_NS}" Algorithm="http://www.w3.org/2001/04/xmlenc#aes256-cbc">'
    f"<cpix:Data>{_SECRET}</cpix:Data></cpix:DocumentKey>",
    f'<x:wrap xmlns:x="{OTHER_NS}"><cpix:DocumentKey xmlns:cpix="{CPIX_NS}"/></x:wrap>',
    f'<cpix:MACMethod xmlns:cpix="{CPIX_NS}" Algorithm="http://www.w3.org/2001/04/xmldsig-more#hmac-sha512"/>',
    f'<x:note xmlns:x="{OTHER_NS}">hello</x:note>',
    f'<cpix:FriendlyName xmlns:cpix="{CPIX_NS}">{_SECRET}</cpix:FriendlyName>',
)


def _odd_certificate_ders() -> dict[str, bytes]:
    import math

    from tests.certfactory import _rsa, cert_with_rsa_numbers, cert_with_version

    numbers = _rsa(2048).private_numbers()
    n, e = numbers.public_numbers.n, numbers.public_numbers.e
    identity = math.lcm(numbers.p - 1, numbers.q - 1) + 1
    return {
        "even modulus": cert_with_rsa_numbers(n - 1, e),
        "modulus over 16384 bits": cert_with_rsa_numbers((1 << 16400) + 1, e),
        "huge exponent": cert_with_rsa_numbers((1 << 16000) | 1, (1 << 15990) | 1),
        "exponent lambda(n)+1": cert_with_rsa_numbers(n, identity),
        "exponent 3": cert_with_rsa_numbers(n, 3),
        "X.509 version 5": cert_with_version(4),
        "X.509 version 127": cert_with_version(0x7F),
    }


_ODD: dict[str, bytes] | None = None


def odd_certificates() -> dict[str, bytes]:
    """Certificates whose key cannot wrap (or wraps to the identity), or which are not valid X.509."""
    global _ODD
    if _ODD is None:
        _ODD = _odd_certificate_ders()
    return _ODD


def with_certificate(der: bytes, seed: int = 0) -> bytes:
    """An encrypted seed addressed to ``der`` instead of the test certificate."""
    encrypted = [built for _, built in seeds() if built.encrypted]
    built = encrypted[seed % len(encrypted)]
    return built.xml.replace(base64.b64encode(delivery_cert_der()), base64.b64encode(der))


MAX_REQUEST_BYTES = 1024 * 1024
MAX_ANSWER_WIRE_BYTES = 6_000_000


def oversize_answer(kind: int, seed: int = 0) -> bytes:
    """A request under the 1 MiB cap whose answer would pass Lambda's response limit: raw quotes in an
    attribute (each one ``&quot;`` on echo) on the root, on a ContentKey or in a DRMSystem extension."""
    xml = seeds()[seed % len(seeds())][1].xml
    room = MAX_REQUEST_BYTES - len(xml) - 300
    quotes = '"' * room
    where = kind % 3
    if where == 0:
        return xml.replace(b"<cpix:CPIX ", f"<cpix:CPIX xmlns:q='{OTHER_NS}' q:a='{quotes}' ".encode(), 1)
    if where == 1:
        return xml.replace(b"<cpix:ContentKey ", f"<cpix:ContentKey xmlns:q='{OTHER_NS}' q:a='{quotes}' ".encode(), 1)
    return xml.replace(b"</cpix:DRMSystem>", f"<q:x xmlns:q='{OTHER_NS}' v='{quotes}'/></cpix:DRMSystem>".encode(), 1)


# --- the handler call -----------------------------------------------------------------------------

SPEKE_HEADERS = {"Content-Type": "application/xml", "X-Speke-Version": "2.0"}
CALLER_ARN = "arn:aws:sts::111122223333:assumed-role/SpekeMediaPackageRole/MediaPackageSession"


def proxy_event(
    body: bytes | str | None,
    *,
    headers: dict[str, Any] | None = None,
    base64_body: bool | None = None,
    caller_arn: str | None = CALLER_ARN,
) -> dict[str, Any]:
    """A REST proxy event as API Gateway sends it: UTF-8 bodies as text, anything else base64."""
    return rest_proxy_event(body, headers=headers, base64_body=base64_body, caller_arn=caller_arn)


def call(
    lambda_handler: Callable[[dict, Any], dict], event: dict[str, Any], context: Any
) -> tuple[int, dict[str, str], bytes]:
    result = lambda_handler(event, context)
    raw = result.get("body") or ""
    body = base64.b64decode(raw) if result.get("isBase64Encoded") else raw.encode("utf-8")
    headers = {str(k): str(v) for k, v in (result.get("headers") or {}).items()}
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers.setdefault(name, ", ".join(values))
    return int(result["statusCode"]), headers, body


# --- key material: recording and leak forms -------------------------------------------------------


@dataclass
class Recorded:
    """Every CEK derived and every document / MAC key generated while a request was answered."""

    ceks: list[bytes] = field(default_factory=list)
    delivery: list[bytes] = field(default_factory=list)
    masters: list[bytes] = field(default_factory=lambda: [MASTER_KEY])

    def secrets(self) -> list[bytes]:
        return [*self.ceks, *self.delivery, *self.masters]


@contextlib.contextmanager
def recording() -> Iterator[Recorded]:
    """Record the key material the provider makes while the block runs (wraps ``derive_cek`` where the
    key sources call it and ``DeliveryKeys.generate``)."""
    seen = Recorded()
    original_derive = key_sources.derive_cek
    original_generate = key_wrapping.DeliveryKeys.__dict__["generate"]

    def derive(master: bytes, content_id: str, kid: uuid.UUID) -> bytes:
        cek = original_derive(master, content_id, kid)
        seen.ceks.append(cek)
        if master not in seen.masters:
            seen.masters.append(master)
        return cek

    def generate(cls: type) -> key_wrapping.DeliveryKeys:
        keys = original_generate.__func__(cls)
        seen.delivery.extend((keys.document_key, keys.mac_key))
        return keys

    key_sources.derive_cek = derive
    key_wrapping.DeliveryKeys.generate = classmethod(generate)
    try:
        yield seen
    finally:
        key_sources.derive_cek = original_derive
        key_wrapping.DeliveryKeys.generate = original_generate


def leak_forms(secret: bytes) -> set[bytes]:
    """The ways a secret could show up in a body or a log line: raw, hex, base64 (std / url-safe, with and
    without padding), Python's bytes repr."""
    forms = {secret, secret.hex().encode(), secret.hex().upper().encode(), repr(secret)[2:-1].encode()}
    for encoded in (base64.b64encode(secret), base64.urlsafe_b64encode(secret)):
        forms.add(encoded)
        forms.add(encoded.rstrip(b"="))
    return {form for form in forms if len(form) >= 8}


def find_leak(haystack: bytes, secrets: Sequence[bytes]) -> str | None:
    """Name the first secret form found in ``haystack`` (without showing the secret), else None."""
    for n, secret in enumerate(secrets):
        for form in leak_forms(secret):
            if form in haystack:
                return f"secret #{n} ({len(secret)} bytes) appears as {_form_name(secret, form)}"
    return None


def _form_name(secret: bytes, form: bytes) -> str:
    if form == secret:
        return "raw bytes"
    if form.lower() == secret.hex().encode():
        return "hex"
    if form == repr(secret)[2:-1].encode():
        return "bytes repr"
    return "base64"


# --- the oracle -----------------------------------------------------------------------------------


class OracleFailure(AssertionError):
    pass


def _fail(message: str, status: int, body: bytes) -> OracleFailure:
    return OracleFailure(f"{message} (status {status}, body {body[:300]!r})")


def check_answer(
    request: bytes | None,
    status: int,
    headers: dict[str, str],
    body: bytes,
    recorded: Recorded,
    *,
    private_key: Any,
    master: bytes = MASTER_KEY,
) -> None:
    """Raise ``OracleFailure`` unless the answer is an acceptable 200 or 4xx (see the module text)."""
    header_leak = find_leak("\n".join(f"{k}: {v}" for k, v in headers.items()).encode(), recorded.secrets())
    if header_leak:
        raise _fail(f"key material in a header: {header_leak}", status, b"<withheld>")
    if status == 200:
        _check_ok(request or b"", headers, body, recorded, private_key=private_key, master=master)
        return
    if not 400 <= status < 500:
        raise _fail("answer is neither 200 nor 4xx", status, body)
    text = body.decode("utf-8", "replace")
    if not text.strip():
        raise _fail("4xx with an empty body", status, body)
    if "Traceback" in text or 'File "' in text:
        raise _fail("4xx body carries a stack trace", status, body)
    leak = find_leak(body, recorded.secrets())
    if leak:
        raise _fail(f"key material in an error body: {leak}", status, b"<withheld>")


def _addressed_to(req: ET.Element, private_key: Any) -> bool:
    """Whether a DeliveryData of the request carries the certificate of ``private_key``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    ours = private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    ns, ds = f"{{{CPIX_NS}}}", "{http://www.w3.org/2000/09/xmldsig#}"
    # the place the provider (and a reader) takes the certificate from; copies elsewhere do not count
    where = f"{ns}DeliveryDataList/{ns}DeliveryData/{ns}DeliveryKey/{ds}X509Data/{ds}X509Certificate"
    for cert in req.iterfind(where):
        try:
            spki = (
                x509.load_der_x509_certificate(base64.b64decode("".join((cert.text or "").split())))
                .public_key()
                .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
            )
        except Exception:  # noqa: BLE001, S112 - any unreadable certificate is simply not ours
            continue
        if spki == ours:
            return True
    return False


_CERT_TEXT = re.compile(rb"(<(?:[A-Za-z_][\w.-]*:)?X509Certificate(?:\s[^>]*)?>)([^<]*)(</)")


def _collapse_certificate_whitespace(body: bytes) -> bytes:
    """base64Binary may carry whitespace (the provider echoes the request's certificate text as sent);
    the client reader wants it collapsed (finding F7, client side)."""
    return _CERT_TEXT.sub(lambda m: m.group(1) + b"".join(m.group(2).split()) + m.group(3), body)


def _request_tree(request: bytes) -> ET.Element:
    return defused_fromstring(request, forbid_dtd=True, forbid_entities=True, forbid_external=True)


def _check_ok(
    request: bytes,
    headers: dict[str, str],
    body: bytes,
    recorded: Recorded,
    *,
    private_key: Any,
    master: bytes,
) -> None:
    lower = {k.lower(): v for k, v in headers.items()}
    if lower.get("content-type", "").split(";")[0].strip() != "application/xml":
        raise _fail("200 without Content-Type application/xml", 200, body)
    if lower.get("x-speke-version") != "2.0" or not lower.get("x-speke-user-agent"):
        raise _fail("200 without the SPEKE headers", 200, body)
    try:
        req = _request_tree(request)
    except Exception as exc:  # noqa: BLE001
        raise _fail(f"200 for a request the oracle cannot parse ({type(exc).__name__})", 200, body) from None
    import json

    if len(json.dumps(body.decode("utf-8"))) - 2 > MAX_ANSWER_WIRE_BYTES:
        raise _fail("200 over Lambda's response limit", 200, body[:100])
    resp = _request_tree(body)
    ns = f"{{{CPIX_NS}}}"
    if resp.tag != f"{ns}CPIX":
        raise _fail("200 whose root is not cpix:CPIX", 200, body)
    for delivery_data in resp.iter(f"{ns}DeliveryData"):
        if (
            len(delivery_data.findall(f"{ns}DocumentKey")) != 1
            or len(list(delivery_data.iter(f"{ns}DocumentKey"))) != 1
        ):
            raise _fail("200 whose DeliveryData does not carry exactly one DocumentKey", 200, b"<withheld>")
    content_id = req.get("contentId")
    if resp.get("contentId") != content_id or resp.get("version") != req.get("version"):
        raise _fail("200 with a changed contentId or version", 200, body)
    req_kids = [ck.get("kid") for ck in req.iterfind(f"{ns}ContentKeyList/{ns}ContentKey")]
    resp_kids = [ck.get("kid") for ck in resp.iterfind(f"{ns}ContentKeyList/{ns}ContentKey")]
    if not req_kids or req_kids != resp_kids:
        raise _fail("200 whose kids differ from the request's", 200, body)
    encrypted = req.find(f"{ns}DeliveryDataList") is not None
    if encrypted and not _addressed_to(req, private_key):
        # A certificate that is not ours (e.g. a mutated but still valid one): the keys are wrapped for
        # its holder, so the oracle checks they are wrapped and never shown, not their values.
        if b"PlainValue" in body or resp.find(f"{ns}DeliveryDataList/{ns}DeliveryData/{ns}DocumentKey") is None:
            raise _fail("encrypted answer for another certificate is not wrapped", 200, b"<withheld>")
        leak = find_leak(body, recorded.secrets())
        if leak:
            raise _fail(f"200 that shows key material unwrapped: {leak}", 200, b"<withheld>")
        return
    try:
        keys = read_content_keys(_collapse_certificate_whitespace(body), private_key if encrypted else None)
    except CpixReadError as exc:
        raise _fail(f"200 whose keys cannot be read: {exc}", 200, body) from None
    for kid_text in req_kids:
        kid = uuid.UUID(kid_text)
        if keys.get(str(kid)) != derive_cek(master, content_id or "", kid):
            raise _fail(f"200 with a wrong key for KID {kid}", 200, b"<withheld>")
    if encrypted and b"PlainValue" in body:
        raise _fail("encrypted answer with a PlainValue", 200, b"<withheld>")
    req_systems = list(req.iterfind(f"{ns}DRMSystemList/{ns}DRMSystem"))
    resp_systems = list(resp.iterfind(f"{ns}DRMSystemList/{ns}DRMSystem"))
    if len(req_systems) != len(resp_systems):
        raise _fail("200 with a different number of DRMSystem elements", 200, body)
    for asked, got in zip(req_systems, resp_systems, strict=True):
        if dict(asked.attrib) != dict(got.attrib):
            raise _fail("200 with changed DRMSystem attributes", 200, body)
        asked_children = [c.tag for c in asked if c.tag.startswith(ns)]
        got_children = [c for c in got if c.tag.startswith(ns)]
        if asked_children != [c.tag for c in got_children]:
            raise _fail("200 that added or dropped a signalling child", 200, body)
        if any(not (c.text or "").strip() for c in got_children):
            raise _fail("200 with an empty signalling child", 200, body)
    secrets = [*recorded.delivery, *recorded.masters] + (recorded.ceks if encrypted else [])
    leak = find_leak(body, secrets)
    if leak:
        raise _fail(f"200 that shows key material unwrapped: {leak}", 200, b"<withheld>")


# --- minimal inputs of past findings ----------------------------------------------------------------
# Each finding the fuzzers made is fixed; test_fuzz_regressions.py keeps its minimal input as a regression test.


def flipped_certificate(offset: int, bit: int) -> bytes:
    """An encrypted seed whose certificate has one bit of its DER flipped."""
    name, built = next(s for s in seeds() if s[1].encrypted)
    der = bytearray(delivery_cert_der())
    der[offset] ^= 1 << bit
    return built.xml.replace(base64.b64encode(delivery_cert_der()), base64.b64encode(bytes(der)))


# Minimal inputs for each finding (the regression tests use the same ones).
def f1_deep_nesting() -> bytes:
    return deep_nesting(seeds()[0][1].xml, 3000, 3)


def f2_unknown_encoding() -> bytes:
    return reencode(seeds()[0][1].xml, "unknown-declaration")


def f6_multibyte_encoding() -> bytes:
    return reencode(seeds()[0][1].xml, "multibyte-declaration")


def f3_unknown_signature_algorithm() -> bytes:
    return flipped_certificate(499, 0)  # signatureAlgorithm OID 1.2.840.113549.1.0.13: unknown


def f4_unknown_key_algorithm() -> bytes:
    return flipped_certificate(184, 0)  # subjectPublicKeyInfo algorithm OID 1.3.840.113549.1.1.1: unknown


def f5_malformed_subject() -> bytes:
    return flipped_certificate(140, 0)  # a Name whose ASN.1 only fails when cert.subject is read


def f8_certificate_with_child_elements() -> bytes:
    name, built = next(s for s in seeds() if s[1].encrypted)
    return built.xml.replace(
        b"</ds:X509Certificate>",
        b'<x:extra xmlns:x="urn:example:fuzz">AAAA</x:extra></ds:X509Certificate>',
        1,
    )


def answer_and_check(
    lambda_handler: Callable[[dict, Any], dict],
    context: Any,
    private_key: Any,
    request: bytes | None,
    event: dict[str, Any],
) -> tuple[int, dict[str, str], bytes]:
    """Send ``event`` to the handler and hold the answer to the oracle."""
    from hypothesis import currently_in_test_context, note

    with recording() as recorded:
        status, headers, body = call(lambda_handler, event, context)
    if currently_in_test_context():
        note(f"status {status}, body {body[:200]!r}")
    check_answer(request, status, headers, body, recorded, private_key=private_key)
    return status, headers, body
