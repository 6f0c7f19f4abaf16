//! Wayland screen capture through the desktop portal (`org.freedesktop.portal.ScreenCast`).
//!
//! ```text
//! CreateSession -> SelectSources (monitor) -> Start (the desktop may ask the user)
//!   -> OpenPipeWireRemote -> fd + node id -> pipewiresrc fd=… path=…
//! ```
//!
//! The portal keeps the stream only while the session and its D-Bus connection live, so a
//! small thread owns both (with its own single-threaded tokio runtime, because
//! [`crate::Engine::start`] is blocking) until the [`PortalSession`] is dropped.

use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use ashpd::desktop::PersistMode;
use ashpd::desktop::screencast::{
    CursorMode, Screencast, SelectSourcesOptions, SourceType, StartCastOptions,
};
use ashpd::zbus;
use serde::Serialize;
use tokio::sync::oneshot;

use super::PipeWireStream;

/// Name the portal front-end owns on the session bus.
const PORTAL_BUS_NAME: &str = "org.freedesktop.portal.Desktop";
/// How long the desktop may take to answer, including the user choosing a screen.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(120);

/// How long closing the session may take when the engine stops.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// Why the desktop portal gave no screen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "reason", content = "detail", rename_all = "snake_case")]
pub enum PortalError {
    /// No D-Bus session bus to reach the portal on.
    #[error("no D-Bus session bus ({detail}): start the studio from inside your desktop session")]
    NoSessionBus {
        /// What connecting said.
        detail: String,
    },
    /// The portal (or its screen-cast back-end) is not installed or not running.
    #[error(
        "the desktop portal for screen capture is not available ({detail}): install the Debian packages {packages}"
    )]
    Unavailable {
        /// What the bus said.
        detail: String,
        /// Packages that provide the portal for this desktop.
        packages: String,
    },
    /// The user closed the screen-sharing dialog without choosing.
    #[error("screen sharing was cancelled in the desktop's dialog: choose a screen to go live")]
    Cancelled,
    /// The portal refused without the user cancelling (policy, back-end failure).
    #[error("the desktop portal refused screen sharing: {0}")]
    Refused(String),
    /// The portal granted a session without any stream.
    #[error("the desktop portal granted no screen stream: choose a screen in the dialog")]
    NoStream,
    /// No answer in time (a dialog nobody answered, a hung back-end).
    #[error("the desktop portal did not answer within {0} s")]
    Timeout(u64),
}

/// Packages providing xdg-desktop-portal and the back-end for `desktop`
/// (`$XDG_CURRENT_DESKTOP`, e.g. `GNOME`, `KDE`, `sway`).
pub fn portal_packages_for(desktop: &str) -> &'static str {
    let d = desktop.to_ascii_lowercase();
    if d.contains("gnome") || d.contains("unity") || d.contains("pantheon") {
        "xdg-desktop-portal xdg-desktop-portal-gnome"
    } else if d.contains("kde") || d.contains("plasma") {
        "xdg-desktop-portal xdg-desktop-portal-kde"
    } else if d.contains("hyprland") {
        "xdg-desktop-portal xdg-desktop-portal-hyprland"
    } else {
        // sway, river, Wayfire and other wlroots compositors
        "xdg-desktop-portal xdg-desktop-portal-wlr"
    }
}

fn unavailable(detail: impl Into<String>) -> PortalError {
    let desktop = std::env::var("XDG_CURRENT_DESKTOP").unwrap_or_default();
    PortalError::Unavailable {
        detail: detail.into(),
        packages: portal_packages_for(&desktop).to_string(),
    }
}

fn from_ashpd(err: ashpd::Error) -> PortalError {
    use ashpd::desktop::ResponseError;
    match err {
        ashpd::Error::Response(ResponseError::Cancelled) => PortalError::Cancelled,
        ashpd::Error::Response(ResponseError::Other) => {
            PortalError::Refused("the request ended without a result".into())
        }
        ashpd::Error::PortalNotFound(iface) => {
            unavailable(format!("no back-end implements {iface}"))
        }
        ashpd::Error::Zbus(zbus::Error::MethodError(name, text, _))
            if is_missing_service(name.as_str()) =>
        {
            unavailable(text.unwrap_or_else(|| name.to_string()))
        }
        other => PortalError::Refused(other.to_string()),
    }
}

