#!/usr/bin/env bash
# Security checks, the CI entry. Runs every check, then exits non-zero if any failed.
#
#   ruff        ruff check over the repository with pyproject's configuration
#   mypy        the server package, the handler (functions/) and the workstation tools (tools/)
#   bandit      library, handler, scripts and fuzz harness: no medium or high finding (-ll); every
#               "# nosec" carries its reason on the same line
#   pip-audit   requirements/runtime.txt (the layer's pins, resolved with their dependencies) against
#               the PyPI vulnerability data; see AUDIT POLICY below
#   secrets     detect-secrets over every tracked or new, non-ignored file, against .secrets.baseline
#
# Tools live in .venv-security (pins: requirements/security.txt, plus the runtime pins so mypy sees the
# real libraries), created here on first use and refreshed when either file changes.
#
# AUDIT POLICY. pip-audit needs a vulnerability service: PyPI's JSON API (the default) or OSV. Where
# neither answers (this workplace's network serves only the package indexes: the JSON API answers 404),
# nothing can be audited. The script then says so in a line starting "NOT AUDITED" and, by default,
# does not fail: a gate that can never pass would only be switched off, and the pins are still checked
# wherever the service is reachable. Set SECURITY_AUDIT_REQUIRED=1 to make an unreachable service a
# failure (do that in any CI that can reach PyPI's JSON API or OSV). Known vulnerabilities found are
# always a failure.
#
# Usage: scripts/security_checks.sh [--update-baseline] [check ...]     (checks: ruff mypy bandit audit secrets)
set -uo pipefail
cd "$(dirname "$0")/.."

VENV=${SECURITY_VENV:-.venv-security}
PYTHON_BOOT=${PYTHON_BOOT:-$(ls -d "$HOME"/.pyenv/versions/3.13*/bin/python3.13 2>/dev/null | head -n1)}
PYTHON_BOOT=${PYTHON_BOOT:-$(command -v python3.13 || command -v python3)}
BASELINE=.secrets.baseline
LIBRARY=layers/speke_keyprovider/speke_keyprovider
BANDIT_PATHS=("$LIBRARY" functions scripts fuzz)
MYPY_PATHS=("$LIBRARY" functions/key_provider/app.py tools/speke_keyprovider_tools)
# Excluded from the secret scan, with the reason:
#   tests/fixtures/certs/ - the test-only delivery certificate and its private key (see its README);
#   dashif/               - the public DASH-IF CPIX test vectors (published keys and certificates);
#   files over 512 KiB    - generated padding (events/bad-413-oversize.json), not written by hand.
SECRET_EXCLUDE_FILES='^tests/fixtures/certs/|(^|/)dashif/|^\.secrets\.baseline$'
# Secrets excluded by value: the contract's published KDF test vectors (section 5): the master key and
# the three CEKs in hex and base64.
SECRET_EXCLUDE_VALUES='^(0123456789abcdef0123456789abcdef|f11a18a35cc5cb5080547aff81458d53|c2ebe7a748ae9366c7fadb3d4f47f481|cd5c270734dae433313b53838fdf7a1d|8RoYo1zFy1CAVHr/gUWNUw==|wuvnp0iuk2bH\+ts9T0f0gQ==|zVwnBzTa5DMxO1ODj996HQ==)$'
MAX_SCAN_BYTES=$((512 * 1024))

update_baseline=0
checks=()
for arg in "$@"; do
  case "$arg" in
    --update-baseline) update_baseline=1 ;;
    ruff|mypy|bandit|audit|secrets) checks+=("$arg") ;;
    -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
    *) echo "unknown argument: $arg" >&2; exit 2 ;;
  esac
