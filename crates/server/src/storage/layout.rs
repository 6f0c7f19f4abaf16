//! Where a broadcast's media lives in the bucket, and how its playlists name
//! it.
//!
//! ```text
//! vod/{broadcast_id}/e{epoch}/{broadcast_id}_init.mp4
//! vod/{broadcast_id}/e{epoch}/{broadcast_id}_{msn:05}.m4s
//! vod/{broadcast_id}/e{epoch}/event.m3u8          (while live: what is uploaded so far)
//! vod/{broadcast_id}/e{epoch}/index.m3u8          (after the broadcast ended, complete)
//! ```
//!
//! Media objects never change (`Cache-Control: immutable`); `index.m3u8` is
//! written once, when every file it names is in the bucket, so its presence
//! means "complete". `event.m3u8` is rewritten as the broadcast grows (`no-cache`):
//! if the recording node dies, other nodes end it and serve that.
//!
//! The epoch is the stream lease's (`cluster::ownership`): a stream taken
//! over by another node writes under a new epoch, so no cache in front of
//! the bucket can hand out an object of an earlier owner under a name the
//! new one reuses. The playlist in the bucket names its media relatively
//! (it plays from the bucket as it is); the playlists the nodes serve name
//! them absolutely, under `--public-media-url`.

/// File name of the complete VOD playlist object (as on disk).
pub const PLAYLIST: &str = crate::hls::recording::PLAYLIST;
/// File name of the growing playlist object while live.
pub const GROWING_PLAYLIST: &str = "event.m3u8";
/// `Cache-Control` of media objects (their names are never reused).
pub const MEDIA_CACHE: &str = "public, max-age=31536000, immutable";
/// `Cache-Control` of the complete VOD playlist (written once; short so that
/// a deleted VOD leaves caches soon).
pub const VOD_CACHE: &str = "public, max-age=300";
/// `Cache-Control` of the growing playlist (rewritten).
pub const GROWING_CACHE: &str = "no-cache";

/// The folder of everything broadcast `id` ever stored (all epochs):
/// retention deletes it whole.
pub fn broadcast_folder(id: i64) -> String {
    format!("vod/{id}")
}

/// The folder of broadcast `id`'s media under lease epoch `epoch`.
pub fn prefix(id: i64, epoch: i64) -> String {
    format!("vod/{id}/e{epoch}")
}

/// The object name of `file` in folder `prefix`.
pub fn key(prefix: &str, file: &str) -> String {
    format!("{prefix}/{file}")
}

/// Whether a playlist line names a media file (a URI line, or the
/// `EXT-X-MAP` tag's `URI="…"`), and where that name is in the line.
fn uri_span(line: &str) -> Option<(usize, usize)> {
    if line.is_empty() {
        return None;
    }
    if !line.starts_with('#') {
        return Some((0, line.len()));
    }
    if !line.starts_with("#EXT-X-MAP:") {
        return None;
    }
    let start = line.find("URI=\"")? + 5;
    let len = line[start..].find('"')?;
    Some((start, start + len))
}

