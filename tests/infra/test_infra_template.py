"""template.yaml, read as data: least privilege, the SPEKE role, the key homes, the API, and the settings the
function gets. The sam_transform tests also look at what the SAM transform makes of it (the API's OpenAPI
body, its resource policy, the Lambda permission) - they run where aws-sam-translator is installed."""

from __future__ import annotations

import json
import re
import tomllib
from typing import Any

import pytest

pytest.importorskip("yaml")

from infra_helpers import (  # noqa: E402
    REPO,
    TEMPLATE,
    as_list,
    env_names_read_by_settings,
    unwrap_if,
    walk_statements,
)

STAGE = "v1"

# Where the template keeps a `*`, and why. Anything not listed here fails test_allow_statements_are_scoped.
WILDCARD_RESOURCE_EXCEPTIONS = {
    (
        "MasterKeyEncryptionKey",
        "KeyPolicy",
    ): "in a key policy, Resource '*' means this key (the only accepted form)",
    ("MasterHmacKey", "KeyPolicy"): "in a key policy, Resource '*' means this key (the only accepted form)",
    (
        "ReplicaSecretEncryptionKey",
        "KeyPolicy",
    ): "in a key policy, Resource '*' means this key (the only accepted form)",
    ("MasterHmacReplicaKey", "KeyPolicy"): "in a key policy, Resource '*' means this key (the only accepted form)",
    (
        "KeyProviderFunctionRole",
        "WriteXRayTraces",
    ): "X-Ray has no resource-level permissions (AWS requires '*')",
    ("KeyDeliveryFunctionRole", "WriteXRayTraces"): "X-Ray has no resource-level permissions (AWS requires '*')",
}
XRAY_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
FUNCTION_ACTIONS = {
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "secretsmanager:GetSecretValue",
    "kms:Decrypt",
    "kms:GenerateMac",
    *XRAY_ACTIONS,
}
ACCOUNT_ROOT = {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}
# A replica stack's master: this Region's replica of the primary's secret (same name, same account).
REPLICA_SECRET_ARN = {
    "Fn::Sub": [
        "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${Name}",
        {"Name": {"Fn::Select": [6, {"Fn::Split": [":", {"Ref": "PrimaryMasterArn"}]}]}},
    ]
}
REPLICA_SECRET = "<this Region's replica of PrimaryMasterArn>"
SPEKE_CALLERS = {
    "Fn::Split": [
        ",",
        {
            "Fn::If": [
                "HasAllowedCallers",
                {"Fn::Sub": "${SpekeRole.Arn},${AllowedCallerArns}"},
                {"Fn::GetAtt": ["SpekeRole", "Arn"]},
            ]
        },
    ]
}


# ------------------------------------------------------------------ helpers


def policy_documents(resources: dict[str, Any]):
    """(logical id, policy name, document) for every policy document in the template, trust policies aside."""
    for logical_id, resource in resources.items():
        kind = resource["Type"]
        props = resource.get("Properties", {})
        if kind == "AWS::IAM::Role":
            for policy in as_list(props.get("Policies")):
                for branch in unwrap_if(policy):
                    yield logical_id, branch["PolicyName"], branch["PolicyDocument"]
        elif kind in ("AWS::IAM::RolePolicy", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            yield logical_id, props.get("PolicyName", logical_id), props["PolicyDocument"]
        elif kind in ("AWS::KMS::Key", "AWS::KMS::ReplicaKey"):
            yield logical_id, "KeyPolicy", props["KeyPolicy"]
        elif kind == "AWS::SecretsManager::ResourcePolicy":
            yield logical_id, "ResourcePolicy", props["ResourcePolicy"]
        elif kind == "AWS::Serverless::Api":
            custom = props.get("Auth", {}).get("ResourcePolicy", {}).get("CustomStatements", [])
            yield logical_id, "ResourcePolicy", {"Statement": custom}
        elif kind == "AWS::Serverless::Function":
            for policy in as_list(props.get("Policies")):
                yield logical_id, "SAM Policies", policy


def allow_statements(resources: dict[str, Any]):
    for logical_id, name, document in policy_documents(resources):
        for statement in walk_statements(document):
            if statement.get("Effect") == "Allow":
                yield logical_id, name, statement


def refers_to(value: Any) -> str | None:
    """The logical id a Ref / GetAtt points at, else None."""
    if isinstance(value, dict):
        if "Ref" in value:
            return value["Ref"]
        if "Fn::GetAtt" in value:
            return value["Fn::GetAtt"][0]
    return None


def role_policies(resources: dict[str, Any], role: str) -> list[tuple[str, str, dict[str, Any]]]:
    """Every policy document that grants something to `role`: inline, and attached by a policy resource."""
    found = [(role, name, doc) for lid, name, doc in policy_documents(resources) if lid == role]
    for logical_id, resource in resources.items():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::IAM::RolePolicy" and refers_to(props.get("RoleName")) == role:
            found.append((logical_id, props["PolicyName"], props["PolicyDocument"]))
        if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy") and any(
            refers_to(r) == role for r in as_list(props.get("Roles"))
        ):
            found.append((logical_id, props.get("PolicyName", logical_id), props["PolicyDocument"]))
    return found


def function_env(template: dict[str, Any]) -> dict[str, Any]:
    env = dict(template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {}))
    env.update(template["Resources"]["KeyProviderFunction"]["Properties"]["Environment"]["Variables"])
    return env


# ------------------------------------------------------------------ least privilege everywhere


