import { describe, expect, it } from "vitest";
import { defaultSettings, statsView } from "./fixtures";
import { initialStudioState, studioReducer, type StudioAction, type StudioState } from "./state";
import { createStore, watch } from "./store";

const settings = defaultSettings;
const stats = statsView;

const run = (...actions: StudioAction[]): StudioState =>
  actions.reduce(studioReducer, initialStudioState(settings));

const profile = { server: "http://s", local_server: true, username: "ann", display_name: "Ann", bio: "" };

describe("studioReducer", () => {
  it("keeps the signed-in profile when a status comes without one", () => {
    const s = run(
      { type: "signed_in", profile },
      { type: "connected", status: { server: "http://s", local_server: true, profile: null } },
    );
    expect(s.server?.server).toBe("http://s");
    expect(s.profile).toEqual(profile);
  });

  it("signing out forgets the profile and goes back to the account step", () => {
    const s = run({ type: "signed_in", profile }, { type: "screen", screen: "studio" }, { type: "signed_out" });
    expect([s.profile, s.screen]).toEqual([null, "account"]);
  });

  it("tells a failed output once per broadcast, in the toast", () => {
    const failed = stats({ outputs: [{ name: "Twitch", state: "failed", bitrate_kbps: 0, error: "key rejected" }] });
    let s = run({ type: "live", live: true, now: 1 }, { type: "stats", stats: failed });
    expect(s.toast?.error).toEqual({ kind: "key_rejected", message: "Twitch: key rejected" });
    const seq = s.toast?.seq;
    s = studioReducer(s, { type: "stats", stats: failed });
    expect(s.toast?.seq).toBe(seq);
    s = studioReducer(s, { type: "live", live: true, now: 2 });
    s = studioReducer(s, { type: "stats", stats: failed });
    expect(s.toast?.seq).toBe((seq ?? 0) + 1);
  });

  it("shows every engine error and keeps a bounded bitrate history", () => {
    let s = run({ type: "stats", stats: stats({ error: "x264enc missing" }) });
    expect(s.toast?.error).toEqual({ kind: "engine", message: "x264enc missing" });
    for (let i = 0; i < 70; i++) s = studioReducer(s, { type: "stats", stats: stats({ bitrate_kbps: i }) });
    expect(s.bitrates).toHaveLength(60);
    expect(s.bitrates[59]).toBe(69);
  });

  it("ending the broadcast clears the output pills but keeps the numbers", () => {
    const out = { name: "own server", state: "live", bitrate_kbps: 3000, error: null };
    const s = run({ type: "stats", stats: stats({ outputs: [out] }) }, { type: "live", live: false, now: 5 });
    expect(s.stats?.outputs).toEqual([]);
    expect(s.stats?.fps).toBe(30);
    expect([s.live, s.liveSince]).toEqual([false, 5]);
  });

  it("feeds chat frames through the shared chat reducer and keeps the connection text", () => {
    const s = run(
      { type: "chat", now: 0, update: { kind: "frame", frame: { type: "hello", channel: "ann", username: "ann", role: "owner" } } },
      { type: "chat", now: 0, update: { kind: "frame", frame: { type: "message", id: 1, username: "bob", text: "hi", sent_at: "" } } },
      { type: "chat", now: 0, update: { kind: "frame", frame: { type: "viewers", count: 3 } } },
      { type: "chat", now: 0, update: { kind: "state", connected: false, text: "reconnecting in 2 s" } },
    );
    expect(s.chat.role).toBe("owner");
    expect(s.chat.messages.map((m) => m.text)).toEqual(["hi"]);
    expect(s.chat.viewers).toBe(3);
    expect(s.chatStatus).toBe("reconnecting in 2 s");
    expect(studioReducer(s, { type: "chat", now: 0, update: { kind: "state", connected: true, text: "" } }).chatStatus).toBe("");
  });

  it("puts errors where they were asked for", () => {
    const err = { kind: "wrong_password", message: "wrong" } as const;
    let s = run({ type: "error", error: err, where: "onboarding" });
    expect([s.onboardError, s.toast]).toEqual([err, null]);
    s = studioReducer(s, { type: "clear_onboard_error" });
    expect(s.onboardError).toBeNull();
    s = studioReducer(s, { type: "error", error: err, where: "toast" });
    s = studioReducer(s, { type: "error", error: err, where: "toast" });
    expect(s.toast?.seq).toBe(2);
  });
});

describe("store", () => {
  it("tells watchers only when their part changes", () => {
    const store = createStore(studioReducer, initialStudioState(settings));
    const seen: boolean[] = [];
    const off = watch(store, (s) => s.live, (live) => seen.push(live));
    store.dispatch({ type: "stats", stats: stats() });
    store.dispatch({ type: "live", live: true, now: 1 });
    off();
    store.dispatch({ type: "live", live: false, now: 2 });
    expect(seen).toEqual([false, true]);
  });
});
