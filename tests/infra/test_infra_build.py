"""What `sam build` produced (.aws-sam/build, named by SPEKE_INFRA_BUILD_DIR): an arm64 layer with the library
and exactly the locked dependencies (requirements/layer.lock), shadowing nothing the Lambda runtime ships, and a
function package with the handler and nothing else.

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

from infra_helpers import (  # noqa: E402
    DEPLOY_GUIDE,
    FUNCTION_SOURCE,
    LAYER_SOURCE,
    lambda_runtime_provided,
    layer_lock,
    load_cfn_yaml,
    normalise,
)

EM_AARCH64 = 183
EM_X86_64 = 62
# Packages of requirements/lambda-runtime.txt the layer ships anyway, on purpose, each with its reason
# (they would shadow the runtime's copy). None today.
DELIBERATE_SHADOWS: dict[str, str] = {}
# The Lambda python3.13 runtime's marker environment (arm64), for the locked packages' Requires-Dist.
LAMBDA_MARKERS = {
    "implementation_name": "cpython",
    "implementation_version": "3.13.0",
    "os_name": "posix",
    "platform_machine": "aarch64",
    "platform_python_implementation": "CPython",
    "platform_system": "Linux",
    "python_full_version": "3.13.0",
    "python_version": "3.13",
    "sys_platform": "linux",
    "extra": "",
}
LAMBDA_LAYER_LIMIT_MB = 250  # unzipped, function and all layers together


def _runtime_modules() -> set[str]:
    return {module for modules in lambda_runtime_provided().values() for module in modules}


def _dist_infos(layer: Path) -> dict[str, tuple[str, list[str]]]:
    """{normalised name: (version, Requires-Dist lines)} of every distribution installed in the layer."""
    found = {}
    for meta in layer.glob("*.dist-info/METADATA"):
        name = version = None
        requires = []
        for line in meta.read_text(encoding="utf-8").splitlines():
            if not line:
                break  # the headers end at the first blank line
            key, _, value = line.partition(": ")
            if key == "Name":
                name = value
            elif key == "Version":
                version = value
            elif key == "Requires-Dist":
                requires.append(value)
        assert name and version, meta
        found[normalise(name)] = (version, requires)
    return found


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


def test_layer_holds_exactly_the_locked_set(layer: Path):
    installed = {name: version for name, (version, _) in _dist_infos(layer).items()}
    locked = {name: version for name, (version, _) in layer_lock().items()}
    assert installed == locked, (
        f"not locked: {sorted(set(installed) - set(locked))}; locked but missing: {sorted(set(locked) - set(installed))}; "
        f"other versions: {sorted(n for n in set(installed) & set(locked) if installed[n] != locked[n])}"
    )


def test_layer_shadows_nothing_the_runtime_ships(layer: Path):
    """Layers come before /var/runtime on sys.path: a copy of botocore's urllib3 (say) in the layer would be
    the one the runtime's botocore imports."""
    top_level = {p.name.split(".")[0] for p in layer.iterdir() if not p.name.endswith(".dist-info")}
    shadowing = top_level & _runtime_modules()
    assert shadowing <= set(DELIBERATE_SHADOWS), f"the layer shadows the runtime's {sorted(shadowing)}"
    installed = set(_dist_infos(layer))
    assert installed & set(lambda_runtime_provided()) <= set(DELIBERATE_SHADOWS)


def test_locked_set_needs_nothing_else_on_lambda(layer: Path):
    """Every Requires-Dist of every installed package (markers evaluated for the arm64 python3.13 runtime) is
    met by the layer at a version its specifier accepts, or by the runtime's own SDK."""
    markers = pytest.importorskip("packaging.markers")
    requirements = pytest.importorskip("packaging.requirements")
    installed = _dist_infos(layer)
    provided = set(lambda_runtime_provided())
    for name, (_, requires) in installed.items():
        for text in requires:
            requirement = requirements.Requirement(text)
            if requirement.marker is not None and not markers.Marker(str(requirement.marker)).evaluate(LAMBDA_MARKERS):
                continue
            dependency = normalise(requirement.name)
            if dependency in provided:
                continue
            assert dependency in installed, f"{name} needs {text}, which is neither in the layer nor in the runtime"
            version = installed[dependency][0]
            assert requirement.specifier.contains(version, prereleases=True), (
                f"{name} needs {text}, layer has {version}"
            )