def test_no_allow_statement_grants_a_wildcard_action(resources):
    for logical_id, name, statement in allow_statements(resources):
        where = f"{logical_id}/{name}/{statement.get('Sid', '')}"
        assert "NotAction" not in statement and "NotResource" not in statement, where
        assert "NotPrincipal" not in statement, where
        for action in as_list(statement["Action"]):
            assert isinstance(action, str) and "*" not in action, f"{where} grants {action}"


def test_allow_statements_are_scoped(resources):
    for logical_id, name, statement in allow_statements(resources):
        where = f"{logical_id}/{name}/{statement.get('Sid', '')}"
        for resource in as_list(statement["Resource"]):
            if resource == "*":
                assert (logical_id, name) in WILDCARD_RESOURCE_EXCEPTIONS, f"{where} allows Resource '*'"
            elif isinstance(resource, str):
                assert "*" not in resource, f"{where} allows {resource}"
            elif resource == REPLICA_SECRET_ARN:
                continue  # one named secret: this Region's replica of the primary's
            elif "Fn::Sub" in resource:
                text = resource["Fn::Sub"] if isinstance(resource["Fn::Sub"], str) else resource["Fn::Sub"][0]
                assert "*" not in text, f"{where} allows {text}"
            else:
                assert refers_to(resource) in resources, f"{where}: resource {resource} names nothing here"
        principal = statement.get("Principal")
        if principal is not None:
            assert principal != "*" and "*" not in json.dumps(principal), f"{where} allows any principal"


def test_the_wildcard_exceptions_are_the_documented_ones(resources, template):
    xray = [
        s
        for lid, name, doc in policy_documents(resources)
        if (lid, name) == ("KeyProviderFunctionRole", "WriteXRayTraces")
        for s in walk_statements(doc)
    ]
    assert [set(as_list(s["Action"])) for s in xray] == [XRAY_ACTIONS]
    # ... and only when tracing is on
    policies = resources["KeyProviderFunctionRole"]["Properties"]["Policies"]
    guarded = {p["Fn::If"][1]["PolicyName"]: p["Fn::If"][0] for p in policies if "Fn::If" in p}
    assert guarded["WriteXRayTraces"] == "TracingOn"
    # the key policies grant to the account only (delegation to IAM), never to "*"
    for key in ("MasterKeyEncryptionKey", "MasterHmacKey", "ReplicaSecretEncryptionKey", "MasterHmacReplicaKey"):
        for statement in walk_statements(resources[key]["Properties"]["KeyPolicy"]):
            assert statement["Effect"] == "Allow"
            assert statement["Principal"] == {"AWS": ACCOUNT_ROOT}, key
            assert "kms:ScheduleKeyDeletion" not in as_list(statement["Action"]), key
    # each exception is written down in the template too
    text = TEMPLATE.read_text(encoding="utf-8").lower()
    assert "x-ray has no resource-level permissions" in text
    assert "kms key policies" in text


def test_no_managed_policies_but_the_documented_one(resources):
    for logical_id, resource in resources.items():
        arns = resource.get("Properties", {}).get("ManagedPolicyArns")
        if arns is None:
            continue
        assert logical_id == "ApiGatewayCloudWatchRole", f"{logical_id} attaches managed policies"
        assert resource["Condition"] == "CreateApiGatewayAccountRole"  # auto or true
        assert [a["Fn::Sub"] for a in arns] == [
            "arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
        ]


# ------------------------------------------------------------------ the SPEKE role


# Each MediaPackage service may assume the SPEKE role only for its own resources in this account and region.
SPEKE_TRUST = {
    "mediapackagev2.amazonaws.com": [
        "arn:${AWS::Partition}:mediapackagev2:${AWS::Region}:${AWS::AccountId}:channelGroup/*",
    ],
    "mediapackage.amazonaws.com": [
        "arn:${AWS::Partition}:mediapackage:${AWS::Region}:${AWS::AccountId}:*",
        "arn:${AWS::Partition}:mediapackage-vod:${AWS::Region}:${AWS::AccountId}:*",
    ],
}


