//! The app in-process: the full router driven with `oneshot` requests.

use axum::Router;

use super::request::{Api, Target};
use super::{TestDb, prepare};
use crate::config::Config;
use crate::state::AppState;

/// The app in-process, driven with `oneshot` requests through [`Api`].
pub struct TestApp {
    /// Shared state (reach the store directly).
    pub state: AppState,
    /// The full router with middleware.
    pub router: Router,
    /// Data dir, removed on drop.
    pub dir: tempfile::TempDir,
}

impl TestApp {
    /// Starts on `db` with the default test config.
    pub async fn new(db: TestDb) -> Self {
        Self::with_config(db, |_| {}).await
    }

    /// Starts on `db`, letting the test adjust the config first.
    pub async fn with_config(db: TestDb, adjust: impl FnOnce(&mut Config)) -> Self {
        let (cfg, dir) = prepare(db, adjust).await;
        let state = AppState::new(cfg).await.expect("app state");
        let router = crate::app(state.clone());
        TestApp { state, router, dir }
    }
}

impl Api for TestApp {
    fn target(&self) -> Target<'_> {
        Target::App(&self.router)
    }
}
