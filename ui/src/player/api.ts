// HTTP API client (`/api/v1`, see shared/contract.md). Types come from the
// generated bindings only.

import type { AuthResponse } from "../bindings/AuthResponse";
import type { Channel } from "../bindings/Channel";
import type { ChannelList } from "../bindings/ChannelList";
import type { Credentials } from "../bindings/Credentials";
import type { MeResponse } from "../bindings/MeResponse";
import type { User } from "../bindings/User";
import type { Vod } from "../bindings/Vod";
import type { VodList } from "../bindings/VodList";

/** A refused or failed request, carrying the contract's error code. */
export class ApiError extends Error {
  constructor(
    /** HTTP status (0 when the server could not be reached). */
    readonly status: number,
    /** snake_case code from `{"error":{"code"}}`, or a local one. */
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** The signed-in person, kept in localStorage between visits. */
export interface Session {
  /** Bearer token. */
  token: string;
  /** Who it belongs to. */
  user: User;
}

const SESSION_KEY = "aethex.session";

/** The stored session, if any. */
export function loadSession(): Session | null {
  try {
    const raw = localStorage.getItem(SESSION_KEY);
    if (!raw) return null;
    const s = JSON.parse(raw) as Partial<Session>;
    if (typeof s.token !== "string" || typeof s.user?.username !== "string") return null;
    return s as Session;
  } catch {
    return null;
  }
}

/** Remembers (or forgets, with `null`) the session. */
export function saveSession(session: Session | null): void {
  try {
    if (session) localStorage.setItem(SESSION_KEY, JSON.stringify(session));
    else localStorage.removeItem(SESSION_KEY);
  } catch {
    // Private mode without storage: the session lasts for this page only.
  }
}

async function request<T>(method: string, path: string, body?: unknown, token?: string): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  let res: Response;
  try {
    res = await fetch(`/api/v1${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
    });
  } catch {
    throw new ApiError(0, "network", "Cannot reach the server. Check your connection.");
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!res.ok) throw errorFrom(res.status, json);
  return json as T;
}

/** Builds an [`ApiError`] from a response body, tolerating non-contract bodies. */
export function errorFrom(status: number, body: unknown): ApiError {
  const err = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  const code = typeof err?.code === "string" ? err.code : `http_${status}`;
  const message =
    typeof err?.message === "string" && err.message
      ? err.message
      : status === 404
        ? "Not found."
        : `The server answered ${status}.`;
  return new ApiError(status, code, message);
}

const path = (name: string) => encodeURIComponent(name);

/** Every call the player makes. */
export const api = {
  /** Live channels first, then offline ones. */
  channels: async (): Promise<Channel[]> => (await request<ChannelList>("GET", "/channels")).channels,
  /** One channel's profile and live state. */
  channel: (name: string): Promise<Channel> => request<Channel>("GET", `/channels/${path(name)}`),
  /** Past broadcasts, newest first. */
  vods: async (name: string): Promise<Vod[]> =>
    (await request<VodList>("GET", `/channels/${path(name)}/vods`)).vods,
  /** Creates an account (and its channel). */
  register: (c: Credentials): Promise<AuthResponse> => request<AuthResponse>("POST", "/auth/register", c),
  /** Signs in. */
  login: (c: Credentials): Promise<AuthResponse> => request<AuthResponse>("POST", "/auth/login", c),
  /** Ends the session server-side. */
  logout: (token: string): Promise<void> => request<void>("POST", "/auth/logout", undefined, token),
  /** Checks a stored token is still valid. */
  me: async (token: string): Promise<User> => (await request<MeResponse>("GET", "/me", undefined, token)).user,
};

/** The live playlist of a channel. */
export const liveSrc = (channel: string): string => `/hls/${path(channel)}/index.m3u8`;

/** A past broadcast's playlist. */
export const vodSrc = (id: number): string => `/vod/${id}/index.m3u8`;
