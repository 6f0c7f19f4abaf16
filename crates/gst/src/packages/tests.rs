use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use gstreamer as gst;
use gstreamer::prelude::*;

use super::*;

/// Literals in the scanned sources that name a GStreamer factory but are no element we
/// create (`"pipeline"` is a name given to pipelines).
const NOT_ELEMENTS: &[&str] = &["pipeline"];

/// Calls whose first argument is an element factory name.
const FACTORY_CALLS: &[&str] = &["make(", "find(", "missing("];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display()));
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

/// Every `"word"` literal (lowercase letters, digits, `_`) in the sources of the crates
/// that create elements, with whether it is the argument of a factory call.
fn literals() -> Vec<(String, bool)> {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for krate in ["broadcast", "server"] {
        rust_files(&crates.join(krate).join("src"), &mut files);
    }
    assert!(files.len() > 20, "sources not found: {files:?}");
    let mut found = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read source");
        for line in text.lines() {
            let parts: Vec<&str> = line.split('"').collect();
            for i in (1..parts.len().saturating_sub(1)).step_by(2) {
                let word = parts[i];
                let is_word = !word.is_empty()
                    && word
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
                if is_word {
                    let call = FACTORY_CALLS.iter().any(|c| parts[i - 1].ends_with(c));
                    found.push((word.to_string(), call));
                }
            }
        }
    }
    found
}

/// Element factories the sources use: factory-call arguments, and any literal that names
/// an element installed here (catches candidate lists like `["avenc_aac", "voaacenc"]`).
fn used_elements() -> BTreeSet<String> {
    gst::init().expect("gstreamer init");
    literals()
        .into_iter()
        .filter(|(word, call)| {
            !NOT_ELEMENTS.contains(&word.as_str())
                && (*call || gst::ElementFactory::find(word).is_some())
        })
        .map(|(word, _)| word)
        .collect()
}

#[test]
fn every_element_the_sources_create_has_an_entry() {
    let used = used_elements();
    for expected in ["x264enc", "rtmp2sink", "tsdemux", "srtsrc", "aacparse"] {
        assert!(used.contains(expected), "scan missed {expected}: {used:?}");
    }
    let missing: Vec<&String> = used
        .iter()
        .filter(|e| !PACKAGES.iter().any(|(p, _)| p == e))
        .collect();
    assert!(missing.is_empty(), "add to PACKAGES: {missing:?}");
}

#[test]
fn every_entry_is_used_once() {
    let words: BTreeSet<String> = literals().into_iter().map(|(w, _)| w).collect();
    let mut seen = BTreeSet::new();
    for (element, _) in PACKAGES {
        assert!(seen.insert(element), "{element} is listed twice");
        assert!(
            words.contains(*element),
            "{element} is in PACKAGES but no source uses it"
        );
    }
}

#[test]
fn lookup_finds_the_entry_and_falls_back_otherwise() {
    assert_eq!(package_for("aacparse"), "gstreamer1.0-plugins-good");
    assert_eq!(package_for("h264parse"), "gstreamer1.0-plugins-bad");
    assert_eq!(package_for("x264enc"), "gstreamer1.0-plugins-ugly");
    assert_eq!(package_for("vaapih264enc"), "gstreamer1.0-vaapi");
    assert_eq!(package_for("no_such_element_x"), FALLBACK_PACKAGE);
}

/// The Debian package that owns `file`, if dpkg knows it (tries the /usr path too:
/// merged /usr makes /lib/… and /usr/lib/… the same file).
fn dpkg_owner(file: &str) -> Option<String> {
    let candidates = [file.to_string(), format!("/usr{file}")];
    candidates.iter().find_map(|path| {
        let out = std::process::Command::new("dpkg")
            .args(["-S", path])
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout);
        let package = text.lines().next()?.split(':').next()?.trim().to_string();
        (out.status.success() && !package.is_empty()).then_some(package)
    })
}

#[test]
fn entries_name_the_package_that_ships_the_plugin() {
    gst::init().expect("gstreamer init");
    if dpkg_owner("/bin/sh").is_none() {
        eprintln!("skipped: no dpkg here to check the table against");
        return;
    }
    let mut checked = 0;
    for (element, package) in PACKAGES {
        let Some(factory) = gst::ElementFactory::find(element) else {
            eprintln!("not installed here, not checked: {element} ({package})");
            continue;
        };
        let file = factory
            .plugin()
            .and_then(|p| p.filename())
            .unwrap_or_else(|| panic!("{element}: plugin without a file"));
        let file = file.to_string_lossy();
        assert_eq!(
            dpkg_owner(&file).as_deref(),
            Some(*package),
            "{element} comes from {file}"
        );
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} entries checked");
}
