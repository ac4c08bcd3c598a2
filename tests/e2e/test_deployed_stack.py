"""Against a deployed stack (skipped unless SPEKE_E2E_URL is set): the operator CLI sends MediaPackage-style,
SigV4-signed requests for every preset pair and DRM combination and checks every answer against the contract.

    SPEKE_E2E_URL=https://<api>.execute-api.<region>.amazonaws.com/v1/copyProtection \\
    SPEKE_E2E_REGION=<region> [SPEKE_E2E_CERT=cert.pem SPEKE_E2E_KEY=key.pem] \\
    .venv/bin/python -m pytest -m e2e tests/e2e

Credentials come from the standard botocore chain and must be allowed to invoke the API (the SPEKE role,
or a principal in AllowedCallerArns). With RequireEncryptedKeys=true (the template's default) give a
certificate whose SHA-256 is in TrustedCertSha256 (or leave the allowlist empty) and its private key.
"""

import os
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.skipif(not os.environ.get("SPEKE_E2E_URL"), reason="no deployed stack (SPEKE_E2E_URL)")]


def test_matrix_against_the_deployed_stack():
    args = [
        sys.executable,
        "-m",
        "speke_keyprovider_tools",
        "request",
        os.environ.get("SPEKE_E2E_URL", ""),
        "--matrix",
        "--region",
        os.environ.get("SPEKE_E2E_REGION", "us-east-1"),
        "--no-color",
    ]
    if os.environ.get("SPEKE_E2E_CERT"):
        args += ["--cert", os.environ["SPEKE_E2E_CERT"], "--key", os.environ["SPEKE_E2E_KEY"]]
    done = subprocess.run(args, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " 0 failed: PASS" in done.stdout
