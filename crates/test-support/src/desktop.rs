//! A private desktop session for screen-capture tests: runtime dir, D-Bus session bus,
//! PipeWire + WirePlumber, the xdg-desktop-portal front-end, and optionally a headless
//! sway with xdg-desktop-portal-wlr. Every process is killed when the session is dropped.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Every wait for a helper to come up is bounded by this.
const WAIT: Duration = Duration::from_secs(60);
/// The xdg-desktop-portal front-end (Debian path).
pub const PORTAL: &str = "/usr/libexec/xdg-desktop-portal";
/// The wlroots back-end (Debian path).
pub const PORTAL_WLR: &str = "/usr/libexec/xdg-desktop-portal-wlr";
/// sway refuses to run as root; as root the compositor runs as `nobody`.
const NOBODY: u32 = 65534;

/// Whether `program` is on `$PATH`.
pub fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
}

/// What is missing to run a headless Wayland desktop with a portal, if anything.
pub fn missing_programs() -> Vec<&'static str> {
    let mut missing: Vec<&str> = ["sway", "pipewire", "wireplumber", "dbus-daemon"]
        .into_iter()
        .filter(|p| !on_path(p))
        .collect();
    for (path, package) in [
        (PORTAL, "xdg-desktop-portal"),
        (PORTAL_WLR, "xdg-desktop-portal-wlr"),
    ] {
        if !Path::new(path).exists() {
            missing.push(package);
        }
    }
    missing
}

/// A DRM render node (`/dev/dri/renderD*`), which xdg-desktop-portal-wlr 0.7 needs.
pub fn render_node() -> Option<PathBuf> {
    std::fs::read_dir("/dev/dri").ok()?.find_map(|e| {
        let e = e.ok()?;
        e.file_name()
            .to_string_lossy()
            .starts_with("renderD")
            .then(|| e.path())
    })
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false)
}

