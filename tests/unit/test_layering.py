"""Package layering, read from the source (imports are found with ``ast``, nothing is imported):

- the server package (``speke_keyprovider``, shipped whole in the Lambda layer) never imports the workstation
  package (``speke_keyprovider_tools``);
- the encryptor side (``speke_keyprovider_tools.client``: request builder, response reader, conformance checker)
  imports neither the server package nor the rest of the workstation package, so it stays an independent
  oracle of the provider;
- AWS SDKs and Powertools (its parameters cache) only in ``aws_key_sources``, the AWS adapter: the rest of the
  server package is a plain library.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO

SERVER = REPO / "layers" / "speke_keyprovider" / "speke_keyprovider"
TOOLS = REPO / "tools" / "speke_keyprovider_tools"
CLIENT = TOOLS / "client"


def _module_name(path: Path, package_root: Path, package: str) -> str:
    parts = list(path.relative_to(package_root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([package, *parts])


def imports_of(path: Path, package_root: Path, package: str) -> set[str]:
    """Absolute names of every module ``path`` imports (relative imports resolved), at any depth of the file."""
    module = _module_name(path, package_root, package)
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base if is_package else base[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


def _sources(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)


def _top(name: str) -> str:
    return name.split(".", 1)[0]


@pytest.mark.parametrize("path", _sources(SERVER), ids=lambda p: str(p.relative_to(SERVER)))
def test_the_server_package_never_imports_the_workstation_package(path: Path):
    imported = imports_of(path, SERVER, "speke_keyprovider")
    assert not {name for name in imported if _top(name) == "speke_keyprovider_tools"}
    if path.name != "aws_key_sources.py":
        assert not {name for name in imported if _top(name) in ("boto3", "botocore", "aws_lambda_powertools")}


@pytest.mark.parametrize("path", _sources(CLIENT), ids=lambda p: str(p.relative_to(CLIENT)))
def test_the_client_imports_neither_package(path: Path):
    imported = imports_of(path, TOOLS, "speke_keyprovider_tools")
    outside = {
        name
        for name in imported
        if _top(name) == "speke_keyprovider"
        or (_top(name) == "speke_keyprovider_tools" and not name.startswith("speke_keyprovider_tools.client"))
    }
    assert not outside


def test_the_checks_see_relative_and_nested_imports(tmp_path: Path):
    """The scanner itself: relative imports resolve, and imports inside functions are found."""
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    source = package / "sub" / "mod.py"
    source.write_text("from .. import tools\nfrom ..x import y\n\ndef f():\n    import speke_keyprovider_tools.cli\n")
    found = imports_of(source, package, "pkg")
    assert {"pkg.tools", "pkg.x", "pkg.x.y", "speke_keyprovider_tools.cli"} <= found
    init = package / "sub" / "__init__.py"
    init.write_text("from .mod import f\n")
    assert "pkg.sub.mod" in imports_of(init, package, "pkg")
