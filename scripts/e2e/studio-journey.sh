#!/usr/bin/env bash
# The creator's journey in the real studio window under Xvfb (tauri-driver + WebKitWebDriver),
# with a private unlocked gnome-keyring, fresh data/config dirs, and the built-in server.
# Prints `studio journey: N passed, N failed`; screenshots in tests/artifacts/.
set -uo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/aethex/target}
export PATH="$HOME/.cargo/bin:$PATH"
# shellcheck source=../lib/studio-session.sh
. scripts/lib/studio-session.sh
(cd ui && npx vite build >/dev/null) || { echo "studio journey: 0 passed, 1 failed"; exit 1; }
cargo build -q -p aethex-studio -p aethex-server || { echo "studio journey: 0 passed, 1 failed"; exit 1; }
APP=${STUDIO_APP:-$CARGO_TARGET_DIR/debug/aethex-studio}
ART=tests/artifacts; mkdir -p "$ART"
TMP=$(mktemp -d /tmp/aethex-journey.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
studio_fresh_dirs "$TMP"
studio_session "$ART" ui/e2e/studio-journey.e2e.mjs "$APP" "$ART"
