"""Who may import whom, read from the source (no import side effects): the server package never imports the
workstation package; the client (the encryptor's side, the provider's independent oracle) imports nothing of
the project outside itself, relative imports included."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SERVER = REPO / "layers" / "speke_keyprovider" / "speke_keyprovider"
TOOLS = REPO / "tools" / "speke_keyprovider_tools"
CLIENT = TOOLS / "client"
CLIENT_THIRD_PARTY = {"cryptography", "defusedxml"}


def _package_parts(path: Path) -> tuple[str, ...]:
    """The dotted package of a module file under layers/speke_keyprovider or tools."""
    for root in (REPO / "layers" / "speke_keyprovider", REPO / "tools"):
        if root in path.parents:
            return path.relative_to(root).with_suffix("").parts[:-1]
    raise AssertionError(path)


def resolved_imports(path: Path, source: str | None = None) -> list[tuple[str, int]]:
    """(absolute module name, line) of every import of ``path``, relative ones resolved against its package."""
    package = _package_parts(path)
    out = []
    for node in ast.walk(ast.parse(source if source is not None else path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                out.append((".".join((*base, node.module) if node.module else base), node.lineno))
            else:
                out.append((node.module or "", node.lineno))
    return out


def _modules(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)


@pytest.mark.parametrize("path", _modules(SERVER), ids=lambda p: str(p.relative_to(SERVER)))
def test_the_server_package_never_imports_the_workstation_package(path):
    bad = [f"{name} (line {line})" for name, line in resolved_imports(path) if name.split(".")[0] == TOOLS.name]
    assert not bad, f"{path.relative_to(REPO)} imports the workstation package: {bad}"


@pytest.mark.parametrize("path", _modules(CLIENT), ids=lambda p: str(p.relative_to(CLIENT)))
def test_the_client_imports_only_itself_the_stdlib_cryptography_and_defusedxml(path):
    bad = []
    for name, line in resolved_imports(path):
        top = name.split(".")[0]
        if name == "speke_keyprovider_tools.client" or name.startswith("speke_keyprovider_tools.client."):
            continue
        if top in sys.stdlib_module_names or top == "__future__" or top in CLIENT_THIRD_PARTY:
            continue
        bad.append(f"{name} (line {line})")
    assert not bad, f"{path.relative_to(REPO)} reaches outside the client: {bad}"


def test_the_resolver_sees_relative_imports_that_leave_the_client():
    """The checks above can fail: a relative import climbing out of client/ resolves to the tools package."""
    source = "from ...cli import main\nfrom ..request_builder import WIDEVINE\nfrom . import base\n"
    resolved = [name for name, _ in resolved_imports(CLIENT / "checks" / "probe.py", source)]
    assert resolved == [
        "speke_keyprovider_tools.cli",
        "speke_keyprovider_tools.client.request_builder",
        "speke_keyprovider_tools.client.checks",
    ]


@pytest.mark.parametrize("path", _modules(SERVER), ids=lambda p: str(p.relative_to(SERVER)))
def test_aws_sdks_and_powertools_only_in_the_aws_adapter(path):
    """The server package is a plain library: boto3/botocore and Powertools (its parameters cache) only in
    ``aws_key_sources``; the handlers in functions/ hold the rest of Powertools."""
    if path.name == "aws_key_sources.py":
        return
    bad = [
        f"{name} (line {line})"
        for name, line in resolved_imports(path)
        if name.split(".")[0] in ("boto3", "botocore", "aws_lambda_powertools")
    ]
    assert not bad, f"{path.relative_to(REPO)} imports an AWS SDK or Powertools: {bad}"
