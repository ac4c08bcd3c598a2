"""``speke-keyprovider kid``: the KIDs a provider with KID override answers for a channel and window
(docs/kid-override.md), computed from the master in any key home, so entitlements can be issued before the
stream starts. KIDs are not secret; the master is read, never printed. Uses the provider's own derivation
(the same key homes and settings as ``derive``)."""

from __future__ import annotations

import argparse
import datetime as dt
import os
from typing import Any

from ._output import EXIT_OK, EXIT_UNAVAILABLE, CliError, Out, add_common_flags, emit_json

KID_EXAMPLES = """\
examples:
  # four 15-minute periods from 20:00 UTC, video and audio keys
  speke-keyprovider kid --content-id channel-1 --track-types VIDEO,AUDIO \\
      --start 2026-12-01T20:00:00Z --period-duration 900 --periods 4 \\
      --key-source file --master-key-file .local-state/master.key
  # the track types of a MediaPackage preset pair, index-numbered periods, the KMS home
  speke-keyprovider kid --content-id channel-1 --video-preset PRESET_VIDEO_3 --audio-preset PRESET_AUDIO_2 \\
      --index 7 --index 8 --key-source kms --kms-key-id alias/speke-master --region eu-west-1 --json
"""


def register(sub: Any) -> None:
    p = sub.add_parser(
        "kid",
        help="the KIDs KID override answers for a channel and window",
        description="Compute the KIDs a provider with KID_OVERRIDE=true answers for a contentId, its track "
        "types and key periods (by start time, else index), from the master key in any key home.",
        epilog=KID_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--content-id", required=True)
    p.add_argument("--track-types", help="comma-separated intendedTrackType values, e.g. SD,HD,AUDIO")
    p.add_argument("--video-preset", help="or: the track types of a MediaPackage video preset")
    p.add_argument("--audio-preset", help="... and audio preset")
    p.add_argument("--start", help="UTC start of the first period, e.g. 2026-12-01T20:00:00Z")
    p.add_argument("--period-duration", type=int, default=900, help="seconds per period (default: %(default)s)")
    p.add_argument("--periods", type=int, default=1, help="periods from --start (default: %(default)s)")
    p.add_argument("--index", action="append", type=int, help="a period index (no start); repeat for several")
    p.add_argument("--key-source", choices=("file", "secretsmanager", "kms"), help="key home (default: $KEY_SOURCE)")
    p.add_argument("--master-key-file", help="file key home (default: $MASTER_KEY_FILE)")
    p.add_argument("--secret-id", help="Secrets Manager secret (default: $MASTER_KEY_SECRET_ID)")
    p.add_argument("--kms-key-id", help="KMS HMAC_256 key id/ARN/alias (default: $KMS_HMAC_KEY_ID)")
    p.add_argument("--region", help="AWS region for secretsmanager/kms")
    p.add_argument("--profile", help="AWS profile for secretsmanager/kms")
    add_common_flags(p)
    p.set_defaults(run=cmd_kid)


def _track_types(args: argparse.Namespace) -> list[str]:
    if args.track_types:
        types = [t.strip() for t in args.track_types.split(",") if t.strip()]
    elif args.video_preset or args.audio_preset:
        from ..client.request_builder import contract_tracks

        try:
            types = [
                t.track_type
                for t in contract_tracks(args.video_preset or "UNENCRYPTED", args.audio_preset or "UNENCRYPTED")
            ]
        except ValueError as exc:
            raise CliError(str(exc)) from None
    else:
        raise CliError("give --track-types or --video-preset/--audio-preset")
    if not types or len(set(types)) != len(types):
        raise CliError("track types must be distinct and at least one")
    return types


def _period_ids(args: argparse.Namespace) -> list[str]:
    if args.start and args.index:
        raise CliError("--start or --index, not both (a period with a start is named by its start)")
    if args.index:
        return [str(i) for i in args.index]
    if not args.start:
        return ["-"]
    try:
        start = dt.datetime.fromisoformat(args.start.replace("Z", "+00:00"))
    except ValueError:
        raise CliError(f"--start {args.start!r} is not an ISO 8601 date and time") from None
    if start.tzinfo is None:
        raise CliError("--start needs a timezone (e.g. 2026-12-01T20:00:00Z)")
    if not 1 <= args.periods <= 10000 or not 1 <= args.period_duration <= 86400:
        raise CliError("--periods must be 1..10000 and --period-duration 1..86400 seconds")
    return [
        (start + dt.timedelta(seconds=i * args.period_duration)).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        for i in range(args.periods)
    ]


def cmd_kid(args: argparse.Namespace, out: Out, err: Out) -> int:
    from speke_keyprovider.errors import ConfigurationError, SpekeError
    from speke_keyprovider.runtime import build_key_source
    from speke_keyprovider.settings import Settings

    from .derive import _aws_clients

    types = _track_types(args)
    periods = _period_ids(args)
    env = dict(os.environ)
    env["KEY_SOURCE"] = args.key_source or env.get("KEY_SOURCE", "file")
    for flag, name in (
        ("master_key_file", "MASTER_KEY_FILE"),
        ("secret_id", "MASTER_KEY_SECRET_ID"),
        ("kms_key_id", "KMS_HMAC_KEY_ID"),
    ):
        if getattr(args, flag):
            env[name] = getattr(args, flag)
    try:
        settings = Settings.from_env(env)
        source = build_key_source(
            settings, client_factory=None if settings.key_source == "file" else _aws_clients(args)
        )
        inputs = [(track, period) for period in periods for track in types]
        kids = source.override_kids(args.content_id, inputs)
    except ConfigurationError as exc:
        raise CliError(str(exc)) from None
    except SpekeError as exc:
        raise CliError(f"key home unavailable: {exc}", EXIT_UNAVAILABLE) from None
    rows = [
        {"content_id": args.content_id, "track_type": track, "period_id": period, "kid": str(kids[(track, period)])}
        for track, period in inputs
    ]
    if args.json:
        emit_json(out.stream, rows)
    else:
        out.table(["CONTENT ID", "TRACK TYPE", "PERIOD", "KID"], [list(r.values()) for r in rows])
    return EXIT_OK
