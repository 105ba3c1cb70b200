// The slot heat map: the 1024 slots as a 32 × 32 grid, each cell coloured by its ops/s (log scale, from pale to
// deep red), so that a hot slot or a hot range stands out at a glance.

const SIDE = 32;

/**
 * The colour of a slot with `ops` ops/s when the busiest has `max`: a log scale, so that a slot at a tenth of the
 * busiest still shows. Slots without traffic are light grey.
 * @param {number} ops
 * @param {number} max
 */
export function heatColor(ops, max) {
  if (!(ops > 0) || !(max > 0)) return "#eef0f3";
  const t = Math.min(1, Math.log1p(ops) / Math.log1p(max));
  // From a pale yellow (255, 240, 200) to a deep red (190, 20, 20).
  const mix = (/** @type {number} */ a, /** @type {number} */ b) => Math.round(a + (b - a) * t);
  return `rgb(${mix(255, 190)}, ${mix(240, 20)}, ${mix(200, 20)})`;
}

/**
 * Draws the heat map of `ops` (ops/s by slot id) on `canvas`; returns a lookup from a mouse x/y to the slot id.
 * @param {HTMLCanvasElement} canvas
 * @param {Float64Array | number[]} ops
 */
export function drawHeatmap(canvas, ops) {
  const dpr = globalThis.devicePixelRatio || 1;
  const cell = 12;
  const cssW = SIDE * cell;
  canvas.style.width = `${cssW}px`;
  canvas.style.height = `${cssW}px`;
  canvas.width = Math.round(cssW * dpr);
  canvas.height = Math.round(cssW * dpr);
  const ctx = /** @type {CanvasRenderingContext2D} */ (canvas.getContext("2d"));
  ctx.scale(dpr, dpr);
  let max = 0;
  for (let s = 0; s < 1024; s++) max = Math.max(max, ops[s] ?? 0);
  for (let s = 0; s < 1024; s++) {
    ctx.fillStyle = heatColor(ops[s] ?? 0, max);
    ctx.fillRect((s % SIDE) * cell, Math.floor(s / SIDE) * cell, cell - 1, cell - 1);
  }
  return (/** @type {number} */ mx, /** @type {number} */ my) => {
    const c = Math.floor(mx / cell), r = Math.floor(my / cell);
    return c >= 0 && c < SIDE && r >= 0 && r < SIDE ? r * SIDE + c : undefined;
  };
}
