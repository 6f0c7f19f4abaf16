// Test data for the studio's unit tests (not part of the app bundle: only tests import it).
import type { StatsView, StudioSettings } from "./ipc";

/** The studio's default settings, as `load_settings` gives them on a first run. */
export const defaultSettings: StudioSettings = {
  source: "test",
  camera_pip: false,
  microphone: false,
  volume: 1,
  muted: false,
  width: 1280,
  height: 720,
  fps: 30,
  bitrate_kbps: 3500,
  keyframe_secs: 1,
  encoder: "auto",
  recording_dir: null,
  destinations: [],
};

/** One second of stats while live, with `over` changed. */
export function statsView(over: Partial<StatsView> = {}): StatsView {
  return {
    live: true,
    uptime_secs: 1,
    encoder: "x264",
    fps: 30,
    bitrate_kbps: 3000,
    dropped_frames: 0,
    cpu_percent: null,
    rss_mb: null,
    outputs: [],
    levels: [],
    error: null,
    ...over,
  };
}