fn is_missing_service(error_name: &str) -> bool {
    matches!(
        error_name,
        "org.freedesktop.DBus.Error.ServiceUnknown"
            | "org.freedesktop.DBus.Error.NameHasNoOwner"
            | "org.freedesktop.DBus.Error.UnknownInterface"
            | "org.freedesktop.DBus.Error.UnknownMethod"
            | "org.freedesktop.DBus.Error.Spawn.ChildExited"
            | "org.freedesktop.DBus.Error.Spawn.Failed"
    )
}

/// Whether this process runs in a Wayland session (where X11 capture sees nothing).
pub fn is_wayland_session() -> bool {
    std::env::var("XDG_SESSION_TYPE").is_ok_and(|t| t.eq_ignore_ascii_case("wayland"))
        || std::env::var_os("WAYLAND_DISPLAY").is_some_and(|d| !d.is_empty())
}

/// A granted screen-cast: the PipeWire stream stays valid while this value lives.
pub(crate) struct PortalSession {
    stream: PipeWireStream,
    fd: OwnedFd,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for PortalSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PortalSession")
            .field("node_id", &self.stream.node_id)
            .field("fd", &self.fd.as_raw_fd())
            .finish_non_exhaustive()
    }
}

impl PortalSession {
    /// The stream to hand to `pipewiresrc`.
    pub(crate) fn stream(&self) -> PipeWireStream {
        self.stream
    }
}

impl Drop for PortalSession {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

type Granted = (OwnedFd, u32);

/// Asks the portal on `bus` (a D-Bus address; `None` = the session bus) for one monitor.
/// Blocks until the desktop answered (the user may have to pick a screen).
pub(crate) fn open_screencast(bus: Option<&str>) -> Result<PortalSession, PortalError> {
    let (result_tx, result_rx) = mpsc::channel::<Result<Granted, PortalError>>();
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let bus = bus.map(str::to_owned);
    let thread = std::thread::Builder::new()
        .name("screencast-portal".into())
        .spawn(move || portal_thread(bus, result_tx, stop_rx))
        .map_err(|e| PortalError::Refused(format!("cannot start the portal thread: {e}")))?;
    let answer = match result_rx.recv_timeout(ANSWER_TIMEOUT + Duration::from_secs(5)) {
        Ok(answer) => answer,
        Err(mpsc::RecvTimeoutError::Timeout) => Err(PortalError::Timeout(ANSWER_TIMEOUT.as_secs())),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(PortalError::Refused(
            "the portal thread ended without an answer".into(),
        )),
    };
    match answer {
        Ok((fd, node_id)) => Ok(PortalSession {
            stream: PipeWireStream {
                fd: fd.as_raw_fd(),
                node_id,
            },
            fd,
            stop: Some(stop_tx),
            thread: Some(thread),
        }),
        Err(e) => {
            drop(stop_tx);
            let _ = thread.join();
            Err(e)
        }
    }
}

fn portal_thread(
    bus: Option<String>,
    result_tx: mpsc::Sender<Result<Granted, PortalError>>,
    stop_rx: oneshot::Receiver<()>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = result_tx.send(Err(PortalError::Refused(format!("no runtime: {e}"))));
            return;
        }
    };
    runtime.block_on(async move {
        let handshake = tokio::time::timeout(ANSWER_TIMEOUT, handshake(bus.as_deref())).await;
        let (granted, session) = match handshake {
            Ok(Ok((granted, session))) => (granted, session),
            Ok(Err(e)) => {
                let _ = result_tx.send(Err(e));
                return;
            }
            Err(_) => {
                let _ = result_tx.send(Err(PortalError::Timeout(ANSWER_TIMEOUT.as_secs())));
                return;
            }
        };
        if result_tx.send(Ok(granted)).is_ok() {
            // Keep the connection (and with it the stream) alive until the engine lets go.
            let _ = stop_rx.await;
        }
        // A hung portal must not hang the engine's drop.
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, session.1.close()).await;
    });
}

/// The portal proxy (which holds the D-Bus connection) and the granted session.
type Held = (Screencast, ashpd::desktop::Session<Screencast>);

