"""Helpers for the infra tests: a YAML loader for CloudFormation's short-form tags (`!Ref`, `!Sub`,
`!GetAtt`, ...) and small walkers over policy documents. Needs PyYAML only."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "template.yaml"
SETTINGS_PY = REPO / "layers" / "speke_keyprovider" / "speke_keyprovider" / "settings.py"
SETTINGS_V21_PY = SETTINGS_PY.with_name("settings_v21.py")  # the SPEKE v2.1 answer settings, read by settings.py
RUNTIME_PINS = REPO / "requirements" / "runtime.txt"
LAYER_LOCK = REPO / "requirements" / "layer.lock"
LAMBDA_RUNTIME = REPO / "requirements" / "lambda-runtime.txt"
DEPLOY_GUIDE = REPO / "docs" / "deploy.md"
SAMCONFIG = REPO / "samconfig.toml"
LAYER_SOURCE = REPO / "layers" / "speke_keyprovider"
FUNCTION_SOURCE = REPO / "functions" / "key_provider"

# The short-form intrinsic tags CloudFormation accepts, and the long form each stands for.
_SCALAR_OR_LIST_TAGS = {
    "!Ref": "Ref",
    "!Condition": "Condition",
    "!Sub": "Fn::Sub",
    "!Join": "Fn::Join",
    "!Split": "Fn::Split",
    "!Select": "Fn::Select",
    "!If": "Fn::If",
    "!Equals": "Fn::Equals",
    "!Not": "Fn::Not",
    "!And": "Fn::And",
    "!Or": "Fn::Or",
    "!FindInMap": "Fn::FindInMap",
    "!Base64": "Fn::Base64",
    "!Cidr": "Fn::Cidr",
    "!ImportValue": "Fn::ImportValue",
    "!GetAZs": "Fn::GetAZs",
    "!Transform": "Fn::Transform",
    "!ToJsonString": "Fn::ToJsonString",
    "!Length": "Fn::Length",
}


class CfnLoader(yaml.SafeLoader):
    """A SafeLoader turning `!Ref X` into {"Ref": "X"}, `!GetAtt A.B` into {"Fn::GetAtt": ["A", "B"]}, ..."""


def _construct(long_name: str):
    def construct(loader: CfnLoader, node: yaml.Node) -> dict[str, Any]:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {long_name: value}

    return construct


def _construct_getatt(loader: CfnLoader, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        resource, _, attribute = loader.construct_scalar(node).partition(".")
        return {"Fn::GetAtt": [resource, attribute]}
    return {"Fn::GetAtt": loader.construct_sequence(node, deep=True)}


for _tag, _name in _SCALAR_OR_LIST_TAGS.items():
    CfnLoader.add_constructor(_tag, _construct(_name))
CfnLoader.add_constructor("!GetAtt", _construct_getatt)


def load_cfn_yaml(text: str) -> dict[str, Any]:
    return yaml.load(text, Loader=CfnLoader)  # noqa: S506 - a SafeLoader subclass


def normalise(name: str) -> str:
    """A distribution name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


def runtime_pins() -> dict[str, str]:
    """requirements/runtime.txt: {normalised name: version}; every line must be an exact pin."""
    pins = {}
    for line in RUNTIME_PINS.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^]]*\])?\s*==\s*([^\s;]+)", line)
        assert match, f"requirements/runtime.txt: not an exact pin: {line}"
        pins[normalise(match.group(1))] = match.group(3)
    return pins


def layer_lock() -> dict[str, tuple[str, list[str]]]:
    """requirements/layer.lock: {normalised name: (version, [sha256 hashes])}."""
    text = LAYER_LOCK.read_text(encoding="utf-8")
    logical = re.sub(r"\\\n", " ", "\n".join(line.split("#", 1)[0] for line in text.splitlines()))
    locked = {}
    for line in logical.splitlines():
        if not line.strip():
            continue
        match = re.fullmatch(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)((?:\s+--hash=sha256:[0-9a-f]{64})+)\s*", line)
        assert match, f"requirements/layer.lock: not a pinned, hashed requirement: {line.strip()}"
        hashes = re.findall(r"sha256:([0-9a-f]{64})", match.group(3))
        locked[normalise(match.group(1))] = (match.group(2), hashes)
    return locked


def lambda_runtime_provided() -> dict[str, set[str]]:
    """requirements/lambda-runtime.txt: {normalised distribution: its top-level module names}."""
    provided = {}
    for line in LAMBDA_RUNTIME.read_text(encoding="utf-8").splitlines():
        fields = line.split("#", 1)[0].split()
        if fields:
            provided[normalise(fields[0])] = set(fields[1:]) or {fields[0]}
    return provided


def env_names_read_by_settings() -> set[str]:
    """Every environment variable name settings.py mentions as a string literal (env.get("X"), _int(env, "X"),
    the required-variable table)."""
    text = SETTINGS_PY.read_text(encoding="utf-8") + SETTINGS_V21_PY.read_text(encoding="utf-8")
    return set(re.findall(r'"([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)"', text))


def walk_statements(document: Any) -> Iterator[dict[str, Any]]:
    """The statements of a policy document, looking through Fn::If branches."""
    statements = document.get("Statement", []) if isinstance(document, dict) else []
    if isinstance(statements, dict):
        statements = [statements]
    for statement in statements:
        yield from _unwrap_if(statement)


def _unwrap_if(value: Any) -> Iterator[Any]:
    if isinstance(value, dict) and set(value) == {"Fn::If"}:
        _, when_true, when_false = value["Fn::If"]
        yield from _unwrap_if(when_true)
        yield from _unwrap_if(when_false)
    elif isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"] == "AWS::NoValue":
        return
    else:
        yield value


def unwrap_if(value: Any) -> list[Any]:
    return list(_unwrap_if(value))


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


# --- conditions (key delivery and every other conditional resource) -------------------------------------------


def condition_values(template: dict[str, Any], parameters: dict[str, str] | None = None) -> dict[str, bool]:
    """Every condition of ``template`` evaluated for ``parameters`` (defaults for the rest)."""
    values = {name: str(spec.get("Default", "")) for name, spec in template.get("Parameters", {}).items()}
    values.update(parameters or {})
    conditions = template.get("Conditions", {})
    done: dict[str, bool] = {}

    def evaluate(node: Any) -> Any:
        if isinstance(node, dict) and len(node) == 1:
            ((fn, arg),) = node.items()
            if fn == "Ref":
                return values.get(arg, arg)
            if fn == "Condition":
                return condition(arg)
            if fn == "Fn::Equals":
                return str(evaluate(arg[0])) == str(evaluate(arg[1]))
            if fn == "Fn::Not":
                return not evaluate(arg[0])
            if fn == "Fn::And":
                return all(evaluate(a) for a in arg)
            if fn == "Fn::Or":
                return any(evaluate(a) for a in arg)
        return node

    def condition(name: str) -> bool:
        if name not in done:
            done[name] = bool(evaluate(conditions[name]))
        return done[name]

    return {name: condition(name) for name in conditions}


def active_resources(template: dict[str, Any], parameters: dict[str, str] | None = None) -> dict[str, Any]:
    """The resources CloudFormation would create for ``parameters``."""
    values = condition_values(template, parameters)
    return {lid: r for lid, r in template["Resources"].items() if values.get(r.get("Condition", ""), True)}