def test_speke_role_trusts_each_mediapackage_service_for_its_own_resources_only(resources):
    props = resources["SpekeRole"]["Properties"]
    statements = props["AssumeRolePolicyDocument"]["Statement"]
    trusted = {}
    for statement in statements:
        assert statement["Effect"] == "Allow"
        assert statement["Action"] == "sts:AssumeRole"
        assert set(statement["Principal"]) == {"Service"}
        (service,) = as_list(statement["Principal"]["Service"])  # one service per statement
        condition = statement["Condition"]
        assert set(condition) == {"StringEquals", "ArnLike"}, "no IfExists: a missing SourceArn must not pass"
        assert condition["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
        assert set(condition["ArnLike"]) == {"aws:SourceArn"}
        trusted[service] = [pattern["Fn::Sub"] for pattern in as_list(condition["ArnLike"]["aws:SourceArn"])]
    assert trusted == SPEKE_TRUST
    for service, patterns in trusted.items():
        prefix = service.split(".")[0]
        for pattern in patterns:
            arn_service = re.match(r"arn:\$\{AWS::Partition\}:([a-z0-9-]+):", pattern).group(1)
            assert arn_service in (prefix, f"{prefix}-vod"), f"{service} trusted for another service's ARN {pattern}"
            assert ":${AWS::Region}:${AWS::AccountId}:" in pattern, pattern
    assert "Policies" not in props and "ManagedPolicyArns" not in props


def test_speke_role_can_invoke_only_this_apis_post_copy_protection_and_heartbeat(resources):
    policies = role_policies(resources, "SpekeRole")
    assert len(policies) == 1
    statements = list(walk_statements(policies[0][2]))
    assert len(statements) == 1
    (statement,) = statements
    assert statement["Effect"] == "Allow"
    assert as_list(statement["Action"]) == ["execute-api:Invoke"]
    api = resources["SpekeApi"]["Properties"]
    events = resources["KeyProviderFunction"]["Properties"]["Events"]
    assert api["StageName"] == STAGE
    expected = [
        "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${SpekeApi}/"
        f"{api['StageName']}/{events[name]['Properties']['Method'].upper()}{events[name]['Properties']['Path']}"
        for name in ("CopyProtection", "Heartbeat")
    ]
    assert as_list(statement["Resource"]) == [{"Fn::Sub": arn} for arn in expected]
    assert expected[0].endswith("/v1/POST/copyProtection") and expected[1].endswith("/v1/GET/heartbeat")


# ------------------------------------------------------------------ the function


def test_function_uses_its_own_role_and_the_layer(template, resources):
    fn = resources["KeyProviderFunction"]["Properties"]
    assert fn["Role"] == {"Fn::GetAtt": ["KeyProviderFunctionRole", "Arn"]}
    assert "Policies" not in fn
    assert fn["Handler"] == "app.lambda_handler"
    assert fn["CodeUri"].rstrip("/") == "functions/key_provider"
    assert fn["Layers"] == [{"Ref": "SpekeLibraryLayer"}]
    assert fn["LoggingConfig"] == {"LogGroup": {"Ref": "FunctionLogGroup"}}
    globals_fn = template["Globals"]["Function"]
    assert globals_fn["Runtime"] == "python3.13"
    assert globals_fn["Architectures"] == ["arm64"]
    (trust,) = resources["KeyProviderFunctionRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "lambda.amazonaws.com"}


def test_function_can_touch_only_its_own_secret_or_key_and_log_group(resources):
    allowed_targets = {
        "logs:CreateLogStream": {"FunctionLogGroup"},
        "logs:PutLogEvents": {"FunctionLogGroup"},
        "secretsmanager:GetSecretValue": {"MasterKeySecret", REPLICA_SECRET},
        "kms:Decrypt": {"MasterKeyEncryptionKey", "ReplicaSecretEncryptionKey"},
        "kms:GenerateMac": {"MasterHmacKey", "MasterHmacReplicaKey"},
    }
    secret_of_key = {
        "MasterKeyEncryptionKey": {"Ref": "MasterKeySecret"},
        "ReplicaSecretEncryptionKey": REPLICA_SECRET_ARN,
    }
    seen: set[str] = set()
    for _, name, document in role_policies(resources, "KeyProviderFunctionRole"):
        for statement in walk_statements(document):
            assert statement["Effect"] == "Allow"
            actions = set(as_list(statement["Action"]))
            assert actions <= FUNCTION_ACTIONS, f"{name}: {actions - FUNCTION_ACTIONS}"
            seen |= actions
            if actions <= XRAY_ACTIONS:
                assert statement["Resource"] == "*"
                continue
            targets = {
                REPLICA_SECRET if r == REPLICA_SECRET_ARN else refers_to(r) for r in as_list(statement["Resource"])
            }
            for action in actions:
                assert targets <= allowed_targets[action], f"{name}: {action} on {targets}"
            if "kms:Decrypt" in actions:
                condition = statement["Condition"]["StringEquals"]
                assert condition["kms:ViaService"] == {"Fn::Sub": "secretsmanager.${AWS::Region}.amazonaws.com"}
                (key,) = targets
                assert condition["kms:EncryptionContext:SecretARN"] == secret_of_key[key]
            if "kms:GenerateMac" in actions:
                assert statement["Condition"] == {"StringEquals": {"kms:MacAlgorithm": "HMAC_SHA_256"}}
    assert seen == FUNCTION_ACTIONS


def test_key_home_policies_follow_key_source(resources):
    policies = resources["KeyProviderFunctionRole"]["Properties"]["Policies"]
    guarded = {p["Fn::If"][1]["PolicyName"]: p["Fn::If"][0] for p in policies if "Fn::If" in p}
    assert guarded == {
        "ReadMasterKeySecret": "UseSecretsManager",
        "GenerateMacWithMasterKey": "UseKms",
        "WriteXRayTraces": "TracingOn",
    }
    for logical_id in (
        "MasterKeyEncryptionKey",
        "MasterKeyEncryptionKeyAlias",
        "MasterKeySecret",
        "MasterKeySecretPolicy",
    ):
        assert resources[logical_id]["Condition"] == "UseSecretsManager", logical_id
    for logical_id in ("MasterHmacKey", "MasterHmacKeyAlias"):
        assert resources[logical_id]["Condition"] == "UseKms", logical_id


def test_function_environment_matches_the_settings_it_reads(template):
    env = function_env(template)
    # KEY_DELIVERY_* beyond the switch and the URL are read by the key delivery function only (its own test).
    read = {n for n in env_names_read_by_settings() if not n.startswith("KEY_DELIVERY_") or n == "KEY_DELIVERY_URL"}
    assert {"KEY_SOURCE", "MASTER_KEY_SECRET_ID", "KMS_HMAC_KEY_ID", "TRUSTED_CERT_SHA256"} <= read, read
    assert set(env) <= read, f"set but never read by settings.py: {set(env) - read}"
    assert read - {"MASTER_KEY_FILE"} <= set(env), f"read by settings.py but not set: {read - set(env)}"
    assert env["POWERTOOLS_SERVICE_NAME"] == "speke-keyprovider"
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == "SpekeKeyProvider"
    assert env["POWERTOOLS_LOG_LEVEL"] == {"Ref": "LogLevel"}
    assert env["XRAY_TRACING"] == {"Ref": "XrayTracing"}
    assert env["ALLOWED_CALLER_ARNS"] == SPEKE_CALLERS["Fn::Split"][1]
    assert env["MASTER_KEY_SECRET_ID"] == {
        "Fn::If": [
            "UseSecretsManager",
            {"Ref": "MasterKeySecret"},
            {"Fn::If": ["UseReplicaSecret", REPLICA_SECRET_ARN, {"Ref": "AWS::NoValue"}]},
        ]
    }
    assert env["KMS_HMAC_KEY_ID"] == {
        "Fn::If": [
            "UseKms",
            {"Fn::GetAtt": ["MasterHmacKey", "Arn"]},
            {"Fn::If": ["UseReplicaKms", {"Fn::GetAtt": ["MasterHmacReplicaKey", "Arn"]}, {"Ref": "AWS::NoValue"}]},
        ]
    }


# ------------------------------------------------------------------ key homes


def test_generated_secret_is_long_and_encrypted_with_its_own_key(resources):
    secret = resources["MasterKeySecret"]["Properties"]
    assert secret["GenerateSecretString"]["PasswordLength"] >= 64
    assert secret["KmsKeyId"] == {"Fn::GetAtt": ["MasterKeyEncryptionKey", "Arn"]}
    assert "SecretString" not in secret
    key = resources["MasterKeyEncryptionKey"]["Properties"]
    assert key["KeySpec"] == "SYMMETRIC_DEFAULT" and key["KeyUsage"] == "ENCRYPT_DECRYPT"
    use = [s for s in walk_statements(key["KeyPolicy"]) if "kms:Decrypt" in as_list(s["Action"])]
    assert len(use) == 1
    assert use[0]["Condition"]["StringEquals"]["kms:ViaService"] == {
        "Fn::Sub": "secretsmanager.${AWS::Region}.amazonaws.com"
    }
    # the secret's own policy only ever denies changing or deleting the value
    for statement in walk_statements(resources["MasterKeySecretPolicy"]["Properties"]["ResourcePolicy"]):
        assert statement["Effect"] == "Deny"
    denied = {
        a
        for s in walk_statements(resources["MasterKeySecretPolicy"]["Properties"]["ResourcePolicy"])
        for a in as_list(s["Action"])
    }
    assert {
        "secretsmanager:PutSecretValue",
        "secretsmanager:RotateSecret",
        "secretsmanager:DeleteSecret",
    } <= denied
    assert not any(r["Type"] == "AWS::SecretsManager::RotationSchedule" for r in resources.values())


def test_hmac_key_is_hmac_256(resources):
    key = resources["MasterHmacKey"]["Properties"]
    assert key["KeySpec"] == "HMAC_256"
    assert key["KeyUsage"] == "GENERATE_VERIFY_MAC"
    assert not key.get("EnableKeyRotation", False)


@pytest.mark.parametrize(
    "logical_id",
    [
        "MasterKeyEncryptionKey",
        "MasterKeySecret",
        "MasterHmacKey",
        "ReplicaSecretEncryptionKey",
        "MasterHmacReplicaKey",
    ],
)
def test_master_key_homes_are_retained(resources, logical_id):
    assert resources[logical_id]["DeletionPolicy"] == "Retain"
    assert resources[logical_id]["UpdateReplacePolicy"] == "Retain"


# ------------------------------------------------------------------ API


def test_api_is_regional_iam_authorised_logged_and_throttled(resources):
    api = resources["SpekeApi"]["Properties"]
    assert api["EndpointConfiguration"] == {"Type": "REGIONAL"}
    assert api["Auth"]["DefaultAuthorizer"] == "AWS_IAM"
    assert api["Auth"]["InvokeRole"] == "NONE"
    assert api["AccessLogSetting"]["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    log_format = json.loads(api["AccessLogSetting"]["Format"])
    assert {"requestId", "status", "userArn"} <= set(log_format)
    (settings,) = api["MethodSettings"]
    assert settings["ThrottlingRateLimit"] == {"Ref": "ApiThrottlingRateLimit"}
    assert settings["ThrottlingBurstLimit"] == {"Ref": "ApiThrottlingBurstLimit"}
    assert settings["DataTraceEnabled"] is False
    assert not api.get("BinaryMediaTypes")
    events = resources["KeyProviderFunction"]["Properties"]["Events"]
    assert list(events) == ["CopyProtection", "Heartbeat"]
    assert events["CopyProtection"]["Type"] == "Api"
    assert events["CopyProtection"]["Properties"] == {
        "RestApiId": {"Ref": "SpekeApi"},
        "Path": "/copyProtection",
        "Method": "post",
    }
    assert events["Heartbeat"]["Type"] == "Api"
    assert events["Heartbeat"]["Properties"] == {
        "RestApiId": {"Ref": "SpekeApi"},
        "Path": "/heartbeat",
        "Method": "get",
    }


def test_api_resource_policy_allows_only_the_speke_role_and_allowed_callers(resources):
    statements = resources["SpekeApi"]["Properties"]["Auth"]["ResourcePolicy"]["CustomStatements"]
    allows = [s for s in statements if s["Effect"] == "Allow"]
    denies = [s for s in statements if s["Effect"] == "Deny"]
    assert len(allows) == 1 and len(denies) == 1
    (allow,), (deny,) = allows, denies
    assert allow["Principal"] == {"AWS": SPEKE_CALLERS}
    assert allow["Action"] == "execute-api:Invoke"
    assert allow["Resource"] == [f"execute-api:/{STAGE}/POST/copyProtection", f"execute-api:/{STAGE}/GET/heartbeat"]
    assert deny["Principal"] == "*"
    assert deny["Action"] == "execute-api:Invoke"
    assert deny["Resource"] == "execute-api:/*"
    assert deny["Condition"] == {"StringNotEquals": {"aws:PrincipalArn": SPEKE_CALLERS}}


def test_log_groups_have_retention_and_outlive_the_stack(template, resources):
    groups = {lid: r for lid, r in resources.items() if r["Type"] == "AWS::Logs::LogGroup"}
    assert set(groups) == {
        "FunctionLogGroup",
        "ApiAccessLogGroup",
        "ApiGatewayAccountFunctionLogGroup",
        "KeyDeliveryLogGroup",
        "KeyDeliveryAccessLogGroup",
    }
    for logical_id, group in groups.items():
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
        # the access log is the audit trail of who asked for keys: kept when the stack goes
        assert group["DeletionPolicy"] == "Retain" and group["UpdateReplacePolicy"] == "Retain", logical_id
        # no fixed name: a retained group never blocks creating a stack of the same name again
        assert "LogGroupName" not in group["Properties"], logical_id
    for function in ("KeyProviderFunction", "ApiGatewayAccountFunction"):
        config = resources[function]["Properties"]["LoggingConfig"]["LogGroup"]
        assert config["Ref"] in groups
    retention = template["Parameters"]["LogRetentionDays"]
    assert int(retention["Default"]) >= 365, "a common organisation control requires a year"


# ------------------------------------------------------------------ alarms, parameters, outputs, checkov


def _alarms(resources, kind="AWS::CloudWatch::Alarm"):
    return {lid: r for lid, r in resources.items() if r["Type"] == kind}


# The two alarms that only feed the composite KeyRequestsStoppedAlarm (no request for a while / for a day).
COMPOSITE_INPUTS = {"KeyRequestsQuietAlarm", "KeyRequestsIdleDayAlarm"}


def test_alarms_cover_errors_refusals_throttles_latency_and_silence(resources):
    alarms = {lid: r["Properties"] for lid, r in _alarms(resources).items()}
    metrics = {
        (a["Namespace"], a["MetricName"] if isinstance(a["MetricName"], str) else "custom") for a in alarms.values()
    }
    assert ("AWS/ApiGateway", "5XXError") in metrics
    assert ("AWS/ApiGateway", "4XXError") in metrics  # IAM / resource-policy denials never reach the function
    assert ("AWS/Lambda", "Throttles") in metrics
    assert ("AWS/Lambda", "Errors") in metrics
    assert ("AWS/ApiGateway", "Count") in metrics  # key requests stopping
    assert any(a.get("ExtendedStatistic") == "p99" and a["MetricName"] == "Latency" for a in alarms.values())
    assert ("SpekeKeyProvider", "custom") in metrics  # API stage throttling (429), from the access log


def test_every_alarm_notifies_the_topic_which_always_exists(resources):
    assert "Condition" not in resources["AlarmTopic"], "alarms without a topic notify no one"
    subscription = resources["AlarmTopic"]["Properties"]["Subscription"]
    assert subscription["Fn::If"][0] == "HasAlarmEmail"
    notifying = {**_alarms(resources), **_alarms(resources, "AWS::CloudWatch::CompositeAlarm")}
    for logical_id, alarm in notifying.items():
        props = alarm["Properties"]
        if logical_id in COMPOSITE_INPUTS:
            assert "AlarmActions" not in props, f"{logical_id} feeds the composite alarm; it notifies no one itself"
            continue
        assert props["AlarmActions"] == [{"Ref": "AlarmTopic"}], logical_id
        assert props["OKActions"] == [{"Ref": "AlarmTopic"}], logical_id


def test_every_alarm_can_fire_at_one_request_per_key_period(template, resources):
    """MediaPackage asks once per endpoint per key period (300 s at the least, often 1800 s or more): a
    period then holds one request or none. An alarm that needs several datapoints, or breaching data in
    consecutive periods, never fires at that rate; one bad request must be enough."""
    shortest_key_period = 300
    for logical_id, alarm in _alarms(resources).items():
        props = alarm["Properties"]
        evaluation = props["EvaluationPeriods"]
        needed = props.get("DatapointsToAlarm", evaluation)
        assert needed == 1 == evaluation, f"{logical_id} needs {needed} of {evaluation} datapoints"
        if logical_id in COMPOSITE_INPUTS:
            # silence is the signal: missing data (no request) must breach
            assert props["TreatMissingData"] == "breaching", logical_id
            assert props["ComparisonOperator"] == "LessThanThreshold" and props["Threshold"] == 1
        else:
            # a period without requests is not a problem, and one bad request in a period is
            assert props["TreatMissingData"] == "notBreaching", logical_id
            assert props["Period"] <= shortest_key_period, logical_id
            statistic = props.get("Statistic") or props.get("ExtendedStatistic")
            assert statistic in ("Sum", "p99", "Maximum"), f"{logical_id}: {statistic} of one request"
    latency = resources["ApiLatencyP99Alarm"]["Properties"]
    assert latency["Threshold"] == {"Ref": "LatencyAlarmThresholdMs"}
    # above a cold start (~1 s with the first Secrets Manager call): at SPEKE rates every request is one
    assert int(template["Parameters"]["LatencyAlarmThresholdMs"]["Default"]) >= 2000


def test_key_requests_stopped_alarm_is_quiet_before_the_first_channel_and_after_the_last(template, resources):
    composite = resources["KeyRequestsStoppedAlarm"]
    assert composite["Type"] == "AWS::CloudWatch::CompositeAlarm"
    assert composite["Properties"]["AlarmRule"] == {
        "Fn::Sub": 'ALARM("${KeyRequestsQuietAlarm}") AND NOT ALARM("${KeyRequestsIdleDayAlarm}")'
    }
    quiet = resources["KeyRequestsQuietAlarm"]["Properties"]
    day = resources["KeyRequestsIdleDayAlarm"]["Properties"]
    assert quiet["Period"] == {"Ref": "KeyRequestsStoppedAfterSeconds"}
    assert day["Period"] == 86400
    parameter = template["Parameters"]["KeyRequestsStoppedAfterSeconds"]
    for seconds in parameter["AllowedValues"]:
        assert seconds == 0 or (seconds % 60 == 0 and 2 * seconds <= 86400), seconds
    assert parameter["Default"] >= 2 * 1800  # twice a common 30-minute key period
    for logical_id in (*COMPOSITE_INPUTS, "KeyRequestsStoppedAlarm"):
        assert resources[logical_id]["Condition"] == "WatchKeyRequests"
    assert template["Conditions"]["WatchKeyRequests"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "KeyRequestsStoppedAfterSeconds"}, "0"]}]
    }