def test_layer_has_the_xray_sdk_that_the_optional_tracer_needs(layer: Path, template):
    """XrayTracing=true makes app.py build a Powertools Tracer, which imports aws_xray_sdk (the `tracer`
    extra): the Lambda runtime does not ship it, so the layer must, as long as the template offers tracing."""
    if "XrayTracing" not in template["Parameters"]:
        pytest.skip("the template offers no X-Ray tracing")
    assert (layer / "aws_xray_sdk").is_dir(), (
        "aws_xray_sdk is not in the layer: pin aws-xray-sdk in requirements/runtime.txt, or XrayTracing=true "
        "fails every cold start"
    )


def _layer_megabytes(layer: Path) -> tuple[float, float]:
    """(unzipped, zipped) size of the layer in MB (10^6 bytes), zipped as sam deploy uploads it (deflate)."""
    import io
    import zipfile

    files = _files(layer)
    unzipped = sum(p.stat().st_size for p in files)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            archive.write(path, (Path("python") / path.relative_to(layer)).as_posix())
    return unzipped / 1e6, buffer.tell() / 1e6


def test_layer_size_is_what_the_deploy_guide_says(layer: Path):
    """The guide's figures ("... N MB unzipped, M MB zipped ...") are measured here, within 15 %."""
    unzipped, zipped = _layer_megabytes(layer)
    print(f"layer size: {unzipped:.1f} MB unzipped, {zipped:.1f} MB zipped")
    assert unzipped < LAMBDA_LAYER_LIMIT_MB
    text = DEPLOY_GUIDE.read_text(encoding="utf-8")
    match = re.search(r"layer is (?:about )?([0-9.]+) MB unzipped(?: and|,) ([0-9.]+) MB zipped", text)
    assert match, "docs/deploy.md states no layer size as 'the layer is N MB unzipped, M MB zipped'"
    documented_unzipped, documented_zipped = float(match.group(1)), float(match.group(2))
    assert abs(unzipped - documented_unzipped) <= 0.15 * documented_unzipped, (
        f"docs/deploy.md says {documented_unzipped} MB unzipped; measured {unzipped:.1f} MB"
    )
    assert abs(zipped - documented_zipped) <= 0.15 * documented_zipped, (
        f"docs/deploy.md says {documented_zipped} MB zipped; measured {zipped:.1f} MB"
    )


def test_function_package_holds_the_handler_and_nothing_else(function: Path):
    shipped = {p.relative_to(function).as_posix() for p in _files(function)}
    source = {
        p.relative_to(FUNCTION_SOURCE).as_posix() for p in FUNCTION_SOURCE.rglob("*.py") if "__pycache__" not in p.parts
    }
    assert "app.py" in shipped
    assert shipped == source, f"unexpected in the function package: {sorted(shipped - source)}"
    assert not list(function.rglob("*.dist-info")) and not list(function.rglob("*.so"))


def test_account_role_function_holds_its_handler_and_needs_only_the_runtime(build_dir: Path):
    """The custom resource of CreateApiGatewayLoggingRole=auto: app.py alone, importing only the standard
    library and the runtime's SDK (it has no layer)."""
    package = build_dir / "ApiGatewayAccountFunction"
    assert {p.relative_to(package).as_posix() for p in _files(package)} == {"app.py"}
    missing = _imported_top_levels(package / "app.py") - set(sys.stdlib_module_names) - _runtime_modules()
    assert not missing, f"the account-role function imports {sorted(missing)}, which Lambda would not find"


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
    available |= set(sys.stdlib_module_names) | _runtime_modules()
    sources = [function / "app.py", *sorted((layer / "speke_keyprovider").rglob("*.py"))]
    for source in sources:
        missing = _imported_top_levels(source) - available
        assert not missing, f"{source.name} imports {sorted(missing)}, which Lambda would not find"
