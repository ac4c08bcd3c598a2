"""template.yaml in each master-key mode (docs/multi-region.md): primary with a generated secret, primary
replicating that secret to other Regions (each replica with its own KMS key), primary with a multi-Region KMS
HMAC key, and replica stacks for either. The conditions are evaluated here for each mode's parameters, so each
test sees the resources that mode deploys: exactly one master home, and the function allowed exactly that one."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("yaml")

from infra_helpers import as_list, unwrap_if, walk_statements  # noqa: E402

PRIMARY_SECRET = "arn:aws:secretsmanager:us-east-1:111122223333:secret:speke-master-AbCdEf"  # pragma: allowlist secret
PRIMARY_MRK = "arn:aws:kms:us-east-1:111122223333:key/mrk-0123456789abcdef0123456789abcdef"
EU_KEY = "arn:aws:kms:eu-west-1:111122223333:key/01234567-89ab-cdef-0123-456789abcdef"
AP_KEY = "arn:aws:kms:ap-southeast-2:111122223333:key/11111111-89ab-cdef-0123-456789abcdef"

MODES: dict[str, tuple[dict[str, str], set[str]]] = {
    # mode: (parameters, the master-home resources it deploys)
    "secret primary": (
        {},
        {"MasterKeyEncryptionKey", "MasterKeyEncryptionKeyAlias", "MasterKeySecret", "MasterKeySecretPolicy"},
    ),
    "secret primary, two replicas": (
        {
            "SecretReplica1Region": "eu-west-1",  # pragma: allowlist secret
            "SecretReplica1KmsKeyArn": EU_KEY,
            "SecretReplica2Region": "ap-southeast-2",  # pragma: allowlist secret
            "SecretReplica2KmsKeyArn": AP_KEY,
        },
        {"MasterKeyEncryptionKey", "MasterKeyEncryptionKeyAlias", "MasterKeySecret", "MasterKeySecretPolicy"},
    ),
    "secret replica": (
        {"RegionRole": "replica", "PrimaryMasterArn": PRIMARY_SECRET},
        {"ReplicaSecretEncryptionKey", "ReplicaSecretEncryptionKeyAlias", "ReadReplicaMasterKeySecret"},
    ),
    "kms primary": ({"KeySource": "kms"}, {"MasterHmacKey", "MasterHmacKeyAlias"}),
    "kms multi-Region primary": (
        {"KeySource": "kms", "MasterHmacKeyMultiRegion": "true"},
        {"MasterHmacKey", "MasterHmacKeyAlias"},
    ),
    "kms replica": (
        {"KeySource": "kms", "RegionRole": "replica", "PrimaryMasterArn": PRIMARY_MRK},
        {"MasterHmacReplicaKey", "MasterHmacReplicaKeyAlias", "GenerateMacWithReplicaMasterKey"},
    ),
}
MASTER_HOMES = set().union(*(homes for _, homes in MODES.values()))


class Mode:
    """The template as one set of parameters deploys it: conditions evaluated, Fn::If resolved."""

    def __init__(self, template: dict[str, Any], parameters: dict[str, str]) -> None:
        self.template = template
        self.parameters = {name: str(p.get("Default", "")) for name, p in template["Parameters"].items()}
        self.parameters.update(parameters)
        self._conditions: dict[str, bool] = {}

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            self._conditions[name] = self._eval(self.template["Conditions"][name])
        return self._conditions[name]

    def _eval(self, node: Any) -> Any:
        if isinstance(node, dict) and len(node) == 1:
            ((key, value),) = node.items()
            if key == "Fn::Equals":
                return self._value(value[0]) == self._value(value[1])
            if key == "Fn::Not":
                return not self._eval(value[0])
            if key == "Fn::And":
                return all(self._eval(v) for v in value)
            if key == "Fn::Or":
                return any(self._eval(v) for v in value)
            if key == "Condition":
                return self.condition(value)
        raise AssertionError(f"unexpected condition {node}")

    def _value(self, node: Any) -> Any:
        if isinstance(node, dict) and set(node) == {"Ref"}:
            return self.parameters.get(node["Ref"], node)
        return node

    def resolve(self, node: Any) -> Any:
        """Fn::If branches taken, AWS::NoValue dropped (returned as None at the top)."""
        if isinstance(node, dict):
            if set(node) == {"Fn::If"}:
                name, when_true, when_false = node["Fn::If"]
                return self.resolve(when_true if self.condition(name) else when_false)
            if node == {"Ref": "AWS::NoValue"}:
                return None
            out = {k: self.resolve(v) for k, v in node.items()}
            return {k: v for k, v in out.items() if v is not None}
        if isinstance(node, list):
            return [v for v in (self.resolve(item) for item in node) if v is not None]
        return node

    @property
    def resources(self) -> dict[str, Any]:
        return {
            lid: self.resolve(r)
            for lid, r in self.template["Resources"].items()
            if "Condition" not in r or self.condition(r["Condition"])
        }

    def rules_hold(self) -> bool:
        for rule in self.template.get("Rules", {}).values():
            if "RuleCondition" in rule and not self._eval(rule["RuleCondition"]):
                continue
            if not all(self._eval(a["Assert"]) for a in rule["Assertions"]):
                return False
        return True


def function_grants(resources: dict[str, Any], role: str = "KeyProviderFunctionRole") -> list[dict[str, Any]]:
    """Every statement granted to a function's role: inline policies and RolePolicy resources."""
    statements = []
    for policy in resources[role]["Properties"]["Policies"]:
        for branch in unwrap_if(policy):
            statements += list(walk_statements(branch["PolicyDocument"]))
    for resource in resources.values():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::IAM::RolePolicy" and props["RoleName"] == {"Ref": role}:
            statements += list(walk_statements(props["PolicyDocument"]))
    return statements


