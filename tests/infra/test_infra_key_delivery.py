"""template.yaml's key delivery block (parameter KeyDelivery): with none nothing exists and the SPEKE function is
unchanged; with aes128 / aes128+clearkey its own public HTTP API and function, a role that reads only the master
(and the HS256 token secret when generated), throttling, access logs, alarms, and the URL wired into the SPEKE
function's signalling. The sam_transform cases expand the template for every KeyDelivery value."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

pytest.importorskip("yaml")

from infra_helpers import (  # noqa: E402
    SETTINGS_PY,
    active_resources,
    as_list,
    condition_values,
    env_names_read_by_settings,
    unwrap_if,
    walk_statements,
)

MODES = ("none", "aes128", "aes128+clearkey")
ON = ("aes128", "aes128+clearkey")
BLOCK_PARAMETERS = {
    "KeyDelivery",
    "KeyDeliveryJwks",
    "KeyDeliveryJwksUrl",
    "KeyDeliveryGenerateTokenSecret",
    "KeyDeliveryAudience",
    "KeyDeliveryIssuers",
    "KeyDeliveryMaxTokenSeconds",
    "KeyDeliveryAllowedOrigins",
    "KeyDeliveryAcceptCookies",
    "KeyDeliveryThrottlingRateLimit",
    "KeyDeliveryThrottlingBurstLimit",
}
DELIVERY_ACTIONS = {
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "secretsmanager:GetSecretValue",
    "kms:Decrypt",
    "kms:GenerateMac",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
}


def resolve(value: Any, conditions: dict[str, bool]) -> Any:
    """``value`` with every Fn::If decided; AWS::NoValue becomes None."""
    if isinstance(value, dict):
        if set(value) == {"Fn::If"}:
            name, when_true, when_false = value["Fn::If"]
            return resolve(when_true if conditions[name] else when_false, conditions)
        if value == {"Ref": "AWS::NoValue"}:
            return None
        return {k: resolve(v, conditions) for k, v in value.items()}
    if isinstance(value, list):
        return [r for r in (resolve(v, conditions) for v in value) if r is not None]
    return value


def speke_env(template, parameters) -> dict[str, Any]:
    conditions = condition_values(template, parameters)
    env = template["Resources"]["KeyProviderFunction"]["Properties"]["Environment"]["Variables"]
    return {k: v for k, v in resolve(env, conditions).items() if v is not None}


# ------------------------------------------------------------------ off (the default)


def test_key_delivery_is_off_by_default_and_then_creates_nothing(template):
    assert template["Parameters"]["KeyDelivery"]["Default"] == "none"
    assert template["Parameters"]["KeyDelivery"]["AllowedValues"] == list(MODES)
    active = active_resources(template, {})
    assert not [lid for lid in active if lid.startswith("KeyDelivery")]
    conditions = condition_values(template, {})
    for name, output in template["Outputs"].items():
        if name.startswith("KeyDelivery"):
            assert not conditions[output["Condition"]], name


def test_every_key_delivery_resource_is_conditional(resources):
    delivery = {lid: r for lid, r in resources.items() if lid.startswith("KeyDelivery")}
    assert {
        "KeyDeliveryFunction",
        "KeyDeliveryFunctionRole",
        "KeyDeliveryApi",
        "KeyDeliveryLogGroup",
        "KeyDeliveryAccessLogGroup",
        "KeyDeliveryTokenSecret",
    } <= set(delivery)
    for lid, resource in delivery.items():
        assert resource.get("Condition", "").startswith("KeyDelivery"), lid


def test_with_none_the_speke_function_environment_is_unchanged(template):
    env = speke_env(template, {})
    assert not [name for name in env if name.startswith("KEY_DELIVERY")]
    assert env["AES128_KEY_URI_TEMPLATE"] == {"Ref": "Aes128KeyUriTemplate"}


# ------------------------------------------------------------------ on


@pytest.mark.parametrize("mode", ON)
def test_the_speke_function_signals_the_delivery_api(template, mode):
    env = speke_env(template, {"KeyDelivery": mode})
    assert env["KEY_DELIVERY"] == {"Ref": "KeyDelivery"}
    assert env["KEY_DELIVERY_URL"] == {"Fn::GetAtt": ["KeyDeliveryApi", "ApiEndpoint"]}
    assert "AES128_KEY_URI_TEMPLATE" not in env  # the delivery API's own /keys URI
    custom = speke_env(template, {"KeyDelivery": mode, "Aes128KeyUriTemplate": "https://mine/{kid}"})
    assert custom["AES128_KEY_URI_TEMPLATE"] == {"Ref": "Aes128KeyUriTemplate"}  # still overrides


def test_delivery_function_environment_matches_the_settings_it_reads(template):
    fn = template["Resources"]["KeyDeliveryFunction"]["Properties"]
    env = fn["Environment"]["Variables"]
    read = env_names_read_by_settings()
    ours = {name for name in env if not name.startswith("POWERTOOLS_")}
    assert ours <= read, f"set but never read by settings.py: {ours - read}"
    delivery_names = {n for n in read if n.startswith("KEY_DELIVERY")}
    assert delivery_names - {"KEY_DELIVERY_URL", "KEY_DELIVERY_JWKS_CACHE_SECONDS"} <= ours
    assert "KEY_DELIVERY_URL" not in ours  # the function signals nothing (and the URL would be a cycle)
    assert env["KEY_SOURCE"] == {"Ref": "KeySource"} and env["KEY_DELIVERY"] == {"Ref": "KeyDelivery"}
    assert env["POWERTOOLS_SERVICE_NAME"] == "speke-key-delivery"
    assert fn["CodeUri"].rstrip("/") == "functions/key_delivery" and fn["Handler"] == "app.lambda_handler"
    assert fn["Layers"] == [{"Ref": "SpekeLibraryLayer"}]
    assert fn["Role"] == {"Fn::GetAtt": ["KeyDeliveryFunctionRole", "Arn"]} and "Policies" not in fn
    assert "KEY_DELIVERY_ALLOWED_ORIGINS" in SETTINGS_PY.read_text()


def role_statements(resources, parameters, template):
    conditions = condition_values(template, parameters)
    policies = resolve(resources["KeyDeliveryFunctionRole"]["Properties"]["Policies"], conditions)
    return {p["PolicyName"]: list(walk_statements(p["PolicyDocument"])) for p in policies}


@pytest.mark.parametrize(
    ("parameters", "policies", "targets"),
    [
        ({"KeyDelivery": "aes128"}, {"WriteOwnLogs", "ReadMasterKeySecret"}, {"MasterKeySecret"}),
        (
            {"KeyDelivery": "aes128", "KeySource": "kms"},
            {"WriteOwnLogs", "GenerateMacWithMasterKey"},
            {"MasterHmacKey"},
        ),
        (
            {"KeyDelivery": "aes128+clearkey", "KeyDeliveryGenerateTokenSecret": "true"},  # pragma: allowlist secret
            {"WriteOwnLogs", "ReadMasterKeySecret", "ReadTokenSecret"},
            {"MasterKeySecret", "KeyDeliveryTokenSecret"},
        ),
    ],
)
def test_the_delivery_role_reads_only_the_master_and_its_token_secret(
    template, resources, parameters, policies, targets
):
    statements = role_statements(resources, parameters, template)
    assert set(statements) == policies
    read = set()
    for name, group in statements.items():
        for statement in group:
            assert statement["Effect"] == "Allow"
            actions = set(as_list(statement["Action"]))
            assert actions <= DELIVERY_ACTIONS, name
            for resource in as_list(statement["Resource"]):
                ref = resource.get("Ref") or resource.get("Fn::GetAtt", [None])[0]
                if "secretsmanager:GetSecretValue" in actions or "kms:GenerateMac" in actions:
                    read.add(ref)
                if actions <= {"logs:CreateLogStream", "logs:PutLogEvents"}:
                    assert ref == "KeyDeliveryLogGroup"
                if "kms:Decrypt" in actions:
                    assert ref == "MasterKeyEncryptionKey"
                    assert statement["Condition"]["StringEquals"]["kms:EncryptionContext:SecretARN"] == {
                        "Ref": "MasterKeySecret"
                    }
    assert read == targets


def test_parameters_are_described_and_grouped(template):
    assert set(template["Parameters"]) >= BLOCK_PARAMETERS
    groups = template["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
    grouped = {p for g in groups for p in g["Parameters"]}
    assert grouped >= BLOCK_PARAMETERS
    origins = template["Parameters"]["KeyDeliveryAllowedOrigins"]["AllowedPattern"]
    for good in ("", "*", "https://player.example", "https://a.example:8443,http://localhost:8080"):
        assert re.fullmatch(origins, good), good
    for bad in ("https://a.example/path", "https://a.example, https://b.example", "*,https://a.example"):
        assert not re.fullmatch(origins, bad), bad


# ------------------------------------------------------------------ what the SAM transform makes of it


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("key_source", ["secretsmanager", "kms"])
def test_transform_for_every_key_delivery_value(sam_transform, mode, key_source):
    parameters = {"KeyDelivery": mode, "KeySource": key_source}
    out = sam_transform(parameters)
    active = active_resources(out, parameters)
    http_apis = [r for r in active.values() if r["Type"] == "AWS::ApiGatewayV2::Api"]
    rest_apis = [r for r in active.values() if r["Type"] == "AWS::ApiGateway::RestApi"]
    (rest,) = rest_apis  # the SPEKE REST API, IAM-only, whatever the mode
    assert rest["Properties"]["Body"]["paths"]["/copyProtection"]["post"]["security"] == [{"AWS_IAM": []}]
    functions = sorted(
        lid
        for lid, r in active.items()
        if r["Type"] == "AWS::Lambda::Function" and lid != "ApiGatewayAccountFunction"  # the logging-role resource
    )
    if mode == "none":
        assert not http_apis and functions == ["KeyProviderFunction"]
        assert not [lid for lid in active if "KeyDelivery" in lid]
        return
    assert functions == ["KeyDeliveryFunction", "KeyProviderFunction"]
    (api,) = http_apis
    body = resolve(api["Properties"]["Body"], condition_values(out, parameters))
    assert list(body["paths"]) == ["/$default"]  # one route: every method and path reaches the function
    (method,) = body["paths"]["/$default"].values()
    assert method["isDefaultRoute"] is True
    integration = method["x-amazon-apigateway-integration"]
    assert integration["type"] == "aws_proxy" and integration["payloadFormatVersion"] == "2.0"
    assert "KeyDeliveryFunction" in json.dumps(integration["uri"])
    assert "security" not in method  # public: tokens are checked by the function
    assert "x-amazon-apigateway-cors" not in body  # CORS is answered by the function
    (stage,) = [r for r in active.values() if r["Type"] == "AWS::ApiGatewayV2::Stage"]
    props = stage["Properties"]
    assert props["DefaultRouteSettings"]["ThrottlingRateLimit"] == {"Ref": "KeyDeliveryThrottlingRateLimit"}
    assert props["DefaultRouteSettings"]["ThrottlingBurstLimit"] == {"Ref": "KeyDeliveryThrottlingBurstLimit"}
    log = props["AccessLogSettings"]
    assert log["DestinationArn"] == {"Fn::GetAtt": ["KeyDeliveryAccessLogGroup", "Arn"]}
    assert "$context.path" in log["Format"] and "querystring" not in log["Format"].lower()
    permissions = [r for r in active.values() if r["Type"] == "AWS::Lambda::Permission"]
    delivery_permission = [
        p for p in permissions if "KeyDeliveryFunction" in json.dumps(p["Properties"]["FunctionName"])
    ]
    (permission,) = delivery_permission
    assert permission["Properties"]["Principal"] == "apigateway.amazonaws.com"
    assert "KeyDeliveryApi" in json.dumps(permission["Properties"]["SourceArn"])
    roles = {lid for lid, r in active.items() if r["Type"] == "AWS::IAM::Role"}
    # key delivery adds exactly its function's role (SAM made none for its HTTP API)
    assert roles - {"ApiGatewayCloudWatchRole", "ApiGatewayAccountFunctionRole", "CodeDeployServiceRole"} == {
        "KeyProviderFunctionRole",
        "SpekeRole",
        "KeyDeliveryFunctionRole",
    }
    alarms = {lid for lid, r in active.items() if r["Type"] == "AWS::CloudWatch::Alarm" and "KeyDelivery" in lid}
    assert alarms == {"KeyDelivery5xxAlarm", "KeyDeliveryThrottlesAlarm", "KeyDeliveryLatencyP99Alarm"}
    assert not [r for r in active.values() if r["Type"] == "AWS::ApiGatewayV2::Authorizer"]


def test_transform_with_the_hs256_secret_and_tracing(sam_transform):
    parameters = {
        "KeyDelivery": "aes128+clearkey",
        "KeyDeliveryGenerateTokenSecret": "true",  # pragma: allowlist secret
        "XrayTracing": "true",
    }  # pragma: allowlist secret
    active = active_resources(sam_transform(parameters), parameters)
    assert active["KeyDeliveryTokenSecret"]["Type"] == "AWS::SecretsManager::Secret"
    assert active["KeyDeliveryTokenSecret"]["Properties"]["GenerateSecretString"]["PasswordLength"] >= 32
    env = active["KeyDeliveryFunction"]["Properties"]["Environment"]["Variables"]
    assert unwrap_if(env["KEY_DELIVERY_HMAC_SECRET_ID"])[0] == {"Ref": "KeyDeliveryTokenSecret"}


def test_built_delivery_function_holds_only_its_handler(build_dir):
    package = build_dir / "KeyDeliveryFunction"
    assert package.is_dir(), f"no function package at {package}"
    files = sorted(p.relative_to(package).as_posix() for p in package.rglob("*") if p.is_file())
    assert [f for f in files if not f.startswith("__pycache__/")] == ["app.py"]
