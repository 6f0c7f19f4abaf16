// What to do when playback fails: a small state machine, kept apart from
// hls.js so it can be tested without a browser.
//
// network error ─► retry with backoff (0.5 s, 1 s, 2 s … 8 s, forever: a live
//                  stream may come back); a playlist that keeps answering 404
//                  means the broadcast ended ─► offline
// media error   ─► recoverMediaError ─► swapAudioCodec + recover ─► reload
// other fatal   ─► reload with backoff
// healthy playback (time advancing) resets every counter.

/** An hls.js (or native) error reduced to what the policy needs. */
export interface PlaybackError {
  /** Which layer failed. */
  kind: "network" | "media" | "other";
  /** hls.js gave up on it; non-fatal errors are hls.js's own business. */
  fatal: boolean;
  /** HTTP status of the failed request, when there was one. */
  httpStatus?: number;
}

/** The step the player should take next. */
export type RecoveryAction =
  | { type: "ignore" }
  | { type: "retry"; delayMs: number }
  | { type: "recover_media" }
  | { type: "swap_audio_codec" }
  | { type: "reload"; delayMs: number }
  | { type: "offline" };

/** Tuning of [`RecoveryPolicy`]. */
export interface RecoveryOptions {
  /** First network retry delay. */
  baseDelayMs: number;
  /** Longest network retry delay. */
  maxDelayMs: number;
  /** Consecutive 404s on the playlist that mean "the stream ended". */
  offlineAfterNotFound: number;
  /** Media errors further apart than this start the ladder again. */
  mediaWindowMs: number;
}

/** Defaults tuned for a live stream that may drop and come back within seconds. */
export const DEFAULT_RECOVERY: RecoveryOptions = {
  baseDelayMs: 500,
  maxDelayMs: 8000,
  offlineAfterNotFound: 3,
  mediaWindowMs: 10_000,
};

/** Decides how to recover from each playback error. */
export class RecoveryPolicy {
  private readonly opts: RecoveryOptions;
  private networkFailures = 0;
  private notFound = 0;
  private mediaStep = 0;
  private lastMediaErrorAt = Number.NEGATIVE_INFINITY;
  private reloads = 0;

  constructor(opts: Partial<RecoveryOptions> = {}) {
    this.opts = { ...DEFAULT_RECOVERY, ...opts };
  }

  /** The action for `error`, which happened at `now` (ms). */
  onError(error: PlaybackError, now: number): RecoveryAction {
    if (!error.fatal) return { type: "ignore" };
    switch (error.kind) {
      case "network":
        return this.onNetworkError(error.httpStatus);
      case "media":
        return this.onMediaError(now);
      default:
        return { type: "reload", delayMs: this.backoff(this.reloads++) };
    }
  }

  /** Playback is progressing again: forget past failures. */
  onHealthy(): void {
    this.networkFailures = 0;
    this.notFound = 0;
    this.mediaStep = 0;
    this.reloads = 0;
    this.lastMediaErrorAt = Number.NEGATIVE_INFINITY;
  }

  private onNetworkError(status: number | undefined): RecoveryAction {
    if (status === 404 || status === 410) {
      this.notFound += 1;
      if (this.notFound >= this.opts.offlineAfterNotFound) {
        this.onHealthy();
        return { type: "offline" };
      }
    } else {
      this.notFound = 0;
    }
    return { type: "retry", delayMs: this.backoff(this.networkFailures++) };
  }

  private onMediaError(now: number): RecoveryAction {
    if (now - this.lastMediaErrorAt > this.opts.mediaWindowMs) this.mediaStep = 0;
    this.lastMediaErrorAt = now;
    const step = this.mediaStep++;
    if (step === 0) return { type: "recover_media" };
    if (step === 1) return { type: "swap_audio_codec" };
    this.mediaStep = 0;
    return { type: "reload", delayMs: this.backoff(this.reloads++) };
  }

  private backoff(attempt: number): number {
    return Math.min(this.opts.maxDelayMs, this.opts.baseDelayMs * 2 ** Math.min(attempt, 16));
  }
}