async fn connect(bus: Option<&str>) -> Result<zbus::Connection, PortalError> {
    let no_bus = |e: zbus::Error| PortalError::NoSessionBus {
        detail: e.to_string(),
    };
    let conn = match bus {
        Some(address) => zbus::connection::Builder::address(address)
            .map_err(no_bus)?
            .build()
            .await
            .map_err(no_bus)?,
        None => zbus::Connection::session().await.map_err(no_bus)?,
    };
    // Say "install the portal" up front rather than a generic D-Bus error later.
    let dbus = zbus::fdo::DBusProxy::new(&conn)
        .await
        .map_err(|e| PortalError::Refused(e.to_string()))?;
    let name = zbus::names::BusName::try_from(PORTAL_BUS_NAME)
        .map_err(|e| PortalError::Refused(e.to_string()))?;
    let running = dbus.name_has_owner(name).await.unwrap_or(false);
    let activatable = dbus
        .list_activatable_names()
        .await
        .map(|names| names.iter().any(|n| n.as_str() == PORTAL_BUS_NAME))
        .unwrap_or(false);
    if !running && !activatable {
        return Err(unavailable(format!(
            "{PORTAL_BUS_NAME} is neither running nor installed on the session bus"
        )));
    }
    Ok(conn)
}

async fn handshake(bus: Option<&str>) -> Result<(Granted, Held), PortalError> {
    let conn = connect(bus).await?;
    let proxy = Screencast::with_connection(conn)
        .await
        .map_err(from_ashpd)?;
    let session = proxy
        .create_session(Default::default())
        .await
        .map_err(from_ashpd)?;
    let cursor = match proxy.available_cursor_modes().await {
        Ok(modes) if modes.contains(CursorMode::Embedded) => CursorMode::Embedded,
        _ => CursorMode::Hidden,
    };
    proxy
        .select_sources(
            &session,
            SelectSourcesOptions::default()
                .set_cursor_mode(cursor)
                .set_sources(ashpd::enumflags2::BitFlags::from(SourceType::Monitor))
                .set_multiple(false)
                .set_persist_mode(PersistMode::DoNot),
        )
        .await
        .and_then(|r| r.response())
        .map_err(from_ashpd)?;
    let streams = proxy
        .start(&session, None, StartCastOptions::default())
        .await
        .and_then(|r| r.response())
        .map_err(from_ashpd)?;
    let node_id = streams
        .streams()
        .first()
        .map(|s| s.pipe_wire_node_id())
        .ok_or(PortalError::NoStream)?;
    let fd = proxy
        .open_pipe_wire_remote(&session, Default::default())
        .await
        .map_err(from_ashpd)?;
    tracing::info!(node_id, "desktop portal granted a screen-cast stream");
    Ok(((fd, node_id), (proxy, session)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packages_follow_the_desktop() {
        assert!(portal_packages_for("GNOME").ends_with("xdg-desktop-portal-gnome"));
        assert!(portal_packages_for("KDE").ends_with("xdg-desktop-portal-kde"));
        assert!(portal_packages_for("sway").ends_with("xdg-desktop-portal-wlr"));
        assert!(portal_packages_for("").ends_with("xdg-desktop-portal-wlr"));
    }

    #[test]
    fn an_unreachable_bus_is_no_session_bus() {
        let dir = tempfile::tempdir().expect("tempdir");
        let address = format!("unix:path={}", dir.path().join("no-bus").display());
        let err = open_screencast(Some(&address)).expect_err("no bus there");
        assert!(matches!(err, PortalError::NoSessionBus { .. }), "{err:?}");
        assert!(err.to_string().contains("desktop session"), "{err}");
    }

    #[test]
    fn errors_serialise_for_the_studio() {
        let e = crate::EngineError::ScreenCast(PortalError::Timeout(120));
        let json = serde_json::to_value(&e).expect("serialises");
        assert_eq!(json["kind"], "screen_cast", "{json}");
        assert_eq!(json["reason"], "timeout", "{json}");
        let e = crate::EngineError::ScreenCast(PortalError::Cancelled);
        assert_eq!(
            serde_json::to_value(&e).expect("serialises")["reason"],
            "cancelled"
        );
    }

    #[test]
    fn cancel_and_missing_service_are_told_apart() {
        use ashpd::desktop::ResponseError;
        assert_eq!(
            from_ashpd(ashpd::Error::Response(ResponseError::Cancelled)),
            PortalError::Cancelled
        );
        let name = zbus::names::OwnedInterfaceName::try_from("org.freedesktop.portal.ScreenCast")
            .expect("valid name");
        let err = from_ashpd(ashpd::Error::PortalNotFound(name));
        assert!(matches!(err, PortalError::Unavailable { .. }), "{err:?}");
        assert!(err.to_string().contains("install"), "{err}");
    }
}
