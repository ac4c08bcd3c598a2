"""``speke-keyprovider request URL``: send a MediaPackage-style SPEKE request (SigV4) and check the answer.

``--speke 2`` (the default for one request): a MediaPackage v2 request (presets, scheme). ``--speke 1``: a
MediaPackage v1 / MediaConvert request for one endpoint type (``--endpoint hls|dash|cmaf|mss``, ``--live`` or
``--vod``). ``--matrix`` runs every v2 case and every v1 endpoint shape unless ``--speke`` names one dialect.
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path
from typing import Any

from ._files import read_cert_der, read_private_key
from ._output import EXIT_FAIL, EXIT_OK, CliError, Out, add_common_flags, emit_json
from .signing import credentials, send_signed

DRM_NAMES = ("widevine", "playready", "fairplay", "clearkey", "aes128")

REQUEST_EXAMPLES = """\
examples:
  # against `make run` (it prints the credentials it accepts)
  speke-keyprovider request http://127.0.0.1:3000/copyProtection \\
      --access-key AKIALOCAL... --secret-key ... --region us-east-1
  # a deployed endpoint, credentials from the standard AWS chain, encrypted key delivery
  speke-keyprovider request https://abc123.execute-api.eu-west-1.amazonaws.com/Prod/copyProtection \\
      --video-preset PRESET_VIDEO_3 --audio-preset PRESET_AUDIO_2 --drm widevine,playready \\
      --scheme cenc --periods 2 --cert delivery.cert.pem --key delivery.key.pem --save ./speke-check
  # a MediaPackage v1 live HLS FairPlay endpoint with encrypted keys (SPEKE v1, no version header)
  speke-keyprovider request http://127.0.0.1:3000/copyProtection --speke 1 --endpoint hls \
      --cert delivery.cert.pem --key delivery.key.pem ...
  # a MediaConvert DASH job (SPEKE v1, VOD)
  speke-keyprovider request http://127.0.0.1:3000/copyProtection --speke 1 --endpoint dash --vod ...
  # every preset pair and DRM combination (v2) and every v1 endpoint shape, one line each
  speke-keyprovider request http://127.0.0.1:3000/copyProtection --matrix ...
  # SPEKE v2.1 as a MediaPackage v2 endpoint with ContentKeyPeriodTiming START_END_ONLY, 4 rotations
  speke-keyprovider request https://.../copyProtection --speke 2.1 --period-timing start-end \
      --start 2026-12-01T20:00:00Z --period-duration 900 --periods 4 --scheme SAMPLE-AES
