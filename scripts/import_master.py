#!/usr/bin/env python3
"""Keep the same master key across a re-created stack: write the CloudFormation resource-import files that let
a new stack adopt the master key home an earlier stack retained (docs/deploy.md, "Keeping the same master").

Every content key is derived from the master key, so a stack created from scratch (a new secret or HMAC key)
changes every key. The key homes are retained when a stack is deleted; importing them into the new stack, under
the same logical IDs, before its first full deploy keeps every key as it was.

    python3 scripts/import_master.py --key-source secretsmanager \\
        --secret-arn <MasterKeySecretArn> --kms-key-arn <MasterKeyEncryptionKeyArn> --out-dir .import
    python3 scripts/import_master.py --key-source kms --hmac-key-arn <MasterHmacKeyArn> --out-dir .import

writes .import/template.json (the key home resources of template.yaml alone: no transform, no conditions) and
.import/resources.json (the identifiers of the retained resources), for
`aws cloudformation create-change-set --change-set-type IMPORT`. Needs PyYAML (the app and infra venvs have it).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "infra"))

from infra_helpers import load_cfn_yaml  # noqa: E402 - the CloudFormation YAML loader of the infra tests

# logical id -> (resource type, import identifier key, command-line option holding the identifier)
HOMES = {
    "secretsmanager": {
        "MasterKeyEncryptionKey": ("AWS::KMS::Key", "KeyId", "kms_key_arn"),
        "MasterKeySecret": ("AWS::SecretsManager::Secret", "Id", "secret_arn"),
    },
    "kms": {
        "MasterHmacKey": ("AWS::KMS::Key", "KeyId", "hmac_key_arn"),
    },
}


def import_files(key_source: str, identifiers: dict[str, str]) -> tuple[dict, list[dict]]:
    """(import template, resources to import) for the retained home of ``key_source``."""
    template = load_cfn_yaml((REPO / "template.yaml").read_text(encoding="utf-8"))
    resources = {}
    to_import = []
    for logical_id, (kind, key, option) in HOMES[key_source].items():
        resource = dict(template["Resources"][logical_id])
        assert resource["Type"] == kind, logical_id
        assert resource.get("DeletionPolicy") == "Retain", f"{logical_id} is not retained: nothing to import"
        resource.pop("Condition", None)
        resources[logical_id] = resource
        value = identifiers[option]
        if kind == "AWS::KMS::Key":
            value = value.rsplit("/", 1)[-1]  # the key id of a key ARN
        to_import.append({"ResourceType": kind, "LogicalResourceId": logical_id, "ResourceIdentifier": {key: value}})
    body = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "speke-keyprovider: adopt the retained master key home (import only; then sam deploy)",
        "Resources": resources,
    }
    return body, to_import


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--key-source", choices=sorted(HOMES), required=True)
    parser.add_argument("--secret-arn", help="MasterKeySecretArn of the earlier stack (secretsmanager)")
    parser.add_argument("--kms-key-arn", help="MasterKeyEncryptionKeyArn of the earlier stack (secretsmanager)")
    parser.add_argument("--hmac-key-arn", help="MasterHmacKeyArn of the earlier stack (kms)")
    parser.add_argument("--out-dir", type=Path, default=Path(".import"))
    args = parser.parse_args(argv)
    identifiers = {k: v for k, v in vars(args).items() if isinstance(v, str)}
    missing = [f"--{o.replace('_', '-')}" for _, _, o in HOMES[args.key_source].values() if not identifiers.get(o)]
    if missing:
        parser.error(f"--key-source {args.key_source} needs {' and '.join(missing)}")
    body, to_import = import_files(args.key_source, identifiers)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / "template.json").write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
    (args.out_dir / "resources.json").write_text(json.dumps(to_import, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out_dir / 'template.json'} and {args.out_dir / 'resources.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
