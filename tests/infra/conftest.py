"""Fixtures for the infra tests: template.yaml parsed with CloudFormation's short-form tags, the template as
the SAM transform expands it (when aws-sam-translator is installed, as in .venv-infra), and the `sam build`
output (only when scripts/check_infra.sh points SPEKE_INFRA_BUILD_DIR at it).

The template tests need PyYAML only, so they run in the app suite too. scripts/check_infra.sh runs this folder
in .venv-infra with --confcutdir, so that tests/conftest.py (which imports the library) is not loaded there.
"""

from __future__ import annotations

import copy
import os
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
# The test modules import infra_helpers from this folder, whatever pytest's import mode.
if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    pytest.importorskip("yaml")
    from infra_helpers import TEMPLATE, load_cfn_yaml

    return load_cfn_yaml(TEMPLATE.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def resources(template: dict[str, Any]) -> dict[str, Any]:
    return template["Resources"]


@pytest.fixture(scope="session")
def sam_transform(template: dict[str, Any]):
    """Expand the SAM template with aws-sam-translator (in .venv-infra only) for the given parameters."""
    translator = pytest.importorskip("samtranslator.translator.transform")
    exceptions = pytest.importorskip("samtranslator.public.exceptions")

    class NoManagedPolicies:
        def load(self) -> dict[str, str]:
            return {}

    def expand(parameters: dict[str, str] | None = None) -> dict[str, Any]:
        source = copy.deepcopy(template)
        for resource in source["Resources"].values():  # as `sam validate` does: code locations are not read here
            props = resource.get("Properties", {})
            for key in ("CodeUri", "ContentUri"):
                if key in props:
                    props[key] = "s3://bucket/key"
        saved = os.environ.get("AWS_DEFAULT_REGION")
        os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
        try:
            return translator.transform(source, dict(parameters or {}), NoManagedPolicies())
        except exceptions.InvalidDocumentException as error:  # pragma: no cover - shows why
            raise AssertionError("; ".join(cause.message for cause in error.causes)) from error
        finally:
            if saved is None:
                os.environ.pop("AWS_DEFAULT_REGION", None)
            else:
                os.environ["AWS_DEFAULT_REGION"] = saved

    return expand


@pytest.fixture(scope="session")
def build_dir() -> Path:
    """The `sam build` output; the artifact tests run only when check_infra.sh says where it is."""
    where = os.environ.get("SPEKE_INFRA_BUILD_DIR")
    if not where:
        pytest.skip("no sam build output named (SPEKE_INFRA_BUILD_DIR is set by scripts/check_infra.sh)")
    path = Path(where)
    if not path.is_absolute():
        path = REPO / path
    if not (path / "template.yaml").is_file():
        pytest.fail(f"SPEKE_INFRA_BUILD_DIR={where} holds no built template.yaml: did sam build run?")
    return path


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """scripts/check_infra.sh runs this folder with --confcutdir (tests/conftest.py, which gives every test its
    tier marker, is not loaded there) and `-m infra`: mark the tests here, or none would be selected."""
    for item in items:
        if item.get_closest_marker("infra") is None:
            item.add_marker(pytest.mark.infra)