"""
V1_MATRIX: dict[str, tuple[tuple[str, ...], ...]] = {
    "hls": (("fairplay",), ("aes128",), ("aes128-v1",)),
    "dash": (("widevine", "playready"), ("widevine",), ("playready",), ("clearkey",)),
    "cmaf": (("widevine", "playready", "fairplay"), ("widevine", "playready"), ("fairplay",)),
    "mss": (("playready",),),
}
"""The SPEKE v1 shapes ``--matrix`` sends (each live and VOD): what MediaPackage v1 endpoints and MediaConvert
output groups are configured with."""


def add_request_shape_flags(
    p: argparse.ArgumentParser, *, speke_choices: tuple[str, ...] = ("2.0", "2.1"), speke_default: str | None = "2.0"
) -> None:
    """What the request asks for: SPEKE version, contentId, presets, DRM systems, scheme, periods and (v2.1)
    their timing."""
    from ..client.request_builder import AUDIO_PRESETS, PERIOD_TIMINGS, PLAYLISTS_V21, SCHEMES_V21, VIDEO_PRESETS

    p.add_argument(
        "--speke",
        choices=speke_choices,
        default=speke_default,
        help="SPEKE version: "
        + ("1 (MediaPackage v1, MediaConvert), " if "1" in speke_choices else "")
        + "2.0 (CPIX 2.3; "
        + ("2 is the same; " if "2" in speke_choices else "")
        + "the default) or 2.1 (CPIX 2.4)"
        + ("; --matrix without --speke runs every dialect" if speke_default is None else ""),
    )
    p.add_argument(
        "--content-id",
        default="speke-keyprovider-check",
        help="CPIX@contentId (v1: CPIX@id, the ResourceId) (default: %(default)s)",
    )
    p.add_argument(
        "--video-preset",
        default="PRESET_VIDEO_1",
        choices=VIDEO_PRESETS,
        metavar="PRESET",
        help="PRESET_VIDEO_1..8, SHARED or UNENCRYPTED (default: %(default)s)",
    )
    p.add_argument(
        "--audio-preset",
        default="PRESET_AUDIO_1",
        choices=AUDIO_PRESETS,
        metavar="PRESET",
        help="PRESET_AUDIO_1..3, SHARED or UNENCRYPTED (default: %(default)s)",
    )
    p.add_argument(
        "--drm",
        help=f"comma-separated: {','.join(DRM_NAMES)}, aes128-v1 (v1) or system ids "
        "(default: v2 widevine,playready,fairplay; v1 the endpoint's usual systems)",
    )
    p.add_argument(
        "--scheme",
        default="cbcs",
        choices=SCHEMES_V21,
        help="commonEncryptionScheme; SAMPLE-AES, SAMPLE-AES-CTR and AES-128 need --speke 2.1 (default: %(default)s)",
    )
    p.add_argument(
        "--periods",
        type=int,
        default=1,
        help="key periods in the request (v1 live: one key per period) (default: %(default)s)",
    )
    p.add_argument(
        "--period-timing",
        default="index",
        choices=PERIOD_TIMINGS,
        help="v2.1 ContentKeyPeriodTiming: index, start-end (START_END_ONLY), index+start-end (default: %(default)s)",
    )
    p.add_argument(
        "--start",
        help="v2.1: UTC start of the first period, e.g. 2026-12-01T20:00:00Z (default: now, floored to a period)",
    )
    p.add_argument(
        "--period-duration", type=int, default=900, help="v2.1: seconds per key period (default: %(default)s)"
    )
    p.add_argument(
        "--playlist", default="master", choices=PLAYLISTS_V21, help="v2.1: multivariant playlist name to send"
    )


def build_from_args(args: argparse.Namespace, case: dict[str, Any], cert_der: bytes | None) -> Any:
    """The v2 BuiltRequest for one case of the command line (CliError for a request MediaPackage could not send)."""
    import datetime as dt

    from ..client.request_builder import build_request

    start = None
    if args.start:
        try:
            start = dt.datetime.fromisoformat(args.start.replace("Z", "+00:00"))
        except ValueError:
            raise CliError(f"--start {args.start!r} is not an ISO 8601 date and time") from None
        if start.tzinfo is None:
            raise CliError("--start needs a timezone (e.g. 2026-12-01T20:00:00Z)")
    try:
        return build_request(
            content_id=args.content_id,
            video_preset=case["video"],
            audio_preset=case["audio"],
            drm_systems=case["drm"],
            scheme=case["scheme"],
            periods=args.periods,
            certificate_der=cert_der,
            speke_version=case.get("speke") or args.speke,
            period_timing=args.period_timing,
            start=start,
            period_seconds=args.period_duration,
            playlist=args.playlist,
        )
    except ValueError as exc:
        raise CliError(str(exc)) from None


def register(sub: Any) -> None:
    from ..client.speke_v1_request import ENDPOINTS

    p = sub.add_parser(
        "request",
        help="send a MediaPackage-style request and check the answer",
        description="Build a MediaPackage-style SPEKE request (v2.0 and v2.1: MediaPackage v2; v1: MediaPackage v1 "
        "endpoints and MediaConvert jobs), sign it (SigV4, service execute-api), send it and check the "
        "answer against every rule of the contract. Works against any SPEKE key provider.",
        epilog=REQUEST_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("url", help="the key provider URL, e.g. https://.../copyProtection")
    add_request_shape_flags(p, speke_choices=("1", "2", "2.0", "2.1"), speke_default=None)
    v1 = p.add_argument_group("SPEKE v1 (--speke 1)")
    v1.add_argument(
        "--endpoint",
        choices=tuple(ENDPOINTS),
        default="hls",
        help="MediaPackage v1 endpoint / MediaConvert output group type (default: %(default)s)",
    )
    live = v1.add_mutually_exclusive_group()
    live.add_argument("--live", dest="live", action="store_true", default=True, help="a live request (default)")
    live.add_argument("--vod", dest="live", action="store_false", help="a VOD request (MediaConvert): no periods")
    v1.add_argument(
        "--children",
        choices=("all", "minimal"),
        default="all",
        help="ask every system for all six v1 children (as AWS's examples) or only its own (default: %(default)s)",
    )
    p.add_argument("--cert", type=Path, help="delivery certificate (PEM or DER): ask for encrypted keys")
    p.add_argument("--key", type=Path, help="its private key (PEM), to decrypt and verify the answer")
    p.add_argument("--region", help="SigV4 region (default: from the URL, else the AWS config, else us-east-1)")
    p.add_argument("--profile", help="AWS profile for the credential chain")
    p.add_argument("--access-key", help="explicit access key id (e.g. the one `make run` prints)")
    p.add_argument("--secret-key", help="explicit secret access key")
    p.add_argument("--session-token", help="explicit session token")
    p.add_argument("--timeout", type=float, default=15.0, help="seconds per HTTP request (default: %(default)s)")
    p.add_argument("--show-keys", action="store_true", help="print the content keys themselves")
    p.add_argument("--save", type=Path, metavar="DIR", help="keep the request, the response and the report in DIR")
    p.add_argument(
        "--matrix",
        action="store_true",
        help="run every preset pair and DRM combination (clear and, with --cert, encrypted)",
    )
    p.add_argument(
        "--kid-override",
        action="store_true",
        help="v2.1: expect the provider's own KIDs (KID_OVERRIDE) instead of echoed ones",
    )
    p.add_argument(
        "--expect-master-file",
        type=Path,
        help="with --kid-override: the master key file, to check each KID against the formula",
    )
    add_common_flags(p)
    p.set_defaults(run=cmd_request)


def _request_cases(args: argparse.Namespace) -> list[dict[str, Any]]:
    from ..client.request_builder import AUDIO_PRESETS, VIDEO_PRESETS, resolve_system

    drm = [d.strip() for d in (args.drm or "").split(",") if d.strip()]
    for name in drm:
        if name.lower() == "aes128-v1":
            continue
        try:
            resolve_system(name)
        except ValueError as exc:
            raise CliError(str(exc)) from None
    if not args.matrix:
        if args.speke == "1":
            return [{"speke": "1", "endpoint": args.endpoint, "drm": drm or None, "live": args.live}]
        return [
            {
                "speke": _v2_version(args.speke),
                "video": args.video_preset,
                "audio": args.audio_preset,
                "drm": drm or ["widevine", "playready", "fairplay"],
                "scheme": args.scheme,
            }
        ]
    cases: list[dict[str, Any]] = []
    versions = ("2.0", "2.1") if args.speke is None else () if args.speke == "1" else (_v2_version(args.speke),)
    for version in versions:
        pairs = [
            (v, a)
            for v, a in itertools.product(VIDEO_PRESETS, AUDIO_PRESETS)
            if (v == "SHARED") == (a == "SHARED") and not (v == a == "UNENCRYPTED")
        ]
        for scheme in ("cbcs", "cenc"):
            every = [d for d in DRM_NAMES if scheme == "cbcs" or d != "fairplay"]
            for video, audio in pairs:  # every preset pair, every system at once
                cases.append({"speke": version, "video": video, "audio": audio, "drm": every, "scheme": scheme})
            for size in range(1, len(every) + 1):  # every DRM combination, one preset pair
                for combo in itertools.combinations(every, size):
                    cases.append(
                        {
                            "speke": version,
                            "video": "PRESET_VIDEO_2",
                            "audio": "PRESET_AUDIO_2",
                            "drm": list(combo),
                            "scheme": scheme,
                        }
                    )
    if args.speke in (None, "1"):
        for endpoint, shapes in V1_MATRIX.items():
            for systems in shapes:
                for is_live in (True, False):
                    cases.append({"speke": "1", "endpoint": endpoint, "drm": list(systems), "live": is_live})
    return cases


def _v2_version(speke: str | None) -> str:
    """The X-Speke-Version of a v2 request: ``2`` and no --speke mean 2.0."""
    return "2.1" if speke == "2.1" else "2.0"


def expected_master(args: argparse.Namespace) -> bytes | None:
    path = getattr(args, "expect_master_file", None)
    if path is None:
        return None
    try:
        return path.read_bytes().rstrip(b"\r\n")
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror}") from None


def _build(case: dict[str, Any], args: argparse.Namespace, cert_der: bytes | None) -> Any:
    from ..client.speke_v1_request import build_v1_request

    if case["speke"] == "1":
        return build_v1_request(
            content_id=args.content_id,
            endpoint=case["endpoint"],
            drm_systems=case["drm"],
            live=case["live"],
            periods=args.periods if case["live"] else 1,
            certificate_der=cert_der,
            children=args.children,
        )
    return build_from_args(args, case, cert_der)


def _label(case: dict[str, Any], built: Any) -> str:
    """One matrix line's description of the case."""
    if case["speke"] == "1":
        systems = ",".join(case["drm"]) if case["drm"] else "default"
        return f"v1 {case['endpoint']} {'live' if case['live'] else 'vod'} {systems} ({built.scheme})"
    version = "v2.1 " if case["speke"] == "2.1" else ""
    return f"{version}{case['scheme']} {case['video']}/{case['audio']} {','.join(case['drm'])}"


