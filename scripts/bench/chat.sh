#!/usr/bin/env bash
# Chat benchmarks, side by side in one run (numbers, not pass/fail):
#  1. fan-out: CLIENTS receivers in one channel, one sender at RATE msgs/s for
#     SECS s, against aethex-server and a minimal Socket.io broadcast server
#     (npm `socket.io`, installed into ~/.cache/aethex/bench-socketio);
#     deliveries/s, p50/p99 send→receive latency and the ratio.
#  2. persisted messages/s (SQLite) with p50/p99 acknowledgement latency.
#  3. server memory per idle chat connection.
# Usage: scripts/bench/chat.sh   (env: CLIENTS=2000 RATE=50 SECS=10 IDLE=2000)
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/aethex/target}
CLIENTS=${CLIENTS:-2000}
RATE=${RATE:-50}
SECS=${SECS:-10}
IDLE=${IDLE:-2000}
SENDERS=${SENDERS:-8}
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

echo "== building (release)"
# A package-specific profile setting keeps this worktree's artifacts apart
# from other checkouts sharing the target dir.
cargo build --release --quiet --config 'profile.release.package.aethex-server.codegen-units=15' \
    --config 'profile.release.package.aethex-proto.codegen-units=15' \
    -p aethex-server --bin aethex-server --example chat_load
tmp=$(mktemp -d)
# Copy at once: other checkouts sharing the target dir overwrite these names.
cp "$CARGO_TARGET_DIR/release/aethex-server" "$CARGO_TARGET_DIR/release/examples/chat_load" "$tmp/"
BIN=$tmp/aethex-server
LOAD=$tmp/chat_load

SIO=${XDG_CACHE_HOME:-$HOME/.cache}/aethex/bench-socketio
if [ ! -d "$SIO/node_modules/socket.io" ]; then
    echo "== installing socket.io from npm into $SIO"
    mkdir -p "$SIO"
    (cd "$SIO" && { [ -f package.json ] || npm init -y >/dev/null; } \
        && npm install --no-audit --no-fund --loglevel=error socket.io@4 >/dev/null)
fi
cp scripts/bench/socketio-server.js "$SIO/"

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT

start_aethex() { # → sets APORT, APID
    local dir=$tmp/data-$1
    "$BIN" --data-dir "$dir" --http 127.0.0.1:0 --rtmp 127.0.0.1:0 --rate-limit 0 \
        --chat-rate-limit 0 >"$tmp/aethex-$1.out" 2>"$tmp/aethex-$1.err" &
    APID=$!; pids+=("$APID")
    for _ in $(seq 100); do
        APORT=$(sed -n 's/^listening http=127.0.0.1:\([0-9]*\).*/\1/p' "$tmp/aethex-$1.out")
        [ -n "$APORT" ] && return 0
        sleep 0.1
    done
    echo "aethex-server did not start"; cat "$tmp/aethex-$1.err"; exit 1
}
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }

echo "== 3. memory per idle connection ($IDLE connections)"
start_aethex idle
curl -sf -o /dev/null -X POST -H 'content-type: application/json' \
    -d '{"username":"idlechan","password":"benchmark-password"}' "http://127.0.0.1:$APORT/api/v1/auth/register"
before=$(rss_kb "$APID")
"$LOAD" idle --addr "127.0.0.1:$APORT" --channel idlechan --clients "$IDLE" --hold 6 >"$tmp/idle.out" &
lpid=$!; pids+=("$lpid")
for _ in $(seq 300); do grep -q ready "$tmp/idle.out" 2>/dev/null && break; sleep 0.1; done
sleep 2
during=$(rss_kb "$APID")
wait "$lpid" || true
kill "$APID"; wait "$APID" 2>/dev/null || true
per_conn=$(( (during - before) * 1024 / IDLE ))
echo "server RSS ${before} kB -> ${during} kB with $IDLE idle sockets: ${per_conn} bytes per connection"

echo "== 1. fan-out: $CLIENTS receivers, 1 sender at $RATE msgs/s for $SECS s"
start_aethex fanout
ours=$("$LOAD" fanout --kind aethex --addr "127.0.0.1:$APORT" --clients "$CLIENTS" --rate "$RATE" --seconds "$SECS" | grep RESULT)
kill "$APID"; wait "$APID" 2>/dev/null || true
node "$SIO/socketio-server.js" 0 >"$tmp/sio.out" 2>&1 &
SPID=$!; pids+=("$SPID")
for _ in $(seq 100); do SPORT=$(sed -n 's/^listening \([0-9]*\)/\1/p' "$tmp/sio.out"); [ -n "$SPORT" ] && break; sleep 0.1; done
theirs=$("$LOAD" fanout --kind socketio --addr "127.0.0.1:$SPORT" --clients "$CLIENTS" --rate "$RATE" --seconds "$SECS" | grep RESULT)
kill "$SPID"; wait "$SPID" 2>/dev/null || true
printf '%-10s %12s %12s %10s %10s %8s\n' server delivered/s expected p50_ms p99_ms dropped
for r in "$ours" "$theirs"; do
    printf '%-10s %12s %12s %10s %10s %8s\n' "$(field kind "$r")" "$(field deliveries_per_s "$r")" \
        "$(field expected "$r")" "$(field p50_ms "$r")" "$(field p99_ms "$r")" "$(field dropped_clients "$r")"
done
a=$(field deliveries_per_s "$ours"); b=$(field deliveries_per_s "$theirs")
echo "ratio aethex/socket.io deliveries/s: $(awk -v a="$a" -v b="$b" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')"
echo "(delivered counts: aethex $(field delivered "$ours"), socket.io $(field delivered "$theirs") of $(field expected "$ours"))"

echo "== 2. persisted messages/s on SQLite ($SENDERS senders, each in its own channel)"
start_aethex persist
"$LOAD" persist --addr "127.0.0.1:$APORT" --senders "$SENDERS" --window 256 --seconds "$SECS" | grep RESULT
kill "$APID"; wait "$APID" 2>/dev/null || true
