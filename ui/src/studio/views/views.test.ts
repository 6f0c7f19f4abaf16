// Studio views over a real store, with the commands replaced: what the creator sees and
// which commands a click sends.
import { beforeEach, describe, expect, it, vi } from "vitest";
import { defaultSettings } from "../fixtures";
import { createStudioStore, type StudioStore } from "../store";
import { createChat } from "./chat";
import { createOnboarding } from "./onboarding";
import { createSources } from "./sources";
import { createToast } from "./errors";

const commands = vi.hoisted(() => ({
  chatSend: vi.fn(async () => null),
  connect: vi.fn(),
  saveSettings: vi.fn(async () => undefined),
  startPreview: vi.fn(async () => null),
  setAudio: vi.fn(async () => null),
}));
vi.mock("../ipc", () => ({ commands }));

/** A chat message from the server, as the studio's `chat` event carries it. */
const say = (id: number, username: string, text: string) =>
  store.dispatch({ type: "chat", now: 0, update: { kind: "frame", frame: { type: "message", id, username, text, sent_at: "" } } });

const flush = () => new Promise((r) => setTimeout(r, 0));
let store: StudioStore;

beforeEach(() => {
  vi.clearAllMocks();
  document.body.replaceChildren();
  store = createStudioStore(defaultSettings);
});

describe("chat view", () => {
  it("renders messages as text and deletes one through chat_send, logging it", async () => {
    const chat = createChat(store);
    document.body.append(chat.el);
    say(7, "bob", "<b>hi</b>");
    const text = chat.el.querySelector(".chat-msg[data-id='7'] .text");
    expect(text?.textContent).toBe("<b>hi</b>");
    expect(chat.el.querySelector(".chat-msg b")).toBeNull();
    chat.el.querySelector<HTMLButtonElement>(".chat-msg[data-id='7'] .del")?.click();
    await flush();
    expect(commands.chatSend).toHaveBeenCalledWith({ type: "delete", id: 7 });
    expect(store.get().modLog[0]).toMatch(/deleted #7 by bob$/);
    expect(chat.el.querySelector("#mod-log li")?.textContent).toMatch(/deleted #7 by bob$/);
    chat.destroy();
  });

  it("bans from the name's menu", async () => {
    const chat = createChat(store);
    document.body.append(chat.el);
    say(1, "mallory", "spam");
    chat.el.querySelector<HTMLButtonElement>(".chat-msg .who")?.click();
    expect(chat.el.querySelector<HTMLElement>("#user-menu")?.hidden).toBe(false);
    chat.el.querySelector<HTMLButtonElement>("#user-menu [data-act='ban']")?.click();
    await flush();
    expect(commands.chatSend).toHaveBeenCalledWith({ type: "ban", username: "mallory" });
    chat.destroy();
  });
});

describe("sources view", () => {
  it("saves a new source and restarts the preview", async () => {
    const sources = createSources(store);
    sources.el.querySelector<HTMLButtonElement>("[data-source='screen']")?.click();
    await flush();
    expect(store.get().settings.source).toBe("screen");
    expect(commands.saveSettings).toHaveBeenCalledWith(expect.objectContaining({ source: "screen" }));
    expect(commands.startPreview).toHaveBeenCalled();
    expect(sources.el.querySelector("[data-source='screen']")?.classList.contains("active")).toBe(true);
    sources.destroy();
  });

  it("refuses to change the main source while live", async () => {
    const sources = createSources(store);
    const toast = createToast(store);
    store.dispatch({ type: "live", live: true, now: 0 });
    sources.el.querySelector<HTMLButtonElement>("[data-source='camera']")?.click();
    await flush();
    expect(store.get().settings.source).toBe("test");
    expect(commands.saveSettings).not.toHaveBeenCalled();
    expect(toast.el.hidden).toBe(false);
    expect(toast.el.textContent).toMatch(/End the stream/);
    sources.destroy();
    toast.destroy();
  });
});

describe("onboarding view", () => {
  it("shows a refused connection on the card and stays on the server step", async () => {
    commands.connect.mockRejectedValueOnce({ kind: "unreachable", message: "cannot reach http://x" });
    const onboarding = createOnboarding(store);
    store.dispatch({ type: "screen", screen: "server" });
    (onboarding.el.querySelector("#server-url") as HTMLInputElement).value = "http://x";
    onboarding.el.querySelector<HTMLButtonElement>("#btn-connect")?.click();
    await flush();
    expect(commands.connect).toHaveBeenCalledWith("http://x");
    const box = onboarding.el.querySelector<HTMLElement>("#onboard-error");
    expect(box?.hidden).toBe(false);
    expect(box?.dataset.kind).toBe("unreachable");
    expect(box?.textContent).toMatch(/Server unreachable/);
    expect(onboarding.el.querySelector<HTMLElement>("#step-server")?.hidden).toBe(false);
    onboarding.destroy();
  });

  it("checks the username before asking the server when signing up", async () => {
    const onboarding = createOnboarding(store);
    store.dispatch({ type: "screen", screen: "account" });
    (onboarding.el.querySelector("#username") as HTMLInputElement).value = "Bad-Name";
    onboarding.el.querySelector("#form-auth")?.dispatchEvent(new Event("submit", { cancelable: true }));
    await flush();
    expect(store.get().onboardError?.message).toBe("Username: only letters, digits and _.");
    onboarding.destroy();
  });
});
