"""What `sam build` produced (.aws-sam/build, named by SPEKE_INFRA_BUILD_DIR): an arm64 layer with the library
and its pinned dependencies, and a function package with the handler and nothing else.

The ELF check reads the header itself (e_machine 183 = EM_AARCH64), so no `file` command is needed."""

from __future__ import annotations

import ast
import importlib.util
import re
import struct
import sys
from pathlib import Path

import pytest

pytest.importorskip("yaml")

from infra_helpers import FUNCTION_SOURCE, LAYER_SOURCE, RUNTIME_PINS, load_cfn_yaml  # noqa: E402

EM_AARCH64 = 183
EM_X86_64 = 62
# Left out of the layer on purpose (layers/speke_keyprovider/Makefile LAYER_EXCLUDE): the Lambda python3.13
# runtime ships the AWS SDK.
RUNTIME_PROVIDED = {"boto3", "botocore", "s3transfer"}
MAX_LAYER_MB = 60


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins() -> dict[str, str]:
    pins = {}
    for line in RUNTIME_PINS.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^]]*\])?\s*==\s*([^\s;]+)", line)
        assert match, f"requirements/runtime.txt: not an exact pin: {line}"
        pins[_normalise(match.group(1))] = match.group(3)
    return pins


def _elf_machine(path: Path) -> tuple[int, int, int] | None:
    """(EI_CLASS, EI_DATA, e_machine) of an ELF file, None if not ELF."""
    with path.open("rb") as handle:
        header = handle.read(20)
    if len(header) < 20 or header[:4] != b"\x7fELF":
        return None
    ei_class, ei_data = header[4], header[5]
    (machine,) = struct.unpack("<H" if ei_data == 1 else ">H", header[18:20])
    return ei_class, ei_data, machine


@pytest.fixture(scope="module")
def layer(build_dir: Path) -> Path:
    path = build_dir / "SpekeLibraryLayer" / "python"
    assert path.is_dir(), f"no layer at {path}"
    return path


@pytest.fixture(scope="module")
def function(build_dir: Path) -> Path:
    path = build_dir / "KeyProviderFunction"
    assert path.is_dir(), f"no function package at {path}"
    return path


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_built_template_points_at_arm64_artifacts(build_dir: Path):
    built = load_cfn_yaml((build_dir / "template.yaml").read_text(encoding="utf-8"))
    resources = built["Resources"]
    assert resources["SpekeLibraryLayer"]["Properties"]["ContentUri"] == "SpekeLibraryLayer"
    assert resources["SpekeLibraryLayer"]["Properties"]["CompatibleArchitectures"] == ["arm64"]
    assert resources["KeyProviderFunction"]["Properties"]["CodeUri"] == "KeyProviderFunction"
    assert built["Globals"]["Function"]["Architectures"] == ["arm64"]
    assert built["Globals"]["Function"]["Runtime"] == "python3.13"


def test_layer_native_libraries_are_aarch64(layer: Path):
    elves = {}
    for path in _files(layer):
        machine = _elf_machine(path)
        if machine is not None:
            elves[path.relative_to(layer).as_posix()] = machine
        else:
            assert not path.name.endswith(".so"), f"{path} is named .so but is not ELF"
    assert "cryptography/hazmat/bindings/_rust.abi3.so" in elves
    assert any(name.startswith("_cffi_backend.cpython-313-") for name in elves)
    for name, (ei_class, ei_data, machine) in elves.items():
        assert machine == EM_AARCH64, f"{name}: e_machine {machine} (x86_64 is {EM_X86_64}), not aarch64"
        assert (ei_class, ei_data) == (2, 1), f"{name}: not 64-bit little-endian"
        assert "x86_64" not in name and "amd64" not in name, name
        if ".cpython-" in name:
            assert ".cpython-313-aarch64-linux-gnu" in name, f"{name}: built for another interpreter"


