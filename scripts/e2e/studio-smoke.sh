#!/usr/bin/env bash
# The real studio window under Xvfb via tauri-driver + WebKitWebDriver.
set -uo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/aethex/target}
export PATH="$HOME/.cargo/bin:$PATH"
cargo build -q -p aethex-studio -p aethex-server || { echo "studio: 0 passed, 1 failed"; exit 1; }
APP=$CARGO_TARGET_DIR/debug/aethex-studio
# Software rendering: Xvfb has no GPU, and WebKit's DMA-BUF renderer draws blank there.
# (no WebKit env overrides: screenshots work with the defaults)
ART=tests/artifacts; mkdir -p "$ART"
xvfb-run -a -s "-screen 0 1280x800x24" sh -c '
  tauri-driver --port 4444 >"$0/tauri-driver.log" 2>&1 & TD=$!
  node ui/e2e/studio-smoke.e2e.mjs "$1" "$0"; rc=$?
  kill $TD 2>/dev/null; wait $TD 2>/dev/null; exit $rc' "$ART" "$APP"
