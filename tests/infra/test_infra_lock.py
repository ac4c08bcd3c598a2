"""The layer is locked: requirements/layer.lock names every package the layer ships, with its version and the
sha256 of its cp313 manylinux aarch64 wheel; it follows requirements/runtime.txt; it leaves out what the Lambda
runtime ships (requirements/lambda-runtime.txt); and the layer build installs exactly it. The checks on the
built layer itself are in test_infra_build.py."""

from __future__ import annotations

import re

import pytest

pytest.importorskip("yaml")

from infra_helpers import (  # noqa: E402
    LAYER_SOURCE,
    lambda_runtime_provided,
    layer_lock,
    runtime_pins,
)


def test_every_locked_package_has_an_exact_version_and_one_wheel_hash():
    locked = layer_lock()
    assert locked, "requirements/layer.lock is empty"
    for name, (version, hashes) in locked.items():
        assert re.fullmatch(r"[0-9][0-9A-Za-z.+!-]*", version), f"{name}: {version}"
        assert len(hashes) == 1, f"{name}: one wheel (cp313 manylinux aarch64) means one hash, got {len(hashes)}"


def test_lock_holds_every_runtime_pin_at_its_version_but_what_the_runtime_ships():
    locked = layer_lock()
    provided = lambda_runtime_provided()
    for name, version in runtime_pins().items():
        if name in provided:
            assert name not in locked, f"{name} is in the lock, but the Lambda runtime ships it"
        else:
            assert name in locked, f"{name} is pinned in runtime.txt but not locked: make lock-layer"
            assert locked[name][0] == version, f"{name}: locked {locked[name][0]}, pinned {version}: make lock-layer"


def test_lock_holds_nothing_the_runtime_ships():
    assert not set(layer_lock()) & set(lambda_runtime_provided())


def test_the_entitlement_token_library_is_locked():
    """PyJWT (entitlement tokens of the key delivery endpoints) ships in the layer, at its pin."""
    assert layer_lock()["pyjwt"][0] == runtime_pins()["pyjwt"]
    assert runtime_pins()["pyjwt"].startswith("2.")


def test_layer_build_installs_exactly_the_lock():
    makefile = (LAYER_SOURCE / "Makefile").read_text(encoding="utf-8")
    (install,) = [
        block
        for block in re.split(r"(?<!\\)\n", makefile)
        if "pip install" in block and not block.lstrip().startswith("#")
    ]
    assert "--require-hashes" in install and "--no-deps" in install, install
    assert '-r "$(LOCK)"' in install, install
    assert "--platform manylinux2014_aarch64" in makefile and "--python-version 3.13" in makefile
    assert "--only-binary=:all:" in makefile
    assert re.search(r"^LOCK \?= .*requirements/layer\.lock\)$", makefile, re.M)
    assert "runtime.txt" not in install
