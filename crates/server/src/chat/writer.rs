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
use crate::db::{Db, now_ms, rfc3339};

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
        match store::insert_batch(&db, &rows).await {
            Ok(ids) if ids.len() == batch.len() => {
                metrics::counter!("aethex_chat_messages_total").increment(ids.len() as u64);
                metrics::histogram!("aethex_chat_batch_size").record(ids.len() as f64);
                for (s, (id, row)) in batch.drain(..).zip(ids.into_iter().zip(rows)) {
                    publish(&*broker, &s, id, row);
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

fn publish(broker: &dyn Broker, s: &Submission, id: i64, row: NewMessage) {
    let frame = ServerFrame::Message(Message {
        id,
        username: s.username.to_string(),
        text: row.text,
        sent_at: rfc3339(row.sent_at),
    });
    match serde_json::to_string(&frame) {
        Ok(json) => broker.publish(
            &s.channel,
            Event {
                frame: Some(Utf8Bytes::from(json)),
                message_id: Some(id),
                control: None,
            },
        ),
        Err(e) => tracing::error!(error = %e, "serialising a chat message failed"),
    }
}
