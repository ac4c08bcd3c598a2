"""The CLI's offline commands: derive, cert check / cert new, event, help and usage errors."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from speke_keyprovider_tools.certificates import new_private_key, self_signed
from speke_keyprovider_tools.cli import main
from speke_keyprovider_tools.client.request_builder import build_request

from tests.conftest import DERIVATION_VECTORS, MASTER_KEY

REPO = Path(__file__).resolve().parents[2]
CERTS = REPO / "tests" / "fixtures" / "certs"
DASHIF = REPO / "tests" / "fixtures" / "dashif"
MASTER = MASTER_KEY.decode()
VECTORS = [  # contract section 5: (contentId, kid, CEK hex, CEK base64)
    (content_id, kid, cek, base64.b64encode(bytes.fromhex(cek)).decode()) for content_id, kid, cek in DERIVATION_VECTORS
]


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def master_file(tmp_path):
    path = tmp_path / "master.key"
    path.write_text(MASTER + "\n")
    return path


# --- derive -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("content_id", "kid", "hex_key", "b64_key"), VECTORS)
def test_derive_file_home_matches_the_contract_vectors(clean_env, master_file, content_id, kid, hex_key, b64_key):
    code, out, err = run(
        "derive",
        "--content-id",
        content_id,
        "--kid",
        kid,
        "--key-source",
        "file",
        "--master-key-file",
        str(master_file),
        "--show-keys",
    )
    assert code == 0, err
    assert hex_key in out and b64_key in out


def test_derive_json_several_kids_and_env_settings(clean_env, master_file):
    clean_env.setenv("KEY_SOURCE", "file")
    clean_env.setenv("MASTER_KEY_FILE", str(master_file))
    code, out, _ = run(
        "derive",
        "--content-id",
        "test_case_generic",
        "--kid",
        VECTORS[0][1],
        "--kid",
        VECTORS[1][1],
        "--show-keys",
        "--json",
    )
    assert code == 0
    assert [(r["kid"], r["hex"], r["base64"]) for r in json.loads(out)] == [(v[1], v[2], v[3]) for v in VECTORS[:2]]


def test_derive_refuses_without_show_keys(clean_env, master_file):
    code, out, err = run(
        "derive", "--content-id", "channel-1", "--kid", VECTORS[2][1], "--master-key-file", str(master_file)
    )
    assert code == 2 and out == ""
    assert "--show-keys" in err and VECTORS[2][2] not in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--kid", "not-a-uuid"], "not a UUID"),
        (["--kid", VECTORS[0][1], "--key-source", "kms"], "--kms-key-id (or KMS_HMAC_KEY_ID) is required"),
        (["--kid", VECTORS[0][1], "--key-source", "secretsmanager"], "--secret-id (or MASTER_KEY_SECRET_ID)"),
        (["--kid", VECTORS[0][1]], "--master-key-file (or MASTER_KEY_FILE) is required"),
        (["--kid", VECTORS[0][1], "--master-key-file", "/nonexistent/master.key"], "cannot be read"),
    ],
)
def test_derive_usage_errors(clean_env, argv, message):
    code, _, err = run("derive", "--content-id", "c", "--show-keys", *argv)
    assert code == 2
    assert message in err


def test_derive_short_master_key_is_unavailable_without_leaking_it(clean_env, tmp_path):
    short = tmp_path / "short.key"
    short.write_text("too-short-secret")
    code, out, err = run(
        "derive", "--content-id", "c", "--kid", VECTORS[0][1], "--master-key-file", str(short), "--show-keys"
    )
    assert code == 3 and out == ""
    assert "shorter than 32" in err and "too-short-secret" not in err


# --- cert check -------------------------------------------------------------------------------------


def _cert(tmp_path, *, key=None, digest="sha256", not_before=None, not_after=None, pem=True, name="c"):
    now = dt.datetime.now(dt.UTC)
    made = self_signed(
        cn="www.cert-test.example",
        private_key=key,
        digest=digest,
        not_before=not_before or now - dt.timedelta(days=1),
        not_after=not_after or now + dt.timedelta(days=30),
    )
    path = tmp_path / (f"{name}.pem" if pem else f"{name}.der")
    path.write_bytes(made.pem if pem else made.der)
    return path, made.sha256


def test_cert_check_accepts_the_test_delivery_certificate(clean_env):
    der = (CERTS / "delivery.cert.der").read_bytes()
    for path in (CERTS / "delivery.cert.der", CERTS / "delivery.cert.pem"):
        code, out, _ = run("cert", "check", str(path), "--no-color")
        assert code == 0, out
        assert hashlib.sha256(der).hexdigest() in out
        assert "RSA 2048" in out and "sha512" in out


def test_cert_check_json(clean_env, tmp_path):
    path, fingerprint = _cert(tmp_path, pem=False)
    code, out, _ = run("cert", "check", str(path), "--json")
    result = json.loads(out)
    assert code == 0 and result["ok"] is True and result["sha256"] == fingerprint
    assert result["key"] == "RSA 2048" and result["signature_hash"] == "sha256"


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("rsa1024", "1024 bits; at least 2048 required"),
        ("ec", "must be RSA"),
        ("expired", "expired on"),
        ("not_yet_valid", "not yet valid"),
    ],
)
def test_cert_check_rejects_with_a_reason(clean_env, tmp_path, kind, reason):
    now = dt.datetime.now(dt.UTC)
    kwargs = {
        "rsa1024": {"key": new_private_key("rsa1024")},
        "ec": {"key": new_private_key("ec")},
        "expired": {"not_before": now - dt.timedelta(days=30), "not_after": now - dt.timedelta(days=1)},
        "not_yet_valid": {"not_before": now + dt.timedelta(days=1), "not_after": now + dt.timedelta(days=30)},
    }[kind]
    path, fingerprint = _cert(tmp_path, **kwargs)
    code, out, _ = run("cert", "check", str(path), "--no-color")
    assert code == 1
    assert "REJECTED" in out and reason in out and fingerprint in out
    code, out, _ = run("cert", "check", str(path), "--json")
    assert code == 1 and json.loads(out)["ok"] is False and reason in json.loads(out)["reason"]


def test_cert_check_rejects_the_dashif_weak_certificates(clean_env):
    code, out, _ = run("cert", "check", str(DASHIF / "WeakCert_Sha1.cer"), "--at", "2020-01-01T00:00:00Z")
    assert code == 1 and "sha1" in out.lower()
    # "small" for DASH-IF (their others are 4096 bits) is RSA 2048: exactly SPEKE's requirement, so accepted
    code, out, _ = run("cert", "check", str(DASHIF / "WeakCert_SmallKey.cer"), "--at", "2020-01-01T00:00:00Z")
    assert code == 0 and "RSA 2048" in out


def test_cert_check_allowlist_and_time(clean_env, tmp_path):
    path, fingerprint = _cert(tmp_path)
    code, out, _ = run("cert", "check", str(path), "--allowlist", "ab" * 32)
    assert code == 1 and "not registered" in out
    clean_env.setenv("TRUSTED_CERT_SHA256", ":".join(fingerprint[i : i + 2] for i in range(0, 64, 2)).upper())
    code, out, _ = run("cert", "check", str(path))
    assert code == 0 and "registered" in out
    code, out, _ = run("cert", "check", str(path), "--at", "2100-01-01T00:00:00Z")
    assert code == 1 and "expired" in out


def test_cert_check_usage_errors(clean_env, tmp_path):
    assert run("cert", "check", str(tmp_path / "missing.pem"))[0] == 2
    junk = tmp_path / "junk.der"
    junk.write_bytes(b"\x30\x03junk")
    code, out, _ = run("cert", "check", str(junk))
    assert code == 1 and "not a valid X.509" in out
    path, _ = _cert(tmp_path)
    assert run("cert", "check", str(path), "--at", "yesterday")[0] == 2


# --- cert new ---------------------------------------------------------------------------------------


def test_cert_new_makes_a_certificate_the_provider_accepts(clean_env, tmp_path):
    code, out, err = run("cert", "new", "--out-dir", str(tmp_path), "--name", "mp", "--cn", "www.example.com", "--json")
    assert code == 0, err
    result = json.loads(out)
    der = (tmp_path / "mp.cert.der").read_bytes()
    cert = x509.load_der_x509_certificate(der)
    assert cert.subject.rfc4514_string() == "CN=www.example.com"
    assert cert.public_key().key_size == 2048 and cert.signature_hash_algorithm.name == "sha512"
    assert result["sha256"] == hashlib.sha256(der).hexdigest()
    assert stat.S_IMODE((tmp_path / "mp.key.pem").stat().st_mode) == 0o600
    key = serialization.load_pem_private_key((tmp_path / "mp.key.pem").read_bytes(), None)
    assert key.public_key().public_numbers() == cert.public_key().public_numbers()
    assert run("cert", "check", str(tmp_path / "mp.cert.pem"))[0] == 0
    code, _, err = run("cert", "new", "--out-dir", str(tmp_path), "--name", "mp")
    assert code == 2 and "refusing to overwrite" in err
    assert run("cert", "new", "--out-dir", str(tmp_path), "--name", "mp", "--force")[0] == 0


# --- event ------------------------------------------------------------------------------------------


def _request_file(tmp_path, **kw):
    built = build_request(
        content_id="channel-1",
        video_preset="PRESET_VIDEO_2",
        audio_preset="PRESET_AUDIO_1",
        drm_systems=["widevine", "playready", "fairplay"],
        **kw,
    )
    path = tmp_path / "request.xml"
    path.write_bytes(built.xml)
    return built, path


def test_event_shape(tmp_path):
    built, path = _request_file(tmp_path)
    code, out, _ = run("event", str(path))
    assert code == 0
    event = json.loads(out)
    assert event["httpMethod"] == "POST" and event["path"] == event["resource"] == "/copyProtection"
    assert event["headers"]["X-Speke-Version"] == "2.0" and event["headers"]["Content-Type"] == "application/xml"
    assert event["isBase64Encoded"] is False and event["body"].encode() == built.xml
    identity = event["requestContext"]["identity"]
    assert identity["userArn"].startswith("arn:aws:") and identity["caller"]
    code, out, _ = run("event", str(path), "--base64", "--no-identity", "--speke-version", "2.1")
    event = json.loads(out)
    assert event["isBase64Encoded"] is True and base64.b64decode(event["body"]) == built.xml
    assert "userArn" not in event["requestContext"]["identity"]
    assert event["headers"]["X-Speke-Version"] == "2.1"


def test_event_writes_a_file_and_warns_on_non_xml(tmp_path):
    bad = tmp_path / "bad.xml"
    bad.write_text("not xml")
    out_file = tmp_path / "event.json"
    code, out, err = run("event", str(bad), "--out", str(out_file))
    assert code == 0 and out == "" and "warning" in err
    assert json.loads(out_file.read_text())["body"] == "not xml"
    assert run("event", str(tmp_path / "missing.xml"))[0] == 2


# --- help and usage ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["request", "--help"],
        ["derive", "--help"],
        ["cert", "check", "--help"],
        ["cert", "new", "--help"],
        ["event", "--help"],
    ],
)
def test_help_has_examples(capsys, argv):
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "usage: speke-keyprovider" in text
    if argv != ["--help"] and argv[-2:] != ["new", "--help"]:
        assert "examples:" in text


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["nosuch"],
        ["request"],
        ["request", "ftp://x"],
        ["request", "http://x", "--video-preset", "PRESET_VIDEO_9"],
        ["request", "http://x", "--drm", "nosuch", "--access-key", "a", "--secret-key", "b"],
        ["request", "http://x", "--key", "k.pem"],
        ["request", "http://x", "--access-key", "only"],
        ["request", "http://x", "--periods", "0"],
    ],
)
def test_usage_errors_exit_2(argv, capsys):
    assert main(argv, stdout=io.StringIO(), stderr=io.StringIO()) == 2


def test_python_dash_m_runs_the_cli():
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "speke_keyprovider_tools", "--version"],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert result.returncode == 0 and result.stdout.startswith("speke-keyprovider ")


def test_colour_only_on_a_tty(monkeypatch):
    from speke_keyprovider_tools.cli import Out

    class Tty(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert Out(Tty()).green("PASS") == "\033[32mPASS\033[0m"
    assert Out(io.StringIO()).green("PASS") == "PASS"
    assert Out(Tty(), colour=False).red("x") == "x"
    monkeypatch.setenv("NO_COLOR", "1")
    assert Out(Tty()).red("x") == "x"