done
[ ${#checks[@]} -eq 0 ] && checks=(ruff mypy bandit audit secrets)

# --- tools -----------------------------------------------------------------------------------------------
stamp="$VENV/.installed-$(cat requirements/security.txt requirements/runtime.txt | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "== installing the security tools into $VENV ($PYTHON_BOOT)"
  if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON_BOOT" -m venv "$VENV" || { echo "cannot create $VENV" >&2; exit 2; }
  fi
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
      -r requirements/runtime.txt -r requirements/security.txt || { echo "cannot install the tools" >&2; exit 2; }
  rm -f "$VENV"/.installed-*
  touch "$stamp"
fi
BIN="$VENV/bin"

failed=()
warned=()
section() { echo; echo "== $1"; }

# The files a secret scan looks at: tracked or new, not ignored, not too large.
scan_files() {
  git ls-files -z --cached --others --exclude-standard | "$BIN/python" -c '
import os, sys
limit = int(sys.argv[1])
for name in sys.stdin.buffer.read().split(b"\0"):
    path = name.decode()
    if path and os.path.isfile(path):
        if os.path.getsize(path) > limit:
            print(f"(not scanned, over {limit // 1024} KiB: {path})", file=sys.stderr)
        else:
            sys.stdout.write(path + "\0")
' "$MAX_SCAN_BYTES"
}

detect() {
  scan_files | xargs -0 "$BIN/detect-secrets" scan --exclude-files "$SECRET_EXCLUDE_FILES" \
      --exclude-secrets "$SECRET_EXCLUDE_VALUES"
}

run_ruff() {
  section "ruff check (pyproject.toml)"
  "$BIN/ruff" check . || failed+=(ruff)
  section "ruff format --check (one code style)"
  "$BIN/ruff" format --check . || failed+=(ruff-format)
}

run_mypy() {
  section "mypy ${MYPY_PATHS[*]}"
  # the layer and tools folders are the import roots (as installed); the handler is checked as its own module
  MYPYPATH=layers/speke_keyprovider:tools "$BIN/mypy" "${MYPY_PATHS[@]}" || failed+=(mypy)
}

run_bandit() {
  section "bandit -ll ${BANDIT_PATHS[*]}"
  "$BIN/bandit" -q -r "${BANDIT_PATHS[@]}" -ll -f custom \
      --msg-template '{relpath}:{line}: {test_id} [{severity}/{confidence}] {msg}' || failed+=(bandit)
  # a "# nosec" must say why on the same line
  local bare
  bare=$(grep -rnE '#\s*nosec\b' "${BANDIT_PATHS[@]}" --include='*.py' | grep -vE '#\s*nosec\s+B[0-9]+[^#]*(-|:)\s*\S' || true)
  if [ -n "$bare" ]; then
    echo "every # nosec needs its test id and a reason, e.g. '# nosec B303 - CPIX mandates SHA-1 in OAEP':"
    echo "$bare"
    failed+=(bandit-nosec)
  fi
}

run_audit() {
  section "pip-audit -r requirements/runtime.txt"
  local probe
  probe=$("$BIN/python" - <<'EOF'
import urllib.request, urllib.error
for url in ("https://pypi.org/pypi/defusedxml/0.7.1/json", "https://api.osv.dev/v1/query"):
    try:
        data = b'{"package": {"name": "defusedxml", "ecosystem": "PyPI"}, "version": "0.7.1"}' if "osv" in url else None
        with urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=15) as response:  # noqa: S310  # nosec B310 - fixed https URLs
            if response.status == 200:
                print("osv" if "osv" in url else "pypi")
                break
    except (urllib.error.URLError, OSError, ValueError) as exc:
        print(f"{url}: {getattr(exc, 'code', '') or type(exc).__name__}", end="; ")
EOF
)
  case "$probe" in
    pypi|osv)
      "$BIN/pip-audit" -r requirements/runtime.txt --vulnerability-service "$probe" --strict \
          --progress-spinner off --desc on || failed+=(pip-audit) ;;
    *)
      echo "NOT AUDITED: no vulnerability service answers here (${probe% }); the runtime pins were not checked"
      echo "for known vulnerabilities. Run this check where PyPI's JSON API or OSV is reachable."
      if [ "${SECURITY_AUDIT_REQUIRED:-0}" = "1" ]; then failed+=(pip-audit-unreachable); else warned+=(pip-audit); fi ;;
  esac
}

run_secrets() {
  section "detect-secrets against $BASELINE"
  if [ "$update_baseline" = 1 ]; then
    detect > "$BASELINE.new" && mv "$BASELINE.new" "$BASELINE" && echo "wrote $BASELINE: review every entry" \
        || { rm -f "$BASELINE.new"; failed+=(secrets); }
    return
  fi
  if [ ! -f "$BASELINE" ]; then
    echo "$BASELINE is missing: create it with $0 --update-baseline secrets, and review it"
    failed+=(secrets); return
  fi
  local scan
  scan=$(mktemp)
  detect > "$scan" || { failed+=(secrets); rm -f "$scan"; return; }
  "$BIN/python" - "$BASELINE" "$scan" <<'EOF' || failed+=(secrets)
import json, sys
baseline, scan = (json.load(open(path)) for path in sys.argv[1:3])
key = lambda f, s: (f, s["type"], s["hashed_secret"])
known = {key(f, s) for f, items in baseline["results"].items() for s in items}
new = [(f, s) for f, items in scan["results"].items() for s in items if key(f, s) not in known]
gone = known - {key(f, s) for f, items in scan["results"].items() for s in items}
for f, s in sorted(new, key=lambda item: (item[0], item[1]["line_number"])):
    print(f"NEW {f}:{s['line_number']}: {s['type']}")
if gone:
    print(f"({len(gone)} baseline entries no longer found: refresh with --update-baseline when convenient)")
if new:
    print(f"{len(new)} potential secret(s) not in {sys.argv[1]}. If one is a real secret, remove it and rotate it."
          " If it is a test value, mark the line '# pragma: allowlist secret' or refresh the baseline"
          " (--update-baseline) and review the diff.")
    sys.exit(1)
print(f"no new potential secrets ({len(known)} audited baseline entries)")
EOF
  rm -f "$scan"
}

for check in "${checks[@]}"; do
  case "$check" in
    ruff) run_ruff ;; mypy) run_mypy ;; bandit) run_bandit ;; audit) run_audit ;; secrets) run_secrets ;;
  esac
done

echo
[ ${#warned[@]} -gt 0 ] && echo "security checks: warnings: ${warned[*]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "security checks: FAILED: ${failed[*]}"
  exit 1
fi
echo "security checks: passed (${checks[*]})"
