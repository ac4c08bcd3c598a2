"""Shared pieces of the benchmark scripts: scenarios, environment, events, statistics, moto_server.

Nothing here is imported by the function: the benchmark drives the real ``lambda_handler`` from
``functions/key_provider/app.py`` in-process, exactly as the Lambda runtime would (module ``app`` on
``sys.path``). Only the standard library is imported at module level, so the cold-start children
stay clean.
"""

# ruff: noqa: S603, S607, S105, S106

from __future__ import annotations

import json
import os
import platform
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
# The code under test: this tree, or another checkout (``bench/run.py --source DIR``: before/after figures).
SOURCE = Path(os.environ.get("SPEKE_BENCH_SOURCE") or REPO).resolve()
HANDLER_DIR = SOURCE / "functions" / "key_provider"
DELIVERY_HANDLER_DIR = SOURCE / "functions" / "key_delivery"
LAYER_DIR = SOURCE / "layers" / "speke_keyprovider"
CERT_DER = REPO / "tests" / "fixtures" / "certs" / "delivery.cert.der"
CERT_KEY_PEM = REPO / "tests" / "fixtures" / "certs" / "delivery.key.pem"
CPIX_XSD = REPO / "tests" / "fixtures" / "cpix-xsd" / "cpix.xsd"
RESULTS_DIR = REPO / "bench-results"

# The contract's test-vector master key (section 5): any 32+ character secret gives the same costs.
MASTER_KEY = json.loads((REPO / "tests" / "fixtures" / "kdf" / "vectors.json").read_text())["master_key"]
SECRET_NAME = "speke/bench/master-key"
DELIVERY_SECRET_NAME = "speke/bench/token-secret"  # pragma: allowlist secret
DELIVERY_HMAC_SECRET = "bench-hs256-token-secret-0123456789abcdef"  # pragma: allowlist secret
CALLER_ARN = "arn:aws:sts::111122223333:assumed-role/SpekeMediaPackageRole/MediaPackageSession"
DRM_SYSTEMS = ("widevine", "playready", "fairplay")


@dataclass(frozen=True)
class Scenario:
    name: str
    video_preset: str
    audio_preset: str
    periods: int
    encrypted: bool
    keys: int


def scenarios() -> list[Scenario]:
    """Clear and encrypted x {2 keys: VIDEO_1+AUDIO_1; 8 keys: VIDEO_5+AUDIO_3; 24 keys: 8 x 3 periods},
    each with Widevine + PlayReady + FairPlay, cbcs (the MediaPackage v2 CMAF defaults)."""
    shapes = [
        (2, "PRESET_VIDEO_1", "PRESET_AUDIO_1", 1),
        (8, "PRESET_VIDEO_5", "PRESET_AUDIO_3", 1),
        (24, "PRESET_VIDEO_5", "PRESET_AUDIO_3", 3),
    ]
    return [
        Scenario(f"{'encrypted' if enc else 'clear'}-{keys}", video, audio, periods, enc, keys)
        for keys, video, audio, periods in shapes
        for enc in (False, True)
    ]


def base_env() -> dict[str, str]:
    """The function's environment as template.yaml sets it (Globals + function), minus the key home."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(
            (
                "AWS_",
                "POWERTOOLS_",
                "KEY_SOURCE",
                "MASTER_KEY",
                "KMS_",
                "TRUSTED_CERT",
                "REQUIRE_ENCRYPTED",
                "ALLOWED_CALLER",
                "XRAY_",
                "RANDOM_EXPLICIT",
                "KEY_DELIVERY",
                "AES128_KEY_URI",
            )
        )
    }
    env.update(
        {
            "POWERTOOLS_SERVICE_NAME": "speke-keyprovider",
            "POWERTOOLS_METRICS_NAMESPACE": "SpekeKeyProvider",
            "POWERTOOLS_LOG_LEVEL": "INFO",
            "XRAY_TRACING": "false",
            "MASTER_KEY_CACHE_TTL_SECONDS": "300",
            "MASTER_KEY_GRACE_SECONDS": "3600",
            "CEK_CACHE_TTL_SECONDS": "300",
            "RETRY_AFTER_SECONDS": "5",
            "ALLOWED_CALLER_ARNS": "arn:aws:iam::111122223333:role/SpekeMediaPackageRole",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_LAMBDA_FUNCTION_NAME": "speke-keyprovider-bench",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(LAYER_DIR), os.environ.get("PYTHONPATH", "")])),
        }
    )
    return env


def file_home_env(key_file: Path) -> dict[str, str]:
    env = base_env()
    env.update({"KEY_SOURCE": "file", "MASTER_KEY_FILE": str(key_file)})
    return env


def secrets_manager_env(endpoint: str) -> dict[str, str]:
    env = base_env()
    env.update({"KEY_SOURCE": "secretsmanager", "MASTER_KEY_SECRET_ID": SECRET_NAME, "AWS_ENDPOINT_URL": endpoint})
    return env


def delivery_env(base: dict[str, str]) -> dict[str, str]:
    """The key delivery function's environment over a key home's (the JWKS is added by the worker)."""
    env = {k: v for k, v in base.items() if not k.startswith("KEY_DELIVERY")}
    env.update(
        {
            "POWERTOOLS_SERVICE_NAME": "speke-key-delivery",
            "KEY_DELIVERY": "aes128+clearkey",
            "KEY_DELIVERY_HMAC_SECRET_ID": DELIVERY_SECRET_NAME,
        }
    )
    return env


def rest_event(body: bytes, *, base64_body: bool = False) -> dict[str, Any]:
    """An API Gateway REST proxy event as MediaPackage's signed POST arrives (the shape of events/*.json)."""
    from speke_keyprovider_tools.apigw_event import rest_proxy_event

    headers = {
        "Content-Type": "application/xml",
        "X-Speke-Version": "2.0",
        "Host": "example.execute-api.us-east-1.amazonaws.com",
        "User-Agent": "MediaPackage",
        "X-Amz-Date": "20260101T000000Z",
        "Authorization": "AWS4-HMAC-SHA256 "
        "Credential=ASIAEXAMPLE/20260101/us-east-1/execute-api/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-date;x-speke-version, Signature=0",
        "X-Amz-Security-Token": "token",
    }
    return rest_proxy_event(
        body, headers=headers, base64_body=base64_body, caller_arn=CALLER_ARN, access_key="ASIAEXAMPLE"
    )


