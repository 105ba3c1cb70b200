// Slots: the 1024-slot map per group, migration actions (range, some), the scheduler switch and interval, the
// action table with cancel for pending ones, and Rebalance with a preview before it is queued.
import { drawSlots, SLOT_COLORS } from "../charts.js";
import { button, h, replace } from "../dom.js";
import { describePlan, ranges, slotCounts } from "../format.js";

const ui = { showActions: false };

/**
 * @param {HTMLElement} el
 * @param {import("../app.js").ViewCtx} ctx
 */
export function renderSlots(el, ctx) {
  const stats = ctx.topom?.stats ?? {};
  /** @type {{id: number, group_id: number, action?: any}[]} */
  const slots = stats.slots ?? [];
  const groups = (stats.group?.models ?? []).map((/** @type {{id: number}} */ g) => g.id);
  const sa = stats.slot_action ?? {};
  const counts = slotCounts(slots);
  const withAction = slots.filter((s) => s.action?.state);

  const migrateRange = async () => {
    const v = await ctx.ask("Migrate range", [
      { name: "beg", label: "from slot", type: "number", min: 0, max: 1023 },
      { name: "end", label: "to slot", type: "number", min: 0, max: 1023 },
      { name: "gid", label: "to group", type: "number", min: 1, max: 9999 },
    ]);
    if (!v) return;
    await ctx.act({
      title: "Migrate range",
      body: `Move slots [${v.beg} ~ ${v.end}] to group ${v.gid}?`,
      path: (x) => `slots/action/create-range/${x}/${v.beg}/${v.end}/${v.gid}`,
    });
  };
  const migrateSome = async () => {
    const v = await ctx.ask("Migrate some", [
      { name: "num", label: "number of slots", type: "number", min: 1, max: 1024 },
      { name: "src", label: "from group", type: "number", min: 0, max: 9999 },
      { name: "dst", label: "to group", type: "number", min: 1, max: 9999 },
    ]);
    if (!v) return;
    await ctx.act({
      title: "Migrate some",
      body: `Move ${v.num} slots from group ${v.src} to group ${v.dst}?`,
      path: (x) => `slots/action/create-some/${x}/${v.src}/${v.dst}/${v.num}`,
    });
  };
  const toggle = () =>
    ctx.act({
      title: sa.disabled ? "Enable actions" : "Disable actions",
      body: sa.disabled ? "Let the scheduler run slot actions again?" : "Pause slot actions (running steps finish)?",
      path: (x) => `slots/action/disabled/${x}/${sa.disabled ? 0 : 1}`,
    });
  const interval = async () => {
    const v = await ctx.ask("Action interval", [
      { name: "us", label: "µs between steps", type: "number", min: 0, max: 1000000, value: String(sa.interval ?? 0) },
    ]);
    if (!v) return;
    await ctx.act({
      title: "Action interval",
      body: `Set the action interval to ${v.us} µs?`,
      path: (x) => `slots/action/interval/${x}/${v.us}`,
    });
  };
  const rebalance = async () => {
    const plan = await ctx.act({ title: "Rebalance", path: (x) => `slots/rebalance/${x}/0`, quiet: true });
    if (plan === undefined) return;
    const lines = describePlan(plan);
    if (lines.length === 0) return ctx.say("Rebalance", "The slots are balanced already: nothing to move.");
    await ctx.act({
      title: "Rebalance all slots",
      body: [
        h("p", {}, `${Object.keys(plan).length} slots would move:`),
        h("ul", {}, ...lines.map((l) => h("li", {}, l))),
      ],
      path: (x) => `slots/rebalance/${x}/1`,
    });
  };
  const cancel = (/** @type {number} */ sid) =>
    ctx.act({
      title: "Cancel slot action",
      body: `Remove the pending action of slot ${sid}?`,
      path: (x) => `slots/action/remove/${x}/${sid}`,
    });

  const canvas = /** @type {HTMLCanvasElement} */ (h("canvas", { class: "slots" }));
  const tip = h("div", { class: "tip" }, "Hover the map to see a slot.");
  const legend = h(
    "div",
    { class: "legend" },
    ...Object.entries({
      default: "online",
      offline: "offline",
      pending: "pending",
      migrating: "migrating",
      target: "target",
    })
      .map(([k, label]) =>
        h(
          "span",
          {},
          h("i", { class: `sw-${k}`, title: SLOT_COLORS[/** @type {keyof typeof SLOT_COLORS} */ (k)] }),
          label,
        )
      ),
  );
  const counters = h(
    "div",
    { class: "muted" },
    [...counts.entries()].sort((a, b) => a[0] - b[0]).map(([g, n]) => `${g === 0 ? "offline" : `group ${g}`}: ${n}`)
      .join(" · "),
  );
  const progress = sa.slots ?? {};
  const actionRows = withAction.sort((a, b) => (a.action.index ?? 0) - (b.action.index ?? 0)).map((s) => {
    const p = progress[String(s.id)] ?? {};
    return h(
      "tr",
      {},
      h("td", {}, String(s.id)),
      h("td", {}, String(s.group_id)),
      h("td", {}, String(s.action.target_id ?? "")),
      h("td", {}, String(s.action.index ?? "")),
      h("td", { class: p.error ? "bad" : "" }, s.action.state, p.error ? ` (${p.error})` : ""),
      h("td", {}, p.keys_left !== undefined ? String(p.keys_left) : ""),
      h("td", {}, p.keys_per_sec !== undefined ? String(p.keys_per_sec) : ""),
      h("td", {}, p.held_by?.length ? `${p.held_by.length} proxies` : ""),
      h("td", {}, s.action.state === "pending" ? button("cancel", () => cancel(s.id), "small") : null),
    );
  });
  replace(
    el,
    h("h2", {}, "Slots"),
    h(
      "div",
      { class: "toolbar" },
      button("Migrate Range", migrateRange),
      button("Migrate Some", migrateSome),
      button("Rebalance All Slots", rebalance),
      h("span", { class: "sep" }),
      h("span", { class: sa.disabled ? "bad" : "good" }, `actions ${sa.disabled ? "disabled" : "enabled"}`),
      button(sa.disabled ? "Enable" : "Disable", toggle, "small"),
      h("span", {}, `interval ${sa.interval ?? 0} µs`),
      button("Set", interval, "small"),
      h("span", { class: "muted" }, `executors ${sa.executor ?? 0}`),
    ),
    sa.progress?.status ? h("div", { class: "muted" }, `status: ${sa.progress.status}`) : null,
    canvas,
    legend,
    tip,
    counters,
    h(
      "div",
      { class: "toolbar" },
      button(`${ui.showActions ? "Hide" : "Show"} Actions (${withAction.length})`, () => {
        ui.showActions = !ui.showActions;
        renderSlots(el, ctx);
      }),
      withAction.length ? h("span", { class: "muted" }, `slots: ${ranges(withAction.map((s) => s.id))}`) : null,
    ),
    ui.showActions
      ? h(
        "table",
        { class: "grid" },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ...["Slot", "Group", "Target", "Index", "State", "Keys left", "Keys/s", "Held by", ""].map((t) =>
              h("th", {}, t)
            ),
          ),
        ),
        h("tbody", {}, actionRows.length ? actionRows : h("tr", {}, h("td", { colspan: 9, class: "empty" }, "none"))),
      )
      : null,
  );
  // Drawn once the canvas is in the page, so that its width is known.
  const where = drawSlots(canvas, slots, groups);
  canvas.addEventListener("mousemove", (ev) => {
    const r = canvas.getBoundingClientRect();
    const hit = where(ev.clientX - r.left, ev.clientY - r.top);
    if (!hit) return;
    const s = slots.find((x) => x.id === hit.slot);
    const act = s?.action?.state ? `, ${s.action.state} → group ${s.action.target_id}` : "";
    replace(
      tip,
      s ? `slot ${s.id}: ${s.group_id === 0 ? "offline" : `group ${s.group_id}`}${act}` : `slot ${hit.slot}`,
    );
  });
}
