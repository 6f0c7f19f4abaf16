// What the views ask the studio to do: each calls the commands it needs and dispatches
// what came back (or the error) to the store. The only place besides main.ts that
// sequences several commands.
import { commands, type StudioSettings } from "./ipc";
import { asError } from "./logic";
import type { StudioStore } from "./store";

/** Shows whatever a command threw: in the toast, or on the onboarding card. */
export function fail(store: StudioStore, e: unknown, where: "toast" | "onboarding" = "toast"): void {
  store.dispatch({ type: "error", error: asError(e), where });
}

/** Changes settings in the window only (saved by [`saveSettings`]). */
export function patchSettings(store: StudioStore, patch: Partial<StudioSettings>): StudioSettings {
  const settings = { ...store.get().settings, ...patch };
  store.dispatch({ type: "settings", settings });
  return settings;
}

/** Remembers the current settings. */
export async function saveSettings(store: StudioStore): Promise<void> {
  await commands.saveSettings(store.get().settings);
}

/** Changes settings and remembers them. */
export async function updateSettings(store: StudioStore, patch: Partial<StudioSettings>): Promise<void> {
  patchSettings(store, patch);
  await saveSettings(store);
}

/** (Re)starts the preview with the current settings, unless live. */
export async function restartPreview(store: StudioStore): Promise<void> {
  if (store.get().live) return;
  store.dispatch({ type: "preview_note", text: "Starting preview…" });
  try {
    await commands.startPreview(store.get().settings);
  } catch (e) {
    store.dispatch({ type: "preview_note", text: "No preview" });
    fail(store, e);
  }
}

/** Reloads the destinations panel's rows. */
export async function refreshDestinations(store: StudioStore): Promise<void> {
  try {
    store.dispatch({ type: "destinations", rows: await commands.destinations(store.get().settings) });
  } catch (e) {
    fail(store, e);
    store.dispatch({ type: "destinations", rows: [] });
  }
}

/** Reloads the recordings list (none while recording is off). */
export async function refreshRecordings(store: StudioStore): Promise<void> {
  const dir = store.get().settings.recording_dir;
  const recordings = dir ? await commands.recordings(dir).catch(() => []) : null;
  store.dispatch({ type: "recordings", recordings });
}

/** Leaves onboarding: the dashboard, the chat and the preview. */
export async function enterStudio(store: StudioStore): Promise<void> {
  store.dispatch({ type: "screen", screen: "studio" });
  await refreshDestinations(store);
  try {
    await commands.chatConnect();
  } catch (e) {
    fail(store, e);
  }
  await restartPreview(store);
}

/** Connects to `server` (`null`: the built-in one); a session from the keyring goes
 * straight to the studio, otherwise on to the account step. */
export async function connectTo(store: StudioStore, server: string | null): Promise<void> {
  store.dispatch({ type: "clear_onboard_error" });
  try {
    const status = await commands.connect(server);
    store.dispatch({ type: "connected", status });
    if (status.profile) await enterStudio(store);
    else store.dispatch({ type: "screen", screen: "account" });
  } catch (e) {
    fail(store, e, "onboarding");
  }
}

/** At launch: a remembered server with a session from the keyring skips onboarding;
 * otherwise the creator picks a server (the built-in one is already running). */
export async function resume(store: StudioStore): Promise<void> {
  store.dispatch({ type: "screen", screen: "server" });
  try {
    const status = await commands.startup();
    store.dispatch({ type: "connected", status });
    if (status.profile) await enterStudio(store);
  } catch {
    // No usable remembered server: the creator picks one.
  }
}
