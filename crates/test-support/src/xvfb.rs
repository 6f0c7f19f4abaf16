//! A private X server (Xvfb) for screen-capture tests.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A private X server for screen-capture tests, if `Xvfb` is installed.
pub struct Xvfb {
    /// The display name, e.g. `:93`.
    pub display: String,
    child: Child,
}

impl Xvfb {
    /// Starts Xvfb (1280x720) on the first free display from :90; `None` if Xvfb is missing.
    pub fn start() -> Option<Self> {
        for n in 90..110 {
            if Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
                || Path::new(&format!("/tmp/.X{n}-lock")).exists()
            {
                continue;
            }
            let display = format!(":{n}");
            let child = Command::new("Xvfb")
                .args([
                    display.as_str(),
                    "-screen",
                    "0",
                    "1280x720x24",
                    "-nolisten",
                    "tcp",
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .ok()?;
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() {
                    return Some(Self { display, child });
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            return None;
        }
        None
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