def test_safe_deployments_shift_the_live_alias_and_roll_back_on_the_error_alarms(template, resources):
    fn = resources["KeyProviderFunction"]["Properties"]
    assert fn["AutoPublishAlias"] == "live"
    preference = fn["DeploymentPreference"]
    assert preference["Type"] == {"Ref": "DeploymentType"}
    assert {a["Ref"] for a in preference["Alarms"]} == {"FunctionErrorsAlarm", "Api5xxAlarm"}
    assert template["Parameters"]["DeploymentType"]["Default"] != "AllAtOnce"
    errors = resources["FunctionErrorsAlarm"]["Properties"]
    assert {d["Name"]: d["Value"] for d in errors["Dimensions"]} == {
        "FunctionName": {"Ref": "KeyProviderFunction"},
        "Resource": {"Fn::Sub": "${KeyProviderFunction}:live"},
    }


def _call_budget():
    """speke_keyprovider/call_budget.py (standard library only), loaded without the package."""
    import importlib.util

    path = REPO / "layers" / "speke_keyprovider" / "speke_keyprovider" / "call_budget.py"
    spec = importlib.util.spec_from_file_location("speke_call_budget_for_infra", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_aws_call_budget_fits_inside_the_function_timeout(template, resources):
    """The key provider's AWS calls answer before the invocation's remaining time less the reserve (or are
    given up: 503 / grace); the timeout must leave room for at least one whole client attempt, and stay
    under API Gateway's 29 s so that the function, not API Gateway, answers."""
    budget = _call_budget()
    timeout = resources["KeyProviderFunction"]["Properties"].get("Timeout", template["Globals"]["Function"]["Timeout"])
    assert timeout < budget.API_GATEWAY_TIMEOUT_SECONDS
    assert budget.MAX_BUDGET_SECONDS + budget.RESPONSE_RESERVE_SECONDS <= budget.API_GATEWAY_TIMEOUT_SECONDS

    class Context:
        def get_remaining_time_in_millis(self):
            return timeout * 1000

    call_window = budget.budget_for(Context())
    assert call_window == timeout - budget.RESPONSE_RESERVE_SECONDS
    assert budget.attempt_seconds() <= call_window, "not even one client attempt fits inside the timeout"
    assert timeout >= budget.DEFAULT_BUDGET_SECONDS + budget.RESPONSE_RESERVE_SECONDS
    app = (REPO / "functions" / "key_provider" / "app.py").read_text(encoding="utf-8")
    assert "call_budget.invocation_deadline(context)" in app, "the handler opens no invocation deadline"


def test_first_deploy_sets_the_api_gateway_logging_role_only_where_none_is_set(template, resources):
    """An access-logging stage cannot be created in a region whose API Gateway has no CloudWatch role: the
    default (auto) sets this stack's role there, and only there, before the stage."""
    parameter = template["Parameters"]["CreateApiGatewayLoggingRole"]
    assert parameter["Default"] == "auto"
    setting = resources["ApiGatewayAccountRoleIfUnset"]
    assert setting["Condition"] == "SetApiGatewayAccountRoleIfUnset"
    assert setting["Properties"]["ServiceToken"] == {"Fn::GetAtt": ["ApiGatewayAccountFunction", "Arn"]}
    assert setting["Properties"]["RoleArn"] == {"Fn::GetAtt": ["ApiGatewayCloudWatchRole", "Arn"]}
    assert setting["DeletionPolicy"] == "Retain"
    tag = resources["SpekeApi"]["Properties"]["Tags"]["speke:api-gateway-account"]
    assert tag["Fn::If"][:2] == [
        "SetApiGatewayAccountRoleIfUnset",
        {"Fn::GetAtt": ["ApiGatewayAccountRoleIfUnset", "RoleArn"]},
    ]
    assert resources["ApiGatewayCloudWatchRole"]["Condition"] == "CreateApiGatewayAccountRole"
    function = resources["ApiGatewayAccountFunction"]["Properties"]
    assert function["CodeUri"].rstrip("/") == "functions/api_gateway_account"
    statements = [
        s for _, _, doc in role_policies(resources, "ApiGatewayAccountFunctionRole") for s in walk_statements(doc)
    ]
    actions = {a for s in statements for a in as_list(s["Action"])}
    assert actions == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "apigateway:GET",
        "apigateway:PATCH",
        "iam:PassRole",
    }
    (apigateway,) = [s for s in statements if "apigateway:GET" in as_list(s["Action"])]
    assert apigateway["Resource"] == {"Fn::Sub": "arn:${AWS::Partition}:apigateway:${AWS::Region}::/account"}
    (pass_role,) = [s for s in statements if "iam:PassRole" in as_list(s["Action"])]
    assert pass_role["Resource"] == {"Fn::GetAtt": ["ApiGatewayCloudWatchRole", "Arn"]}


