//! The direction of dependencies between this crate's modules, checked by a
//! test so a back-edge fails CI: ingest → hls → storage, vod → hls, and no
//! HTTP errors below the handlers (see `docs/architecture.md`).
//!
//! The check reads `src/` and resolves every `crate::…` and `super::…` path
//! to the top-level module it names (inline `mod tests` blocks are counted as
//! their file, which only ever makes `super::` resolve one level too high).

use std::path::Path;

/// Files (a path prefix under `src/`) that must not reach the named
/// top-level modules, and why.
const RULES: &[(&str, &[&str], &str)] = &[
    (
        "hls/",
        &["ingest", "vod", "channels", "chat", "auth", "storage"],
        "hls sits below ingest and vod and knows no channels or users",
    ),
    (
        "storage/",
        &[
            "ingest", "vod", "channels", "chat", "cluster", "http", "error",
        ],
        "object storage holds media files; vod and ingest use it, not the reverse",
    ),
    ("vod/", &["ingest"], "vod only reads what hls recorded"),
    (
        "chat/",
        &["cluster", "ingest", "hls", "vod"],
        "chat reaches other nodes through its Broker trait, not cluster",
    ),
    (
        "channels/",
        &["ingest", "hls", "vod", "cluster"],
        "the channel core sits below the media features and cluster",
    ),
    (
        "ingest/",
        &["error", "http"],
        "ingest errors are not HTTP errors",
    ),
    (
        "channels/live.rs",
        &["error", "http"],
        "the ingest's live-state transitions return storage errors",
    ),
    (
        "backup/",
        &["http", "error", "state", "hls", "ingest", "vod", "chat"],
        "backup and restore work on files and SQL with the server stopped or running, without the app",
    ),
    (
        "db.rs",
        &["hls", "ingest", "vod", "http", "state", "error"],
        "storage knows no features and no HTTP",
    ),
];

/// Storage modules: every `store.rs`, under the same rule as `db.rs`.
const STORE_FILE: &str = "store.rs";

