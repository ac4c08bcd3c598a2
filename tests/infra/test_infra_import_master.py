"""scripts/import_master.py: the resource-import files that let a re-created stack adopt the master key home an
earlier stack retained (so that no content key changes)."""

from __future__ import annotations

import importlib.util
import json

import pytest

pytest.importorskip("yaml")

from infra_helpers import REPO  # noqa: E402

SECRET_ARN = "arn:aws:secretsmanager:us-east-1:111122223333:secret:speke-keyprovider-MasterKeySecret-AbCdEf"  # pragma: allowlist secret
KMS_KEY_ARN = "arn:aws:kms:us-east-1:111122223333:key/11111111-2222-3333-4444-555555555555"
HMAC_KEY_ARN = "arn:aws:kms:us-east-1:111122223333:key/66666666-7777-8888-9999-000000000000"


@pytest.fixture(scope="module")
def importer():
    spec = importlib.util.spec_from_file_location("speke_import_master", REPO / "scripts" / "import_master.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("key_source", "arguments", "expected"),
    [
        (
            "secretsmanager",
            ["--secret-arn", SECRET_ARN, "--kms-key-arn", KMS_KEY_ARN],
            {
                "MasterKeyEncryptionKey": ("AWS::KMS::Key", {"KeyId": KMS_KEY_ARN.rsplit("/", 1)[1]}),
                "MasterKeySecret": ("AWS::SecretsManager::Secret", {"Id": SECRET_ARN}),
            },
        ),
        (
            "kms",
            ["--hmac-key-arn", HMAC_KEY_ARN],
            {"MasterHmacKey": ("AWS::KMS::Key", {"KeyId": HMAC_KEY_ARN.rsplit("/", 1)[1]})},
        ),
    ],
)
def test_import_files_hold_the_retained_home_and_nothing_else(
    importer, resources, tmp_path, key_source, arguments, expected
):
    assert importer.main(["--key-source", key_source, *arguments, "--out-dir", str(tmp_path)]) == 0
    template = json.loads((tmp_path / "template.json").read_text())
    to_import = json.loads((tmp_path / "resources.json").read_text())
    assert "Transform" not in template and "Conditions" not in template
    assert set(template["Resources"]) == set(expected)
    for logical_id, resource in template["Resources"].items():
        original = resources[logical_id]
        assert resource["Type"] == original["Type"]
        assert resource["Properties"] == original["Properties"], "the import must describe the resource as deployed"
        assert resource["DeletionPolicy"] == "Retain" and "Condition" not in resource
    assert {item["LogicalResourceId"]: (item["ResourceType"], item["ResourceIdentifier"]) for item in to_import} == (
        expected
    )
    # everything the import template references is inside it (or a pseudo parameter)
    text = json.dumps(template)
    for name in ("KeySource", "LogRetentionDays", "SpekeApi"):
        assert name not in text


def test_import_needs_the_identifiers_of_its_home(importer, tmp_path):
    with pytest.raises(SystemExit):
        importer.main(["--key-source", "secretsmanager", "--secret-arn", SECRET_ARN, "--out-dir", str(tmp_path)])
