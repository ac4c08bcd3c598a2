#!/usr/bin/env python3
"""Worst-case cost of the largest admissible requests: CPU time and peak memory of one request through the
real ``lambda_handler`` (warm: imports and a first small request done before measuring).

Each scenario runs in its own interpreter, so its peak RSS is its own. The limits that make these the worst
cases: a 1 MiB body, 512 ContentKeys, 512 key periods, 512 usage rules (one per key), 64 filters per rule,
4096 DRMSystems (one per kid and system: 5 systems x 512 kids at most), 4 DeliveryData with keys of at most
16384 bits, and a 6,000,000-byte answer.

    python bench/worst_case.py            # every scenario, a table on stdout
    python bench/worst_case.py --json     # the same as JSON
"""

# ruff: noqa: S603

from __future__ import annotations

import argparse
import base64
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MAX_BODY = 1024 * 1024
KIDS = 512
SYSTEMS = {  # system id -> the signalling children asked of it
    "edef8ba9-79d6-4ace-a3c8-27dcd51d21ed": ["PSSH", "ContentProtectionData", "media", "master"],  # Widevine
    "9a04f079-9840-4286-ab92-e65be0885f95": [  # PlayReady
        "PSSH",
        "ContentProtectionData",
        "SmoothStreamingProtectionHeaderData",
        "media",
        "master",
    ],
    "94ce86fb-07ff-4f43-adb8-93d2fa968ca2": ["PSSH", "ContentProtectionData", "media", "master"],  # FairPlay
    "3ea8778f-7742-4bf9-b18b-e834b2acbd47": ["media", "master"],  # HLS AES-128
    "1077efec-c0b2-4d02-ace3-3c1e52e2fb4b": ["PSSH", "ContentProtectionData"],  # ClearKey
}
NS = (
    'xmlns:cpix="urn:dashif:org:cpix" xmlns:pskc="urn:ietf:params:xml:ns:keyprov:pskc" '
    'xmlns:ds="http://www.w3.org/2000/09/xmldsig#"'
)


def _kid(n: int) -> str:
    return f"{n + 1:08x}-0000-4000-8000-{n + 1:012x}"


def _signal_child(name: str) -> str:
    if name in ("media", "master"):
        return f'<cpix:HLSSignalingData playlist="{name}"/>'
    return f"<cpix:{name}/>"


def _delivery(recipients: int, bits: int) -> str:
    if not recipients:
        return ""
    sys.path.insert(0, str(REPO))
    from tests.certfactory import cert_with_rsa_numbers

    items = []
    for n in range(recipients):
        der = cert_with_rsa_numbers((1 << (bits - 1)) | (2 * n + 1) | (1 << 100), 65537)
        items.append(
            f'<cpix:DeliveryData id="dd{n}"><cpix:DeliveryKey><ds:X509Data><ds:X509Certificate>'
            f"{base64.b64encode(der).decode()}</ds:X509Certificate></ds:X509Data></cpix:DeliveryKey>"
            "</cpix:DeliveryData>"
        )
    return f"<cpix:DeliveryDataList>{''.join(items)}</cpix:DeliveryDataList>"


def _most_work(systems_count: int, recipients: int, bits: int, periods: int) -> bytes:
    content_id = "c" * 256
    keys = "".join(f'<cpix:ContentKey kid="{_kid(n)}" commonEncryptionScheme="cbcs"/>' for n in range(KIDS))
    period_list = "".join(f'<cpix:ContentKeyPeriod id="p{n}" index="{n}"/>' for n in range(periods))
    rules = "".join(
        f'<cpix:ContentKeyUsageRule kid="{_kid(n)}" intendedTrackType="T{n}">'
        f'<cpix:KeyPeriodFilter periodId="p{n % periods}"/><cpix:VideoFilter minPixels="{n}"/>'
        "</cpix:ContentKeyUsageRule>"
        for n in range(KIDS)
    )
    systems = [
        f'<cpix:DRMSystem kid="{_kid(n)}" systemId="{system_id}">'
        + "".join(map(_signal_child, children))
        + "</cpix:DRMSystem>"
        for n in range(KIDS)
        for system_id, children in SYSTEMS.items()
    ][:systems_count]
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?><cpix:CPIX {NS} contentId="{content_id}" version="2.3">'
        + _delivery(recipients, bits)
        + f"<cpix:ContentKeyList>{keys}</cpix:ContentKeyList>"
        + f"<cpix:DRMSystemList>{''.join(systems)}</cpix:DRMSystemList>"
        + f"<cpix:ContentKeyPeriodList>{period_list}</cpix:ContentKeyPeriodList>"
        + f"<cpix:ContentKeyUsageRuleList>{rules}</cpix:ContentKeyUsageRuleList></cpix:CPIX>"
    ).encode()
    assert len(body) <= MAX_BODY, len(body)
    return body


def most_work(recipients: int = 4, bits: int = 16384, periods: int = 512) -> bytes:
    """512 kids, 512 periods each named by one rule, a 256-character contentId (the largest signalling),
    encrypted to 4 recipients with 16384-bit keys, and as many DRMSystems (every system, every child) as the
    answer limit allows: the largest answer the provider gives, with the most work behind it."""
    from speke_keyprovider.errors import SpekeError
    from speke_keyprovider.key_sources import StaticMasterKey
    from speke_keyprovider.service import KeyExchange
    from speke_keyprovider.settings import Settings

    exchange = KeyExchange(Settings(), StaticMasterKey(b"0123456789abcdef0123456789abcdef"))
    low, high = KIDS, KIDS * len(SYSTEMS)  # low answers (checked below), high is refused as too large
    while high - low > 8:
        middle = (low + high) // 2
        try:
            exchange.answer(_most_work(middle, recipients, bits, periods))
            low = middle
        except SpekeError:
            high = middle
    return _most_work(low, recipients, bits, periods)


