// The settings dialog: resolution, frame rate, bitrate, keyframes, encoder, recording
// folder; and signing out.
import { fail, refreshRecordings, restartPreview, updateSettings } from "../actions";
import { commands, type StudioSettings } from "../ipc";
import type { StudioStore } from "../store";
import { fromMarkup, part, type View } from "./markup";

const MARKUP = `
<dialog id="dlg-settings">
  <form id="form-settings">
    <h2>Settings</h2>
    <label>Resolution<select id="set-resolution"><option value="1920x1080">1080p</option><option value="1280x720">720p</option><option value="854x480">480p</option><option value="640x360">360p</option></select></label>
    <label>Frame rate<select id="set-fps"><option>24</option><option>30</option><option>60</option></select></label>
    <label>Video bitrate (kbit/s)<input id="set-bitrate" type="number" min="300" max="20000" step="100" /></label>
    <label>Keyframe interval (s)<input id="set-keyframe" type="number" min="0.25" max="10" step="0.25" /></label>
    <label>Encoder<select id="set-encoder"><option value="auto">Automatic (hardware if it works)</option><option value="x264">x264 (software)</option><option value="vaapi">VA-API</option><option value="nvenc">NVENC</option></select></label>
    <label>Recording folder (empty = don't record)<input id="set-recdir" placeholder="/home/you/Videos/AeThex" /></label>
    <div class="dialog-actions"><button id="btn-signout" type="button" class="ghost danger">Sign out</button><span class="grow"></span><button id="btn-settings-cancel" type="button" class="ghost">Cancel</button><button class="primary" type="submit">Save</button></div>
  </form>
</dialog>`;

/** The settings dialog; `open()` fills it from the current settings and shows it. */
export interface SettingsDialog extends View {
  open(): void;
}

/** The settings dialog. */
export function createSettings(store: StudioStore): SettingsDialog {
  const el = fromMarkup<HTMLDialogElement>(MARKUP);
  const field = <T extends HTMLInputElement | HTMLSelectElement>(id: string) => part<T>(el, `#${id}`);
  const resolution = field<HTMLSelectElement>("set-resolution");
  const fps = field<HTMLSelectElement>("set-fps");
  const bitrate = field<HTMLInputElement>("set-bitrate");
  const keyframe = field<HTMLInputElement>("set-keyframe");
  const encoder = field<HTMLSelectElement>("set-encoder");
  const recdir = field<HTMLInputElement>("set-recdir");

  const open = () => {
    const s = store.get().settings;
    resolution.value = `${s.width}x${s.height}`;
    fps.value = String(s.fps);
    bitrate.value = String(s.bitrate_kbps);
    keyframe.value = String(s.keyframe_secs);
    encoder.value = s.encoder;
    recdir.value = s.recording_dir ?? "";
    el.showModal();
  };

  part(el, "#btn-settings-cancel").addEventListener("click", () => el.close());
  part<HTMLFormElement>(el, "#form-settings").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const [width, height] = resolution.value.split("x").map(Number);
    el.close();
    await updateSettings(store, {
      width,
      height,
      fps: Number(fps.value),
      bitrate_kbps: Math.max(300, Number(bitrate.value) || 3500),
      keyframe_secs: Math.max(0.25, Number(keyframe.value) || 1),
      encoder: encoder.value as StudioSettings["encoder"],
      recording_dir: recdir.value.trim() || null,
    });
    await refreshRecordings(store);
    await restartPreview(store);
  });
  part(el, "#btn-signout").addEventListener("click", async () => {
    try {
      await commands.signOut();
      // A modal dialog left open over the hidden studio would block the onboarding card.
      el.close();
      store.dispatch({ type: "signed_out" });
    } catch (e) {
      fail(store, e);
    }
  });

  return { el, open, destroy: () => undefined };
}
