// Chat WebSocket (`/ws/chat/{channel}`): connects, reconnects with backoff and
// hands every frame to a listener; the chat state lives in chatState.ts.

import type { ClientFrame } from "../bindings/ClientFrame";
import type { ServerFrame } from "../bindings/ServerFrame";
import type { ChatEvent } from "../shared/chatState";

/** The socket URL for `channel`, with the token when signed in and this
 * browser's viewer id (so a reconnecting or second tab counts once). */
export function chatUrl(
  loc: { protocol: string; host: string },
  channel: string,
  token: string | null,
  viewer: string | null = null,
): string {
  const scheme = loc.protocol === "https:" ? "wss:" : "ws:";
  const params = new URLSearchParams();
  if (token) params.set("token", token);
  if (viewer) params.set("viewer", viewer);
  const query = params.toString() ? `?${params.toString().replace(/\+/g, "%20")}` : "";
  return `${scheme}//${loc.host}/ws/chat/${encodeURIComponent(channel)}${query}`;
}

/** A random id kept in localStorage: one per browser, not per tab or reconnect. */
export function viewerId(storage: Pick<Storage, "getItem" | "setItem"> | null): string | null {
  try {
    if (!storage) return null;
    let id = storage.getItem("aethex.viewer");
    if (!id || !/^[A-Za-z0-9_-]{8,64}$/.test(id)) {
      const bytes = new Uint8Array(16);
      crypto.getRandomValues(bytes);
      id = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
      storage.setItem("aethex.viewer", id);
    }
    return id;
  } catch {
    return null; // storage disabled: the server falls back to the IP address
  }
}

/** Parses one text frame; `null` for anything that is not a typed JSON object. */
export function parseFrame(data: unknown): ServerFrame | null {
  if (typeof data !== "string") return null;
  try {
    const v = JSON.parse(data) as unknown;
    if (v && typeof v === "object" && typeof (v as { type?: unknown }).type === "string") {
      return v as ServerFrame;
    }
  } catch {
    // Not JSON: ignore the frame rather than break the chat.
  }
  return null;
}

/** One channel's chat connection, reconnecting until [`stop`] is called. */
export class ChatConnection {
  private ws: WebSocket | null = null;
  private stopped = true;
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly channel: string,
    private readonly token: () => string | null,
    private readonly onEvent: (e: ChatEvent) => void,
  ) {}

  /** Opens the socket (idempotent). */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.open();
  }

  /** Closes for good. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onclose = null;
      ws.close(1000);
    }
  }

  /** Reconnects now, e.g. after signing in or out (the token changed). */
  restart(): void {
    this.stop();
    this.attempt = 0;
    this.start();
  }

  /** Sends a frame; `false` when the socket is not open. */
  send(frame: ClientFrame): boolean {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  private open(): void {
    this.onEvent({ type: "connecting" });
    const ws = new WebSocket(chatUrl(location, this.channel, this.token(), viewerId(globalThis.localStorage ?? null)));
    this.ws = ws;
    ws.onmessage = (ev) => {
      const frame = parseFrame(ev.data);
      if (!frame) return;
      if (frame.type === "hello") this.attempt = 0;
      this.onEvent({ type: "frame", frame, now: Date.now() });
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.onEvent({ type: "closed" });
      if (this.stopped) return;
      const delay = Math.min(15_000, 1000 * 2 ** Math.min(this.attempt++, 4));
      this.timer = setTimeout(() => this.open(), delay);
    };
  }
}
