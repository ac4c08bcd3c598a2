"""`speke-keyprovider request --speke 1` against `make run`'s server (real SigV4): MediaPackage v1 endpoint
shapes and MediaConvert VOD requests, checked by the independent conformance checker; --matrix covers v1."""

from __future__ import annotations

import json

import pytest

from tests.http.test_cli_request import CERT, KEY, MASTER, _creds, _run, local_server  # noqa: F401 - fixture


@pytest.mark.parametrize("endpoint", ["hls", "dash", "cmaf", "mss"])
@pytest.mark.parametrize("mode", ["--live", "--vod"])
@pytest.mark.parametrize("encrypted", [False, True], ids=["clear", "encrypted"])
def test_v1_request_per_endpoint(local_server, endpoint, mode, encrypted):  # noqa: F811
    extra = ["--cert", CERT, "--key", KEY] if encrypted else []
    code, out, err = _run("request", local_server, "--speke", "1", "--endpoint", endpoint, mode, *_creds(*extra))
    assert code == 0, out + err
    assert "SPEKE v1 check of" in out and "Result: PASS" in out


def test_v1_json_report_keys_agree_with_derive(local_server, tmp_path):  # noqa: F811
    code, out, err = _run(
        "request",
        local_server,
        "--speke",
        "1",
        "--endpoint",
        "cmaf",
        "--periods",
        "2",
        "--content-id",
        "channel-1",
        "--json",
        "--show-keys",
        *_creds("--cert", CERT, "--key", KEY),
    )
    assert code == 0, out + err
    report = json.loads(out)
    assert report["ok"] and report["speke_version"] == "1" and report["scheme"] == "cbcs"
    assert report["user_agent"].startswith("speke-keyprovider/")
    assert {entry["child"] for entries in report["signalling"].values() for entry in entries} >= {
        "PSSH",
        "ContentProtectionData",
        "ProtectionHeader",
        "URIExtXKey",
        "KeyFormat",
        "KeyFormatVersions",
    }
    master = tmp_path / "master.key"
    master.write_text(MASTER)
    kids = [k["kid"] for k in report["keys"]]
    assert len(kids) == 2
    code, derived, err = _run(
        "derive",
        "--content-id",
        "channel-1",
        "--kid",
        ",".join(kids),
        "--key-source",
        "file",
        "--master-key-file",
        str(master),
        "--show-keys",
        "--json",
    )
    assert code == 0, err
    assert [d["hex"] for d in json.loads(derived)] == [k["key_hex"] for k in report["keys"]]


def test_v1_matrix_passes(local_server):  # noqa: F811
    code, out, err = _run("request", local_server, "--matrix", "--speke", "1", *_creds("--cert", CERT, "--key", KEY))
    assert code == 0, out + err
    assert " 0 failed: PASS" in out
    lines = [line for line in out.splitlines() if line.startswith("PASS v1 ")]
    assert len(lines) == 22  # 11 endpoint shapes, live and VOD
    for shape in ("v1 hls live fairplay (cbcs)", "v1 hls vod aes128-v1", "v1 mss live playready (cenc)"):
        assert any(shape in line for line in lines), shape


def test_default_matrix_covers_both_dialects(local_server):  # noqa: F811
    code, out, err = _run("request", local_server, "--matrix", *_creds())
    assert code == 0, out + err
    assert "PASS v1 cmaf live widevine,playready,fairplay (cbcs)" in out
    assert "PASS cbcs PRESET_VIDEO_1/PRESET_AUDIO_1" in out
    assert "PASS v2.1 cbcs PRESET_VIDEO_1/PRESET_AUDIO_1" in out


def test_v1_bad_drm_for_endpoint_is_a_usage_error(local_server):  # noqa: F811
    code, _, err = _run("request", local_server, "--speke", "1", "--endpoint", "mss", "--drm", "fairplay", *_creds())
    assert code == 2 and "does not package" in err


def test_vod_with_periods_is_a_usage_error(local_server):  # noqa: F811
    code, _, err = _run("request", local_server, "--speke", "1", "--vod", "--periods", "2", *_creds())
    assert code == 2 and "VOD" in err
