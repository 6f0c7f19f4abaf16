#!/usr/bin/env bash
# Benchmark: chat across a cluster. CLIENTS receivers in one channel spread
# over 3 nodes (PostgreSQL + Redis), one sender on the first node at RATE
# msgs/s — so two thirds of the receivers get every message through Redis
# from another node. Side by side in the same run: the same load on ONE node
# on the same PostgreSQL without Redis. Prints deliveries/s, p50/p99
# send→receive latency (measured by the load generator, which stamps each
# message with its own clock) and the cluster/single ratio of p99.
# Target from issue 13: p99 ≤ 50 ms at 3 nodes, 1000 clients, 100 msg/s.
# Knobs: CLIENTS (1000), RATE (100), SECS (10).
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/aethex/target}
CLIENTS=${CLIENTS:-1000}; RATE=${RATE:-100}; SECS=${SECS:-10}
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
cargo build --release -q -p aethex-server --bin aethex-server --example chat_load
mkdir -p "$HOME/.cache/aethex"; TMP=$(mktemp -d "$HOME/.cache/aethex/bench.XXXXXX"); chmod 755 "$TMP"
cp "$CARGO_TARGET_DIR/release/aethex-server" "$CARGO_TARGET_DIR/release/examples/chat_load" "$TMP/"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; sleep 0.5
  scripts/pg-cluster stop "$TMP/pg" >/dev/null 2>&1 || true; rm -rf "$TMP"; }
trap cleanup EXIT

PG=$(scripts/pg-cluster start "$TMP/pg")
psql -q "$PG" -c "CREATE DATABASE cluster" -c "CREATE DATABASE single" >/dev/null
REDIS_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$TMP" >/dev/null &
pids+=($!)
for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done

node() { # name db [extra args] -> prints host:port
  "$TMP/aethex-server" --data-dir "$TMP/data-$1" --http 127.0.0.1:0 --rtmp 127.0.0.1:0 --rate-limit 0 \
    --chat-rate-limit 0 --database-url "${PG%/postgres}/$2" "${@:3}" >"$TMP/$1.out" 2>"$TMP/$1.err" &
  pids+=($!)
  for _ in $(seq 200); do
    a=$(sed -n 's/^listening http=\([^ ]*\).*/\1/p' "$TMP/$1.out"); [ -n "$a" ] && { echo "$a"; return; }
    sleep 0.1
  done
  echo "node $1 did not start" >&2; cat "$TMP/$1.err" >&2; exit 1
}
R="--redis-url redis://127.0.0.1:$REDIS_PORT"
N1=$(node n1 cluster $R --node-id n1); N2=$(node n2 cluster $R --node-id n2); N3=$(node n3 cluster $R --node-id n3)
S=$(node single single)

run() { "$TMP/chat_load" fanout --addr "$1" --receivers-at "$2" --clients "$CLIENTS" --rate "$RATE" --seconds "$SECS" \
  2>"$TMP/load.err" | grep RESULT | sed 's/^RESULT //'; }
printf "\nchat fan-out: %s receivers, 1 sender at %s msg/s for %s s\n" "$CLIENTS" "$RATE" "$SECS"
C=$(run "$N1" "$N1,$N2,$N3"); echo "3 nodes (receivers spread, sender on n1): $C"
O=$(run "$S" "$S");           echo "1 node, same PostgreSQL, no Redis:        $O"
f() { sed -n "s/.*$1=\([^ ]*\).*/\1/p" <<<"$2"; }
python3 - "$(f p99_ms "$C")" "$(f p99_ms "$O")" "$(f delivered "$C")" "$(f expected "$C")" <<'PY'
import sys
c, o, d, e = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
print(f"p99: cluster {c:.1f} ms, single node {o:.1f} ms (cluster/single {c/o:.2f}x); "
      f"delivered {d}/{e} in the cluster; target p99 <= 50 ms")
PY
