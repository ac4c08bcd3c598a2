#!/usr/bin/env bash
# The browser tier's toolchain (`make browser-deps`; CI runs it before `make test`):
#   apt: chromium, ffmpeg (and nodejs + npm when there is no node at all)
#   npm: tests/browser/node/package-lock.json exactly (`npm ci`): playwright-core, hls.js, shaka-player,
#        dashjs, shaka-packager (its package ships the packager binary; no other download happens)
# Idempotent: apt runs only for a missing tool; npm ci only when node_modules does not match the lock.
set -euo pipefail
cd "$(dirname "$0")/.."
NODE_DIR=tests/browser/node

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v ffmpeg >/dev/null 2>&1 || missing+=(ffmpeg)
{ command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; } || missing+=(nodejs npm)
if ((${#missing[@]})); then
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  echo "browser-deps: apt-get install ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || echo "browser-deps: warning: node $(node --version) is older than playwright-core's >=20"

stamp="$NODE_DIR/node_modules/.package-lock.installed"
if ! cmp -s "$NODE_DIR/package-lock.json" "$stamp" 2>/dev/null; then
  echo "browser-deps: npm ci in $NODE_DIR"
  (cd "$NODE_DIR" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$NODE_DIR/package-lock.json" "$stamp"
fi
echo "browser-deps: $(/usr/bin/chromium --version 2>/dev/null | head -1); $(ffmpeg -version | head -1 | cut -d' ' -f1-3); node $(node --version)"
