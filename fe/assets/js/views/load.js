// Load: a heat map of the 1024 slots by ops/s and the load per group (GET /topom/slots/stats, public), the hot and
// big keys (xauth routes: shown once the product's auth is set, as they name users' keys), and Rebalance by Load
// with the plan — moves and expected load per group — shown before it is queued.
import { call } from "../api.js";
import { storedXAuth } from "../auth.js";
import { drawHeatmap } from "../heatmap.js";
import { button, h, replace } from "../dom.js";

/** How many moves the console's rebalance may plan. */
const MAX_MOVES = 64;

/** @param {number} n */
const fmt = (n) => (n >= 100 ? String(Math.round(n)) : String(Math.round(n * 100) / 100));

/**
 * Lines describing a load plan: the moves as ranges, the expected load per group, the hot slots.
 * @param {any} plan
 */
export function describeLoadPlan(plan) {
  /** @type {string[]} */
  const lines = [];
  const moves = [...plan.moves].sort((a, b) => a.slot - b.slot);
  for (let i = 0; i < moves.length;) {
    let j = i;
    while (j + 1 < moves.length && moves[j + 1].slot === moves[j].slot + 1 && moves[j + 1].to === moves[i].to) j++;
    const span = i === j ? `slot ${moves[i].slot}` : `slots ${moves[i].slot}–${moves[j].slot}`;
    lines.push(`${span}: group ${moves[i].from} → group ${moves[i].to}`);
    i = j + 1;
  }
  for (const gid of Object.keys(plan.before)) {
    lines.push(`group ${gid}: ${fmt(plan.before[gid])} → ${fmt(plan.after[gid])} ${plan.unit}`);
  }
  for (const s of plan.hot_slots ?? []) {
    lines.push(
      `hot slot ${s.slot} (group ${s.group}): ${fmt(s.load)} ${plan.unit} alone — moving it only moves the problem`,
    );
  }
  return lines;
}

/**
 * @param {HTMLElement} el
 * @param {import("../app.js").ViewCtx} ctx
 */
export async function renderLoad(el, ctx) {
  const product = ctx.product;
  const x = storedXAuth(product);
  /** @type {any} */
  let stats;
  /** @type {any} */
  let hot = null;
  /** @type {any} */
  let big = null;
  try {
    [stats, hot, big] = await Promise.all([
      call(product, "GET", "/topom/slots/stats"),
      x ? call(product, "GET", `/api/topom/hotkeys/${x}`).catch(() => null) : null,
      x ? call(product, "GET", `/api/topom/bigkeys/${x}`).catch(() => null) : null,
    ]);
  } catch (e) {
    replace(el, h("h2", {}, "Load"), h("p", { class: "bad" }, /** @type {Error} */ (e).message));
    return;
  }
  if (product !== ctx.product) return;
  const ops = new Float64Array(1024);
  /** @type {Map<number, any>} */
  const bySlot = new Map();
  for (const s of stats.slots ?? []) {
    ops[s.id] = s.ops_per_sec;
    bySlot.set(s.id, s);
  }
  const rebalance = async () => {
    const plan = await ctx.act({
      title: "Rebalance by load",
      path: (xa) => `slots/rebalance-load/${xa}/load/${MAX_MOVES}/0`,
      quiet: true,
    });
    if (plan === undefined) return;
    if (plan.moves.length === 0) return ctx.say("Rebalance by load", `Nothing to move (${plan.stopped}).`);
    await ctx.act({
      title: "Rebalance by load",
      body: [
        h("p", {}, `${plan.moves.length} slots would move (target ${fmt(plan.target)} ${plan.unit} per group):`),
        h("ul", { class: "load-plan" }, ...describeLoadPlan(plan).map((l) => h("li", {}, l))),
      ],
      path: (xa) => `slots/rebalance-load/${xa}/load/${MAX_MOVES}/1`,
    });
  };
  const canvas = /** @type {HTMLCanvasElement} */ (h("canvas", { class: "heatmap" }));
  const tip = h("div", { class: "tip" }, "Hover the map to see a slot's load.");
  const groups = Object.entries(stats.groups ?? {}).sort((a, b) => Number(a[0]) - Number(b[0]));
  const keyTable = (/** @type {string[]} */ head, /** @type {any[][]} */ rows) =>
    h(
      "table",
      { class: "grid" },
      h("thead", {}, h("tr", {}, ...head.map((t) => h("th", {}, t)))),
      h(
        "tbody",
        {},
        rows.length
          ? rows.map((r) => h("tr", {}, ...r.map((c) => h("td", {}, c))))
          : h("tr", {}, h("td", { colspan: head.length, class: "empty" }, "none")),
      ),
    );
  replace(
    el,
    h("h2", {}, "Load"),
    h(
      "div",
      { class: "toolbar" },
      button("Rebalance by Load", rebalance),
      h("span", { class: "muted" }, `ops/s over the last ${fmt((stats.window_ms ?? 0) / 1000)} s`),
    ),
    h(
      "div",
      { class: "muted group-load" },
      groups.map(([gid, g]) => `group ${gid}: ${fmt(/** @type {any} */ (g).ops_per_sec)} ops/s`).join(" · "),
    ),
    canvas,
    tip,
    h("h3", {}, "Hot keys"),
    hot
      ? keyTable(
        ["Key", "Slot", "ops/s (est.)"],
        hot.keys.slice(0, 20).map((/** @type {any} */ k) => [k.key, String(k.slot), fmt(k.ops_per_sec)]),
      )
      : h("p", { class: "muted" }, "Set the product's auth to see hot and big keys (they name your keys)."),
    big ? h("h3", {}, "Big keys") : null,
    big
      ? keyTable(
        ["Key", "Slot", "Bytes", "Seen in"],
        big.keys.slice(0, 20).map((/** @type {any} */ k) => [k.key, String(k.slot), String(k.bytes), k.kind]),
      )
      : null,
  );
  const where = drawHeatmap(canvas, ops);
  canvas.addEventListener("mousemove", (ev) => {
    const r = canvas.getBoundingClientRect();
    const sid = where(ev.clientX - r.left, ev.clientY - r.top);
    if (sid === undefined) return;
    const s = bySlot.get(sid);
    replace(
      tip,
      s
        ? `slot ${sid} (group ${s.group_id}): ${fmt(s.ops_per_sec)} ops/s, ${s.requests} requests`
        : `slot ${sid}: idle`,
    );
  });
}