def test_parameters_and_outputs(template):
    parameters = set(template["Parameters"])
    assert {
        "KeySource",
        "AllowedCallerArns",
        "TrustedCertSha256",
        "RequireEncryptedKeys",
        "WidevineProvider",
        "PlayReadyLaUrl",
        "FairPlaySkdTemplate",
        "Aes128KeyUriTemplate",
        "DerivedExplicitIv",
        "LogLevel",
        "LogRetentionDays",
        "AlarmEmail",
    } <= parameters
    assert template["Parameters"]["KeySource"]["AllowedValues"] == ["secretsmanager", "kms"]
    for name, parameter in template["Parameters"].items():
        assert parameter.get("Description"), f"parameter {name} has no description"
    outputs = template["Outputs"]
    assert {
        "SpekeUrl",
        "SpekeRoleArn",
        "MasterKeySecretArn",
        "MasterHmacKeyArn",
        "KeyProviderFunctionName",
    } <= set(outputs)
    assert outputs["SpekeUrl"]["Value"] == {
        "Fn::Sub": "https://${SpekeApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/v1/copyProtection"
    }
    assert outputs["MasterKeySecretArn"]["Condition"] == "UseSecretsManager"
    assert outputs["MasterHmacKeyArn"]["Condition"] == "UseKms"
    assert "Condition" not in outputs["AlarmTopicArn"]
    assert outputs["KeyProviderAliasArn"]["Value"] == {"Ref": "KeyProviderFunction.Alias"}


