//! AeThex Studio desktop entry point.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    aethex_studio_lib::run()
}
