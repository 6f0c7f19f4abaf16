#!/usr/bin/env bash
# Memory of the real studio while live at 720p30 with preview (test source, built-in
# server), under Xvfb through tauri-driver like scripts/e2e/studio-journey.sh. Samples
# /proc once a second for SECONDS (default 30): the studio process (RSS = anonymous +
# file-backed, PSS), its WebKit web/network processes and the built-in server child
# separately; lists the studio's biggest mappings; times launch → first preview frame.
# Usage: scripts/bench/studio-memory.sh [SECONDS]   (STUDIO_APP=path to use another build,
# AETHEX_PROFILE=release to build and measure the release binary)
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/aethex/target}
export PATH="$HOME/.cargo/bin:$PATH"
# shellcheck source=../lib/studio-session.sh
. scripts/lib/studio-session.sh
PROFILE=${AETHEX_PROFILE:-debug}
(cd ui && npx vite build --logLevel warn)
if [ -z "${STUDIO_APP:-}" ]; then
  flag=(); [ "$PROFILE" = release ] && flag=(--release)
  cargo build -q "${flag[@]}" -p aethex-studio -p aethex-server
fi
APP=${STUDIO_APP:-$CARGO_TARGET_DIR/$PROFILE/aethex-studio}
echo "studio binary: $APP ($(du -m "$APP" | cut -f1) MB)"
TMP=$(mktemp -d /tmp/aethex-membench.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
studio_fresh_dirs "$TMP"
studio_session "$TMP" ui/e2e/studio-memory.bench.mjs "$APP" "${1:-30}" 2>"$TMP/stderr.log" \
  || { tail -n 30 "$TMP/stderr.log"; exit 1; }
