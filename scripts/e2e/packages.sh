#!/usr/bin/env bash
# The Debian packages, installed for real on this machine (we are root):
#  - server: built by cargo-deb from the debug binary; its contents; installed with
#    apt-get; `systemd-analyze verify` on the installed unit; the installed binary with
#    the installed /etc/aethex/server.toml serves /healthz and the player page from
#    /usr/share/aethex/web; the config file is the default; purged, nothing left.
#  - studio: built by the Tauri bundler (aethex-server inside); installed; the installed
#    studio goes through the creator's journey under Xvfb (scripts/e2e/studio-journey.sh's
#    script) on its built-in server, which must be the packaged /usr/bin/aethex-server;
#    purged, nothing left.
# Measures the .deb sizes and the studio's install → live time.
# Prints `packages: N passed, N failed`.
set -uo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/aethex/target}
export PATH="$HOME/.cargo/bin:$PATH"
# shellcheck source=../lib/studio-session.sh
. scripts/lib/studio-session.sh
passed=0; failed=0
ok() { passed=$((passed + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1${2:+: $2}"; }
check() { local name=$1; shift; if out=$("$@" 2>&1); then ok "$name"; else bad "$name" "$(echo "$out" | tail -n 5)"; fi; }
finish() { echo "packages: $passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit $?; }
APT=(apt-get -o DPkg::Lock::Timeout=900 -y -qq)
export DEBIAN_FRONTEND=noninteractive

TMP=$(mktemp -d /tmp/aethex-packages.XXXXXX); chmod 755 "$TMP"
SERVER_PID=
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null
  # Never leave a test install behind.
  for p in aethex-server ae-thex-studio; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q installed && "${APT[@]}" purge "$p" >/dev/null 2>&1
  done
  rm -rf "$TMP"
}
trap cleanup EXIT

for p in aethex-server ae-thex-studio; do
  if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    bad "$p is already installed on this machine; the test would remove it" "purge it first"
    trap - EXIT; rm -rf "$TMP"; finish
  fi
done

# Files a package installed (absolute paths, directories excluded).
pkg_files() { dpkg -L "$1" | while read -r f; do [ -d "$f" ] || echo "$f"; done; }
# deb_list DEB: its paths, without the leading "./" some builders write.
deb_list() { dpkg-deb -c "$1" | sed -E 's/^([^ ]+ +){5}//; s#^\./##'; }
deb_has() { deb_list "$1" | grep -qxF "${2#./}" || { echo "$2 not in $1"; return 1; }; }
# build_deb WHAT NAME: `scripts/package WHAT` from the debug build into $DEB; shows
# its size and contents (a failed build ends the test).
build_deb() {
  local t; t=$(date +%s)
  if DEB=$(AETHEX_PROFILE=debug scripts/package "$1" 2>"$TMP/$1-build.log" | tail -n1) && [ -f "$DEB" ]; then
    ok "$2 ($(( $(date +%s) - t )) s)"
  else
    bad "$2" "$(tail -n 5 "$TMP/$1-build.log")"; finish
  fi
  echo "measure: $1 package $(basename "$DEB") $(size_mb "$DEB")"
  dpkg-deb -c "$DEB" | awk '{ $1 = $2 = $4 = $5 = ""; print " " $0 }'
}
size_mb() { awk -v b="$(stat -c %s "$1")" 'BEGIN { printf "%.1f MB", b / 1048576 }'; }

# ---- server ---------------------------------------------------------------
build_deb server "server .deb built with cargo-deb"; SERVER_DEB=$DEB
server_contents() {
  for f in ./usr/bin/aethex-server ./usr/share/aethex/web/index.html ./etc/aethex/server.toml \
    ./usr/lib/systemd/system/aethex-server.service; do deb_has "$SERVER_DEB" "$f" || return 1; done
  deb_list "$SERVER_DEB" | grep -q '^usr/share/aethex/web/assets/player-.*\.js$' || { echo "no player script"; return 1; }
  dpkg-deb -I "$SERVER_DEB" conffiles | grep -qx /etc/aethex/server.toml || { echo "server.toml is not a conffile"; return 1; }
  dpkg-deb -f "$SERVER_DEB" Depends | grep -q gstreamer1.0-plugins-bad || { echo "no GStreamer plugin dependency"; return 1; }
}
check "server .deb: binary, web player, unit, conffile, GStreamer dependencies" server_contents

t=$(date +%s)
check "apt-get install ./$(basename "$SERVER_DEB")" "${APT[@]}" install "$SERVER_DEB"
echo "measure: server package install $(( $(date +%s) - t )) s"
UNIT=$(dpkg -L aethex-server 2>/dev/null | grep '/aethex-server.service$' | head -n1)
check "systemd-analyze verify on the installed unit ($UNIT)" systemd-analyze verify "${UNIT:-/missing.service}"
hardened() {
  for k in DynamicUser=yes StateDirectory=aethex NoNewPrivileges=yes ProtectSystem=strict \
    PrivateTmp=yes ProtectHome=yes 'CapabilityBoundingSet=$' RestrictAddressFamilies=; do
    grep -q "^$k" "$UNIT" || { echo "missing $k"; return 1; }
  done
}
check "the unit is hardened" hardened

# The installed binary with the installed config file; data dir and ports for the test.
serve() {
  rm -f "$TMP/server.out"
  /usr/bin/aethex-server "$@" --data-dir "$TMP/data" --http 127.0.0.1:0 --rtmp 127.0.0.1:0 \
    </dev/null >"$TMP/server.out" 2>"$TMP/server.err" &
  SERVER_PID=$!
  for _ in $(seq 100); do
    HTTP=$(sed -n 's/^listening http=\([^ ]*\) .*/\1/p' "$TMP/server.out")
    [ -n "$HTTP" ] && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "the server did not start: $(tail -n 3 "$TMP/server.err")"; return 1
}
stop_server() { kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null; SERVER_PID=; }
plays() {
  serve --config /etc/aethex/server.toml || return 1
  curl -fsS "http://$HTTP/healthz" >/dev/null || { echo "healthz"; return 1; }
  local page asset
  page=$(curl -fsS "http://$HTTP/demo") || { echo "player page"; return 1; }
  asset=$(echo "$page" | grep -o '/assets/[^"]*\.js' | head -n1)
  [ -n "$asset" ] || { echo "the page is not the built player: ${page:0:200}"; return 1; }
  curl -fsS -o /dev/null "http://$HTTP$asset" || { echo "asset $asset"; return 1; }
}
check "installed server with /etc/aethex/server.toml serves /healthz and the player page" plays
stop_server
# Without --config the server reads /etc/aethex/server.toml: a bad key there stops it.
default_config() {
  cp -p /etc/aethex/server.toml "$TMP/server.toml.orig"
  echo 'no-such-key = 1' >>/etc/aethex/server.toml
  /usr/bin/aethex-server --data-dir "$TMP/data" --http 127.0.0.1:0 --rtmp 127.0.0.1:0 \
    </dev/null >/dev/null 2>"$TMP/default.err"; rc=$?
  cp -p "$TMP/server.toml.orig" /etc/aethex/server.toml
  [ $rc -ne 0 ] && grep -q '/etc/aethex/server.toml:.*no-such-key' "$TMP/default.err" \
    || { echo "rc=$rc: $(cat "$TMP/default.err")"; return 1; }
}
check "without --config the installed server reads /etc/aethex/server.toml" default_config

pkg_files aethex-server >"$TMP/server-files"
check "apt-get purge aethex-server" "${APT[@]}" purge aethex-server
gone() {
  local left=0
  while read -r f; do [ -e "$f" ] && { echo "left behind: $f"; left=1; }; done <"$1"
  [ ! -e /etc/aethex ] || { echo "left behind: /etc/aethex"; left=1; }
  [ $left -eq 0 ] && [ -s "$1" ]
}
check "purged: none of the server's $(wc -l <"$TMP/server-files") files is left" gone "$TMP/server-files"

# ---- studio ---------------------------------------------------------------
build_deb studio "studio .deb built with the Tauri bundler"; STUDIO_DEB=$DEB
STUDIO_PKG=$(dpkg-deb -f "$STUDIO_DEB" Package)
studio_contents() {
  for f in ./usr/bin/aethex-studio ./usr/bin/aethex-server ./usr/share/aethex/web/index.html; do
    deb_has "$STUDIO_DEB" "$f" || return 1
  done
  deb_list "$STUDIO_DEB" | grep -q '^usr/share/applications/.*\.desktop$' || { echo "no desktop entry"; return 1; }
  deb_list "$STUDIO_DEB" | grep -q '^usr/share/icons/hicolor/.*/apps/.*\.png$' || { echo "no icons"; return 1; }
  dpkg-deb -f "$STUDIO_DEB" Depends | grep -q gstreamer1.0-plugins-ugly || { echo "no GStreamer plugin dependency"; return 1; }
}
check "studio .deb: studio, aethex-server, web player, desktop entry, icons, dependencies" studio_contents

T0_MS=$(date +%s%3N)
check "apt-get install ./$(basename "$STUDIO_DEB")" "${APT[@]}" install "$STUDIO_DEB"
echo "measure: studio package install $(( ($(date +%s%3N) - T0_MS) / 1000 )) s"
ART=tests/artifacts/packages; mkdir -p "$ART"
studio_fresh_dirs "$TMP/studio"
env -u AETHEX_SERVER_BIN JOURNEY_T0_MS=$T0_MS JOURNEY_SERVER_EXE=/usr/bin/aethex-server \
  bash -c '. scripts/lib/studio-session.sh; studio_session "$0" ui/e2e/studio-journey.e2e.mjs /usr/bin/aethex-studio "$0"' "$ART" \
  >"$TMP/journey.log" 2>&1
jrc=$?
grep -E '^(ok|FAIL|measure)' "$TMP/journey.log" | sed 's/^/  journey: /'
if [ $jrc -eq 0 ] && grep -q 'install → live' "$TMP/journey.log"; then
  ok "the installed studio signs up on its built-in server and goes live"
else
  bad "the installed studio signs up on its built-in server and goes live" "$(tail -n 5 "$TMP/journey.log")"
fi

pkg_files "$STUDIO_PKG" >"$TMP/studio-files"
check "apt-get purge $STUDIO_PKG" "${APT[@]}" purge "$STUDIO_PKG"
check "purged: none of the studio's $(wc -l <"$TMP/studio-files") files is left" gone "$TMP/studio-files"
finish
