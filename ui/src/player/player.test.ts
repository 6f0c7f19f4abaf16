// VideoPlayer wiring: hls.js events → recovery actions → hls.js calls and
// page states. hls.js itself is replaced by a recording fake; the policy and
// the player are the real ones.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

type Handler = (event: string, data: unknown) => void;

const hlsMock = vi.hoisted(() => {
  class FakeHls {
    static isSupported = () => true;
    static Events = { ERROR: "hlsError", LEVEL_LOADED: "hlsLevelLoaded" };
    static ErrorTypes = { NETWORK_ERROR: "networkError", MEDIA_ERROR: "mediaError", OTHER_ERROR: "otherError" };
    handlers = new Map<string, Handler>();
    destroyed = false;
    source = "";
    calls: string[] = [];
    playingDate: Date | null = null;
    latency = 0;
    targetLatency: number | null = null;
    liveSyncPosition: number | null = null;
    constructor(readonly config: Record<string, unknown>) {
      instances.push(this);
    }
    on(event: string, fn: Handler) {
      this.handlers.set(event, fn);
    }
    emit(event: string, data: unknown) {
      this.handlers.get(event)?.(event, data);
    }
    attachMedia() {}
    loadSource(src: string) {
      this.source = src;
    }
    destroy() {
      this.destroyed = true;
    }
    recoverMediaError() {
      this.calls.push("recoverMediaError");
    }
    swapAudioCodec() {
      this.calls.push("swapAudioCodec");
    }
  }
  const instances: FakeHls[] = [];
  return { FakeHls, instances };
});
vi.mock("hls.js/light", () => ({ default: hlsMock.FakeHls }));

import { LIVE_CONFIG, VideoPlayer, type PlaybackState } from "./player";

const fatal = (type: string, code?: number) => ({ type, fatal: true, details: "x", response: code ? { code } : undefined });
const current = () => hlsMock.instances[hlsMock.instances.length - 1];

let states: PlaybackState[];
let player: VideoPlayer;
let video: HTMLVideoElement;

