// The studio's one store (the shape of player/session.ts, with a reducer): views read
// the state, dispatch actions and subscribe to changes; nothing else holds studio state.
import type { StudioSettings } from "./ipc";
import { initialStudioState, studioReducer, type StudioAction, type StudioState } from "./state";

/** Called with the new and the previous state after every action. */
export type Listener<S> = (state: S, prev: S) => void;

/** State, actions and subscriptions. */
export interface Store<S, A> {
  /** The current state. */
  get(): S;
  /** Applies an action and tells every listener. */
  dispatch(action: A): void;
  /** Calls `fn` after every change; returns the unsubscribe function. */
  subscribe(fn: Listener<S>): () => void;
}

/** The studio window's store. */
export type StudioStore = Store<StudioState, StudioAction>;

/** A store over a pure reducer. */
export function createStore<S, A>(reducer: (state: S, action: A) => S, initial: S): Store<S, A> {
  let state = initial;
  const listeners = new Set<Listener<S>>();
  return {
    get: () => state,
    dispatch(action) {
      const prev = state;
      state = reducer(state, action);
      if (state !== prev) for (const l of [...listeners]) l(state, prev);
    },
    subscribe(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
  };
}

/** The studio's store, starting from the remembered settings. */
export function createStudioStore(settings: StudioSettings): StudioStore {
  return createStore(studioReducer, initialStudioState(settings));
}

/** Calls `render` now and whenever the part `pick` selects changes (by identity);
 * returns the unsubscribe function. */
export function watch<S, A, T>(store: Store<S, A>, pick: (s: S) => T, render: (part: T, state: S) => void): () => void {
  render(pick(store.get()), store.get());
  return store.subscribe((s, prev) => {
    const part = pick(s);
    if (part !== pick(prev)) render(part, s);
  });
}