def test_every_checkov_skip_says_why(resources):
    for logical_id, resource in resources.items():
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
            assert skip["id"].startswith("CKV"), logical_id
            assert len(skip.get("comment", "").strip()) >= 30, f"{logical_id}: {skip['id']} has no reason"


def test_layer_is_built_with_the_makefile_for_arm64(resources):
    layer = resources["SpekeLibraryLayer"]
    assert layer["Metadata"] == {"BuildMethod": "makefile", "BuildArchitecture": "arm64"}
    assert layer["Properties"]["ContentUri"].rstrip("/") == "layers/speke_keyprovider"
    assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.13"]


# ------------------------------------------------------------------ what the SAM transform makes of it

TRANSFORM_CASES = {
    "defaults": {},
    "kms": {"KeySource": "kms"},
    "kms multi-Region primary": {"KeySource": "kms", "MasterHmacKeyMultiRegion": "true"},
    "kms replica": {
        "KeySource": "kms",
        "RegionRole": "replica",
        "PrimaryMasterArn": "arn:aws:kms:us-east-1:111122223333:key/mrk-0123456789abcdef0123456789abcdef",
    },
    "secret with replicas": {
        "SecretReplica1Region": "eu-west-1",  # pragma: allowlist secret
        "SecretReplica1KmsKeyArn": "arn:aws:kms:eu-west-1:111122223333:key/01234567-89ab-cdef-0123-456789abcdef",
        "SecretReplica2Region": "ap-southeast-2",  # pragma: allowlist secret
        "SecretReplica2KmsKeyArn": "arn:aws:kms:ap-southeast-2:111122223333:key/01234567-89ab-cdef-0123-456789abcdef",
    },
    "secret replica": {
        "RegionRole": "replica",
        "PrimaryMasterArn": "arn:aws:secretsmanager:us-east-1:111122223333:secret:speke-master-AbCdEf",
    },
    "everything": {
        "AllowedCallerArns": "arn:aws:iam::111122223333:role/speke-tester",
        "XrayTracing": "true",
        "AlarmEmail": "ops@example.com",
        "CreateApiGatewayLoggingRole": "true",
    },
    "pre-existing-logging-role": {"CreateApiGatewayLoggingRole": "false", "KeyRequestsStoppedAfterSeconds": "0"},
}


