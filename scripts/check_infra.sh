#!/usr/bin/env bash
# Infrastructure checks - the CI entry, also `make check-infra`. Needs no AWS credentials and no
# Docker; reaches only PyPI (to fill the venvs the first time).
#
#   1. .venv-infra/sam      aws-sam-cli, cfn-lint, pytest, PyYAML   (requirements/infra.txt)
#      .venv-infra/checkov  checkov                                 (requirements/infra-checkov.txt)
#      Two venvs, apart from the app's .venv: aws-sam-cli, checkov and the app each pin a different boto3.
#      Each is (re)installed only when its requirements file or its Python changes.
#   2. sam validate --lint      3. cfn-lint template.yaml
#   4. checkov (cloudformation, --skip-download; skips are justified in template.yaml Metadata)
#   5. sam build (on this machine: no container); prints the layer's size
#   6. pytest tests/infra: the template (least privilege, the AWS call budget against the function timeout,
#      alarms that can fire at SPEKE rates, retention, alias and deployment preference, the first-deploy
#      prerequisite), samconfig.toml against the deploy guide, the layer lock, and the build artifacts of step 5
#      (exactly the locked set, nothing shadowing the Lambda runtime, aarch64, the guide's size figures)
#
# Every step runs even if an earlier one failed (the venv step aside); the exit code is non-zero if any
# failed. Timings are printed at the end.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 1

export SAM_CLI_TELEMETRY=0
export AWS_EC2_METADATA_DISABLED=true   # no instance-metadata probing for credentials or region
export PIP_DISABLE_PIP_VERSION_CHECK=1

VENV_ROOT="${INFRA_VENV_ROOT:-$ROOT/.venv-infra}"
SAM_VENV="$VENV_ROOT/sam"
CHECKOV_VENV="$VENV_ROOT/checkov"
BUILD_DIR="$ROOT/.aws-sam/build"

STEP_NAMES=()
STEP_SECONDS=()
STEP_RESULTS=()
FAILED=0

now_ms() { date +%s%3N; }

step() {  # step NAME COMMAND... : run, time and record it
    local name="$1"
    shift
    echo
    echo "==> ${name}"
    local start end rc
    start="$(now_ms)"
    "$@"
    rc=$?
    end="$(now_ms)"
    STEP_NAMES+=("$name")
    STEP_SECONDS+=("$(awk -v ms="$((end - start))" 'BEGIN { printf "%.1f", ms / 1000 }')")
    if [ "$rc" -eq 0 ]; then
        STEP_RESULTS+=("ok")
    else
        STEP_RESULTS+=("FAILED (exit $rc)")
        FAILED=1
    fi
    return "$rc"
}

summary() {
    echo
    echo "==> infra check timings"
    local i
    for i in "${!STEP_NAMES[@]}"; do
        printf '  %-28s %7ss  %s\n' "${STEP_NAMES[$i]}" "${STEP_SECONDS[$i]}" "${STEP_RESULTS[$i]}"
    done
    printf '  %-28s %7ss\n' "total" "$(awk -v ms="$(($(now_ms) - SCRIPT_START))" 'BEGIN { printf "%.1f", ms / 1000 }')"
}

pick_python() {  # pyenv's 3.13, else python3.13, else python3 (which must be >= 3.9)
    local candidate
    for candidate in "$HOME"/.pyenv/versions/3.13*/bin/python3.13 "$(command -v python3.13 || true)" \
                     "$(command -v python3 || true)"; do
        if [ -z "$candidate" ] || [ ! -x "$candidate" ]; then continue; fi
        # pyenv shims exist even for versions that are not selected, and then refuse to run: ask each one.
        if "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 9) else 1)' >/dev/null 2>&1; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

ensure_venv() {  # ensure_venv DIR REQUIREMENTS: create once, reinstall when the pins or the Python change
    local dir="$1" requirements="$2" want have
    want="$(sha256sum "$requirements" | cut -c1-64) $("$PYTHON" -c 'import sys; print(sys.version)' | head -1)"
    have="$(cat "$dir/.installed" 2>/dev/null || true)"
    if [ -x "$dir/bin/python" ] && [ "$want" = "$have" ]; then
        echo "$dir is up to date with $requirements"
        return 0
    fi
    if [ ! -x "$dir/bin/python" ] || [ -n "$have" ]; then
        rm -rf "$dir"
        "$PYTHON" -m venv "$dir" || return 1
    fi
    "$dir/bin/python" -m pip install --quiet -r "$requirements" || return 1
    echo "$want" > "$dir/.installed"
}

setup_venvs() {
    mkdir -p "$VENV_ROOT"
    ensure_venv "$SAM_VENV" requirements/infra.txt && ensure_venv "$CHECKOV_VENV" requirements/infra-checkov.txt
}

sam_build() {
    rm -rf "$BUILD_DIR"
    # The venv's bin first: `sam build` needs a python3.13 for the python3.13 function, and the layer's
    # Makefile runs `python3 -m pip` (the versions come from --platform/--python-version, not from this one).
    PATH="$SAM_VENV/bin:$PATH" "$SAM_VENV/bin/sam" build --build-dir "$BUILD_DIR" || return 1
    local layer="$BUILD_DIR/SpekeLibraryLayer"
    echo "layer: $(du -sm --apparent-size "$layer" | cut -f1) MB unzipped," \
        "$(cd "$layer" && "$SAM_VENV/bin/python" -c 'import io, os, zipfile
buffer = io.BytesIO()
with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
    for root, _, names in os.walk("."):
        for name in names:
            archive.write(os.path.join(root, name))
print(round(buffer.tell() / 1e6, 1))') MB zipped" \
        "($(find "$layer/python" -maxdepth 1 -name '*.dist-info' | wc -l) locked distributions)"
}

infra_tests() {
    # --confcutdir: tests/conftest.py imports the library, which is not installed in this venv (and so does
    # not mark the tiers here: the folder is the selection). -rs lists what was skipped, and why.
    SPEKE_INFRA_BUILD_DIR="$BUILD_DIR" "$SAM_VENV/bin/python" -m pytest tests/infra \
        --confcutdir=tests/infra -p no:cacheprovider -q -rs
}

SCRIPT_START="$(now_ms)"

if ! PYTHON="$(pick_python)"; then
    echo "no Python >= 3.9 found (tried ~/.pyenv/versions/3.13*, python3.13, python3)" >&2
    exit 1
fi
echo "Python for the infra venvs: $PYTHON ($("$PYTHON" --version 2>&1))"
case "$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')" in
    3.13) ;;
    *) echo "warning: not Python 3.13: sam build needs a python3.13 on PATH for the python3.13 function" >&2 ;;
esac

if ! step "venvs (.venv-infra)" setup_venvs; then
    summary
    echo "infra check: could not set up the venvs" >&2
    exit 1
fi
"$SAM_VENV/bin/sam" --version
"$CHECKOV_VENV/bin/checkov" --version

step "sam validate --lint" "$SAM_VENV/bin/sam" validate --lint --template template.yaml
step "cfn-lint" "$SAM_VENV/bin/cfn-lint" template.yaml
step "checkov" "$CHECKOV_VENV/bin/checkov" -f template.yaml --framework cloudformation --skip-download \
    --compact --quiet
step "sam build" sam_build
step "pytest tests/infra" infra_tests

summary
if [ "$FAILED" -ne 0 ]; then
    echo "infra check: FAILED" >&2
    exit 1
fi
echo "infra check: all passed"
