// The video engine: hls.js (or Safari's native HLS) plus the recovery policy.
//
// live:  hls.js tuned for low latency ─► <video>; errors ─► RecoveryPolicy;
//        a stall watchdog reloads when time stops advancing; a playlist that
//        is gone ─► "offline" until start() is called again (chat `live` event
//        or the page's polling).
// vod:   the same without the live tuning.

import Hls from "hls.js/light";
import type { ErrorData, HlsConfig } from "hls.js";
import { latencyMs } from "./latency";
import { RecoveryPolicy, type PlaybackError, type RecoveryAction } from "./recovery";

/** What the video area shows. */
export type PlaybackState = "idle" | "loading" | "playing" | "buffering" | "offline" | "error";

/**
 * Seconds behind the live edge hls.js aims for: the server's LL-HLS
 * `PART-HOLD-BACK` (3 parts of 0.2 s), which hls.js reads from the playlist in
 * low-latency mode. Used here only to tell "behind live" from "at the edge".
 */
export const TARGET_LATENCY_S = 0.6;

/**
 * hls.js settings for live playback. No `liveSyncDuration`: in low-latency
 * mode hls.js then follows the playlist's `PART-HOLD-BACK`, so the server's
 * part length sets the latency (≤ 1.5 s glass-to-glass goal).
 */
export const LIVE_CONFIG: Partial<HlsConfig> = {
  lowLatencyMode: true,
  // After a stall hls.js moves the target back; by a little, not a whole second.
  liveSyncOnStallIncrease: 0.25,
  // No liveMaxLatencyDuration(Count): hls.js accepts it only together with a
  // liveSync override, which would replace PART-HOLD-BACK. Falling behind is
  // handled by the playback-rate nudge below and the page's "Go live" button.
  // Gentle catch-up: at most 15 % faster while behind the target.
  maxLiveSyncPlaybackRate: 1.15,
  maxBufferLength: 4,
  backBufferLength: 8,
  startFragPrefetch: true,
  enableWorker: true,
};

/** hls.js settings for past broadcasts. */
export const VOD_CONFIG: Partial<HlsConfig> = { enableWorker: true, backBufferLength: 30 };

/**
 * Seconds over hls.js's target latency after which a playing live stream jumps
 * forward inside its buffer. hls.js only speeds up with more than 1 s buffered,
 * and it often starts at an independent part up to a GOP behind its target.
 */
export const CATCH_UP_S = 0.4;

/** Kept above hls.js's target when catching up, so the jump does not empty the buffer. */
const CATCH_UP_MARGIN_S = 0.1;

/** Reloads when time has not advanced for this long while we expect playback. */
const STALL_RELOAD_MS = 4000;
/** Reloads when a (re)start has shown no frame for this long. */
const LOAD_TIMEOUT_MS = 10_000;
/**
 * A load that has shown nothing for this long when the stream is announced
 * live again began before it came back (on the ended broadcast's playlist,
 * or inside hls.js's own retries): a live signal starts it over.
 */
const KICK_STALE_LOAD_MS = 3000;

/** Options of [`VideoPlayer`]. */
export interface PlayerOptions {
  /** The element to play into. */
  video: HTMLVideoElement;
  /** Playlist URL. */
  src: string;
  /** Live stream (low latency, recovery into "offline") or past broadcast. */
  live: boolean;
  /** Called on every state change. */
  onState: (state: PlaybackState) => void;
}

/** Whether this browser should use its own HLS (Safari; iOS has no MSE). */
export function prefersNativeHls(
  video: HTMLVideoElement,
  ua = navigator.userAgent,
  mse = Hls.isSupported(),
): boolean {
  const native = video.canPlayType("application/vnd.apple.mpegurl") !== "";
  const safari = /^((?!chrome|chromium|android|crios|fxios).)*safari/i.test(ua);
  return native && (safari || !mse);
}

/** Plays one HLS source with automatic recovery. */
export class VideoPlayer {
  private hls: Hls | null = null;
  private state: PlaybackState = "idle";
  private readonly policy = new RecoveryPolicy();
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private watchdog: ReturnType<typeof setInterval> | null = null;
  private lastTime = -1;
  private lastProgressAt = 0;
  private healthyFrom = -1;
  private readonly native: boolean;
  private readonly listeners: Array<[string, EventListener]> = [];

