"""SPEKE v2.1 from the operator CLI over real SigV4, against `make run` servers started here: `request --speke 2.1`
in every timing mode, `compare` between two providers started independently with the same master (KID override
on: the same KIDs and keys; off: they differ and compare says so), and `kid` agreeing with what they answer."""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.http.test_cli_request import ACCESS, CERT, KEY, MASTER, REGION, REPO, SECRET, _creds, _free_port, _run


@contextlib.contextmanager
def local_server(state: Path, **settings: str):
    state.mkdir(parents=True, exist_ok=True)
    master = state / "master.key"
    master.write_text(MASTER + "\n")
    port = _free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "LOCAL_SIGV4_", "KEY_SOURCE", "MASTER_KEY", "TRUSTED_CERT", "REQUIRE_", "KID_"))
    }
    env |= {
        "LOCAL_SIGV4_ACCESS_KEY_ID": ACCESS,
        "LOCAL_SIGV4_SECRET_ACCESS_KEY": SECRET,
        "LOCAL_SIGV4_REGION": REGION,
        "KEY_SOURCE": "file",
        "MASTER_KEY_FILE": str(master),
        **settings,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "speke_keyprovider_tools.local_server", "--port", str(port), "--state-dir", str(state)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        log = []
        while time.monotonic() < deadline:
            ready, _, _ = select.select([proc.stderr], [], [], 0.5)
            if ready:
                line = proc.stderr.readline()
                log.append(line)
                if "listening on" in line:
                    break
            if proc.poll() is not None:
                pytest.fail("local server exited early:\n" + "".join(log) + proc.stderr.read())
        else:
            pytest.fail("local server did not start:\n" + "".join(log))
        threading.Thread(target=lambda: [None for _ in proc.stderr], daemon=True).start()
        yield f"http://127.0.0.1:{port}/copyProtection"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """Two providers started apart (own state dirs and master files holding the same master), KID override on,
    and a third with it off."""
    root = tmp_path_factory.mktemp("v21")
    with (
        local_server(root / "a", KID_OVERRIDE="true") as a,
        local_server(root / "b", KID_OVERRIDE="true") as b,
        local_server(root / "c") as c,
    ):
        yield a, b, c


WINDOW = ["--start", "2026-12-01T20:00:00Z", "--period-duration", "900", "--periods", "3"]
SHAPE = ["--speke", "2.1", "--video-preset", "PRESET_VIDEO_3", "--audio-preset", "PRESET_AUDIO_2", *WINDOW]


@pytest.mark.parametrize("timing", ["index", "start-end", "index+start-end"])
@pytest.mark.parametrize("encrypted", [False, True], ids=["clear", "encrypted"])
def test_request_v21_every_timing(pair, timing, encrypted):
    extra = ["--cert", CERT, "--key", KEY] if encrypted else []
    code, out, err = _run("request", pair[2], *SHAPE, "--period-timing", timing, "--json", *_creds(*extra))
    assert code == 0, out + err
    report = json.loads(out)
    assert report["speke_version"] == "2.1" and not report["violations"]
    assert len(report["keys"]) == 3 * 5  # SD, HD, UHD, STEREO_AUDIO, MULTICHANNEL_AUDIO


def test_request_v21_with_kid_override_checked_against_the_formula(pair, tmp_path):
    master = tmp_path / "m"
    master.write_text(MASTER)
    args = ("request", pair[0], *SHAPE, "--period-timing", "start-end", "--kid-override")
    code, out, err = _run(*args, "--expect-master-file", str(master), *_creds())
    assert code == 0, out + err
    assert _run(*args[:-1], *_creds())[0] == 1  # an overriding provider fails the echo check


@pytest.mark.parametrize("timing", ["start-end", "index+start-end"])
def test_compare_two_independent_providers_agree(pair, timing):
    a, b, _ = pair
    code, out, err = _run(
        "compare", a, b, *SHAPE, "--period-timing", timing, "--kid-override", "--cert", CERT, "--key", KEY,
        "--region-a", REGION, "--region-b", REGION, "--json", *_creds()[:2], *_creds()[2:4], "--no-color",
    )  # fmt: skip
    assert code == 0, out + err
    result = json.loads(out)
    assert result["agree"] and result["answers_valid"]
    assert len(result["rows"]) == 15 and all(r["kid_agrees"] and r["key_agrees"] for r in result["rows"])
    assert all("key_a" not in r for r in result["rows"])  # keys only with --show-keys
    assert MASTER not in out


def test_compare_without_override_reports_the_difference(pair):
    a, _, c = pair
    code, out, err = _run(
        "compare", c, c, *SHAPE, "--period-timing", "start-end", "--region-a", REGION, "--region-b", REGION,
        *_creds()[:4], "--no-color",
    )  # fmt: skip
    assert code == 1, out + err
    assert "Result: DIFFER" in out and "Result: AGREE" not in out


def test_kid_command_gives_what_the_providers_answer(pair, tmp_path):
    master = tmp_path / "m"
    master.write_text(MASTER)
    code, out, _ = _run(
        "kid", "--content-id", "speke-keyprovider-check", "--video-preset", "PRESET_VIDEO_3",
        "--audio-preset", "PRESET_AUDIO_2", *WINDOW, "--key-source", "file", "--master-key-file", str(master), "--json",
    )  # fmt: skip
    assert code == 0
    kids = {(r["track_type"], r["period_id"]): r["kid"] for r in json.loads(out)}
    code, out, err = _run(
        "request", pair[0], *SHAPE, "--period-timing", "start-end", "--kid-override", "--json", *_creds()
    )
    assert code == 0, out + err
    answered = {row["kid"] for row in json.loads(out)["keys"]}
    assert answered == set(kids.values())