/// Rewrites every media URI of `playlist` with `f` (URIs it returns `None`
/// for stay).
fn rewrite(playlist: &str, f: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(playlist.len() * 2);
    for line in playlist.lines() {
        match uri_span(line).and_then(|(s, e)| Some((s, e, f(&line[s..e])?))) {
            Some((s, e, uri)) => {
                out.push_str(&line[..s]);
                out.push_str(&uri);
                out.push_str(&line[e..]);
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

/// The playlist with every relative media name put under `base`
/// (`{public}/{prefix}`); absolute URLs stay.
pub fn absolute(playlist: &str, base: &str) -> String {
    rewrite(playlist, |uri| {
        (!uri.contains("://")).then(|| format!("{base}/{uri}"))
    })
}

/// The playlist with media under `base` named relatively again (the copy in
/// the bucket must not depend on today's public URL); others stay.
pub fn relative(playlist: &str, base: &str) -> String {
    let base = format!("{base}/");
    rewrite(playlist, |uri| uri.strip_prefix(&base).map(str::to_string))
}

/// The playlist up to and including the segment named `last` (by file
/// name, relative or absolute): what a growing playlist may list of media
/// uploaded in order. Unchanged if no segment has that name.
pub fn up_to(playlist: &str, last: &str) -> String {
    let mut out = String::with_capacity(playlist.len());
    for line in playlist.lines() {
        out.push_str(line);
        out.push('\n');
        let is_uri = !line.is_empty() && !line.starts_with('#');
        if is_uri && line.rsplit('/').next() == Some(last) {
            break;
        }
    }
    out
}

/// A playlist of a broadcast that is over: a growing (`EVENT`) playlist
/// whose writer died gets its end (`VOD`, `EXT-X-ENDLIST`).
pub fn ended(playlist: &str) -> String {
    if playlist.contains("#EXT-X-ENDLIST") {
        return playlist.to_string();
    }
    let mut out = playlist.replace("#EXT-X-PLAYLIST-TYPE:EVENT", "#EXT-X-PLAYLIST-TYPE:VOD");
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str("#EXT-X-ENDLIST\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const VOD: &str = "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-MAP:URI=\"7_init.mp4\"\n\
                       #EXTINF:1.000,\n7_00000.m4s\n#EXTINF:1.000,\n\
                       https://cdn.example/vod/7/e2/7_00001.m4s\n#EXT-X-ENDLIST\n";

    #[test]
    fn a_growing_playlist_is_cut_after_the_last_upload_and_ended_later() {
        let growing = VOD.replace("#EXT-X-ENDLIST\n", "").replace(
            "#EXT-X-VERSION:6\n",
            "#EXT-X-VERSION:6\n#EXT-X-PLAYLIST-TYPE:EVENT\n",
        );
        let cut = up_to(&growing, "7_00000.m4s");
        assert!(cut.ends_with("#EXTINF:1.000,\n7_00000.m4s\n"), "{cut}");
        assert!(cut.contains("#EXT-X-MAP:URI=\"7_init.mp4\""));
        // An absolute name counts by its file name.
        assert_eq!(up_to(&growing, "7_00001.m4s"), growing);
        assert_eq!(up_to(&growing, "7_00009.m4s"), growing);
        let done = ended(&cut);
        assert!(
            done.contains("#EXT-X-PLAYLIST-TYPE:VOD\n")
                && done.ends_with("7_00000.m4s\n#EXT-X-ENDLIST\n")
        );
        assert_eq!(ended(VOD), VOD);
    }

    #[test]
    fn names_carry_the_broadcast_and_the_epoch() {
        assert_eq!(prefix(7, 2), "vod/7/e2");
        assert_eq!(key(&prefix(7, 2), "7_00001.m4s"), "vod/7/e2/7_00001.m4s");
        assert!(prefix(7, 2).starts_with(&broadcast_folder(7)));
    }

    #[test]
    fn playlists_switch_between_bucket_names_and_public_urls() {
        let base = "https://cdn.example/vod/7/e2";
        let public = absolute(VOD, base);
        assert!(public.contains("#EXT-X-MAP:URI=\"https://cdn.example/vod/7/e2/7_init.mp4\"\n"));
        assert!(public.contains("\nhttps://cdn.example/vod/7/e2/7_00000.m4s\n"));
        assert!(public.contains("\nhttps://cdn.example/vod/7/e2/7_00001.m4s\n"));
        assert!(public.contains("#EXTINF:1.000,\n") && public.ends_with("#EXT-X-ENDLIST\n"));
        let bucket = relative(&public, base);
        assert_eq!(bucket, VOD.replace("https://cdn.example/vod/7/e2/", ""));
        // Another base is left alone.
        assert_eq!(relative(VOD, "https://other.example"), VOD);
    }
}
