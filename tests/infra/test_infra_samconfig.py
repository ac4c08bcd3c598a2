"""samconfig.toml and docs/deploy.md agree, so that following the guide step by step never leaves a setting that
the next plain `sam deploy` changes back: settings are set in samconfig.toml only, the file carries no empty
or placeholder value for a security setting, and every command of the guide is copy-pasteable (a region on
every AWS call). Where aws-sam-cli is installed (.venv-infra), SAM's own parameter merge shows what a plain
redeploy sends."""

from __future__ import annotations

import re
import shlex
import tomllib
from typing import Any

import pytest

pytest.importorskip("yaml")

from infra_helpers import DEPLOY_GUIDE, REPO, SAMCONFIG  # noqa: E402

# Settings that decide who gets keys, or who hears about a problem: a plain redeploy must never change them.
SECURITY_SETTINGS = {"TrustedCertSha256", "AllowedCallerArns", "AlarmEmail", "RequireEncryptedKeys", "KeySource"}
PLACEHOLDERS = re.compile(r"^(0+|(?:[0:]+)|.*@example\.(com|org|net)|<.*>|changeme|todo|)$", re.I)


def _config() -> dict[str, Any]:
    return tomllib.loads(SAMCONFIG.read_text(encoding="utf-8"))


def _overrides(env: str, command: str = "deploy") -> dict[str, str]:
    items = _config()[env].get(command, {}).get("parameters", {}).get("parameter_overrides", [])
    parsed = {}
    for item in items:
        name, _, value = item.partition("=")
        parsed[name] = value[1:-1] if value.startswith('"') and value.endswith('"') else value
    return parsed


def _guide() -> str:
    return DEPLOY_GUIDE.read_text(encoding="utf-8")


def _code_blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", _guide(), re.S)


def _commands() -> list[str]:
    """Every command line of the guide's bash blocks, continuation lines joined, comments dropped."""
    commands = []
    for block in _code_blocks("bash"):
        joined = re.sub(r"\\\n\s*", " ", block)
        for line in joined.splitlines():
            line = line.split(" #", 1)[0].strip()
            if line and not line.startswith("#"):
                commands.extend(part.strip() for part in re.split(r"&&|;", line) if part.strip())
    return commands


@pytest.mark.parametrize("env", ["default", "prod"])
def test_samconfig_sets_no_empty_or_placeholder_security_value(env):
    for name, value in _overrides(env).items():
        if name in SECURITY_SETTINGS:
            assert not PLACEHOLDERS.match(value), f"[{env}] {name}={value!r} would be sent on every deploy"
        assert value != "", f"[{env}] {name} is empty: a plain deploy would send the empty value every time"


@pytest.mark.parametrize("env", ["default", "prod"])
def test_samconfig_leaves_the_safe_defaults_alone(env, template):
    overrides = _overrides(env)
    retention = int(overrides.get("LogRetentionDays", template["Parameters"]["LogRetentionDays"]["Default"]))
    assert retention >= 365, f"[{env}] logs kept {retention} days: a common organisation control requires 365"
    assert overrides.get("RequireEncryptedKeys", "true") == "true"
    # a fresh account has no API Gateway logging role: only auto (the default) makes the first deploy work
    assert overrides.get("CreateApiGatewayLoggingRole", "auto") == "auto", env
    assert overrides["KeySource"] in ("secretsmanager", "kms"), "the key home is chosen once: name it"


def test_plain_redeploy_keeps_every_setting_not_in_samconfig(template):
    """SAM sends UsePreviousValue for every parameter samconfig does not list: what the guide sets there stays
    set, and nothing else is touched."""
    deploy_context = pytest.importorskip("samcli.commands.deploy.deploy_context")
    for env in ("default", "prod"):
        overrides = _overrides(env)
        sent = {p["ParameterKey"]: p for p in deploy_context.DeployContext.merge_parameters(template, overrides)}
        for name in template["Parameters"]:
            if name in overrides:
                assert sent[name] == {"ParameterKey": name, "ParameterValue": overrides[name]}
            else:
                assert sent[name] == {"ParameterKey": name, "UsePreviousValue": True}, f"[{env}] {name}"


def test_guide_never_sets_a_parameter_on_the_command_line():
    """`sam deploy --parameter-overrides` replaces samconfig's list for one run; the next plain deploy sends the
    file's values again. The guide sets everything in samconfig.toml instead."""
    for command in _commands():
        assert "--parameter-overrides" not in command, command
        assert not command.startswith("sam deploy --guided"), "--guided rewrites samconfig.toml's whole list"


def test_guide_sets_the_fingerprint_in_samconfig_with_a_snippet_that_parses(template):
    snippets = [block for block in _code_blocks("toml") if "TrustedCertSha256" in block]
    assert snippets, "the guide shows no samconfig.toml snippet for TrustedCertSha256"
    for snippet in snippets:
        parsed = tomllib.loads(snippet)
        overrides = parsed["default"]["deploy"]["parameters"]["parameter_overrides"]
        names = {item.partition("=")[0] for item in overrides}
        assert names <= set(template["Parameters"]), names - set(template["Parameters"])
        # the snippet keeps the lines the shipped file already has, so pasting it drops nothing
        assert set(_overrides("default")) <= names


def test_every_aws_and_sam_deploy_command_names_its_region():
    needs_region = re.compile(r"^(aws \S+|sam (deploy|delete|list|logs|sync))\b")
    seen = 0
    for command in _commands():
        if needs_region.match(command):
            seen += 1
            assert "--region" in shlex.split(command.replace("$", "")), f"no --region: {command}"
    assert seen >= 10, "the guide has fewer AWS commands than expected: did the parser break?"


def test_guide_sets_region_and_stack_once_for_every_command():
    commands = _commands()
    assert any(re.match(r"REGION=\S+", c) for c in commands), "the guide never sets REGION"
    assert any(re.match(r"STACK=\S+", c) for c in commands), "the guide never sets STACK"
    for command in commands:
        if "--stack-name" in command:
            assert re.search(r'--stack-name "\$STACK(_ID)?"', command), command


def test_guide_documents_each_alarm_and_the_recovery_of_a_failed_first_deploy(resources):
    guide = _guide()
    alarms = [lid for lid, r in resources.items() if r["Type"].startswith("AWS::CloudWatch::")]
    for logical_id in alarms:
        assert f"`{logical_id}`" in guide, f"docs/deploy.md does not justify {logical_id}"
    for phrase in ("ROLLBACK_COMPLETE", "sam delete", "termination protection", "set-stack-policy", "AssumeRole"):
        assert phrase.lower() in guide.lower(), phrase


def test_stack_policy_protects_the_key_home_and_the_api(resources):
    import json

    policy = json.loads((REPO / "docs" / "stack-policy.json").read_text(encoding="utf-8"))
    denies = [s for s in policy["Statement"] if s["Effect"] == "Deny"]
    protected = {r.removeprefix("LogicalResourceId/") for s in denies for r in s["Resource"]}
    assert {"MasterKeySecret", "MasterKeyEncryptionKey", "MasterHmacKey", "SpekeApi", "SpekeRole"} <= protected
    assert protected <= set(resources), protected - set(resources)
    for statement in denies:
        assert set(statement["Action"]) >= {"Update:Replace", "Update:Delete"}
    assert any(s["Effect"] == "Allow" and s["Resource"] == "*" for s in policy["Statement"])
