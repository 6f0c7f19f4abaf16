//! RTMP ingest: a sans-IO [`RtmpSession`] (handshake + `rml_rtmp` server
//! session → [`Action`]s, also the fuzz target's entry point) and the TCP
//! driver that checks the stream key before accepting a publish.

use std::sync::Arc;
use std::time::Duration;

use rml_rtmp::handshake::{Handshake, HandshakeProcessResult, PeerType};
use rml_rtmp::sessions::{
    ServerSession, ServerSessionConfig, ServerSessionEvent, ServerSessionResult,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use crate::hls::fmp4::{AudioConfig, VideoConfig};
use crate::ingest::broadcast::Broadcast;
use crate::ingest::flv::{self, AudioTag, VideoTag};
use crate::ingest::{IngestError, channel_link, stream_key};
use crate::state::AppState;

/// Most simultaneous RTMP connections (publishing or not).
const MAX_CONNECTIONS: usize = 256;
/// Time allowed from TCP accept to an accepted publish (slow-loris guard).
const SETUP_DEADLINE: Duration = Duration::from_secs(15);
/// Bytes a client may send before its publish is accepted.
const SETUP_MAX_BYTES: u64 = 256 * 1024;
/// A publisher silent this long is considered gone.
const PUBLISH_IDLE: Duration = Duration::from_secs(10);
/// Time allowed to write a response before the peer is dropped.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// Protocol-level failures of one connection.
#[derive(Debug, thiserror::Error)]
pub enum RtmpError {
    /// The handshake bytes were invalid.
    #[error("handshake failed: {0:?}")]
    Handshake(rml_rtmp::handshake::HandshakeError),
    /// The chunk stream or a command was invalid.
    #[error("protocol error: {0:?}")]
    Session(rml_rtmp::sessions::ServerSessionError),
    /// The protocol library panicked on this input (e.g. rml_rtmp 0.8's chunk
    /// deserializer underflows on some headers); the session is unusable.
    #[error("malformed input crashed the RTMP parser")]
    ParserPanic,
}

/// What the driver must do after feeding input to the session.
#[derive(Debug, PartialEq)]
pub enum Action {
    /// Write these bytes to the peer.
    Send(Vec<u8>),
    /// The peer asks to publish with this (raw) stream name; answer with
    /// [`RtmpSession::accept`] or [`RtmpSession::reject`].
    PublishRequested {
        /// Request to answer.
        request_id: u32,
        /// Stream name as sent (may carry a `?query`).
        stream_name: String,
    },
    /// An audio message body (an FLV tag body).
    Audio {
        /// RTMP timestamp, milliseconds.
        timestamp: u32,
        /// Body.
        data: bytes::Bytes,
    },
    /// A video message body (an FLV tag body).
    Video {
        /// RTMP timestamp, milliseconds.
        timestamp: u32,
        /// Body.
        data: bytes::Bytes,
    },
    /// The publisher's stream metadata (`onMetaData`) announced its tracks.
    Metadata {
        /// A video codec is announced.
        video: bool,
        /// An audio codec is announced.
        audio: bool,
    },
    /// The peer stopped publishing.
    Finished,
    /// Close the connection (after sending any queued bytes).
    Close,
}

enum Phase {
    Handshake(Box<Handshake>),
    Session(Box<ServerSession>),
}

/// One RTMP connection's protocol state, without I/O.
pub struct RtmpSession {
    phase: Phase,
}

impl Default for RtmpSession {
    fn default() -> Self {
        Self::new()
    }
}

impl RtmpSession {
    /// A fresh connection awaiting the client's handshake.
    pub fn new() -> Self {
        RtmpSession {
            phase: Phase::Handshake(Box::new(Handshake::new(PeerType::Server))),
        }
    }

    /// Feeds bytes read from the peer. A panic inside the protocol library is
    /// contained and reported as [`RtmpError::ParserPanic`].
    pub fn input(&mut self, bytes: &[u8]) -> Result<Vec<Action>, RtmpError> {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.input_inner(bytes)))
            .unwrap_or(Err(RtmpError::ParserPanic))
    }

    fn input_inner(&mut self, bytes: &[u8]) -> Result<Vec<Action>, RtmpError> {
        match &mut self.phase {
            Phase::Handshake(hs) => match hs.process_bytes(bytes).map_err(RtmpError::Handshake)? {
                HandshakeProcessResult::InProgress { response_bytes } => {
                    Ok(vec![Action::Send(response_bytes)])
                }
                HandshakeProcessResult::Completed {
                    response_bytes,
                    remaining_bytes,
                } => {
                    let (session, results) = ServerSession::new(ServerSessionConfig::new())
                        .map_err(RtmpError::Session)?;
                    self.phase = Phase::Session(Box::new(session));
                    let mut actions = vec![Action::Send(response_bytes)];
                    self.results(results, &mut actions)?;
                    if !remaining_bytes.is_empty() {
                        actions.extend(self.input_inner(&remaining_bytes)?);
                    }
                    Ok(actions)
                }
            },
            Phase::Session(session) => {
                let results = session.handle_input(bytes).map_err(RtmpError::Session)?;
                let mut actions = Vec::new();
                self.results(results, &mut actions)?;
                Ok(actions)
            }
        }
    }

    /// Accepts a publish request (the key was valid).
    pub fn accept(&mut self, request_id: u32) -> Result<Vec<Action>, RtmpError> {
        let Phase::Session(session) = &mut self.phase else {
            return Ok(Vec::new());
        };
        let results = session
            .accept_request(request_id)
            .map_err(RtmpError::Session)?;
        let mut actions = Vec::new();
        self.results(results, &mut actions)?;
        Ok(actions)
    }

    /// Refuses a request with an RTMP status the publisher prints, then closes.
    pub fn reject(&mut self, request_id: u32, code: &str, description: &str) -> Vec<Action> {
        let mut actions = Vec::new();
        if let Phase::Session(session) = &mut self.phase
            && let Ok(results) = session.reject_request(request_id, code, description)
        {
            for r in results {
                if let ServerSessionResult::OutboundResponse(p) = r {
                    actions.push(Action::Send(p.bytes));
                }
            }
        }
        actions.push(Action::Close);
        actions
    }

    fn results(
        &mut self,
        results: Vec<ServerSessionResult>,
        actions: &mut Vec<Action>,
    ) -> Result<(), RtmpError> {
        for result in results {
            match result {
                ServerSessionResult::OutboundResponse(p) => actions.push(Action::Send(p.bytes)),
                ServerSessionResult::RaisedEvent(ev) => self.event(ev, actions)?,
                ServerSessionResult::UnhandleableMessageReceived(_) => {}
            }
        }
        Ok(())
    }

    fn event(
        &mut self,
        ev: ServerSessionEvent,
        actions: &mut Vec<Action>,
    ) -> Result<(), RtmpError> {
        match ev {
            ServerSessionEvent::ConnectionRequested {
                request_id,
                app_name,
            } => {
                if app_name.trim_end_matches('/') == "live" {
                    let more = self.accept(request_id)?;
                    actions.extend(more);
                } else {
                    actions.extend(self.reject(
                        request_id,
                        "NetConnection.Connect.Rejected",
                        &IngestError::UnknownApp.to_string(),
                    ));
                }
            }
            ServerSessionEvent::PublishStreamRequested {
                request_id,
                stream_key,
                ..
            } => actions.push(Action::PublishRequested {
                request_id,
                stream_name: stream_key,
            }),
            ServerSessionEvent::AudioDataReceived {
                data, timestamp, ..
            } => actions.push(Action::Audio {
                timestamp: timestamp.value,
                data,
            }),
            ServerSessionEvent::VideoDataReceived {
                data, timestamp, ..
            } => actions.push(Action::Video {
                timestamp: timestamp.value,
                data,
            }),
            ServerSessionEvent::StreamMetadataChanged { metadata, .. } => {
                actions.push(Action::Metadata {
                    video: metadata.video_codec_id.is_some(),
                    audio: metadata.audio_codec_id.is_some(),
                });
            }
            ServerSessionEvent::PublishStreamFinished { .. } => actions.push(Action::Finished),
            // Play requests are not served over RTMP: refuse them.
            ServerSessionEvent::PlayStreamRequested { request_id, .. } => actions
                .extend(self.reject(request_id, "NetStream.Play.Failed", "playback is HLS only")),
            _ => {}
        }
        Ok(())
    }
}

