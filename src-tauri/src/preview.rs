//! The preview's way to the window: the engine's latest JPEG waits in [`LatestFrame`];
//! the `preview` event only announces its number, and the window fetches the bytes from
//! the `preview:` URL scheme (`preview://localhost/{seq}` on Linux and macOS).
//!
//! Before, each frame travelled as a base64 `data:` URL inside a JSON event that the
//! webview evaluated as script: ~4/3 of the JPEG as text, copied several times in the
//! studio process and again in WebKit. Now the bytes are copied once, into the response.

use std::sync::{Arc, Mutex};

use aethex_broadcast::PreviewFrame;
use tauri::http::{Request, Response, StatusCode, header};

/// The URL scheme the window fetches preview frames from.
pub const SCHEME: &str = "preview";

/// The newest preview frame (older ones are simply replaced: the window only ever wants
/// the latest).
#[derive(Debug, Clone, Default)]
pub struct LatestFrame(Arc<Mutex<Option<PreviewFrame>>>);

impl LatestFrame {
    /// Keeps `frame` as the newest one.
    pub fn put(&self, frame: PreviewFrame) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(frame);
        }
    }

    /// Forgets the frame (the engine stopped).
    pub fn clear(&self) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = None;
        }
    }

    /// The newest frame, if any (cheap: the JPEG bytes are shared).
    pub fn get(&self) -> Option<PreviewFrame> {
        self.0.lock().ok().and_then(|slot| slot.clone())
    }

    /// Answers a `preview:` request with the newest JPEG (whatever frame number the URL
    /// names: it only keeps the webview from reusing an old response), or 404 before
    /// the first frame.
    pub fn respond(&self, _request: &Request<Vec<u8>>) -> Response<Vec<u8>> {
        let builder = Response::builder()
            .header(header::CACHE_CONTROL, "no-store")
            // The page's origin (tauri://localhost) differs from preview://localhost.
            .header(header::ACCESS_CONTROL_ALLOW_ORIGIN, "*");
        let response = match self.get() {
            Some(frame) => builder
                .status(StatusCode::OK)
                .header(header::CONTENT_TYPE, "image/jpeg")
                .body(frame.jpeg.to_vec()),
            None => builder.status(StatusCode::NOT_FOUND).body(Vec::new()),
        };
        response.unwrap_or_else(|_| Response::new(Vec::new()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(bytes: &'static [u8]) -> PreviewFrame {
        PreviewFrame {
            jpeg: bytes::Bytes::from_static(bytes),
            width: 640,
            height: 360,
            pts_ms: 0,
        }
    }

    #[test]
    fn serves_the_newest_jpeg_and_404_without_one() {
        let latest = LatestFrame::default();
        let req = Request::builder()
            .uri("preview://localhost/1")
            .body(Vec::new())
            .expect("request");
        assert_eq!(latest.respond(&req).status(), StatusCode::NOT_FOUND);
        latest.put(frame(b"\xff\xd8old"));
        latest.put(frame(b"\xff\xd8new"));
        let res = latest.respond(&req);
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.body().as_slice(), b"\xff\xd8new");
        assert_eq!(res.headers()[header::CONTENT_TYPE], "image/jpeg");
        assert_eq!(res.headers()[header::CACHE_CONTROL], "no-store");
        latest.clear();
        assert_eq!(latest.respond(&req).status(), StatusCode::NOT_FOUND);
    }
}