@pytest.mark.parametrize("case", sorted(TRANSFORM_CASES))
def test_transformed_api_has_two_iam_methods_invoking_lambda_with_its_own_permission(sam_transform, case):
    # key delivery is off in these cases (its resources, all conditional, are in tests/infra/test_infra_key_delivery.py)
    out = {lid: r for lid, r in sam_transform(TRANSFORM_CASES[case])["Resources"].items() if "KeyDelivery" not in lid}
    (api,) = [r for r in out.values() if r["Type"] == "AWS::ApiGateway::RestApi"]
    body = api["Properties"]["Body"]
    assert sorted(body["paths"]) == ["/copyProtection", "/heartbeat"]
    assert list(body["paths"]["/copyProtection"]) == ["post"]
    assert list(body["paths"]["/heartbeat"]) == ["get"]
    for method in (body["paths"]["/copyProtection"]["post"], body["paths"]["/heartbeat"]["get"]):
        assert method["security"] == [{"AWS_IAM": []}]
        integration = method["x-amazon-apigateway-integration"]
        assert integration["type"] == "aws_proxy"
        assert "credentials" not in integration  # not the caller's credentials: API Gateway's own permission
    stages = [r for r in out.values() if r["Type"] == "AWS::ApiGateway::Stage"]
    assert [s["Properties"]["StageName"] for s in stages] == [STAGE]
    permissions = [r for r in out.values() if r["Type"] == "AWS::Lambda::Permission"]
    sources = []
    for permission in permissions:
        assert permission["Properties"]["Principal"] == "apigateway.amazonaws.com"
        source, names = permission["Properties"]["SourceArn"]["Fn::Sub"]
        assert names["__ApiId__"] == {"Ref": "SpekeApi"}
        sources.append(source.rsplit("/", 2)[-2:])
        # the API invokes the live alias, never $LATEST
        assert permission["Properties"]["FunctionName"] == {"Ref": "KeyProviderFunctionAliaslive"}
    assert sorted(sources) == [["GET", "heartbeat"], ["POST", "copyProtection"]]
    assert "KeyProviderFunctionAliaslive.Arn" in json.dumps(integration["uri"]) or "Aliaslive" in json.dumps(
        integration["uri"]
    )
    roles = {lid for lid, r in out.items() if r["Type"] == "AWS::IAM::Role"}
    # (the transform keeps conditional resources; CloudFormation drops them at deploy time)
    expected = {"KeyProviderFunctionRole", "SpekeRole", "ApiGatewayCloudWatchRole", "ApiGatewayAccountFunctionRole"}
    assert roles == expected | {"CodeDeployServiceRole"}  # SAM made only the CodeDeploy role
    codedeploy = out["CodeDeployServiceRole"]["Properties"]
    assert [json.dumps(a) for a in codedeploy["ManagedPolicyArns"]] == [
        json.dumps({"Fn::Sub": ["arn:${AWS::Partition}:iam::aws:policy/service-role/AWSCodeDeployRoleForLambda", {}]})
    ] or "AWSCodeDeployRoleForLambda" in json.dumps(codedeploy["ManagedPolicyArns"])
    (group,) = [r for r in out.values() if r["Type"] == "AWS::CodeDeploy::DeploymentGroup"]
    alarms = group["Properties"]["AlarmConfiguration"]
    assert alarms["Enabled"] is True and {a["Name"]["Ref"] for a in alarms["Alarms"]} == {
        "FunctionErrorsAlarm",
        "Api5xxAlarm",
    }
    assert "DEPLOYMENT_STOP_ON_ALARM" in group["Properties"]["AutoRollbackConfiguration"]["Events"]
    (layer,) = [r for r in out.values() if r["Type"] == "AWS::Lambda::LayerVersion"]
    assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]
    functions = {lid: r for lid, r in out.items() if r["Type"] == "AWS::Lambda::Function"}
    assert set(functions) <= {"KeyProviderFunction", "ApiGatewayAccountFunction"}
    for function in functions.values():
        assert function["Properties"]["Architectures"] == ["arm64"]
        assert function["Properties"]["Runtime"] == "python3.13"


