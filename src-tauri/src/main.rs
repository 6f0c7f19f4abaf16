//! AeThex Studio desktop entry point.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    #[cfg(target_os = "linux")]
    limit_malloc_arenas();
    aethex_studio_lib::run()
}

/// glibc gives each thread that contends for `malloc` its own arena (up to 8 per core),
/// and every arena keeps freed memory. The studio runs ~40 threads (GStreamer streaming
/// threads, the encoder's, tokio's, WebKit's and GTK's), so arenas alone held tens of MB
/// of anonymous memory: two arenas are plenty for its allocation rate. A fixed 128 KiB
/// mmap/trim threshold (glibc otherwise raises it up to 32 MiB after the first large
/// free) hands large freed blocks back to the kernel instead of keeping them in the heap;
/// buffer pools keep the per-frame buffers, so this costs no measurable CPU
/// (scripts/bench/studio-memory.sh: ~35 % of a core either way, ~5 MB less anonymous).
/// glibc reads these only at start-up, so the process re-executes itself once with them
/// set (same pid; the WebKit helpers and the built-in server inherit them). If the user
/// set `MALLOC_ARENA_MAX`, nothing is changed.
#[cfg(target_os = "linux")]
fn limit_malloc_arenas() {
    use std::os::unix::process::CommandExt;
    const VAR: &str = "MALLOC_ARENA_MAX";
    if std::env::var_os(VAR).is_some() {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let mut args = std::env::args_os();
    let arg0 = args.next().unwrap_or_else(|| exe.clone().into_os_string());
    // `exec` only returns on failure; then run with glibc's default arenas.
    let err = std::process::Command::new(&exe)
        .arg0(arg0)
        .args(args)
        .env(VAR, "2")
        .env("MALLOC_MMAP_THRESHOLD_", "131072")
        .env("MALLOC_TRIM_THRESHOLD_", "131072")
        .exec();
    eprintln!("aethex-studio: could not limit malloc arenas ({err}); continuing");
}
