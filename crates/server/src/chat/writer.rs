//! The batched committer: one task per process drains a bounded queue of
//! accepted messages, stores whatever has accumulated in one transaction,
//! and only then fans the stored messages out, in id order. Under load a
//! commit covers many messages, so throughput grows without weakening
//! "stored before shown".

use std::sync::Arc;

use aethex_proto::{Message, ServerFrame};
use axum::extract::ws::Utf8Bytes;
use tokio::sync::{mpsc, oneshot};

use super::hub::{Broker, Event};
use super::store::{self, NewMessage};
use crate::db::{Backend, Db, now_ms, rfc3339};

/// Messages waiting for the writer before senders wait for room.
pub const QUEUE_CAPACITY: usize = 8192;
/// Most messages committed in one transaction.
pub const MAX_BATCH: usize = 1000;

/// The writer could not store a message (the database failed or the server
/// is stopping); the sender is told, nobody else sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    /// The transaction failed.
    #[error("your message could not be stored, try again")]
    Storage,
    /// The writer has stopped.
    #[error("the server is shutting down")]
    Stopped,
}

/// One accepted message on its way to the database.
#[derive(Debug)]
pub struct Submission {
    /// What to store (`sent_at` is set by the writer).
    pub message: NewMessage,
    /// Channel name to publish to.
    pub channel: Arc<str>,
    /// Author's username, for the broadcast.
    pub username: Arc<str>,
    /// When the client's frame arrived (for the delivery-time histogram).
    pub received: std::time::Instant,
    /// Told the stored id, or why it failed.
    pub done: oneshot::Sender<Result<i64, WriteError>>,
}

/// Handle to the writer task.
#[derive(Debug, Clone)]
pub struct Writer {
    tx: mpsc::Sender<Submission>,
}

impl Writer {
    /// Starts the writer task (needs a tokio runtime).
    pub fn start(db: Db, broker: Arc<dyn Broker>) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE_CAPACITY);
        tokio::spawn(run(db, broker, rx));
        Writer { tx }
    }

    /// Queues a message; waits for room when the queue is full.
    pub async fn submit(&self, s: Submission) -> Result<(), WriteError> {
        self.tx.send(s).await.map_err(|_| WriteError::Stopped)
    }
}

async fn run(db: Db, broker: Arc<dyn Broker>, mut rx: mpsc::Receiver<Submission>) {
    // Several nodes share the store and the broker: the id order must be the
    // publication order on every node, so inserting and publishing a batch
    // happen under one cluster-wide lock.
    let ordered = broker.is_shared() && db.backend == Backend::Postgres;
    let mut batch: Vec<Submission> = Vec::with_capacity(MAX_BATCH);
    let mut last_ms = 0;
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        // Times never go backwards within the writer, so ids and times agree.
        let now = now_ms().max(last_ms);
        last_ms = now;
        let rows: Vec<NewMessage> = batch
            .iter()
            .map(|s| NewMessage {
                sent_at: now,
                ..s.message.clone()
            })
            .collect();
        let stored = if ordered {
            commit_in_order(&db, &*broker, &batch, &rows).await
        } else {
            let stored = store::insert_batch(&db, &rows).await;
            if let Ok(ids) = &stored
                && ids.len() == batch.len()
            {
                for (channel, event) in events(&batch, ids, &rows) {
                    broker.publish(&channel, event);
                }
            }
            stored
        };
        match stored {
            Ok(ids) if ids.len() == batch.len() => {
                metrics::counter!("aethex_chat_messages_total").increment(ids.len() as u64);
                metrics::histogram!("aethex_chat_batch_size").record(ids.len() as f64);
                // Frame in → stored and handed to every subscriber (this node's
                // sockets, or the shared broker in cluster mode).
                let delivery = metrics::histogram!("aethex_chat_delivery_duration_seconds");
                for (s, id) in batch.drain(..).zip(ids) {
                    delivery.record(s.received.elapsed().as_secs_f64());
                    let _ = s.done.send(Ok(id));
                }
            }
            result => {
                match result {
                    Err(e) => {
                        tracing::error!(error = %e, n = batch.len(), "storing chat messages failed")
                    }
                    Ok(ids) => tracing::error!(
                        expected = batch.len(),
                        got = ids.len(),
                        "the database returned the wrong number of ids"
                    ),
                }
                for s in batch.drain(..) {
                    let _ = s.done.send(Err(WriteError::Storage));
                }
            }
        }
    }
}

/// PostgreSQL advisory lock key held while a batch is inserted and published
/// ("AETHEX" + 1).
pub const ORDER_LOCK: i64 = 0x4145_5448_4558_0001;

/// Inserts and publishes one batch while holding [`ORDER_LOCK`]: no other
/// node's batch can take ids or a place in the broker's order in between.
async fn commit_in_order(
    db: &Db,
    broker: &dyn Broker,
    batch: &[Submission],
    rows: &[NewMessage],
) -> Result<Vec<i64>, sqlx::Error> {
    let mut conn = db.pool.acquire().await?;
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(ORDER_LOCK)
        .execute(&mut *conn)
        .await?;
    let stored = store::insert_batch_on(&mut conn, rows).await;
    if let Ok(ids) = &stored
        && ids.len() == batch.len()
    {
        broker.publish_ordered(events(batch, ids, rows)).await;
    }
    let unlocked = sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(ORDER_LOCK)
        .execute(&mut *conn)
        .await;
    if let Err(e) = unlocked {
        // Closing the session is what releases the lock then.
        tracing::warn!(error = %e, "releasing the chat order lock failed; closing its connection");
        conn.close_on_drop();
    }
    stored
}

/// The `message` events of a stored batch, in id order.
fn events(batch: &[Submission], ids: &[i64], rows: &[NewMessage]) -> Vec<(Arc<str>, Event)> {
    batch
        .iter()
        .zip(ids.iter().zip(rows))
        .filter_map(|(s, (id, row))| Some((s.channel.clone(), event(s, *id, row)?)))
        .collect()
}

fn event(s: &Submission, id: i64, row: &NewMessage) -> Option<Event> {
    let frame = ServerFrame::Message(Message {
        id,
        username: s.username.to_string(),
        text: row.text.clone(),
        sent_at: rfc3339(row.sent_at),
    });
    match serde_json::to_string(&frame) {
        Ok(json) => Some(Event {
            frame: Some(Utf8Bytes::from(json)),
            message_id: Some(id),
            control: None,
        }),
        Err(e) => {
            tracing::error!(error = %e, "serialising a chat message failed");
            None
        }
    }
}