@pytest.mark.parametrize("mode", sorted(MODES))
def test_each_mode_deploys_one_master_home_and_grants_only_it(template, mode):
    parameters, homes = MODES[mode]
    deployed = Mode(template, parameters)
    assert deployed.rules_hold(), f"{mode}: the template's Rules refuse these parameters"
    resources = deployed.resources
    assert set(resources) & MASTER_HOMES == homes
    env = resources["KeyProviderFunction"]["Properties"]["Environment"]["Variables"]
    grants = {
        action: as_list(s["Resource"])
        for s in function_grants(resources)
        for action in as_list(s["Action"])
        if not action.startswith(("logs:", "xray:"))
    }
    if deployed.parameters["KeySource"] == "kms":
        assert "MASTER_KEY_SECRET_ID" not in env
        key = "MasterHmacReplicaKey" if "replica" in mode else "MasterHmacKey"
        assert env["KMS_HMAC_KEY_ID"] == {"Fn::GetAtt": [key, "Arn"]}
        assert grants == {"kms:GenerateMac": [{"Fn::GetAtt": [key, "Arn"]}]}
    else:
        assert "KMS_HMAC_KEY_ID" not in env
        secret = env["MASTER_KEY_SECRET_ID"]
        key = "ReplicaSecretEncryptionKey" if "replica" in mode and "replicas" not in mode else "MasterKeyEncryptionKey"
        assert grants == {"secretsmanager:GetSecretValue": [secret], "kms:Decrypt": [{"Fn::GetAtt": [key, "Arn"]}]}
        (decrypt,) = [s for s in function_grants(resources) if s["Action"] == "kms:Decrypt"]
        assert decrypt["Condition"]["StringEquals"]["kms:EncryptionContext:SecretARN"] == secret


@pytest.mark.parametrize("mode", sorted(MODES))
def test_key_delivery_reads_the_same_master_as_the_key_provider_in_each_mode(template, mode):
    """Key delivery on: its function is pointed at, and granted, exactly the master home the SPEKE function uses
    (a replica stack's players get the replica's keys, the same as the primary's)."""
    parameters, _ = MODES[mode]
    resources = Mode(
        template,
        parameters | {"KeyDelivery": "aes128", "KeyDeliveryGenerateTokenSecret": "true"},  # pragma: allowlist secret
    ).resources
    speke_env = resources["KeyProviderFunction"]["Properties"]["Environment"]["Variables"]
    delivery_env = resources["KeyDeliveryFunction"]["Properties"]["Environment"]["Variables"]
    for name in ("MASTER_KEY_SECRET_ID", "KMS_HMAC_KEY_ID"):
        assert delivery_env.get(name) == speke_env.get(name), name

    def master_grants(role: str) -> dict[str, Any]:
        return {
            action: as_list(s["Resource"])
            for s in function_grants(resources, role)
            for action in as_list(s["Action"])
            if action in ("kms:GenerateMac", "kms:Decrypt")
            or (
                action == "secretsmanager:GetSecretValue"
                and as_list(s["Resource"]) != [{"Ref": "KeyDeliveryTokenSecret"}]
            )
        }

    assert master_grants("KeyDeliveryFunctionRole") == master_grants("KeyProviderFunctionRole")


