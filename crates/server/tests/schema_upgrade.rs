//! Schema upgrades: a database made by the oldest migration (with data in it)
//! is migrated forward at start-up and keeps working; a database migrated by
//! a newer release is refused with a message that says so.

use aethex_server::both_dbs;
use aethex_server::db::{Backend, Db, latest_migration};
use aethex_server::testing::{Api, PASSWORD, TestApp, TestDb, database_url};
use axum::http::StatusCode;
use serde_json::json;
use sqlx::AnyPool;

/// The oldest migration's file, alone in a directory (a release's schema as
/// it was when the first database was made).
async fn oldest_migrator(db: TestDb) -> (sqlx::migrate::Migrator, tempfile::TempDir) {
    let flavour = match db {
        TestDb::Sqlite => "sqlite",
        TestDb::Postgres => "postgres",
    };
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../migrations")
        .join(flavour);
    let mut files: Vec<_> = std::fs::read_dir(&src)
        .expect("migrations dir")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    let dir = tempfile::tempdir().expect("temp dir");
    let first = &files[0];
    std::fs::copy(first, dir.path().join(first.file_name().expect("name")))
        .expect("copy migration");
    let migrator = sqlx::migrate::Migrator::new(dir.path())
        .await
        .expect("migrator");
    (migrator, dir)
}

async fn pool(url: &str) -> AnyPool {
    sqlx::any::install_default_drivers();
    let url = if url.starts_with("sqlite:") {
        format!("{url}?mode=rwc")
    } else {
        url.to_string()
    };
    AnyPool::connect(&url).await.expect("connect")
}

both_dbs!(
    oldest_schema_migrates_forward_with_its_data,
    |db: TestDb| async move {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = database_url(db, dir.path()).await;
        let (oldest, _files) = oldest_migrator(db).await;
        assert_eq!(oldest.iter().count(), 1);
        let old = pool(&url).await;
        oldest.run(&old).await.expect("oldest schema");
        let hash = aethex_server::auth::secret::hash_password(PASSWORD).expect("hash");
        for sql in [
            "INSERT INTO users (username, display_name, password_hash, created_at) VALUES ('olduser', 'Old User', $1, 1700000000000)",
            "INSERT INTO channels (name, owner_id, display_name, title, created_at) VALUES ('olduser', 1, 'Old User', 'From the first release', 1700000000000)",
            "INSERT INTO chat_messages (channel_id, user_id, text, sent_at) VALUES (1, 1, 'said long ago', 1700000001000)",
        ] {
            sqlx::query(sql)
                .bind(&hash)
                .execute(&old)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
        old.close().await;

        // The server starts on it: migrations run forward, the data is intact.
        let mut cfg = aethex_server::testing::config(dir.path(), url.clone());
        cfg.rate_limit = 0;
        let state = aethex_server::AppState::new(cfg)
            .await
            .expect("start on the old database");
        let backend = state.db.backend;
        let applied: i64 = sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations")
            .fetch_one(&state.db.pool)
            .await
            .expect("applied");
        assert_eq!(
            applied,
            latest_migration(backend),
            "migrated to the newest schema"
        );
        assert!(
            latest_migration(backend) > 1,
            "there is something to migrate"
        );
        let app = TestApp {
            router: aethex_server::app(state.clone()),
            state,
            dir,
        };
        let login = app
            .post("/api/v1/auth/login")
            .json(&json!({"username": "olduser", "password": PASSWORD}))
            .send()
            .await
            .expect(StatusCode::OK);
        assert_eq!(login["user"]["username"], "olduser");
        let channel = app
            .get("/api/v1/channels/olduser")
            .send()
            .await
            .expect(StatusCode::OK);
        assert_eq!(channel["title"], "From the first release");
        let chat = app
            .get("/api/v1/channels/olduser/chat")
            .send()
            .await
            .expect(StatusCode::OK);
        assert_eq!(chat["messages"][0]["text"], "said long ago");
        // And new data goes in under the new schema (an API write through the app).
        app.post("/api/v1/auth/register")
            .json(&json!({"username": "newuser", "password": PASSWORD}))
            .send()
            .await
            .expect(StatusCode::CREATED);
    }
);

both_dbs!(
    a_database_from_a_newer_release_is_refused,
    |db: TestDb| async move {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = database_url(db, dir.path()).await;
        let current = Db::connect(&url).await.expect("fresh database");
        let checksum = match current.backend {
            Backend::Sqlite => "X'00'",
            Backend::Postgres => "'\\x00'::bytea",
        };
        sqlx::query(&format!(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (9999, 'from a future release', TRUE, {checksum}, 1)"
    ))
    .execute(&current.pool)
    .await
    .expect("pretend a newer release migrated it");
        current.pool.close().await;

        let err = Db::connect(&url)
            .await
            .expect_err("a newer schema must be refused");
        let msg = format!("{err:#}");
        assert!(msg.contains("schema is at migration 9999"), "{msg}");
        assert!(
            msg.contains(&format!(
                "knows migrations up to {}",
                latest_migration(current.backend)
            )),
            "{msg}"
        );
        assert!(
            msg.contains("downgrading a database is not supported"),
            "{msg}"
        );
    }
);