def cmd_request(args: argparse.Namespace, out: Out, err: Out) -> int:
    from ..client.conformance import check_response

    if not args.url.startswith(("http://", "https://")):
        raise CliError("URL must start with http:// or https://")
    if not 1 <= args.periods <= 100:
        raise CliError("--periods must be between 1 and 100")
    if args.speke == "1" and not args.live and args.periods != 1 and not args.matrix:
        raise CliError("--vod: a VOD request has one key and no key periods (leave --periods out)")
    if args.key and not args.cert:
        raise CliError("--key needs --cert (the certificate to put in the request)")
    cert_der = read_cert_der(args.cert) if args.cert else None
    private_key = read_private_key(args.key) if args.key else None
    master = expected_master(args)
    creds, region = credentials(args)
    cases = _request_cases(args)
    results = []
    failed = 0
    for number, case in enumerate(cases, start=1):
        try:
            built = _build(case, args, cert_der)
        except ValueError as exc:
            raise CliError(str(exc)) from None
        status, headers, body, seconds = send_signed(
            args.url, built.xml, creds, region, timeout=args.timeout, speke_version=built.speke_version
        )
        report = check_response(
            built,
            status,
            headers,
            body,
            private_key,
            kid_override=args.kid_override and case["speke"] == "2.1",
            master_key=master,
        )
        failed += not report.ok
        lower = {k.lower(): v for k, v in headers.items()}
        summary = {
            "speke_version": "1" if built.speke_version is None else built.speke_version,
            "video_preset": case.get("video"),
            "audio_preset": case.get("audio"),
            "endpoint": case.get("endpoint"),
            "live": case.get("live"),
            "drm": case["drm"] or [],
            "scheme": built.scheme,
            "periods": len(built.periods),
            "period_timing": args.period_timing if case["speke"] == "2.1" else "index",
            "encrypted": cert_der is not None,
            "content_id": args.content_id,
            "url": args.url,
            "region": region,
            "elapsed_ms": round(seconds * 1000, 1),
            "user_agent": lower.get("x-speke-user-agent") or lower.get("speke-user-agent"),
        }
        if args.save:
            _save(
                args.save / f"{number:03d}" if args.matrix else args.save,
                built.xml,
                status,
                headers,
                body,
                summary | report.to_dict(show_keys=args.show_keys),
            )
        results.append((summary, report))
        if args.matrix and not args.json:
            verdict = out.green("PASS") if report.ok else out.red("FAIL")
            out.line(f"{verdict} {_label(case, built)} {out.dim(f'{seconds * 1000:.0f} ms')}")
            for violation in report.violations:
                out.line(f"     {out.red('x')} {violation}")
    if args.json:
        payload = [summary | report.to_dict(show_keys=args.show_keys) for summary, report in results]
        emit_json(out.stream, payload if args.matrix else payload[0])
    elif args.matrix:
        out.line()
        out.line(
            f"{len(cases)} requests, {len(cases) - failed} passed, {failed} failed: "
            + (out.green("PASS") if not failed else out.red("FAIL"))
        )
    else:
        _print_report(out, *results[0], show_keys=args.show_keys)
    return EXIT_FAIL if failed else EXIT_OK