/// Polls `ready` until true; panics naming `what` after a minute.
pub fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !ready() {
        assert!(
            Instant::now() < deadline,
            "{what} did not come up in {WAIT:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A private desktop session: runtime dir, D-Bus session bus, and whatever the test
/// starts in it (PipeWire, compositor, portal). Everything is killed when dropped.
pub struct Desktop {
    /// Address of the private session bus.
    pub bus: String,
    runtime: PathBuf,
    env: Vec<(&'static str, String)>,
    children: Vec<Child>,
    dir: tempfile::TempDir,
}

impl Desktop {
    /// Runtime dir and session bus; `desktop` becomes `$XDG_CURRENT_DESKTOP`.
    pub fn new(desktop: &str) -> Desktop {
        let dir = tempfile::tempdir().expect("tempdir");
        let runtime = dir.path().join("runtime");
        std::fs::create_dir_all(&runtime).expect("runtime dir");
        std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700)).expect("chmod");
        let config = dir.path().join("config");
        std::fs::create_dir_all(&config).expect("config dir");
        let env = vec![
            ("XDG_RUNTIME_DIR", runtime.display().to_string()),
            ("XDG_CONFIG_HOME", config.display().to_string()),
            ("XDG_CURRENT_DESKTOP", desktop.to_string()),
            ("XDG_SESSION_TYPE", "wayland".to_string()),
        ];
        let mut d = Desktop {
            bus: String::new(),
            runtime,
            env,
            children: Vec::new(),
            dir,
        };
        // The bus starts activated helpers (permission store, …) with this environment.
        let mut bus = d.command("dbus-daemon", "dbus.log");
        bus.args(["--session", "--nofork", "--print-address=1"])
            .stdout(Stdio::piped());
        let mut bus = bus.spawn().expect("dbus-daemon runs");
        let mut line = String::new();
        if let Some(out) = bus.stdout.take() {
            let _ = BufReader::new(out).read_line(&mut line);
        }
        d.children.push(bus);
        d.bus = line.trim().to_string();
        assert!(!d.bus.is_empty(), "dbus-daemon printed no address");
        d.env.push(("DBUS_SESSION_BUS_ADDRESS", d.bus.clone()));
        d
    }

    /// A command with the session's environment, its stderr into `log` in the session dir.
    pub fn command(&self, program: &str, log: &str) -> Command {
        let mut c = Command::new(program);
        c.envs(self.env.iter().map(|(k, v)| (*k, v.as_str())))
            .env_remove("DISPLAY")
            .stdout(Stdio::null())
            .stderr(
                std::fs::File::create(self.dir.path().join(log))
                    .map(Stdio::from)
                    .unwrap_or(Stdio::null()),
            );
        // Own process group: nothing outlives the test through our group's signals.
        c.process_group(0);
        c
    }

    /// Runs `command` for the session's lifetime.
    pub fn spawn(&mut self, mut command: Command) {
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("{command:?} runs: {e}"));
        self.children.push(child);
    }

    /// PipeWire and WirePlumber (which links streams to nodes).
    pub fn start_pipewire(&mut self) {
        let pw = self.command("pipewire", "pipewire.log");
        self.spawn(pw);
        let socket = self.runtime.join("pipewire-0");
        wait_for("the PipeWire socket", || socket.exists());
        let wp = self.command("wireplumber", "wireplumber.log");
        self.spawn(wp);
    }

    /// The xdg-desktop-portal front-end; waits until it offers ScreenCast.
    pub fn start_portal(&mut self, extra_env: &[(&str, &Path)]) {
        let mut xdp = self.command(PORTAL, "xdp.log");
        xdp.arg("-r");
        for (k, v) in extra_env {
            xdp.env(k, v);
        }
        self.spawn(xdp);
        let bus = self.bus.clone();
        wait_for("the ScreenCast portal", || portal_ready(&bus));
    }

    /// Headless sway (as `nobody` when root: sway refuses root) and its portal back-end.
    pub fn start_sway_and_wlr_portal(&mut self) {
        std::fs::create_dir_all(self.dir.path().join("config/xdg-desktop-portal-wlr"))
            .expect("config dir");
        // No chooser dialog: the portal shares the one headless output.
        std::fs::write(
            self.dir.path().join("config/xdg-desktop-portal-wlr/config"),
            "[screencast]\nchooser_type=none\noutput_name=HEADLESS-1\nmax_fps=30\n",
        )
        .expect("portal config");
        let sway_conf = self.dir.path().join("sway.conf");
        std::fs::write(&sway_conf, "output HEADLESS-1 resolution 640x480\n").expect("sway conf");
        let mut sway = self.command("sway", "sway.log");
        sway.arg("-c")
            .arg(&sway_conf)
            .env("WLR_BACKENDS", "headless")
            .env("WLR_LIBINPUT_NO_DEVICES", "1");
        if is_root() {
            std::os::unix::fs::chown(&self.runtime, Some(NOBODY), Some(NOBODY)).expect("chown");
            sway.uid(NOBODY).gid(NOBODY);
        }
        self.spawn(sway);
        let mut display = None;
        let runtime = self.runtime.clone();
        wait_for("sway's Wayland socket", || {
            display = std::fs::read_dir(&runtime).ok().and_then(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .find(|n| n.starts_with("wayland-") && !n.ends_with(".lock"))
            });
            display.is_some()
        });
        self.env
            .push(("WAYLAND_DISPLAY", display.unwrap_or_default()));
        let mut xdpw = self.command(PORTAL_WLR, "xdpw.log");
        xdpw.args(["-l", "INFO", "-r"]);
        self.spawn(xdpw);
        self.start_portal(&[]);
    }

    /// The session directory (logs, config; tests may add files).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The last lines of every helper's log, for failure messages.
    pub fn logs(&self) -> String {
        logs_of(self.dir.path())
    }
}

/// Whether the portal front-end answers with its ScreenCast interface.
pub fn portal_ready(bus: &str) -> bool {
    Command::new("dbus-send")
        .arg(format!("--bus={bus}"))
        .args([
            "--print-reply",
            "--dest=org.freedesktop.portal.Desktop",
            "/org/freedesktop/portal/desktop",
            "org.freedesktop.DBus.Properties.Get",
            "string:org.freedesktop.portal.ScreenCast",
            "string:version",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

impl Drop for Desktop {
    fn drop(&mut self) {
        // Newest first: the portal before PipeWire, the bus last.
        for c in self.children.iter_mut().rev() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn logs_of(dir: &Path) -> String {
    let mut all = String::new();
    for name in [
        "sway.log",
        "xdpw.log",
        "xdp.log",
        "pipewire.log",
        "wireplumber.log",
    ] {
        let text = std::fs::read_to_string(dir.join(name)).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(30).collect();
        all.push_str(&format!("--- {name}\n"));
        for l in tail.into_iter().rev() {
            all.push_str(l);
            all.push('\n');
        }
    }
    all
}