def test_secret_replicas_each_with_their_own_key(template):
    resources = Mode(template, MODES["secret primary, two replicas"][0]).resources
    assert resources["MasterKeySecret"]["Properties"]["ReplicaRegions"] == [
        {"Region": {"Ref": "SecretReplica1Region"}, "KmsKeyId": {"Ref": "SecretReplica1KmsKeyArn"}},
        {"Region": {"Ref": "SecretReplica2Region"}, "KmsKeyId": {"Ref": "SecretReplica2KmsKeyArn"}},
    ]
    one = Mode(
        template,
        {"SecretReplica1Region": "eu-west-1", "SecretReplica1KmsKeyArn": EU_KEY},  # pragma: allowlist secret
    ).resources  # pragma: allowlist secret
    assert len(one["MasterKeySecret"]["Properties"]["ReplicaRegions"]) == 1
    none = Mode(template, {}).resources
    assert "ReplicaRegions" not in none["MasterKeySecret"]["Properties"]


def test_secret_replica_key_is_used_only_through_secrets_manager_here(template):
    resources = Mode(template, MODES["secret replica"][0]).resources
    key = resources["ReplicaSecretEncryptionKey"]
    assert key["DeletionPolicy"] == "Retain" and key["Properties"]["EnableKeyRotation"] is True
    use = [s for s in walk_statements(key["Properties"]["KeyPolicy"]) if "kms:Decrypt" in as_list(s["Action"])]
    assert [s["Condition"]["StringEquals"]["kms:ViaService"] for s in use] == [
        {"Fn::Sub": "secretsmanager.${AWS::Region}.amazonaws.com"}
    ]
    outputs = template["Outputs"]
    assert outputs["ReplicaSecretEncryptionKeyArn"]["Condition"] == "UseReplicaSecret"


def test_multi_region_hmac_key_only_when_asked(template):
    assert Mode(template, MODES["kms multi-Region primary"][0]).resources["MasterHmacKey"]["Properties"]["MultiRegion"]
    # absent (never an explicit false) otherwise: adding the property to an existing key would replace it
    assert "MultiRegion" not in Mode(template, {"KeySource": "kms"}).resources["MasterHmacKey"]["Properties"]


def test_kms_replica_key_replicates_the_primary_and_is_hmac_only(template):
    resources = Mode(template, MODES["kms replica"][0]).resources
    replica = resources["MasterHmacReplicaKey"]
    assert replica["Properties"]["PrimaryKeyArn"] == {"Ref": "PrimaryMasterArn"}
    assert replica["DeletionPolicy"] == "Retain"
    statements = list(walk_statements(replica["Properties"]["KeyPolicy"]))
    primary = list(walk_statements(template["Resources"]["MasterHmacKey"]["Properties"]["KeyPolicy"]))
    assert statements == primary  # the same key policy in every Region


@pytest.mark.parametrize(
    "parameters",
    [
        {"RegionRole": "replica"},  # no primary named
        {"SecretReplica1Region": "eu-west-1"},  # pragma: allowlist secret (a replica without its own key)
        {
            "SecretReplica1Region": "eu-west-1",  # pragma: allowlist secret
            "SecretReplica1KmsKeyArn": EU_KEY,
            "SecretReplica2Region": "x-y-1",  # pragma: allowlist secret
        },
    ],
)
def test_rules_refuse_incomplete_modes(template, parameters):
    assert not Mode(template, parameters).rules_hold()


def test_primary_arn_pattern_takes_a_secret_or_a_multi_region_key(template):
    import re

    pattern = template["Parameters"]["PrimaryMasterArn"]["AllowedPattern"]
    assert re.fullmatch(pattern, PRIMARY_SECRET) and re.fullmatch(pattern, PRIMARY_MRK) and re.fullmatch(pattern, "")
    single_region = "arn:aws:kms:us-east-1:111122223333:key/01234567-89ab-cdef-0123-456789abcdef"
    assert not re.fullmatch(pattern, single_region)