def test_transformed_resource_policy_names_the_allowed_callers(sam_transform):
    out = sam_transform(TRANSFORM_CASES["everything"])["Resources"]
    (api,) = [r for r in out.values() if r["Type"] == "AWS::ApiGateway::RestApi"]
    policy = api["Properties"]["Body"]["x-amazon-apigateway-policy"]
    text = json.dumps(policy)
    assert "arn:aws:iam::111122223333:role/speke-tester" in text
    allow = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    assert [s["Resource"] for s in allow] == [
        [f"execute-api:/{STAGE}/POST/copyProtection", f"execute-api:/{STAGE}/GET/heartbeat"]
    ]
    assert '"*"' not in json.dumps([s["Principal"] for s in allow])


# ------------------------------------------------------------------ samconfig.toml


def test_samconfig_environments_set_valid_parameters(template):
    config = tomllib.loads((REPO / "samconfig.toml").read_text(encoding="utf-8"))
    assert {"default", "prod"} <= set(config)
    for env in ("default", "prod"):
        assert config[env]["global"]["parameters"]["region"], f"{env}: no region (sam validate needs one offline)"
        deploy = config[env]["deploy"]["parameters"]
        assert deploy["capabilities"] == "CAPABILITY_IAM"
        assert "use_container" not in config[env].get("build", {}).get("parameters", {})
        for item in deploy["parameter_overrides"]:
            name, _, value = item.partition("=")
            value = value[1:-1] if value.startswith('"') and value.endswith('"') else value
            parameter = template["Parameters"].get(name)
            assert parameter is not None, f"{env}: {name} is not a template parameter"
            if "AllowedValues" in parameter:
                assert value in [str(v) for v in parameter["AllowedValues"]], f"{env}: {name}={value}"
            if "AllowedPattern" in parameter:
                assert re.fullmatch(parameter["AllowedPattern"], value), f"{env}: {name}={value}"
