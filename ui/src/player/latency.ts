// Glass-to-glass latency: how far the frame on screen is behind the wall
// clock it was captured at (carried in EXT-X-PROGRAM-DATE-TIME).

/** Milliseconds between `now` and the capture time of the frame on screen, or `null` when unknown. */
export function latencyMs(now: number, playingDate: Date | null | undefined): number | null {
  if (!playingDate) return null;
  const t = playingDate.getTime();
  if (!Number.isFinite(t) || t <= 0) return null;
  return now - t;
}

/** Text for the latency readout: `0.9 s`, `12 s`, or `–` when unknown. */
export function formatLatency(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return "–";
  const s = Math.max(0, ms) / 1000;
  return s < 10 ? `${s.toFixed(1)} s` : `${Math.round(s)} s`;
}

/**
 * Whether to offer "jump to live": playback sits more than `tolerance` seconds
 * behind where the player aims to be (its target latency).
 */
export function isBehindLive(
  secondsBehindEdge: number | null,
  targetSeconds: number,
  tolerance = 2,
): boolean {
  if (secondsBehindEdge === null || !Number.isFinite(secondsBehindEdge)) return false;
  return secondsBehindEdge > targetSeconds + tolerance;
}

/** The `p`-th percentile (0–100, nearest rank) of `values`, or `null` when empty. */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((Math.min(100, Math.max(0, p)) / 100) * sorted.length);
  return sorted[Math.max(0, rank - 1)];
}
