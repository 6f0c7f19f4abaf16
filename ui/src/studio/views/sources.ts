// Sources: the main picture, camera picture-in-picture, microphone, volume, mute and the
// audio meter. Changing a source restarts the preview (not while live).
import { fail, patchSettings, restartPreview, saveSettings, updateSettings } from "../actions";
import { commands, type StudioSettings } from "../ipc";
import { meterPercent } from "../logic";
import { watch, type StudioStore } from "../store";
import { fromMarkup, part, type View } from "./markup";

const MARKUP = `
<section class="panel">
  <h2>Sources</h2>
  <div class="seg">
    <button data-source="test">Test</button><button data-source="screen">Screen</button><button data-source="camera">Camera</button>
  </div>
  <label class="switch"><input type="checkbox" id="pip" /><span></span>Camera picture-in-picture</label>
  <label class="switch"><input type="checkbox" id="mic" /><span></span>Microphone</label>
  <div class="audio">
    <button id="btn-mute" class="ghost small">Mute</button>
    <input id="volume" type="range" min="0" max="200" value="100" aria-label="Volume" />
  </div>
  <div class="meter" aria-label="Audio level"><div id="meter-fill" class="meter-fill"></div><div id="meter-peak" class="meter-peak"></div></div>
</section>`;

/** The sources panel. */
export function createSources(store: StudioStore): View {
  const el = fromMarkup(MARKUP);
  const $ = <T extends HTMLElement = HTMLElement>(sel: string) => part<T>(el, sel);
  const sourceButtons = [...el.querySelectorAll<HTMLButtonElement>("[data-source]")];
  const pip = $<HTMLInputElement>("#pip");
  const mic = $<HTMLInputElement>("#mic");
  const volume = $<HTMLInputElement>("#volume");
  const mute = $("#btn-mute");

  const render = (s: StudioSettings) => {
    for (const b of sourceButtons) b.classList.toggle("active", b.dataset.source === s.source);
    pip.checked = s.camera_pip;
    mic.checked = s.microphone;
    volume.value = String(Math.round(s.volume * 100));
    mute.classList.toggle("active", s.muted);
    mute.textContent = s.muted ? "Unmute" : "Mute";
  };
  const setAudio = async () => {
    const { volume: v, muted } = store.get().settings;
    await commands.setAudio(v, muted).catch((e) => fail(store, e));
  };

  const offs = [
    watch(store, (s) => s.settings, render),
    watch(store, (s) => s.stats?.levels, (levels) => {
      for (const l of levels ?? []) {
        $("#meter-fill").style.width = `${meterPercent(l.rms_db)}%`;
        $("#meter-peak").style.left = `${meterPercent(l.peak_db)}%`;
      }
    }),
  ];

  for (const b of sourceButtons) {
    b.addEventListener("click", async () => {
      if (store.get().live) return fail(store, { kind: "state", message: "End the stream to change the main source." });
      await updateSettings(store, { source: b.dataset.source as StudioSettings["source"] });
      await restartPreview(store);
    });
  }
  for (const box of [pip, mic]) {
    box.addEventListener("change", async () => {
      if (store.get().live) {
        render(store.get().settings);
        return fail(store, { kind: "state", message: "End the stream to change sources." });
      }
      await updateSettings(store, box === pip ? { camera_pip: box.checked } : { microphone: box.checked });
      await restartPreview(store);
    });
  }
  volume.addEventListener("input", async () => {
    patchSettings(store, { volume: Number(volume.value) / 100 });
    await setAudio();
  });
  volume.addEventListener("change", () => saveSettings(store));
  mute.addEventListener("click", async () => {
    patchSettings(store, { muted: !store.get().settings.muted });
    await setAudio();
    await saveSettings(store);
  });

  return { el, destroy: () => offs.forEach((off) => off()) };
}
