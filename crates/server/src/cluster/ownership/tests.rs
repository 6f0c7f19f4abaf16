use super::*;

async fn db_with_channel() -> (tempfile::TempDir, Db, i64) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let db = Db::connect(&url).await.expect("db");
    crate::auth::store::create_user_with_channel(&db, "alice", "x")
        .await
        .expect("user");
    let (id,): (i64,) = sqlx::query_as("SELECT id FROM channels WHERE name = 'alice'")
        .fetch_one(&db.pool)
        .await
        .expect("channel");
    (dir, db, id)
}

/// What a dead owner looks like: its lease ran out.
async fn expire(db: &Db, channel_id: i64) {
    sqlx::query("UPDATE stream_leases SET expires_at = $1 WHERE channel_id = $2")
        .bind(now_ms() - 1)
        .bind(channel_id)
        .execute(&db.pool)
        .await
        .expect("expire");
}

#[tokio::test]
async fn one_owner_at_a_time_and_the_epoch_grows_with_every_claim() {
    let (_dir, db, ch) = db_with_channel().await;
    let a = claim(&db, ch, "a", "10.0.0.1:8080")
        .await
        .expect("first claim");
    assert_eq!((a.epoch, a.orphaned_broadcast), (1, None));
    match claim(&db, ch, "b", "10.0.0.2:8080").await {
        Err(OwnershipError::OwnedElsewhere { node }) => assert_eq!(node, "a"),
        other => panic!("second node claimed a live channel: {other:?}"),
    }
    attach(&db, &a, 41).await.expect("attach");
    assert_eq!(renew(&db, "a").await.expect("renew"), 1);
    assert_eq!(renew(&db, "b").await.expect("renew"), 0);
    let owner = owner(&db, ch).await.expect("owner").expect("owned");
    assert_eq!((owner.node_id.as_str(), owner.epoch), ("a", 1));
    assert_eq!(owner.advertise_http, "10.0.0.1:8080");

    // Node a dies: after the lease, b takes over with epoch 2 and learns
    // which broadcast was left open.
    expire(&db, ch).await;
    assert!(super::owner(&db, ch).await.expect("owner").is_none());
    let b = claim(&db, ch, "b", "10.0.0.2:8080")
        .await
        .expect("takeover");
    assert_eq!((b.epoch, b.orphaned_broadcast), (2, Some(41)));
    // a coming back cannot renew what is now b's.
    assert_eq!(renew(&db, "a").await.expect("renew"), 0);

    // A clean end releases; the next claim (any node) is epoch 3, nothing orphaned.
    attach(&db, &b, 42).await.expect("attach");
    assert!(release(&db, "b", 42).await.expect("release"));
    let again = claim(&db, ch, "a", "10.0.0.1:8080")
        .await
        .expect("claim after release");
    assert_eq!((again.epoch, again.orphaned_broadcast), (3, None));
}

#[tokio::test]
async fn expired_leases_are_swept_once_and_a_restarted_node_drops_its_old_ones() {
    let (_dir, db, ch) = db_with_channel().await;
    let lease = claim(&db, ch, "a", "h:1").await.expect("claim");
    attach(&db, &lease, 7).await.expect("attach");
    assert!(
        sweep(&db).await.expect("sweep").is_empty(),
        "live lease swept"
    );
    expire(&db, ch).await;
    assert_eq!(sweep(&db).await.expect("sweep"), vec![7]);
    assert!(sweep(&db).await.expect("sweep").is_empty(), "swept twice");

    let lease = claim(&db, ch, "a", "h:1").await.expect("claim");
    attach(&db, &lease, 8).await.expect("attach");
    assert_eq!(release_all(&db, "a").await.expect("release all"), vec![8]);
    assert!(super::owner(&db, ch).await.expect("owner").is_none());
}
