//! Keeps stream keys out of every log, GStreamer's own included.
//!
//! Elements log what they are given: with `GST_DEBUG` on, rtmp2sink prints its location
//! and "Sending publish for 'KEY'", srtsink its URI with the stream id. The engine
//! registers every destination URL here before an element sees it, and replaces
//! GStreamer's default log handler with one that writes the same lines with those
//! secrets replaced by `<redacted>` (to `GST_DEBUG_FILE` when set, else stderr).

use std::borrow::Cow;
use std::io::Write;
use std::sync::{Mutex, Once, OnceLock, RwLock};
use std::time::Instant;

use gstreamer as gst;

/// What replaces a secret.
pub(crate) const REDACTED: &str = "<redacted>";

/// Parts shorter than this are not treated as secrets (`live`, `app`, `live2`): stream
/// keys are long, and replacing short words everywhere would garble the log.
const MIN_SECRET_LEN: usize = 6;

/// Protocol words inside SRT stream ids (`publish:KEY`, `#!::r=live/KEY,m=publish`) that
/// are not secrets; redacting them would garble every rtmp/srt log line.
const NOT_SECRET: [&str; 4] = ["publish", "request", "bidirectional", "streamid"];

/// Every secret registered so far, longest first (so a URL goes before its parts).
static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

fn decoded(text: &str) -> Option<String> {
    let d = percent_encoding::percent_decode_str(text)
        .decode_utf8()
        .ok()?
        .into_owned();
    (d != text).then_some(d)
}

/// The pieces of `url` that may reveal its secret: the URL itself, the path segments,
/// the query values and password (raw and percent-decoded, and their `:`/`,`/`/` parts).
pub(crate) fn secret_parts(url: &str) -> Vec<String> {
    let mut parts = vec![url.to_string()];
    let Some((_, rest)) = url.split_once("://") else {
        return parts;
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let mut pieces: Vec<String> = Vec::new();
    if let Some((userinfo, _)) = authority.rsplit_once('@') {
        pieces.extend(userinfo.split_once(':').map(|(_, pass)| pass.to_string()));
    }
    let (path, query) = tail.split_once('?').unwrap_or((tail, ""));
    pieces.push(path.trim_start_matches('/').to_string());
    pieces.extend(path.split('/').map(str::to_string));
    for pair in query.split(['&', '#']) {
        let value = pair.split_once('=').map_or(pair, |(_, v)| v);
        pieces.push(value.to_string());
    }
    for piece in pieces {
        let mut forms = vec![piece.clone()];
        forms.extend(decoded(&piece));
        for form in forms {
            parts.extend(
                form.split([':', ',', '/', '=', '&'])
                    .filter(|p| p.len() >= MIN_SECRET_LEN)
                    .map(str::to_string),
            );
            parts.push(form);
        }
    }
    parts.retain(|p| p.len() >= MIN_SECRET_LEN && !NOT_SECRET.contains(&p.as_str()));
    parts.sort_by_key(|p| std::cmp::Reverse(p.len()));
    parts.dedup();
    parts
}

/// Replaces every part of `url`'s secret in `text`.
pub(crate) fn scrub_url(url: &str, text: &str) -> String {
    let mut out = text.to_string();
    for part in secret_parts(url) {
        out = out.replace(&part, REDACTED);
    }
    out
}

/// Registers a URL whose secret must never be logged (idempotent).
pub(crate) fn register(url: &str) {
    let parts = secret_parts(url);
    let mut secrets = SECRETS.write().unwrap_or_else(|p| p.into_inner());
    for part in parts {
        if !secrets.contains(&part) {
            secrets.push(part);
        }
    }
    secrets.sort_by_key(|p| std::cmp::Reverse(p.len()));
}

/// `text` with every registered secret replaced.
pub fn scrub(text: &str) -> Cow<'_, str> {
    let secrets = SECRETS.read().unwrap_or_else(|p| p.into_inner());
    let mut out = Cow::Borrowed(text);
    for s in secrets.iter() {
        if out.contains(s.as_str()) {
            out = Cow::Owned(out.replace(s.as_str(), REDACTED));
        }
    }
    out
}

/// Where the redacting log handler writes.
static SINK: Mutex<Option<Box<dyn Write + Send>>> = Mutex::new(None);

fn write_line(line: &str) {
    let mut sink = SINK.lock().unwrap_or_else(|p| p.into_inner());
    let out = sink.get_or_insert_with(|| {
        let file = std::env::var_os("GST_DEBUG_FILE").and_then(|path| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .ok()
        });
        match file {
            Some(f) => Box::new(f),
            None => Box::new(std::io::stderr()),
        }
    });
    let _ = out.write_all(line.as_bytes());
}

/// Replaces GStreamer's default log handler with the redacting one. Once per process;
/// call after `gst::init`.
pub(crate) fn install_log_handler() {
    static ONCE: Once = Once::new();
    static STARTED: OnceLock<Instant> = OnceLock::new();
    ONCE.call_once(|| {
        let started = *STARTED.get_or_init(Instant::now);
        gst::log::remove_default_log_function();
        gst::log::add_log_function(
            move |category, level, file, function, line, object, message| {
                let Some(text) = message.get() else { return };
                let object = object.map(|o| format!("<{o}> ")).unwrap_or_default();
                let formatted = format!(
                    "{:.9} {:>6} {:?} {:>7} {:>20} {file}:{line}:{function}:{object}{text}\n",
                    started.elapsed().as_secs_f64(),
                    std::process::id(),
                    std::thread::current().id(),
                    level.name(),
                    category.name(),
                );
                write_line(&scrub(&formatted));
            },
        );
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rtmp_key_and_srt_stream_id_are_secret() {
        let parts = secret_parts("rtmp://live.example.com:1935/app/sk_live_abcdef123");
        assert!(parts.iter().any(|p| p == "sk_live_abcdef123"), "{parts:?}");
        assert!(!parts.iter().any(|p| p == "app"), "{parts:?}");
        let parts = secret_parts("srt://127.0.0.1:9000?streamid=publish:srtkey42");
        assert!(parts.iter().any(|p| p == "srtkey42"), "{parts:?}");
        assert!(!parts.iter().any(|p| p == "publish"), "{parts:?}");
        let srt = "srt://127.0.0.1:9000?streamid=%23%21%3A%3Ar%3Dlive%2Fsecretkey99%2Cm%3Dpublish&passphrase=hunter2hunter2";
        let text = scrub_url(
            srt,
            "srtsink uri srt://127.0.0.1:9000?streamid=… id #!::r=live/secretkey99,m=publish hunter2hunter2",
        );
        assert!(!text.contains("secretkey99"), "{text}");
        assert!(!text.contains("hunter2hunter2"), "{text}");
        assert!(text.contains("127.0.0.1:9000"), "{text}");
    }

    #[test]
    fn registered_secrets_are_scrubbed_everywhere() {
        register("rtmp://127.0.0.1:1935/live/sk_registered_42");
        let line = "rtmpclient: Sending publish for 'sk_registered_42' on stream 1";
        assert_eq!(
            scrub(line),
            "rtmpclient: Sending publish for '<redacted>' on stream 1"
        );
        assert_eq!(scrub("nothing secret"), "nothing secret");
    }
}
