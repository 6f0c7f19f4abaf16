// The signed-in person, shared by the header, the chat and the auth dialog.

import { loadSession, saveSession, type Session } from "./api";

type Listener = (s: Session | null) => void;

let current: Session | null = loadSession();
const listeners = new Set<Listener>();

/** The current session, if signed in. */
export function getSession(): Session | null {
  return current;
}

/** Signs in (or out with `null`) and tells every listener. */
export function setSession(s: Session | null): void {
  current = s;
  saveSession(s);
  for (const l of listeners) l(s);
}

/** Calls `fn` on every change; returns the unsubscribe function. */
export function onSession(fn: Listener): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}