def _save(
    directory: Path,
    request_xml: bytes,
    status: int,
    headers: dict[str, str],
    body: bytes,
    report: dict[str, Any],
) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "request.xml").write_bytes(request_xml)
        (directory / "response.body").write_bytes(body)
        (directory / "response.json").write_text(json.dumps({"status": status, "headers": headers}, indent=2) + "\n")
        (directory / "report.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    except OSError as exc:
        raise CliError(f"cannot save into {directory}: {exc.strerror}") from None


def _print_report(out: Out, summary: dict[str, Any], report: Any, *, show_keys: bool) -> None:
    v1 = summary["speke_version"] == "1"
    out.line(out.bold(f"SPEKE v{summary['speke_version']} check of {summary['url']}"))
    shape = (
        f"id={summary['content_id']} endpoint={summary['endpoint']} {'live' if summary['live'] else 'vod'}"
        if v1
        else f"contentId={summary['content_id']} presets={summary['video_preset']}/{summary['audio_preset']}"
    )
    out.line(
        f"  request: {shape} drm={','.join(summary['drm']) or 'default'} scheme={summary['scheme']} "
        f"periods={summary['periods']} ({summary.get('period_timing', 'index')}) "
        f"keys={'encrypted' if summary['encrypted'] else 'clear'} "
        f"region={summary['region']}"
    )
    out.line(
        f"  answer:  HTTP {report.status} in {summary['elapsed_ms']:.0f} ms"
        + (f", {summary['user_agent']}" if summary["user_agent"] else "")
    )
    out.line()
    if report.keys:
        headers = ["KID", "TRACK TYPE", "PERIOD", "SCHEME", "KEY SHA-256"] + (["KEY (hex)"] if show_keys else [])
        rows = []
        for row in report.keys:
            cells = [
                row.kid,
                row.track_type,
                _short_period(row.period_id),
                row.scheme,
                row.sha256_fingerprint_of_key or "-",
            ]
            if show_keys:
                cells.append(row.key_bytes.hex() if row.key_bytes else "-")
            rows.append(cells)
        out.table(headers, rows)
        out.line()
    if report.signalling:
        out.line(out.bold("Signalling"))
        for system, entries in report.signalling.items():
            for entry in entries:
                out.line(f"  {system:<9} {entry['kid']}  {entry['child']:<36} {_describe(entry)}")
        out.line()
    for warning in report.warnings:
        out.line(f"{out.yellow('warning:')} {warning}")
    if report.violations:
        out.line(out.bold(out.red(f"{len(report.violations)} violation(s)")))
        for violation in report.violations:
            out.line(f"  {out.red('x')} {violation}")
        out.line()
        out.line(f"Result: {out.red('FAIL')}")
    else:
        out.line(f"Result: {out.green('PASS')} (every rule of the SPEKE v{summary['speke_version']} contract holds)")


def _short_period(period_id: str | None) -> str:
    if not period_id:
        return "-"
    return period_id if len(period_id) <= 20 else period_id[:19] + "…"


def _describe(entry: dict[str, Any]) -> str:
    parts = []
    if "pssh_version" in entry:
        parts.append(f"pssh v{entry['pssh_version']}")
        if entry.get("kids"):
            parts.append(f"kids={len(entry['kids'])}")
    if "key_ids" in entry:
        parts.append(f"key_ids={len(entry['key_ids'])}")
    if entry.get("protection_scheme"):
        parts.append(f"protection_scheme={entry['protection_scheme']}")
    if entry.get("provider"):
        parts.append(f"provider={entry['provider']}")
    if "wrmheader_version" in entry:
        parts.append(f"WRMHEADER {entry['wrmheader_version']} ALGID={','.join(entry['algid'])}")
        if entry.get("la_url"):
            parts.append(f"LA_URL={entry['la_url']}")
    if "elements" in entry:
        parts.append(" + ".join(e.rsplit("}", 1)[-1] for e in entry["elements"]))
    if "uri" in entry:
        parts.append(entry["uri"])
    if "text" in entry and "wrmheader_version" not in entry:
        parts.append(str(entry["text"])[:60])
    if "line" in entry:
        line = entry["line"]
        parts.append(line if len(line) <= 110 else line[:107] + "...")
    return "  ".join(parts)
