#!/usr/bin/env bash
# Benchmark: GET /api/v1/channels/{name} on aethex-server (SQLite) vs a bare
# axum hello-world, side by side with wrk on this machine. Prints req/s, p99
# and the ratio (target ≥ 0.5× the bare endpoint).
# The server's per-IP rate limit is turned off (--rate-limit 0): every request
# comes from one address here, and the limit would answer 429s instead.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/aethex/target}
DUR=${DUR:-10}; CONN=${CONN:-64}; THREADS=${THREADS:-1}
command -v wrk >/dev/null || apt-get -o DPkg::Lock::Timeout=900 install -y -qq wrk >/dev/null
cargo build --release -q -p aethex-server --bin aethex-server --example hello
BIN=$CARGO_TARGET_DIR/release
TMP=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$TMP"' EXIT

addr_of() { for _ in $(seq 100); do l=$(grep -m1 '^listening' "$1" 2>/dev/null) && { echo "$l" | sed 's/.*http=\([^ ]*\).*/\1/'; return; }; sleep 0.1; done; echo "no listening line in $1" >&2; exit 1; }

RUST_LOG=warn "$BIN/aethex-server" --http 127.0.0.1:0 --rtmp 127.0.0.1:0 --data-dir "$TMP/data" --rate-limit 0 >"$TMP/server.out" 2>"$TMP/server.err" &
"$BIN/examples/hello" >"$TMP/hello.out" &
SRV=$(addr_of "$TMP/server.out"); HELLO=$(addr_of "$TMP/hello.out")
curl -fs -X POST "http://$SRV/api/v1/auth/register" -H 'content-type: application/json' \
  -d '{"username":"benchy","password":"password123"}' >/dev/null
curl -fs "http://$SRV/api/v1/channels/benchy" >/dev/null

run() { wrk -t"$THREADS" -c"$CONN" -d"${DUR}s" --latency "$1" 2>&1; }
parse_rps() { awk '/Requests\/sec/ {print $2}'; }
parse_p99() { awk '$1=="99%" {print $2}'; }

echo "warming up…"; wrk -t1 -c8 -d2s "http://$SRV/api/v1/channels/benchy" >/dev/null; wrk -t1 -c8 -d2s "http://$HELLO/" >/dev/null
A=$(run "http://$SRV/api/v1/channels/benchy"); B=$(run "http://$HELLO/")
echo "$A" | grep -E 'Non-2xx|Socket errors' && { echo "errors during the aethex run"; }
ra=$(echo "$A" | parse_rps); rb=$(echo "$B" | parse_rps)
pa=$(echo "$A" | parse_p99); pb=$(echo "$B" | parse_p99)
printf '%-40s %12s %10s\n' endpoint req/s p99
printf '%-40s %12s %10s\n' "aethex GET /api/v1/channels/{name}" "$ra" "$pa"
printf '%-40s %12s %10s\n' "bare axum hello-world" "$rb" "$pb"
python3 -c "print(f'ratio aethex/bare: {float(\"$ra\")/float(\"$rb\"):.2f}x (target >= 0.5x)')"