def test_layer_holds_the_server_package_unchanged(layer: Path):
    """The layer build copies the server package folder as it is: every source file, byte for byte."""
    source_root = LAYER_SOURCE / "speke_keyprovider"
    wanted = {
        p.relative_to(source_root).as_posix()
        for p in source_root.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    shipped_root = layer / "speke_keyprovider"
    shipped = {
        p.relative_to(shipped_root).as_posix()
        for p in shipped_root.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert "__init__.py" in shipped
    assert shipped == wanted
    for name in wanted:
        assert (shipped_root / name).read_bytes() == (source_root / name).read_bytes(), name
    assert not (layer / "speke_keyprovider_tools").exists()
    assert not [p for p in shipped_root.rglob("tests") if p.is_dir()]


def test_layer_bytecode_is_fresh_cpython_313(layer: Path):
    """The Makefile precompiles with CPython 3.13 (unchecked-hash .pyc: /opt is read-only on Lambda, so
    otherwise every cold start compiles the sources again); nothing compiled by another interpreter ships."""
    pycs = [p for p in layer.rglob("*.pyc")]
    for pyc in pycs:
        assert pyc.parent.name == "__pycache__", pyc
        assert pyc.name.endswith(".cpython-313.pyc"), f"{pyc}: not CPython 3.13 bytecode"
        header = pyc.read_bytes()[:8]
        (flags,) = struct.unpack("<I", header[4:8])
        assert flags == 0b01, f"{pyc}: not unchecked-hash bytecode (flags {flags})"
        if sys.version_info[:2] == (3, 13):
            assert header[:4] == importlib.util.MAGIC_NUMBER, pyc


def test_layer_holds_the_pinned_dependencies_and_not_the_runtime_sdk(layer: Path):
    installed = {}
    for meta in layer.glob("*.dist-info/METADATA"):
        fields = dict(
            line.split(": ", 1) for line in meta.read_text(encoding="utf-8").splitlines()[:20] if ": " in line
        )
        installed[_normalise(fields["Name"])] = fields["Version"]
    pins = _pins()
    assert pins, "no pins read"
    for name, version in pins.items():
        if name in RUNTIME_PROVIDED:
            assert name not in installed, f"{name} is in the layer; the Lambda runtime provides it"
            assert not (layer / name.replace("-", "_")).exists(), name
        else:
            assert installed.get(name) == version, f"{name}: layer has {installed.get(name)}, pinned {version}"


def test_layer_has_the_xray_sdk_that_the_optional_tracer_needs(layer: Path, template):
    """XrayTracing=true makes app.py build a Powertools Tracer, which imports aws_xray_sdk (the `tracer`
    extra): the Lambda runtime does not ship it, so the layer must, as long as the template offers tracing."""
    if "XrayTracing" not in template["Parameters"]:
        pytest.skip("the template offers no X-Ray tracing")
    assert (layer / "aws_xray_sdk").is_dir(), (
        "aws_xray_sdk is not in the layer: pin aws-xray-sdk in requirements/runtime.txt, or XrayTracing=true "
        "fails every cold start"
    )


def test_layer_size(layer: Path):
    size = sum(p.stat().st_size for p in _files(layer))
    assert size < MAX_LAYER_MB * 1024 * 1024, f"layer is {size / 1e6:.1f} MB unzipped"


def test_function_package_holds_the_handler_and_nothing_else(function: Path):
    shipped = {p.relative_to(function).as_posix() for p in _files(function)}
    source = {
        p.relative_to(FUNCTION_SOURCE).as_posix() for p in FUNCTION_SOURCE.rglob("*.py") if "__pycache__" not in p.parts
    }
    assert "app.py" in shipped
    assert shipped == source, f"unexpected in the function package: {sorted(shipped - source)}"
    assert not list(function.rglob("*.dist-info")) and not list(function.rglob("*.so"))


def _imported_top_levels(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_every_import_resolves_in_the_layer_the_stdlib_or_the_runtime(layer: Path, function: Path):
    available = {p.name for p in layer.iterdir() if p.is_dir() and not p.name.endswith(".dist-info")}
    available |= {p.name.split(".")[0] for p in layer.iterdir() if p.is_file() and p.suffix in (".py", ".so")}
    available |= set(sys.stdlib_module_names) | RUNTIME_PROVIDED
    sources = [function / "app.py", *sorted((layer / "speke_keyprovider").rglob("*.py"))]
    for source in sources:
        missing = _imported_top_levels(source) - available
        assert not missing, f"{source.name} imports {sorted(missing)}, which Lambda would not find"