/// Accepts RTMP connections until `token` is cancelled; live broadcasts end
/// cleanly (playlists finalised, VODs kept) before this returns.
pub async fn serve(listener: TcpListener, state: AppState, token: CancellationToken) {
    let permits = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let tracker = tokio_util::task::TaskTracker::new();
    loop {
        let accepted = tokio::select! {
            _ = token.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let Ok((socket, peer)) = accepted else {
            // Out of file descriptors and the like: back off instead of spinning.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            tracing::warn!(%peer, "rtmp: too many connections, refusing");
            continue;
        };
        let state = state.clone();
        let token = token.clone();
        let conn = state.live.connection();
        tracker.spawn(async move {
            let _permit = permit;
            let _conn = conn;
            let _ = socket.set_nodelay(true);
            if let Err(e) = connection(socket, &state, &token).await {
                tracing::debug!(%peer, error = %e, "rtmp connection closed");
            }
        });
    }
    tracker.close();
    tracker.wait().await;
}

/// One publisher: FLV tag bodies in, frames and decoder configurations to
/// its broadcast.
struct Publisher {
    broadcast: Broadcast,
    /// An unsupported codec was reported (once per track).
    warned_video: bool,
    warned_audio: bool,
}

impl Publisher {
    fn new(broadcast: Broadcast) -> Self {
        Publisher {
            broadcast,
            warned_video: false,
            warned_audio: false,
        }
    }

    fn video(&mut self, timestamp: u32, body: bytes::Bytes) {
        let dts_us = i64::from(timestamp) * 1000;
        match flv::video_tag(&body) {
            VideoTag::Config(avcc) => match VideoConfig::from_avcc(body.slice_ref(avcc)) {
                Some(config) => self.broadcast.video_config(config),
                None => self.broadcast.count_dropped(),
            },
            VideoTag::Frame {
                keyframe,
                composition_ms,
                nalus,
            } => {
                let cts_us = i64::from(composition_ms) * 1000;
                self.broadcast
                    .video(dts_us, cts_us, keyframe, body.slice_ref(nalus));
            }
            VideoTag::Unsupported => {
                self.broadcast.count_dropped();
                if !std::mem::replace(&mut self.warned_video, true) {
                    tracing::warn!(channel = %self.broadcast.channel(), "rtmp: video codec not supported (send H.264)");
                }
            }
            VideoTag::Other => {}
        }
    }

    fn audio(&mut self, timestamp: u32, body: bytes::Bytes) {
        match flv::audio_tag(&body) {
            AudioTag::Config(asc) => match AudioConfig::from_asc(body.slice_ref(asc)) {
                Some(config) => self.broadcast.audio_config(config),
                None => self.broadcast.count_dropped(),
            },
            AudioTag::Frame(frame) => {
                let pts_us = i64::from(timestamp) * 1000;
                self.broadcast.audio(pts_us, body.slice_ref(frame));
            }
            AudioTag::Unsupported => {
                self.broadcast.count_dropped();
                if !std::mem::replace(&mut self.warned_audio, true) {
                    tracing::warn!(channel = %self.broadcast.channel(), "rtmp: audio codec not supported (send AAC)");
                }
            }
        }
    }
}

/// Serves one connection until the peer leaves, goes quiet or the server
/// stops; a publish it started is finished on the way out.
async fn connection(
    mut socket: TcpStream,
    state: &AppState,
    token: &CancellationToken,
) -> Result<(), RtmpError> {
    let mut session = RtmpSession::new();
    let mut publisher: Option<Publisher> = None;
    let mut buf = vec![0u8; 64 * 1024];
    let setup_deadline = tokio::time::Instant::now() + SETUP_DEADLINE;
    let mut setup_bytes: u64 = 0;

    let result = loop {
        let read = if publisher.is_some() {
            tokio::select! {
                _ = token.cancelled() => break Ok(()),
                r = tokio::time::timeout(PUBLISH_IDLE, socket.read(&mut buf)) => r,
            }
        } else {
            tokio::select! {
                _ = token.cancelled() => break Ok(()),
                r = tokio::time::timeout_at(setup_deadline, socket.read(&mut buf)) => r,
            }
        };
        let n = match read {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break Ok(()),
            Ok(Ok(n)) => n,
        };
        if publisher.is_none() {
            setup_bytes += n as u64;
            if setup_bytes > SETUP_MAX_BYTES {
                break Ok(());
            }
        }
        let actions = match session.input(&buf[..n]) {
            Ok(a) => a,
            Err(e) => break Err(e),
        };
        if !perform(&mut socket, &mut session, &mut publisher, state, actions).await? {
            break Ok(());
        }
    };
    if let Some(p) = publisher {
        p.broadcast.finish().await;
    }
    let _ = socket.shutdown().await;
    result
}

/// Carries out the session's actions (and the ones their answers bring);
/// false when the connection must close.
async fn perform(
    socket: &mut TcpStream,
    session: &mut RtmpSession,
    publisher: &mut Option<Publisher>,
    state: &AppState,
    actions: Vec<Action>,
) -> Result<bool, RtmpError> {
    let mut queue = std::collections::VecDeque::from(actions);
    let mut open = true;
    while let Some(action) = queue.pop_front() {
        match action {
            Action::Send(bytes) => {
                let write = tokio::time::timeout(WRITE_TIMEOUT, socket.write_all(&bytes));
                if !matches!(write.await, Ok(Ok(()))) {
                    open = false;
                }
            }
            Action::PublishRequested {
                request_id,
                stream_name,
            } => {
                let replies =
                    answer_publish(session, publisher, state, request_id, &stream_name).await?;
                queue.extend(replies);
            }
            Action::Audio { timestamp, data } => {
                if let Some(p) = publisher.as_mut() {
                    p.audio(timestamp, data);
                }
            }
            Action::Video { timestamp, data } => {
                if let Some(p) = publisher.as_mut() {
                    p.video(timestamp, data);
                }
            }
            Action::Metadata { video, audio } => {
                if let Some(p) = publisher.as_mut() {
                    p.broadcast.announce(video, audio);
                }
            }
            Action::Finished | Action::Close => open = false,
        }
    }
    Ok(open)
}

/// Answers a publish request: accepted with its broadcast started, or
/// refused with the reason; returns the session's replies.
async fn answer_publish(
    session: &mut RtmpSession,
    publisher: &mut Option<Publisher>,
    state: &AppState,
    request_id: u32,
    stream_name: &str,
) -> Result<Vec<Action>, RtmpError> {
    if publisher.is_some() {
        return Ok(session.reject(
            request_id,
            "NetStream.Publish.BadName",
            "one publish per connection",
        ));
    }
    match start_publish(state, stream_name).await {
        Ok(broadcast) => {
            *publisher = Some(Publisher::new(broadcast));
            session.accept(request_id)
        }
        Err(e) => {
            tracing::info!(error = &e as &dyn std::error::Error, "rtmp publish refused");
            metrics::counter!("aethex_ingest_refused_total").increment(1);
            let code = match e {
                IngestError::BadKey | IngestError::AlreadyLive => "NetStream.Publish.BadName",
                _ => "NetStream.Publish.Failed",
            };
            Ok(session.reject(request_id, code, &e.to_string()))
        }
    }
}

/// Checks the key, then starts the broadcast. Nothing touches the disk before
/// the key is known good.
async fn start_publish(state: &AppState, stream_name: &str) -> Result<Broadcast, IngestError> {
    let key = stream_key(stream_name);
    let channel = channel_link::resolve_key(state, key)
        .await
        .map_err(IngestError::KeyLookup)?
        .ok_or(IngestError::BadKey)?;
    Broadcast::begin(state, &channel).await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Completes a real client handshake against the session.
    fn handshaken() -> RtmpSession {
        let mut server = RtmpSession::new();
        let mut client = Handshake::new(PeerType::Client);
        let c0c1 = client.generate_outbound_p0_and_p1().expect("c0c1");
        let mut to_client = Vec::new();
        for a in server.input(&c0c1).expect("s0s1s2") {
            if let Action::Send(b) = a {
                to_client.extend(b);
            }
        }
        let c2 = match client.process_bytes(&to_client).expect("client handshake") {
            HandshakeProcessResult::Completed { response_bytes, .. }
            | HandshakeProcessResult::InProgress { response_bytes } => response_bytes,
        };
        server.input(&c2).expect("c2");
        server
    }

    /// The fuzz target's property on a deterministic sample: arbitrary bytes
    /// after a valid handshake give errors or actions, never a panic.
    #[test]
    fn arbitrary_input_after_handshake_never_panics() {
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        for round in 0..300 {
            let mut session = handshaken();
            let len = 1 + (round * 37) % 4096;
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    // Bias towards small values: chunk headers and AMF markers.
                    (seed % if round % 2 == 0 { 8 } else { 256 }) as u8
                })
                .collect();
            for piece in bytes.chunks(1 + round % 97) {
                match session.input(piece) {
                    Ok(actions) => {
                        for a in actions {
                            if let Action::PublishRequested { request_id, .. } = a {
                                let _ = session.accept(request_id);
                            }
                        }
                    }
                    Err(_) => break,
                }
            }
        }
    }

    #[test]
    fn bad_version_byte_is_an_error() {
        let mut s = RtmpSession::new();
        assert!(s.input(&[0xFF; 1537]).is_err());
    }
}
