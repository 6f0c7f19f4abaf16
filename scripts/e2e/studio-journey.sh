#!/usr/bin/env bash
# The creator's journey in the real studio window under Xvfb (tauri-driver + WebKitWebDriver),
# with a private unlocked gnome-keyring, fresh data/config dirs, and the built-in server.
# Prints `studio journey: N passed, N failed`; screenshots in tests/artifacts/.
set -uo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/aethex/target}
export PATH="$HOME/.cargo/bin:$PATH"
(cd ui && npx vite build >/dev/null) || { echo "studio journey: 0 passed, 1 failed"; exit 1; }
cargo build -q -p aethex-studio -p aethex-server || { echo "studio journey: 0 passed, 1 failed"; exit 1; }
APP=${STUDIO_APP:-$CARGO_TARGET_DIR/debug/aethex-studio}
ART=tests/artifacts; mkdir -p "$ART"
TMP=$(mktemp -d /tmp/aethex-journey.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
export XDG_DATA_HOME=$TMP/data XDG_CONFIG_HOME=$TMP/config
mkdir -p "$XDG_DATA_HOME" "$XDG_CONFIG_HOME"
xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- sh -c '
  echo -n pass | gnome-keyring-daemon --unlock --components=secrets >/dev/null || exit 1
  tauri-driver --port 4444 >"$0/tauri-driver.log" 2>&1 & TD=$!
  node ui/e2e/studio-journey.e2e.mjs "$1" "$0"; rc=$?
  kill $TD 2>/dev/null; wait $TD 2>/dev/null; exit $rc' "$ART" "$APP"
