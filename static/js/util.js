// Small DOM and number helpers. Text always goes in through textContent: never innerHTML with data.

export const $ = (sel, root = document) => root.querySelector(sel);

/** Plotly config for every plot: the bundle's built-in remote defaults (the map topojson CDN, the
 * chart-studio links) replaced by local or no addresses; the classroom is offline. */
export const OFFLINE_PLOTLY = Object.freeze({ topojsonURL: "/static/vendor/", showSendToCloud: false,
  showEditInChartStudio: false, showLink: false, plotlyServerURL: "" });

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "dataset") Object.assign(node.dataset, v);
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v !== false && v != null) node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c != null) node.append(c instanceof Node ? c : String(c));
  }
  return node;
}

const UNITS = { "": 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40, P: 2 ** 50 };

/** "128M" | "0x8000000" | 4096 -> bytes (a Number: exact below 2**53, enough for 8 PiB). */
export function parseSize(v) {
  if (typeof v === "number") return v;
  const s = String(v).trim();
  if (/^0x[0-9a-f]+$/i.test(s)) return parseInt(s, 16);
  const m = /^([0-9]+)\s*([KMGTP]?)(i?B)?$/i.exec(s);
  if (!m) throw new Error(`not a size: ${v}`);
  return Number(m[1]) * UNITS[m[2].toUpperCase()];
}

export const hex = (n) => "0x" + Math.round(n).toString(16);
export const fromHex = (s) => (typeof s === "number" ? s : parseInt(s, 16));

export function formatSize(bytes) {
  for (const [u, f] of [["T", 2 ** 40], ["G", 2 ** 30], ["M", 2 ** 20], ["K", 2 ** 10]]) {
    if (bytes >= f && bytes % f === 0) return `${bytes / f}${u}`;
  }
  return hex(bytes);
}

export function human(bytes) {
  for (const [u, f] of [["TiB", 2 ** 40], ["GiB", 2 ** 30], ["MiB", 2 ** 20], ["KiB", 2 ** 10]]) {
    if (bytes >= f) return `${+(bytes / f).toFixed(2)} ${u}`;
  }
  return `${bytes} B`;
}

/** "1 page", "2 pages": a count with its noun. */
export const count = (n, noun) => `${n} ${noun}${Number(n) === 1 ? "" : "s"}`;

export const clone = (o) => JSON.parse(JSON.stringify(o));

/** A 53-bit hash of a string (cyrb53), as hex: a short key for a document, never sent anywhere. */
export function hash(str) {
  let h1 = 0xdeadbeef, h2 = 0x41c6ce57;
  for (let i = 0; i < str.length; i++) {
    const c = str.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(16);
}

/** Plotly hover text (with <br> and <b>) as plain text lines. */
export const plain = (html) => String(html).replace(/<br>/g, "\n").replace(/<\/?b>/g, "")
  .replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
