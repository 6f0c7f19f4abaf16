// Destinations: the own server (rotate its key) and custom RTMP/SRT targets (set key,
// enable, remove, add). Keys stay in the OS keyring and are shown only on request.
import { h } from "../../shared/dom";
import { fail, patchSettings, refreshDestinations, saveSettings, updateSettings } from "../actions";
import { commands, type DestinationView } from "../ipc";
import { stateClass } from "../logic";
import { watch, type StudioStore } from "../store";
import { busy, fromMarkup, part, type View } from "./markup";

/** How long a revealed key stays on screen. */
const REVEAL_MS = 15000;
const HIDDEN_KEY = "••••••••••••";

const MARKUP = `
<section class="panel">
  <h2>Destinations</h2>
  <ul id="dest-list" class="dest-list"></ul>
  <details class="add-dest"><summary>Add RTMP / SRT destination</summary>
    <form id="form-dest">
      <input id="dest-name" placeholder="Name (e.g. Twitch)" />
      <input id="dest-url" placeholder="rtmp://live.twitch.tv/app or srt://host:port" />
      <input id="dest-key" type="password" placeholder="Stream key (kept in the OS keyring)" autocomplete="off" />
      <button class="secondary" type="submit">Add</button>
    </form>
  </details>
</section>`;

/** The destinations panel. */
export function createDestinations(store: StudioStore): View {
  const el = fromMarkup(MARKUP);
  const list = part(el, "#dest-list");
  const form = part<HTMLFormElement>(el, "#form-dest");
  const timers = new Set<number>();

  const button = (text: string, onClick: (b: HTMLButtonElement) => void, cls = "ghost small") => {
    const b = h("button", { class: cls }, text);
    b.addEventListener("click", () => onClick(b));
    return b;
  };

  const row = (d: DestinationView): HTMLElement => {
    const pill = h("span", { class: "pill idle", attrs: { "data-output": d.name } }, d.enabled ? (d.has_key ? "ready" : "no key") : "off");
    const keyText = h("code", { class: "key" }, d.has_key ? HIDDEN_KEY : "no key stored");
    const hide = (reveal: HTMLButtonElement) => {
      keyText.textContent = HIDDEN_KEY;
      reveal.textContent = "Show";
    };
    const reveal = button("Show", async (b) => {
      if (b.textContent === "Hide") return hide(b);
      try {
        keyText.textContent = (await commands.revealKey(d.name, d.own)) ?? "no key stored";
        b.textContent = "Hide";
        const t = window.setTimeout(() => {
          timers.delete(t);
          hide(b);
        }, REVEAL_MS);
        timers.add(t);
      } catch (e) {
        fail(store, e);
      }
    });
    reveal.disabled = !d.has_key;
    const key = h("div", { class: "key-row" }, keyText, reveal);
    if (d.own) {
      key.append(
        button("Rotate", (b) =>
          busy(b, async () => {
            if (!window.confirm("Rotate the stream key? The old key stops working at once.")) return;
            await commands.rotateKey().catch((e) => fail(store, e));
            await refreshDestinations(store);
          }),
        ),
      );
    } else {
      const custom = () => store.get().settings.destinations;
      key.append(
        button("Set key", async () => {
          const k = window.prompt(`Stream key for ${d.name} (kept in the OS keyring)`);
          if (k === null) return;
          await commands.setDestinationKey(d.name, k).catch((e) => fail(store, e));
          await refreshDestinations(store);
        }),
        button(d.enabled ? "Disable" : "Enable", async () => {
          await updateSettings(store, {
            destinations: custom().map((c) => (c.name === d.name ? { ...c, enabled: !c.enabled } : c)),
          });
          await refreshDestinations(store);
        }),
        button(
          "Remove",
          async () => {
            patchSettings(store, { destinations: custom().filter((c) => c.name !== d.name) });
            await commands.setDestinationKey(d.name, "").catch(() => undefined);
            await saveSettings(store);
            await refreshDestinations(store);
          },
          "ghost small danger",
        ),
      );
    }
    const li = h(
      "li",
      { class: "dest", attrs: { "data-name": d.name } },
      h("div", { class: "dest-head" }, h("strong", {}, d.name), pill),
      h("div", { class: "muted small" }, d.url),
      key,
    );
    return li;
  };

  const offs = [
    watch(store, (s) => s.destinations, (rows) => list.replaceChildren(...rows.map(row))),
    // Live output states colour each destination's pill.
    watch(store, (s) => s.stats?.outputs, (outputs) => {
      for (const o of outputs ?? []) {
        const pill = list.querySelector<HTMLElement>(`.pill[data-output="${CSS.escape(o.name)}"]`);
        if (!pill) continue;
        pill.className = `pill ${stateClass(o.state)}`;
        pill.textContent = o.state;
        pill.title = o.error ?? "";
      }
    }),
  ];

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const name = part<HTMLInputElement>(form, "#dest-name").value.trim();
    const url = part<HTMLInputElement>(form, "#dest-url").value.trim();
    const key = part<HTMLInputElement>(form, "#dest-key").value;
    if (!name || !/^(rtmps?|srt):\/\//.test(url)) {
      return fail(store, { kind: "invalid", message: "Give a name and an rtmp://, rtmps:// or srt:// address." });
    }
    const { destinations } = store.get().settings;
    if (destinations.some((d) => d.name === name) || name === "own server") {
      return fail(store, { kind: "conflict", message: `A destination named ${name} exists.` });
    }
    const next = [...destinations, { name, url, enabled: true }];
    if (key) await commands.setDestinationKey(name, key).catch((e) => fail(store, e));
    form.reset();
    await updateSettings(store, { destinations: next });
    await refreshDestinations(store);
  });

  return {
    el,
    destroy() {
      offs.forEach((off) => off());
      timers.forEach((t) => window.clearTimeout(t));
    },
  };
}
