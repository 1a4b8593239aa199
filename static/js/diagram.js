// A box-and-arrow diagram (app/diagram_kit.py: rect and path shapes, text annotations, laid out in
// pixels with x right and y down) drawn as plain SVG. The figure is a picture, not a chart: Plotly
// measures every annotation in turn (~0.5 ms each, a hundred per HVO diagram), this draws it in a few ms.
// Exports render the same figure with Plotly (app/export.py); every shape and text keeps its name
// (data-name) so tests compare the two element by element.
const NS = "http://www.w3.org/2000/svg";
const LINE = 1.3;                                  // Plotly's line spacing, in ems

function node(tag, attrs) {
  const n = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v != null && v !== "") n.setAttribute(k, String(v));
  return n;
}

const ENTITIES = { "&lt;": "<", "&gt;": ">", "&amp;": "&", "&quot;": '"', "&#x27;": "'", "&#39;": "'" };
const unescape = (s) => s.replace(/&(lt|gt|amp|quot|#x27|#39);/g, (e) => ENTITIES[e]);

/** Annotation text (Plotly's subset: <b>, <span style='color:...'>, <br>, escaped entities) as lines of
 * runs { text, bold, color }. Anything else is shown as text, never parsed as markup. */
export function textRuns(html) {
  const lines = [[]];
  const stack = [];
  const re = /<br\s*\/?>|<b>|<\/b>|<span style='color:\s*(#[0-9a-fA-F]{3,8})'>|<\/span>/g;
  let at = 0;
  const push = (s) => {
    if (!s) return;
    lines[lines.length - 1].push({ text: unescape(s), bold: stack.includes("b"),
                                   color: [...stack].reverse().find((x) => x.startsWith("#")) || null });
  };
  for (let m = re.exec(html); m; m = re.exec(html)) {
    push(html.slice(at, m.index));
    at = re.lastIndex;
    const tag = m[0];
    if (tag.startsWith("<br")) lines.push([]);
    else if (tag === "<b>") stack.push("b");
    else if (tag === "</b>") stack.splice(stack.lastIndexOf("b"), 1);
    else if (tag === "</span>") { const i = stack.findLastIndex((x) => x.startsWith("#")); if (i >= 0) stack.splice(i, 1); }
    else stack.push(m[1]);
  }
  push(html.slice(at));
  return lines;
}

const DASH = { dash: (w) => `${3 * Math.max(w, 3)},${3 * Math.max(w, 3)}`, dot: (w) => `${Math.max(w, 3)},${2 * Math.max(w, 3)}` };

function shape(s, i) {
  const w = s.line?.width ?? 2;
  const common = { stroke: s.line?.color ?? "#444", "stroke-width": w, "stroke-dasharray": DASH[s.line?.dash]?.(w),
                   fill: s.fillcolor || "none", "data-name": s.name, "data-index": i };
  if (s.type === "rect") {
    return node("rect", { ...common, x: Math.min(s.x0, s.x1), y: Math.min(s.y0, s.y1),
                          width: Math.abs(s.x1 - s.x0), height: Math.abs(s.y1 - s.y0) });
  }
  if (s.type === "path") return node("path", { ...common, d: s.path, "stroke-linejoin": "miter" });
  throw new Error(`diagram: no drawing for a ${s.type} shape`);
}

const ANCHOR = { left: "start", center: "middle", right: "end" };
const PAD = { left: 3, center: 0, right: -3 };       // Plotly's border pad plus border, beside the anchor

function text(a, i, font) {
  const size = a.font?.size ?? font.size;
  const lines = textRuns(a.text);
  const lh = LINE * size;
  const top = a.y - { top: 0, middle: lines.length * lh / 2, bottom: lines.length * lh }[a.yanchor ?? "middle"];
  const t = node("text", { x: a.x + PAD[a.xanchor ?? "center"], "text-anchor": ANCHOR[a.xanchor ?? "center"],
                           "font-size": size, fill: a.font?.color ?? font.color, "data-name": a.name, "data-index": i,
                           transform: a.textangle ? `rotate(${a.textangle} ${a.x} ${a.y})` : null });
  lines.forEach((runs, k) => {
    const line = node("tspan", { x: a.x + PAD[a.xanchor ?? "center"], y: top + (k + 0.5) * lh, "dominant-baseline": "central" });
    for (const r of runs) {
      const span = node("tspan", { "font-weight": r.bold ? "bold" : null, fill: r.color });
      span.textContent = r.text;
      line.append(span);
    }
    t.append(line);
  });
  return t;
}

/** The figure as an <svg> of its own width and height that scales down with its box (viewBox). */
export function diagramSvg(fig) {
  const L = fig.layout;
  if (fig.data?.length || (L.annotations || []).some((a) => a.showarrow)) {
    throw new Error("diagram: only shapes and text annotations are drawn here");
  }
  const font = { family: "sans-serif", size: 12, color: "#222", ...L.font };
  const svg = node("svg", { xmlns: NS, viewBox: `0 0 ${L.width} ${L.height}`, width: L.width, height: L.height,
                            "font-family": font.family, class: "diagram", "aria-hidden": "true" });
  svg.append(node("rect", { x: 0, y: 0, width: L.width, height: L.height, fill: L.paper_bgcolor || "#fff" }));
  const shapes = (L.shapes || []).map((s, i) => [s, i]);
  // Plotly's order: shapes below the plot, then shapes above it, then annotations over everything;
  // data-index is the item's place in the figure, as Plotly numbers its own
  for (const [s, i] of shapes.filter(([x]) => x.layer === "below")) svg.append(shape(s, i));
  for (const [s, i] of shapes.filter(([x]) => x.layer !== "below")) svg.append(shape(s, i));
  (L.annotations || []).forEach((a, i) => svg.append(text(a, i, font)));
  return svg;
}
