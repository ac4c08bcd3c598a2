"""``speke-keyprovider compare URL_A URL_B``: the same channel window to two key providers (two Regions of an
active-active pair, docs/multi-region.md); do they answer the same KIDs and the same keys?

Each provider gets the same contentId, track types and key periods (same ids, indexes and start/end), but its
own random request KIDs, as two MediaPackage endpoints send. Keys (and KIDs) are matched by (track type,
period) and compared by SHA-256; the keys themselves are printed only with ``--show-keys``. Each answer is also
checked as ``request`` checks it. Exit 0 when everything agrees, 1 when anything differs or an answer breaks a
rule, 3 when a provider cannot be reached.
"""

from __future__ import annotations

import argparse
import dataclasses
import uuid
from pathlib import Path
from typing import Any

from ._files import read_cert_der, read_private_key
from ._output import EXIT_FAIL, EXIT_OK, CliError, Out, add_common_flags, emit_json
from .request import add_request_shape_flags, build_from_args, expected_master
from .signing import credentials, send_signed

COMPARE_EXAMPLES = """\
examples:
  # the two Regions of a failover pair, SPEKE v2.1 with start/end timing, KID override on
  speke-keyprovider compare \\
      https://abc.execute-api.us-east-1.amazonaws.com/v1/copyProtection \\
      https://def.execute-api.eu-west-1.amazonaws.com/v1/copyProtection \\
      --speke 2.1 --period-timing start-end --start 2026-12-01T20:00:00Z --periods 4 \\
      --video-preset PRESET_VIDEO_3 --audio-preset PRESET_AUDIO_2 --kid-override
"""