  constructor(private readonly opts: PlayerOptions) {
    this.native = prefersNativeHls(opts.video);
    const on = (type: string, fn: EventListener) => {
      opts.video.addEventListener(type, fn);
      this.listeners.push([type, fn]);
    };
    on("playing", () => this.setState("playing"));
    on("waiting", () => {
      if (this.state === "playing") this.setState("buffering");
    });
    on("timeupdate", () => this.onTimeUpdate());
    on("ended", () => {
      if (this.opts.live) this.goOffline();
    });
    on("error", () => {
      // Native HLS only: hls.js reports through its own events.
      if (this.native && this.hls === null && this.state !== "idle" && this.state !== "offline") {
        this.apply(this.policy.onError({ kind: "network", fatal: true }, Date.now()));
      }
    });
  }

  /** Current state. */
  get playbackState(): PlaybackState {
    return this.state;
  }

  /** The hls.js instance (for the latency benchmark), `null` on native HLS. */
  get engine(): Hls | null {
    return this.hls;
  }

  /** Starts (or restarts) loading the source. */
  start(): void {
    this.clearTimers();
    this.teardown();
    this.setState("loading");
    this.lastProgressAt = Date.now();
    this.lastTime = -1;
    const { video, src, live } = this.opts;
    if (this.native) {
      video.src = src;
      video.load();
    } else if (Hls.isSupported()) {
      const hls = new Hls(live ? LIVE_CONFIG : VOD_CONFIG);
      this.hls = hls;
      hls.on(Hls.Events.ERROR, (_event, data) => this.onHlsError(data));
      if (live) {
        let lastStart = -1;
        hls.on(Hls.Events.LEVEL_LOADED, (_event, data) => {
          // The publisher restarted and the server began a new playlist
          // (sequence numbers went back): hls.js would wait for the old
          // numbers, so start over on the new broadcast now.
          const startSN = data.details.startSN;
          if (lastStart >= 0 && startSN < lastStart) this.schedule(0, () => this.start());
          lastStart = startSN;
        });
      }
      hls.attachMedia(video);
      hls.loadSource(src);
    } else {
      this.setState("error");
      return;
    }
    this.autoplay();
    if (live) this.watchdog = setInterval(() => this.checkStall(), 1000);
  }

  /**
   * The stream is known to be live (chat `live` frame, API poll): start now
   * unless already playing or loading — this also cuts a pending backoff short.
   */
  kick(): void {
    const waiting = this.retryTimer !== null;
    const staleLoad = this.state === "loading" && Date.now() - this.lastProgressAt > KICK_STALE_LOAD_MS;
    if (waiting || staleLoad || this.state === "idle" || this.state === "offline" || this.state === "error") this.start();
  }

  /** Stops and releases everything; the player can be started again. */
  stop(): void {
    this.clearTimers();
    this.teardown();
    this.setState("idle");
  }

  /** Stops for good and detaches the listeners. */
  destroy(): void {
    this.stop();
    for (const [type, fn] of this.listeners) this.opts.video.removeEventListener(type, fn);
  }

  /** Glass-to-glass latency of the frame on screen, when the playlist carries program dates. */
  latencyMs(now = Date.now()): number | null {
    if (this.hls) return latencyMs(now, this.hls.playingDate);
    const v = this.opts.video as HTMLVideoElement & { getStartDate?: () => Date };
    const start = v.getStartDate?.();
    if (!start || Number.isNaN(start.getTime())) return null;
    return latencyMs(now, new Date(start.getTime() + v.currentTime * 1000));
  }

  /** Seconds between the playhead and the live edge. */
  secondsBehindLive(): number | null {
    if (this.hls) return Number.isFinite(this.hls.latency) ? this.hls.latency : null;
    const v = this.opts.video;
    if (v.seekable.length === 0) return null;
    return v.seekable.end(v.seekable.length - 1) - v.currentTime;
  }

  /** Seeks to where the player aims to be behind the live edge, and plays. */
  jumpToLive(): void {
    const v = this.opts.video;
    const target = this.hls?.liveSyncPosition ?? (v.seekable.length > 0 ? v.seekable.end(v.seekable.length - 1) - 1 : null);
    if (target !== null && Number.isFinite(target)) v.currentTime = target;
    this.autoplay();
  }

