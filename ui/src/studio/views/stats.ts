// The stats bar: bitrate with its sparkline, fps, dropped frames, CPU, memory, encoder
// and one pill per output.
import { h } from "../../shared/dom";
import { formatBitrate } from "../../shared/format";
import { sparkline, stateClass } from "../logic";
import { watch, type StudioStore } from "../store";
import { fromMarkup, part, type View } from "./markup";

const MARKUP = `
<footer class="statsbar">
  <div class="stat"><small>Bitrate</small><b id="st-bitrate">–</b></div>
  <svg class="plot" viewBox="0 0 160 32" preserveAspectRatio="none"><polyline id="plot-line" points="" /></svg>
  <div class="stat"><small>FPS</small><b id="st-fps">–</b></div>
  <div class="stat"><small>Dropped</small><b id="st-dropped">0</b></div>
  <div class="stat"><small>CPU</small><b id="st-cpu">–</b></div>
  <div class="stat"><small>Memory</small><b id="st-mem">–</b></div>
  <div class="stat"><small>Encoder</small><b id="st-encoder">–</b></div>
  <div id="st-outputs" class="outputs"></div>
</footer>`;

/** The stats bar. */
export function createStats(store: StudioStore): View {
  const el = fromMarkup(MARKUP);
  const $ = (sel: string) => part(el, sel);
  const off = watch(store, (s) => s.stats, (s, state) => {
    if (!s) return;
    $("#st-bitrate").textContent = formatBitrate(s.bitrate_kbps);
    $("#st-fps").textContent = s.fps.toFixed(0);
    $("#st-dropped").textContent = String(s.dropped_frames);
    $("#st-cpu").textContent = s.cpu_percent == null ? "–" : `${s.cpu_percent.toFixed(0)} %`;
    $("#st-mem").textContent = s.rss_mb == null ? "–" : `${s.rss_mb.toFixed(0)} MB`;
    $("#st-encoder").textContent = s.encoder;
    $("#plot-line").setAttribute("points", sparkline(state.bitrates, 160, 32));
    $("#st-outputs").replaceChildren(
      ...s.outputs.map((o) =>
        h("span", { class: `pill ${stateClass(o.state)}`, attrs: { title: o.error } }, `${o.name}: ${o.state}`),
      ),
    );
  });
  return { el, destroy: off };
}
