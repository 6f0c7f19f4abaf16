//! Fuzzes everything a peer can send on the RTMP port after (and, with the
//! first byte's low bit clear, instead of) a valid handshake: chunk stream,
//! AMF commands, publish requests (accepted) and media messages.
#![no_main]

use aethex_server::ingest::rtmp::{Action, RtmpSession};
use libfuzzer_sys::fuzz_target;
use rml_rtmp::handshake::{Handshake, HandshakeProcessResult, PeerType};

fn handshaken() -> Option<RtmpSession> {
    let mut server = RtmpSession::new();
    let mut client = Handshake::new(PeerType::Client);
    let c0c1 = client.generate_outbound_p0_and_p1().ok()?;
    let mut to_client = Vec::new();
    for a in server.input(&c0c1).ok()? {
        if let Action::Send(b) = a {
            to_client.extend(b);
        }
    }
    let c2 = match client.process_bytes(&to_client).ok()? {
        HandshakeProcessResult::Completed { response_bytes, .. }
        | HandshakeProcessResult::InProgress { response_bytes } => response_bytes,
    };
    server.input(&c2).ok()?;
    Some(server)
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let mut session = if mode & 1 == 1 {
        match handshaken() {
            Some(s) => s,
            None => return,
        }
    } else {
        RtmpSession::new()
    };
    let chunk = 1 + usize::from(mode >> 1);
    for piece in rest.chunks(chunk) {
        let Ok(actions) = session.input(piece) else {
            return;
        };
        for action in actions {
            match action {
                Action::PublishRequested { request_id, .. } => {
                    if session.accept(request_id).is_err() {
                        return;
                    }
                }
                Action::Close => return,
                _ => {}
            }
        }
    }
});