/// The module path of a file under `src/` (`hls/mod.rs` → `["hls"]`).
fn module_of(rel: &str) -> Vec<String> {
    let stem = rel.strip_suffix(".rs").unwrap_or(rel);
    let mut parts: Vec<String> = stem.split('/').map(str::to_string).collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// The source without `//` comments (doc comments included).
fn strip_comments(source: &str) -> String {
    source
        .lines()
        .map(|line| match line.find("//") {
            Some(i) if i == 0 || line[..i].ends_with(char::is_whitespace) => &line[..i],
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The identifiers at the top level of a `{…}` group starting at `text[0]`.
fn group_heads(text: &str) -> Vec<String> {
    let mut heads = Vec::new();
    let (mut depth, mut start) = (0usize, true);
    let mut current = String::new();
    for c in text.chars() {
        if depth == 1 && start && (c.is_alphanumeric() || c == '_') {
            current.push(c);
            continue;
        }
        if !current.is_empty() {
            heads.push(std::mem::take(&mut current));
            start = false;
        }
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            ',' if depth == 1 => start = true,
            _ => {}
        }
    }
    heads
}

/// The top-level modules that `source` (the file `rel` under `src/`) names
/// through `crate::` or `super::` paths.
fn targets(rel: &str, source: &str) -> Vec<String> {
    let code = strip_comments(source);
    let module = module_of(rel);
    let mut out = Vec::new();
    for (i, _) in code
        .match_indices("crate::")
        .chain(code.match_indices("super::"))
    {
        let before = code[..i].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || matches!(c, '_' | ':' | '$')) {
            continue; // `$crate::`, `a::super::`: counted from the path's start
        }
        let mut rest = &code[i..];
        let mut base = module.clone();
        if let Some(r) = rest.strip_prefix("crate::") {
            base.clear();
            rest = r;
        }
        while let Some(r) = rest.strip_prefix("super::") {
            base.pop();
            rest = r;
        }
        let heads = if rest.starts_with('{') {
            group_heads(rest)
        } else {
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            vec![rest[..end].to_string()]
        };
        for head in heads.into_iter().filter(|h| !h.is_empty()) {
            // Inside its own top-level module the first segment is a child.
            let top = base.first().cloned().unwrap_or(head);
            out.push(top);
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Every broken rule in `files` (path under `src/`, source).
fn violations(files: &[(String, String)]) -> Vec<String> {
    let storage = RULES.iter().find(|(p, ..)| *p == "db.rs");
    let mut out = Vec::new();
    for (rel, source) in files {
        let found = targets(rel, source);
        let mut rules: Vec<_> = RULES.iter().filter(|(p, ..)| rel.starts_with(p)).collect();
        if rel.ends_with(STORE_FILE) {
            rules.extend(storage);
        }
        let own = module_of(rel).first().cloned().unwrap_or_default();
        for (prefix, forbidden, why) in rules {
            for target in found.iter().filter(|t| **t != own) {
                if forbidden.contains(&target.as_str()) {
                    out.push(format!("{rel} uses crate::{target} ({prefix}: {why})"));
                }
            }
        }
    }
    out
}

/// Every `.rs` file under `dir`, as (path relative to `root`, source).
fn read_tree(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("read src dir")
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            read_tree(root, &path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path.strip_prefix(root).expect("under src");
            let rel = rel.to_string_lossy().replace('\\', "/");
            out.push((rel, std::fs::read_to_string(&path).expect("read source")));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(rel: &str, source: &str) -> Vec<String> {
        violations(&[(rel.to_string(), source.to_string())])
    }

    #[test]
    fn dependencies_run_one_way() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        read_tree(&src, &src, &mut files);
        assert!(files.len() > 20, "read the crate's sources");
        let broken = violations(&files);
        assert!(broken.is_empty(), "back-edges:\n{}", broken.join("\n"));
    }

    #[test]
    fn a_back_edge_in_any_path_form_is_found() {
        for (rel, source) in [
            ("hls/mod.rs", "use crate::ingest::live::Reload;"),
            ("hls/media.rs", "    crate::vod::store::write(dir);"),
            ("hls/mod.rs", "use super::vod::store::PLAYLIST;"),
            ("hls/live.rs", "use super::super::ingest::IngestError;"),
            ("hls/live.rs", "use crate::{db, ingest::IngestError};"),
            ("hls/live.rs", "use crate::{\n    db::now_ms,\n    vod,\n};"),
            ("vod/store.rs", "use crate::hls::recording;"),
            ("chat/store.rs", "use crate::error::ApiError;"),
            ("vod/mod.rs", "use crate::ingest::broadcast::Broadcast;"),
            ("chat/hub.rs", "use crate::cluster::broker::RedisBroker;"),
            ("channels/live.rs", "use crate::error::ApiError;"),
            (
                "ingest/broadcast.rs",
                "fn f() -> crate::error::ApiError { todo!() }",
            ),
        ] {
            assert_eq!(one(rel, source).len(), 1, "{rel}: {source}");
        }
    }

    #[test]
    fn allowed_paths_and_comments_are_not_back_edges() {
        for (rel, source) in [
            (
                "hls/mod.rs",
                "use crate::error::ApiError;\nuse crate::state::AppState;",
            ),
            (
                "hls/mod.rs",
                "use super::live::Reload; // not crate::ingest",
            ),
            ("hls/live.rs", "use super::media::MediaCache;"),
            ("hls/live.rs", "/// Filled by `crate::ingest`."),
            (
                "ingest/broadcast.rs",
                "use crate::hls::live::LiveStream;\nuse crate::vod;",
            ),
            ("vod/mod.rs", "use crate::hls::recording::PLAYLIST;"),
            ("vod/retention.rs", "use crate::vod::store;"),
        ] {
            assert_eq!(one(rel, source), Vec::<String>::new(), "{rel}: {source}");
        }
    }

    #[test]
    fn paths_resolve_to_their_top_level_module() {
        assert_eq!(module_of("hls/mod.rs"), ["hls"]);
        assert_eq!(module_of("hls/fmp4/tests.rs"), ["hls", "fmp4", "tests"]);
        assert!(module_of("lib.rs").is_empty());
        assert_eq!(targets("hls/mod.rs", "use super::ingest;"), ["ingest"]);
        assert_eq!(targets("hls/live.rs", "use super::media;"), ["hls"]);
        assert_eq!(
            targets("state.rs", "use crate::{auth::X, hls::live::{A, B}};"),
            ["auth", "hls"]
        );
    }
}
