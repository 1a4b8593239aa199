// The physical memory map: draws the server-built figure (app/figures.py) and turns Plotly's
// zoom, hover and click events into calls back to main.js.
import { $, plain } from "./util.js";

/** Resolves once the deferred plotly.min.js has run. */
export const plotlyReady = new Promise((ok) => {
  if (window.Plotly) ok();
  else document.getElementById("plotly-js").addEventListener("load", () => ok(), { once: true });
});

export class MemoryMap {
  constructor(div, { onZoom, onHover, onClick, onMark }) {
    this.div = div;
    this.handlers = { onZoom, onHover, onClick, onMark };
    this.bound = false;
  }

  async render(fig) {
    const config = { responsive: true, displaylogo: false, scrollZoom: true,
                     modeBarButtonsToRemove: ["select2d", "lasso2d", "toImage"] };
    await plotlyReady;
    if (document.body.classList.contains("presenter")) fig.layout.font = { ...fig.layout.font, size: 18 };
    await window.Plotly.react(this.div, fig.data, fig.layout, config);
    if (!this.bound) this.bind();
  }

  bind() {
    const d = this.div;
    d.on("plotly_relayout", (ev) => {
      if ("xaxis.range[0]" in ev) this.handlers.onZoom(ev["xaxis.range[0]"], ev["xaxis.range[1]"]);
      else if (Array.isArray(ev["xaxis.range"])) this.handlers.onZoom(...ev["xaxis.range"]);
      else if (ev["xaxis.autorange"]) this.handlers.onZoom(null, null);
    });
    d.on("plotly_hover", (ev) => {
      const p = ev.points?.[0];
      if (p && p.data.type === "heatmap") this.handlers.onHover(plain(p.text), p.customdata);
    });
    d.on("plotly_click", (ev) => {
      const p = ev.points?.[0];
      if (p && p.data.type === "heatmap") this.handlers.onClick(p.customdata);
    });
    d.on("plotly_clickannotation", (ev) => {
      if (ev.annotation?.name === "self-mapping") this.handlers.onMark(ev.annotation.text);
    });
    this.bound = true;
  }

  /** Width in pixels of the plot area: one bin per pixel column. */
  get pixels() {
    return Math.max(64, Math.floor(($(".main-svg", this.div)?.clientWidth || this.div.clientWidth || 800) - 40));
  }
}