def register(sub: Any) -> None:
    p = sub.add_parser(
        "compare",
        help="send the same channel window to two providers: same KIDs and keys?",
        description="Send the same contentId, track types and key periods to two key providers, each with its "
        "own random request KIDs, and report whether they answer the same KIDs and the same keys.",
        epilog=COMPARE_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("url_a", help="first key provider URL")
    p.add_argument("url_b", help="second key provider URL")
    add_request_shape_flags(p)
    p.add_argument("--cert", type=Path, help="delivery certificate (PEM or DER): ask for encrypted keys")
    p.add_argument("--key", type=Path, help="its private key (PEM): needed to compare encrypted keys")
    p.add_argument("--region-a", help="SigV4 region of the first URL (default: from the URL)")
    p.add_argument("--region-b", help="SigV4 region of the second URL (default: from the URL)")
    p.add_argument("--profile", help="AWS profile for the credential chain")
    p.add_argument("--access-key", help="explicit access key id")
    p.add_argument("--secret-key", help="explicit secret access key")
    p.add_argument("--session-token", help="explicit session token")
    p.add_argument("--timeout", type=float, default=15.0, help="seconds per HTTP request (default: %(default)s)")
    p.add_argument("--kid-override", action="store_true", help="both providers are expected to override KIDs")
    p.add_argument("--expect-master-file", type=Path, help="with --kid-override: check KIDs against the formula")
    p.add_argument("--show-keys", action="store_true", help="print the content keys themselves")
    add_common_flags(p)
    p.set_defaults(run=cmd_compare)


def cmd_compare(args: argparse.Namespace, out: Out, err: Out) -> int:
    from ..client.conformance import check_response
    from ..client.request_builder import resolve_system

    for url in (args.url_a, args.url_b):
        if not url.startswith(("http://", "https://")):
            raise CliError("URLs must start with http:// or https://")
    if args.key and not args.cert:
        raise CliError("--key needs --cert (the certificate to put in the request)")
    if args.cert and not args.key:
        raise CliError("--cert needs --key: encrypted keys can only be compared once decrypted")
    drm = [d.strip() for d in (args.drm or "widevine,playready,fairplay").split(",") if d.strip()]
    for name in drm:
        try:
            resolve_system(name)
        except ValueError as exc:
            raise CliError(str(exc)) from None
    cert_der = read_cert_der(args.cert) if args.cert else None
    private_key = read_private_key(args.key) if args.key else None
    master = expected_master(args)
    case = {"video": args.video_preset, "audio": args.audio_preset, "drm": drm, "scheme": args.scheme}
    first = build_from_args(args, case, cert_der)
    # the same request shape and periods, other random KIDs (and their DRMSystems and rules): a second endpoint
    second_kids = {key.kid: uuid.uuid4() for key in first.keys}
    xml = first.xml.decode("utf-8")
    for old, new in second_kids.items():
        xml = xml.replace(str(old), str(new))
    second = dataclasses.replace(
        first,
        xml=xml.encode("utf-8"),
        keys=[dataclasses.replace(k, kid=second_kids[k.kid]) for k in first.keys],
        systems=[dataclasses.replace(s, kid=second_kids[s.kid]) for s in first.systems],
    )
    sides = []
    for label, url, built, region_flag in (
        ("A", args.url_a, first, args.region_a),
        ("B", args.url_b, second, args.region_b),
    ):
        args.region = region_flag
        args.url = url
        creds, region = credentials(args)
        status, headers, body, _ = send_signed(
            url, built.xml, creds, region, timeout=args.timeout, speke_version=built.speke_version
        )
        report = check_response(
            built, status, headers, body, private_key, kid_override=args.kid_override, master_key=master
        )
        sides.append((label, url, region, report))
    rows = _rows(sides[0][3], sides[1][3])
    agree = bool(rows) and all(row["kid_agrees"] and row["key_agrees"] for row in rows)
    checks_ok = all(report.ok for *_, report in sides)
    if args.json:
        emit_json(
            out.stream,
            {
                "agree": agree,
                "answers_valid": checks_ok,
                "sides": [
                    {"label": label, "url": url, "region": region} | report.to_dict(show_keys=args.show_keys)
                    for label, url, region, report in sides
                ],
                "rows": [_public(row, args.show_keys) for row in rows],
            },
        )
    else:
        out.line(out.bold(f"compare A={sides[0][1]} ({sides[0][2]})  B={sides[1][1]} ({sides[1][2]})"))
        columns = ["TRACK TYPE", "PERIOD", "KID A", "KID B", "KEY SHA-256 A", "KEY SHA-256 B", "AGREE"]
        if args.show_keys:
            columns += ["KEY A (hex)", "KEY B (hex)"]
        table = []
        for row in rows:
            cells = [
                row["track_type"],
                row["period"] or "-",
                row["kid_a"],
                row["kid_b"] or "-",
                (row["sha_a"] or "-")[:16],
                (row["sha_b"] or "-")[:16],
                out.green("yes") if row["kid_agrees"] and row["key_agrees"] else out.red("no"),
            ]
            if args.show_keys:
                cells += [row["key_a"] or "-", row["key_b"] or "-"]
            table.append(cells)
        out.table(columns, table)
        for label, _, _, report in sides:
            for violation in report.violations:
                out.line(f"  {out.red('x')} {label}: {violation}")
        verdict = "the same KIDs and keys" if agree else "KIDs or keys differ"
        out.line(f"Result: {out.green('AGREE') if agree else out.red('DIFFER')} ({verdict})")
    return EXIT_OK if agree and checks_ok else EXIT_FAIL


def _rows(a: Any, b: Any) -> list[dict[str, Any]]:
    """One row per (track type, period): the KIDs and keys each side answered for it."""
    by_b = {(row.track_type, row.period_id): row for row in b.keys}
    rows = []
    for row in a.keys:
        other = by_b.get((row.track_type, row.period_id))
        rows.append(
            {
                "track_type": row.track_type,
                "period": row.period_id,
                "kid_a": row.kid,
                "kid_b": other.kid if other else None,
                "sha_a": row.sha256_fingerprint_of_key,
                "sha_b": other.sha256_fingerprint_of_key if other else None,
                "key_a": row.key_bytes.hex() if row.key_bytes else None,
                "key_b": other.key_bytes.hex() if other and other.key_bytes else None,
                "kid_agrees": other is not None and row.kid == other.kid,
                "key_agrees": other is not None
                and row.sha256_fingerprint_of_key is not None
                and row.sha256_fingerprint_of_key == other.sha256_fingerprint_of_key,
            }
        )
    return rows


def _public(row: dict[str, Any], show_keys: bool) -> dict[str, Any]:
    return {k: v for k, v in row.items() if show_keys or k not in ("key_a", "key_b")}