def scenario_request(sc: Scenario, content_id: str) -> Any:
    """The MediaPackage-style request of one benchmark scenario (Widevine + PlayReady + FairPlay, cbcs)."""
    from speke_keyprovider_tools.client.request_builder import build_request

    return build_request(
        content_id=content_id,
        video_preset=sc.video_preset,
        audio_preset=sc.audio_preset,
        drm_systems=list(DRM_SYSTEMS),
        scheme="cbcs",
        periods=sc.periods,
        certificate_der=CERT_DER.read_bytes() if sc.encrypted else None,
    )


class LambdaContext:
    """What the Lambda runtime passes as ``context`` (the attributes Powertools reads)."""

    function_name = "speke-keyprovider-bench"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:111122223333:function:speke-keyprovider-bench"
    log_group_name = "/aws/lambda/speke-keyprovider-bench"
    log_stream_name = "bench"
    aws_request_id = "00000000-0000-0000-0000-000000000000"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), round(fraction * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


def summarise_ns(
    samples_ns: list[int], cpu_ns: list[int] | None = None, block_medians_ms: list[float] | None = None
) -> dict[str, Any]:
    """Wall-clock statistics (the figures), plus the thread's CPU time per call and the median of each
    interleaved block: on a shared machine these show how much of a slow figure is other processes."""
    values = sorted(s / 1e6 for s in samples_ns)  # milliseconds
    mean = sum(values) / len(values)
    out: dict[str, Any] = {
        "n": len(values),
        "median_ms": round(percentile(values, 0.5), 4),
        "p90_ms": round(percentile(values, 0.9), 4),
        "p99_ms": round(percentile(values, 0.99), 4),
        "min_ms": round(values[0], 4),
        "mean_ms": round(mean, 4),
        "requests_per_s": round(1000.0 / mean, 1),
    }
    if cpu_ns:
        cpu = sorted(s / 1e6 for s in cpu_ns)
        out["cpu_median_ms"] = round(percentile(cpu, 0.5), 4)
        out["cpu_p99_ms"] = round(percentile(cpu, 0.99), 4)
    if block_medians_ms:
        out["block_medians_ms"] = [round(v, 4) for v in block_medians_ms]
        out["quietest_block_median_ms"] = round(min(block_medians_ms), 4)
    return out


def median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def machine_info() -> dict[str, Any]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(("model name", "cpu model", "hardware")):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = os.cpu_count()
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
            timeout=10,
        ).stdout.strip()
        dirty = bool(
            subprocess.run(
                ["git", "status", "--porcelain", "--", "layers", "functions"],
                cwd=REPO,
                capture_output=True,
                text=True,
                check=False,
                timeout=10,
            ).stdout.strip()
        )
    except (OSError, subprocess.SubprocessError):
        commit, dirty = "", False
    versions = {}
    from importlib import metadata

    for dist in ("aws-lambda-powertools", "cryptography", "defusedxml", "boto3", "botocore", "moto"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    return {
        "nproc": affinity,
        "cpu_count": os.cpu_count(),
        "cpu_model": model,
        "machine": platform.machine(),
        "kernel": platform.release(),
        "python": sys.version.split()[0],
        "python_build": platform.python_implementation() + " " + " ".join(platform.python_build()),
        "loadavg_at_start": list(os.getloadavg()),
        "git_commit": commit + ("+uncommitted" if dirty else ""),
        "packages": versions,
    }


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class MotoServer:
    """A moto_server on loopback, started and stopped by the benchmark (context manager)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> MotoServer:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError("moto_server exited during start-up")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    break
            except OSError:
                time.sleep(0.1)
        else:
            self.__exit__(None, None, None)
            raise RuntimeError("moto_server did not start within 60 s")
        self._create_secret()
        return self

    def _create_secret(self) -> None:
        import boto3

        client = boto3.session.Session().client(
            "secretsmanager",
            region_name="us-east-1",
            endpoint_url=self.endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        client.create_secret(Name=SECRET_NAME, SecretString=MASTER_KEY)
        client.create_secret(Name=DELIVERY_SECRET_NAME, SecretString=DELIVERY_HMAC_SECRET)

    def __exit__(self, *exc: object) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)
        self._process = None


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")
