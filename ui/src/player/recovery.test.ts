import { describe, expect, it } from "vitest";
import { RecoveryPolicy } from "./recovery";

const net = (httpStatus?: number) => ({ kind: "network" as const, fatal: true, httpStatus });
const media = { kind: "media" as const, fatal: true };

describe("RecoveryPolicy", () => {
  it("ignores non-fatal errors (hls.js handles them)", () => {
    const p = new RecoveryPolicy();
    expect(p.onError({ kind: "network", fatal: false }, 0)).toEqual({ type: "ignore" });
  });

  it("retries network errors with growing, capped backoff, forever", () => {
    const p = new RecoveryPolicy({ baseDelayMs: 500, maxDelayMs: 4000 });
    const delays = Array.from({ length: 7 }, (_, i) => p.onError(net(502), i));
    expect(delays).toEqual([500, 1000, 2000, 4000, 4000, 4000, 4000].map((d) => ({ type: "retry", delayMs: d })));
  });

  it("treats a playlist that keeps answering 404 as the end of the stream", () => {
    const p = new RecoveryPolicy({ offlineAfterNotFound: 3 });
    expect(p.onError(net(404), 0).type).toBe("retry");
    expect(p.onError(net(404), 1).type).toBe("retry");
    expect(p.onError(net(404), 2)).toEqual({ type: "offline" });
    // After going offline the counters start afresh for the next broadcast.
    expect(p.onError(net(404), 3)).toEqual({ type: "retry", delayMs: 500 });
  });

  it("does not count 404s separated by other failures as consecutive", () => {
    const p = new RecoveryPolicy({ offlineAfterNotFound: 2 });
    expect(p.onError(net(404), 0).type).toBe("retry");
    expect(p.onError(net(503), 1).type).toBe("retry");
    expect(p.onError(net(404), 2).type).toBe("retry");
  });

  it("climbs the media ladder: recover, swap audio codec, reload", () => {
    const p = new RecoveryPolicy({ mediaWindowMs: 10_000 });
    expect(p.onError(media, 0)).toEqual({ type: "recover_media" });
    expect(p.onError(media, 1000)).toEqual({ type: "swap_audio_codec" });
    expect(p.onError(media, 2000)).toEqual({ type: "reload", delayMs: 500 });
    expect(p.onError(media, 3000)).toEqual({ type: "recover_media" });
  });

  it("starts the media ladder again when errors are far apart", () => {
    const p = new RecoveryPolicy({ mediaWindowMs: 10_000 });
    expect(p.onError(media, 0).type).toBe("recover_media");
    expect(p.onError(media, 60_000).type).toBe("recover_media");
  });

  it("forgets failures once playback is healthy again", () => {
    const p = new RecoveryPolicy({ baseDelayMs: 500 });
    p.onError(net(502), 0);
    p.onError(net(502), 1);
    p.onError(media, 2);
    p.onHealthy();
    expect(p.onError(net(502), 3)).toEqual({ type: "retry", delayMs: 500 });
    expect(p.onError(media, 4)).toEqual({ type: "recover_media" });
  });

  it("reloads on other fatal errors with backoff", () => {
    const p = new RecoveryPolicy({ baseDelayMs: 500 });
    expect(p.onError({ kind: "other", fatal: true }, 0)).toEqual({ type: "reload", delayMs: 500 });
    expect(p.onError({ kind: "other", fatal: true }, 1)).toEqual({ type: "reload", delayMs: 1000 });
  });
});
