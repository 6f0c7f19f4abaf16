// The window's side of the IPC: the studio's commands and events, and the types they
// carry. Every call goes through `commands`; nothing else in the studio names one.
import { invoke } from "@tauri-apps/api/core";
import { listen, type EventCallback, type UnlistenFn } from "@tauri-apps/api/event";
import type { ClientFrame } from "../bindings/ClientFrame";
import type { ChatUpdate } from "./bindings/ChatUpdate";
import type { DestinationView } from "./bindings/DestinationView";
import type { PreviewView } from "./bindings/PreviewView";
import type { Profile } from "./bindings/Profile";
import type { RecordingView } from "./bindings/RecordingView";
import type { ServerStatus } from "./bindings/ServerStatus";
import type { StatsView } from "./bindings/StatsView";
import type { StudioErrorView } from "./bindings/StudioErrorView";
import type { StudioSettings } from "./bindings/StudioSettings";

export type {
  ChatUpdate,
  ClientFrame,
  DestinationView,
  PreviewView,
  Profile,
  RecordingView,
  ServerStatus,
  StatsView,
  StudioErrorView,
  StudioSettings,
};

/** The Tauri commands (they throw a `StudioErrorView`). */
export const commands = {
  loadSettings: () => invoke<StudioSettings>("load_settings"),
  saveSettings: (settings: StudioSettings) => invoke<null>("save_settings", { settings }),
  startup: () => invoke<ServerStatus>("startup"),
  connect: (server: string | null) => invoke<ServerStatus>("connect", { server }),
  authenticate: (username: string, password: string, register: boolean) =>
    invoke<Profile>("authenticate", { username, password, register }),
  signOut: () => invoke<null>("sign_out"),
  updateProfile: (displayName: string, bio: string) => invoke<Profile>("update_profile", { displayName, bio }),
  destinations: (settings: StudioSettings) => invoke<DestinationView[]>("destinations", { settings }),
  setDestinationKey: (name: string, key: string) => invoke<null>("set_destination_key", { name, key }),
  revealKey: (name: string, own: boolean) => invoke<string | null>("reveal_key", { name, own }),
  rotateKey: () => invoke<null>("rotate_key"),
  startPreview: (settings: StudioSettings) => invoke<null>("start_preview", { settings }),
  goLive: (settings: StudioSettings, title: string) => invoke<null>("go_live", { settings, title }),
  endStream: (settings: StudioSettings) => invoke<null>("end_stream", { settings }),
  setAudio: (volume: number, muted: boolean) => invoke<null>("set_audio", { volume, muted }),
  chatConnect: () => invoke<null>("chat_connect"),
  chatSend: (frame: ClientFrame) => invoke<null>("chat_send", { frame }),
  recordings: (dir: string) => invoke<RecordingView[]>("recordings", { dir }),
  openFolder: (dir: string) => invoke<null>("open_folder", { dir }),
  quit: () => invoke<null>("quit"),
};

const event = <T>(name: string) => ({
  listen: (cb: EventCallback<T>): Promise<UnlistenFn> => listen<T>(name, cb),
});

/** The events the studio sends the window. */
export const events = {
  preview: event<PreviewView>("preview"),
  stats: event<StatsView>("stats"),
  chat: event<ChatUpdate>("chat"),
  confirmClose: event<null>("confirm-close"),
};
