// The window's side of the IPC: the studio's commands and events and the types they
// carry, generated from the Rust commands into bindings.ts (src-tauri/src/ipc.rs,
// tauri-specta). A renamed command, a changed argument or event payload fails `tsc`
// (ipc.typecheck.ts shows how); nothing in the studio names a command by string.
export * from "./bindings";
