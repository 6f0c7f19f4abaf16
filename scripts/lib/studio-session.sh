# Sourced by the studio journeys and benchmarks: the real studio window under Xvfb,
# driven through tauri-driver + WebKitWebDriver, with a private D-Bus session and an
# unlocked gnome-keyring (keys go to a real secret service, never to files).

# studio_fresh_dirs DIR: empty XDG data/config dirs under DIR (a first launch).
studio_fresh_dirs() {
  export XDG_DATA_HOME=$1/data XDG_CONFIG_HOME=$1/config
  mkdir -p "$XDG_DATA_HOME" "$XDG_CONFIG_HOME"
}

# studio_session LOGDIR SCRIPT [ARGS...]: runs `node SCRIPT ARGS...` against a
# tauri-driver (log in LOGDIR/tauri-driver.log) and returns its exit status.
studio_session() {
  local logdir=$1
  shift
  xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- sh -c '
    echo -n pass | gnome-keyring-daemon --unlock --components=secrets >/dev/null || exit 1
    tauri-driver --port 4444 >"$0/tauri-driver.log" 2>&1 & TD=$!
    node "$@"; rc=$?
    kill $TD 2>/dev/null; wait $TD 2>/dev/null; exit $rc' "$logdir" "$@"
}
