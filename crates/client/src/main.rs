//! `aethex`: the headless studio CLI.

fn main() {
    eprintln!("aethex: not built yet");
    std::process::exit(2);
}
