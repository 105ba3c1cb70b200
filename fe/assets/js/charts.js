// Two small drawings: the QPS sparkline (SVG) and the 1024-slot map per group (canvas).

const SVG = "http://www.w3.org/2000/svg";

/**
 * Draws `values` as a polyline with the latest value's dot, scaled to the largest value, the newest at the right
 * edge (a history shorter than `capacity` grows from the right, so the dot always means "now"), with the scale's
 * maximum written in the corner.
 * @param {SVGSVGElement} svg
 * @param {number[]} values
 * @param {number} [capacity]
 */
export function sparkline(svg, values, capacity = values.length) {
  const w = 240, hgt = 48, pad = 3, top = 14;
  svg.setAttribute("viewBox", `0 0 ${w} ${hgt}`);
  svg.replaceChildren();
  if (values.length === 0) return;
  const max = Math.max(1, ...values);
  const slots = Math.max(capacity, values.length);
  const step = slots > 1 ? (w - 2 * pad) / (slots - 1) : 0;
  const first = slots - values.length;
  const pts = values.map((v, i) => [pad + (first + i) * step, hgt - pad - (v / max) * (hgt - pad - top)]);
  const scale = document.createElementNS(SVG, "text");
  scale.setAttribute("x", String(pad));
  scale.setAttribute("y", "11");
  scale.setAttribute("class", "spark-scale");
  scale.textContent = `max ${max}`;
  svg.append(scale);
  const line = document.createElementNS(SVG, "polyline");
  line.setAttribute("points", pts.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(" "));
  line.setAttribute("class", "spark-line");
  const [lx, ly] = pts[pts.length - 1];
  const dot = document.createElementNS(SVG, "circle");
  dot.setAttribute("cx", lx.toFixed(1));
  dot.setAttribute("cy", ly.toFixed(1));
  dot.setAttribute("r", "2.5");
  dot.setAttribute("class", "spark-dot");
  const title = document.createElementNS(SVG, "title");
  title.textContent = `QPS over the last ${values.length} refreshes (max ${max})`;
  svg.append(title, line, dot);
}

/** Colours of a slot's state on the map (kept in sync with the legend in index.html). */
export const SLOT_COLORS = {
  default: "#3b7dd8",
  offline: "#b8bec6",
  pending: "#e0b400",
  migrating: "#e0572b",
  target: "#f3b49d",
};

const ROW = 18, LABEL = 78;

/**
 * @typedef {{id: number, group_id: number, action?: {state?: string, target_id?: number}}} SlotJson
 */

/**
 * The rows of the map: "offline" (group 0) and one per group id, with each row's slot states.
 * @param {SlotJson[]} slots
 * @param {number[]} groupIds
 */
export function slotRows(slots, groupIds) {
  const ids = [0, ...groupIds.filter((g) => g !== 0).sort((a, b) => a - b)];
  /** @type {Map<number, (string | undefined)[]>} */
  const rows = new Map(ids.map((g) => [g, new Array(1024)]));
  for (const s of slots) {
    const state = s.action?.state;
    const cat = !state ? (s.group_id === 0 ? "offline" : "default") : state === "pending" ? "pending" : "migrating";
    rows.get(s.group_id)?.splice(s.id, 1, cat);
    const t = s.action?.target_id;
    if (state && t !== undefined && t !== s.group_id) rows.get(t)?.splice(s.id, 1, "target");
  }
  return { ids, rows };
}

/**
 * Draws the slot map on `canvas` (its CSS width decides the scale); returns a lookup from a mouse x/y to
 * `{slot, group}` for tooltips.
 * @param {HTMLCanvasElement} canvas
 * @param {SlotJson[]} slots
 * @param {number[]} groupIds
 */
export function drawSlots(canvas, slots, groupIds) {
  const { ids, rows } = slotRows(slots, groupIds);
  const dpr = globalThis.devicePixelRatio || 1;
  const cssW = Math.max(320, canvas.clientWidth || canvas.parentElement?.clientWidth || 800);
  const cssH = ids.length * ROW + 16;
  canvas.style.height = `${cssH}px`;
  canvas.width = Math.round(cssW * dpr);
  canvas.height = Math.round(cssH * dpr);
  const ctx = /** @type {CanvasRenderingContext2D} */ (canvas.getContext("2d"));
  ctx.scale(dpr, dpr);
  ctx.clearRect(0, 0, cssW, cssH);
  const plotW = cssW - LABEL - 4;
  const x = (/** @type {number} */ sid) => LABEL + (sid * plotW) / 1024;
  ctx.font = "12px system-ui, sans-serif";
  ctx.textBaseline = "middle";
  ids.forEach((g, r) => {
    const y = r * ROW;
    ctx.fillStyle = "#f3f4f6";
    ctx.fillRect(LABEL, y + 2, plotW, ROW - 4);
    ctx.fillStyle = "#333";
    ctx.fillText(g === 0 ? "offline" : `group ${g}`, 4, y + ROW / 2);
    const cats = /** @type {(string | undefined)[]} */ (rows.get(g));
    // Runs of one state are drawn as one rectangle so that thin slots do not blur into gaps.
    for (let s = 0; s < 1024;) {
      const c = cats[s];
      let e = s;
      while (e + 1 < 1024 && cats[e + 1] === c) e++;
      if (c) {
        ctx.fillStyle = SLOT_COLORS[/** @type {keyof typeof SLOT_COLORS} */ (c)];
        ctx.fillRect(x(s), y + 2, Math.max(1, x(e + 1) - x(s)), ROW - 4);
      }
      s = e + 1;
    }
  });
  ctx.fillStyle = "#666";
  ctx.font = "10px system-ui, sans-serif";
  for (const t of [0, 256, 512, 768, 1023]) ctx.fillText(String(t), Math.min(x(t), cssW - 24), ids.length * ROW + 8);
  return (/** @type {number} */ mx, /** @type {number} */ my) => {
    const r = Math.floor(my / ROW);
    if (mx < LABEL || r < 0 || r >= ids.length) return undefined;
    const sid = Math.floor(((mx - LABEL) / plotW) * 1024);
    return sid >= 0 && sid < 1024 ? { slot: sid, group: ids[r] } : undefined;
  };
}
