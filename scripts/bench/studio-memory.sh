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
export XDG_DATA_HOME=$TMP/data XDG_CONFIG_HOME=$TMP/config
mkdir -p "$XDG_DATA_HOME" "$XDG_CONFIG_HOME"
xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- sh -c '
  echo -n pass | gnome-keyring-daemon --unlock --components=secrets >/dev/null || exit 1
  tauri-driver --port 4444 >"$0/tauri-driver.log" 2>&1 & TD=$!
  node ui/e2e/studio-memory.bench.mjs "$1" "$2"; rc=$?
  kill $TD 2>/dev/null; wait $TD 2>/dev/null; exit $rc' "$TMP" "$APP" "${1:-30}" 2>"$TMP/stderr.log" \
  || { tail -n 30 "$TMP/stderr.log"; exit 1; }