beforeEach(() => {
  vi.useFakeTimers();
  hlsMock.instances.length = 0;
  vi.spyOn(HTMLMediaElement.prototype, "play").mockImplementation(() => Promise.resolve());
  vi.spyOn(HTMLMediaElement.prototype, "load").mockImplementation(() => undefined);
  video = document.createElement("video");
  states = [];
  player = new VideoPlayer({ video, src: "/hls/alice/index.m3u8", live: true, onState: (s) => states.push(s) });
  player.start();
});
afterEach(() => {
  player.destroy();
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe("VideoPlayer (live)", () => {
  it("loads the playlist with the low-latency settings", () => {
    expect(current().source).toBe("/hls/alice/index.m3u8");
    expect(current().config).toEqual(LIVE_CONFIG);
    expect(LIVE_CONFIG.lowLatencyMode).toBe(true);
    expect(states).toEqual(["loading"]);
  });

  it("climbs the media ladder on the same hls.js instance", () => {
    const hls = current();
    hls.emit("hlsError", fatal("mediaError"));
    hls.emit("hlsError", fatal("mediaError"));
    expect(hls.calls).toEqual(["recoverMediaError", "swapAudioCodec", "recoverMediaError"]);
    hls.emit("hlsError", fatal("mediaError"));
    vi.advanceTimersByTime(600);
    expect(hls.destroyed).toBe(true);
    expect(hlsMock.instances).toHaveLength(2);
  });

  it("retries network errors with backoff on a fresh instance", () => {
    current().emit("hlsError", fatal("networkError", 502));
    expect(hlsMock.instances).toHaveLength(1);
    vi.advanceTimersByTime(499);
    expect(hlsMock.instances).toHaveLength(1);
    vi.advanceTimersByTime(2);
    expect(hlsMock.instances).toHaveLength(2);
    current().emit("hlsError", fatal("networkError", 502));
    vi.advanceTimersByTime(999);
    expect(hlsMock.instances).toHaveLength(2);
    vi.advanceTimersByTime(2);
    expect(hlsMock.instances).toHaveLength(3);
  });

  it("goes offline when the playlist keeps answering 404, and restarts on kick()", () => {
    for (let i = 0; i < 3; i++) {
      current().emit("hlsError", fatal("networkError", 404));
      vi.advanceTimersByTime(10_000);
    }
    expect(states[states.length - 1]).toBe("offline");
    const count = hlsMock.instances.length;
    vi.advanceTimersByTime(60_000);
    expect(hlsMock.instances).toHaveLength(count); // waits for a live signal
    player.kick();
    expect(hlsMock.instances).toHaveLength(count + 1);
    expect(player.playbackState).toBe("loading");
  });

  it("kick() cuts a pending backoff short but leaves a loading player alone", () => {
    player.kick();
    expect(hlsMock.instances).toHaveLength(1);
    current().emit("hlsError", fatal("networkError", 503));
    player.kick();
    expect(hlsMock.instances).toHaveLength(2);
  });

  it("kick() starts over a load that began before the stream came back and shows nothing", () => {
    vi.advanceTimersByTime(2500);
    player.kick(); // a fresh load: left alone
    expect(hlsMock.instances).toHaveLength(1);
    vi.advanceTimersByTime(1000);
    player.kick(); // nothing for 3.5 s: it began on the old broadcast
    expect(hlsMock.instances).toHaveLength(2);
    expect(player.playbackState).toBe("loading");
  });

  it("starts over when a new broadcast restarts the playlist's sequence numbers", () => {
    const hls = current();
    hls.emit("hlsLevelLoaded", { details: { startSN: 40 } });
    hls.emit("hlsLevelLoaded", { details: { startSN: 41 } });
    vi.advanceTimersByTime(10);
    expect(hlsMock.instances).toHaveLength(1);
    hls.emit("hlsLevelLoaded", { details: { startSN: 0 } });
    vi.advanceTimersByTime(10);
    expect(hlsMock.instances).toHaveLength(2);
  });

  it("reloads when no frame shows up after a start", () => {
    vi.advanceTimersByTime(9000);
    expect(hlsMock.instances).toHaveLength(1);
    vi.advanceTimersByTime(3000);
    expect(hlsMock.instances).toHaveLength(2);
  });

  it("jumps forward inside the buffer when it sits behind the target latency", () => {
    const hls = current();
    Object.defineProperty(video, "paused", { value: false, configurable: true });
    Object.defineProperty(video, "buffered", {
      value: { length: 1, start: () => 10, end: () => 12.5 },
      configurable: true,
    });
    video.currentTime = 11;
    video.dispatchEvent(new Event("playing"));
    hls.targetLatency = 0.6;
    // Close enough to the target: left alone.
    hls.latency = 0.8;
    hls.liveSyncPosition = 11.2;
    vi.advanceTimersByTime(1000);
    expect(video.currentTime).toBe(11);
    // 0.6 s too far behind, target buffered: jump there (keeping 0.1 s spare).
    hls.latency = 1.2;
    hls.liveSyncPosition = 11.6;
    vi.advanceTimersByTime(1000);
    expect(video.currentTime).toBeCloseTo(11.5);
    // Target not buffered yet: no seek that would refetch.
    hls.latency = 1.5;
    hls.liveSyncPosition = 12.55;
    vi.advanceTimersByTime(1000);
    expect(video.currentTime).toBeCloseTo(11.5);
  });

  it("reads latency from hls.js's program date", () => {
    vi.setSystemTime(new Date("2026-01-01T00:00:10.000Z"));
    current().playingDate = new Date("2026-01-01T00:00:08.800Z");
    expect(player.latencyMs()).toBe(1200);
  });

  it("shows offline when a live stream ends", () => {
    video.dispatchEvent(new Event("ended"));
    expect(player.playbackState).toBe("offline");
    expect(current().destroyed).toBe(true);
  });
});