  private autoplay(): void {
    const v = this.opts.video;
    void v.play().catch(() => {
      // Autoplay with sound refused: play muted; the page offers "unmute".
      if (!v.muted) {
        v.muted = true;
        void v.play().catch(() => undefined);
      }
    });
  }

  private onHlsError(data: ErrorData): void {
    const err: PlaybackError = {
      kind:
        data.type === Hls.ErrorTypes.NETWORK_ERROR
          ? "network"
          : data.type === Hls.ErrorTypes.MEDIA_ERROR
            ? "media"
            : "other",
      fatal: data.fatal,
      httpStatus: data.response?.code,
    };
    this.apply(this.policy.onError(err, Date.now()));
  }

  private apply(action: RecoveryAction): void {
    const hls = this.hls;
    switch (action.type) {
      case "ignore":
        return;
      case "recover_media":
        hls?.recoverMediaError();
        return;
      case "swap_audio_codec":
        hls?.swapAudioCodec();
        hls?.recoverMediaError();
        return;
      case "offline":
        if (this.opts.live) this.goOffline();
        else this.setState("error");
        return;
      case "retry":
      case "reload":
        this.setState(this.opts.live || action.type === "retry" ? "loading" : "error");
        this.schedule(action.delayMs, () => this.start());
        return;
    }
  }

  private onTimeUpdate(): void {
    const t = this.opts.video.currentTime;
    if (t === this.lastTime) return;
    const now = Date.now();
    this.lastTime = t;
    this.lastProgressAt = now;
    if (this.state !== "playing" && !this.opts.video.paused) this.setState("playing");
    // Two seconds of smooth playback means the recovery worked.
    if (this.healthyFrom < 0) this.healthyFrom = now;
    else if (now - this.healthyFrom > 2000) this.policy.onHealthy();
  }

  /**
   * Jumps to hls.js's live sync position when playback sits more than
   * [`CATCH_UP_S`] behind the target latency and that position is already
   * buffered (an instant seek: nothing is refetched, a fraction of a second
   * is skipped).
   */
  private catchUp(): void {
    const hls = this.hls;
    const v = this.opts.video;
    if (!hls || !this.opts.live || this.state !== "playing" || v.paused) return;
    const target = hls.liveSyncPosition;
    const wanted = hls.targetLatency;
    if (target === null || wanted === null || !Number.isFinite(hls.latency)) return;
    if (hls.latency - wanted < CATCH_UP_S) return;
    for (let i = 0; i < v.buffered.length; i++) {
      const to = target - CATCH_UP_MARGIN_S;
      if (v.buffered.start(i) <= to && to < v.buffered.end(i) - 0.1 && to > v.currentTime) {
        v.currentTime = to;
        return;
      }
    }
  }

  private checkStall(): void {
    this.catchUp();
    if (this.state === "offline" || this.state === "idle" || this.retryTimer) return;
    // Paused by the viewer: not a stall.
    if (this.opts.video.paused && this.state === "playing") return;
    const limit = this.state === "loading" ? LOAD_TIMEOUT_MS : STALL_RELOAD_MS;
    if (Date.now() - this.lastProgressAt > limit) {
      // No error from hls.js, but no frames either (a stuck playlist, an
      // undecodable start): reload, backing off if it keeps happening.
      this.healthyFrom = -1;
      this.apply(this.policy.onError({ kind: "other", fatal: true }, Date.now()));
    }
  }

  private goOffline(): void {
    this.clearTimers();
    this.teardown();
    this.setState("offline");
  }

  private schedule(delayMs: number, fn: () => void): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      fn();
    }, delayMs);
  }

  private clearTimers(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.watchdog) clearInterval(this.watchdog);
    this.retryTimer = null;
    this.watchdog = null;
  }

  private teardown(): void {
    this.healthyFrom = -1;
    if (this.hls) {
      this.hls.destroy();
      this.hls = null;
    }
    const v = this.opts.video;
    if (v.getAttribute("src")) {
      v.removeAttribute("src");
      v.load();
    }
  }

  private setState(s: PlaybackState): void {
    if (s === this.state) return;
    this.state = s;
    this.opts.onState(s);
  }
}