def rules_times_periods(periods: int = 512) -> bytes:
    """The old quadratic shape: many periods, 512 rules that apply to every period (no KeyPeriodFilter)."""
    keys = "".join(f'<cpix:ContentKey kid="{_kid(n)}" commonEncryptionScheme="cenc"/>' for n in range(KIDS))
    period_list = "".join(f'<cpix:ContentKeyPeriod id="p{n}" index="{n}"/>' for n in range(periods))
    rules = "".join(
        f'<cpix:ContentKeyUsageRule kid="{_kid(n)}" intendedTrackType="T{n}"><cpix:VideoFilter/>'
        "</cpix:ContentKeyUsageRule>"
        for n in range(KIDS)
    )
    systems = "".join(
        f'<cpix:DRMSystem kid="{_kid(n)}" systemId="edef8ba9-79d6-4ace-a3c8-27dcd51d21ed"/>' for n in range(KIDS)
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><cpix:CPIX {NS} contentId="c" version="2.3">'
        f"<cpix:ContentKeyList>{keys}</cpix:ContentKeyList><cpix:DRMSystemList>{systems}</cpix:DRMSystemList>"
        f"<cpix:ContentKeyPeriodList>{period_list}</cpix:ContentKeyPeriodList>"
        f"<cpix:ContentKeyUsageRuleList>{rules}</cpix:ContentKeyUsageRuleList></cpix:CPIX>"
    ).encode()


def _small() -> bytes:
    sys.path.insert(0, str(REPO))
    from tests import cpixdocs

    return cpixdocs.document()


def echo(quotes: int) -> bytes:
    """A small request whose root carries ``quotes`` raw quotes (each one ``&quot;`` in the answer)."""
    doc = _small().decode()
    return doc.replace("<cpix:CPIX ", f"<cpix:CPIX xmlns:q='urn:q' q:a='{chr(34) * quotes}' ", 1).encode()


SCENARIOS = {
    "most work answered (512 keys, DRMSystems to the answer limit, 512 periods, 4 x 16384-bit recipients)": lambda: (
        most_work()
    ),
    "most work answered, clear (same, no DeliveryData)": lambda: most_work(recipients=0),
    "most work refused (every DRMSystem: the answer would be 7.2 MB, 413)": lambda: _most_work(
        KIDS * len(SYSTEMS), 4, 16384, 512
    ),
    "512 periods x 512 rules (the old quadratic shape, at the period limit)": rules_times_periods,
    "10,000 periods x 512 rules (over the period limit: 422)": lambda: rules_times_periods(10_000),
    "largest echo answered (~5.9 MB answer)": lambda: echo(980_000),
    "largest echo refused (1 MiB of quotes, 413)": lambda: echo(MAX_BODY - 2000),
}


def _child(name: str) -> dict:
    state = Path(tempfile.mkdtemp(prefix="speke-worst-"))
    (state / "master.key").write_text("0123456789abcdef0123456789abcdef")
    os.environ.update(
        {
            "KEY_SOURCE": "file",
            "MASTER_KEY_FILE": str(state / "master.key"),
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
            "POWERTOOLS_SERVICE_NAME": "speke-keyprovider",
        }
    )
    import importlib.util

    from speke_keyprovider_tools.apigw_event import rest_proxy_event

    body = SCENARIOS[name]()
    spec = importlib.util.spec_from_file_location("app", REPO / "functions" / "key_provider" / "app.py")
    assert spec is not None and spec.loader is not None
    app = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(app)
    context = type(
        "Context",
        (),
        {
            "function_name": "worst",
            "function_version": "$LATEST",
            "memory_limit_in_mb": 512,
            "aws_request_id": "worst",
            "invoked_function_arn": "arn:aws:lambda:us-east-1:111122223333:function:worst",
            "get_remaining_time_in_millis": staticmethod(lambda: 29_000),
        },
    )()
    headers = {"Content-Type": "application/xml", "X-Speke-Version": "2.0"}
    app.lambda_handler(rest_proxy_event(_small(), headers=headers), context)  # warm: imports, caches
    event = rest_proxy_event(body, headers=headers)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cpu, wall = time.process_time(), time.perf_counter()
    result = app.lambda_handler(event, context)
    wire = len(json.dumps(result))  # what the Lambda runtime sends
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "scenario": name,
        "request_bytes": len(body),
        "status": result["statusCode"],
        "response_json_bytes": wire,
        "cpu_s": round(cpu, 3),
        "wall_s": round(wall, 3),
        "peak_rss_mib": round(rss_after / 1024, 1),
        "rss_growth_mib": round((rss_after - rss_before) / 1024, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args.child)))
        return 0
    rows = []
    for name in SCENARIOS:
        out = subprocess.run([sys.executable, __file__, "--child", name], capture_output=True, text=True, check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'scenario':<78} {'req B':>9} {'status':>6} {'resp B':>10} {'CPU s':>6} {'peak MiB':>8} {'+MiB':>6}")
    for row in rows:
        print(
            f"{row['scenario']:<78} {row['request_bytes']:>9,} {row['status']:>6} {row['response_json_bytes']:>10,} "
            f"{row['cpu_s']:>6.3f} {row['peak_rss_mib']:>8.1f} {row['rss_growth_mib']:>6.1f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
