"""A short run of the load test (scripts/load_test.py): 4 clients for 1 s against the `make run` server
on loopback, mixed valid (clear + encrypted) and hostile traffic. Every valid answer must decrypt to the
derived keys, every hostile one must be a 4xx, and the server's log lines must show no key material."""

from __future__ import annotations

import base64
import importlib.util
import sys

import pytest

from tests.conftest import MASTER_KEY, REPO


def _load_test_module():
    spec = importlib.util.spec_from_file_location("speke_load_test", REPO / "scripts" / "load_test.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["speke_load_test"] = module
    spec.loader.exec_module(module)
    return module


load_test = _load_test_module()


def test_short_load_run_is_clean():
    report = load_test.run(duration=1, clients=4, per_shape=1)
    print(load_test.render(report))
    assert report["ok"], load_test.render(report)
    assert report["valid"]["errors"] == 0
    assert report["valid"]["clear"] > 0 and report["valid"]["encrypted"] > 0
    assert report["valid"]["answers_checked"] == report["valid"]["requests"]
    assert report["hostile"]["requests"] > 0 and report["hostile"]["unexpected"] == 0
    assert report["server"] == {"5xx": 0, "tracebacks": 0, "key_material_in_output": [], "stuck_clients": 0}


def test_the_leak_scanner_sees_every_form():
    key = bytes(range(16))
    for text in (
        key.hex(),
        key.hex().upper(),
        base64.b64encode(key).decode(),
        base64.urlsafe_b64encode(key).decode().rstrip("="),
        MASTER_KEY.decode(),
    ):
        assert load_test.leaked(f'{{"message": "x", "v": "{text}"}}', [key, MASTER_KEY])
    assert load_test.leaked('{"kid": "0f083e4e-b831-4a3d-917e-ce78076e54aa"}', [key]) == []


def test_the_load_test_refuses_unbounded_runs():
    with pytest.raises(ValueError):
        load_test.run(duration=0, clients=4)
    with pytest.raises(ValueError):
        load_test.run(duration=5, clients=1000)
