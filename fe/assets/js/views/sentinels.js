// Sentinels: add, remove (and force-remove), SYNC (resync every sentinel); per sentinel its status and what it
// monitors for this product, with a warning when its masters differ from the groups' masters.
import { button, h, jsonLink, replace } from "../dom.js";
import { redisStatus, sentinelSummary } from "../format.js";

/**
 * @param {HTMLElement} el
 * @param {import("../app.js").ViewCtx} ctx
 */
export function renderSentinels(el, ctx) {
  const stats = ctx.topom?.stats ?? {};
  const model = stats.sentinels?.model ?? { servers: [], out_of_sync: false };
  const product = ctx.product;
  /** @type {Map<string, string>} */
  const groupMaster = new Map(
    (stats.group?.models ?? []).map((/** @type {any} */ g) => [String(g.id), g.servers[0]?.server ?? ""]),
  );
  const add = async () => {
    const v = await ctx.ask("Add sentinel", [{
      name: "addr",
      label: "sentinel address",
      placeholder: "127.0.0.1:26379",
    }]);
    if (!v) return;
    await ctx.act({
      title: "Add sentinel",
      body: `Add sentinel ${v.addr}? (Then SYNC to make it watch the groups.)`,
      path: (x) => `sentinels/add/${x}/${encodeURIComponent(v.addr)}`,
    });
  };
  const sync = () =>
    ctx.act({
      title: "Resync sentinels",
      body: "Make every sentinel watch exactly this product's group masters (SENTINEL REMOVE, then MONITOR)?",
      danger: model.out_of_sync,
      path: (x) => `sentinels/resync-all/${x}`,
    });
  const rows = (model.servers ?? []).map((/** @type {string} */ addr) => {
    const st = stats.sentinels?.stats?.[addr];
    const status = redisStatus(st);
    const enc = encodeURIComponent(addr);
    const diffs = [];
    for (const [name, info] of Object.entries(st?.sentinel ?? {})) {
      const gid = name.slice(product.length + 1);
      const m = /** @type {any} */ (info).master;
      const seen = `${m.ip}:${m.port}`;
      if (groupMaster.get(gid) !== seen) diffs.push(`[-]group=${gid},server=${seen},runid=${m.runid ?? ""}`);
    }
    for (const [gid, server] of groupMaster) {
      if (server && st?.sentinel && !(`${product}-${gid}` in st.sentinel)) {
        diffs.push(`[+]group=${gid},server=${server}`);
      }
    }
    const remove = (/** @type {boolean} */ force) =>
      ctx.act({
        title: force ? "Force-remove sentinel" : "Remove sentinel",
        body: `${force ? "Force-remove" : "Remove"} sentinel ${addr} (SENTINEL REMOVE of this product's masters${
          force ? ", ignoring failures" : ""
        })?`,
        danger: force,
        path: (x) => `sentinels/del/${x}/${enc}/${force ? 1 : 0}`,
      });
    return h(
      "tr",
      {},
      h(
        "td",
        { class: "links" },
        jsonLink("WATCHED", ctx.link(`/api/topom/sentinels/info/${enc}/monitored`), "masters it monitors"),
        " ",
        jsonLink("S", ctx.link(`/api/topom/sentinels/info/${enc}`), "the sentinel's INFO"),
      ),
      h("td", {}, addr),
      h("td", { class: `status ${status.toLowerCase()}`, title: st?.error?.Cause ?? "" }, status),
      h("td", {}, st?.sentinel ? sentinelSummary(st.sentinel) : ""),
      // One difference a line: several groups' worth on one line ran past the window's edge.
      h("td", { class: diffs.length ? "bad diffs" : "diffs" }, ...diffs.map((d) => h("div", {}, d))),
      h(
        "td",
        {},
        button("✕", () => remove(false), "small", "remove"),
        status !== "HEALTHY" ? button("force", () => remove(true), "danger small") : null,
      ),
    );
  });
  replace(
    el,
    h(
      "h2",
      {},
      "Sentinels",
      " ",
      button("Add Sentinel", add),
      button("SYNC", sync, model.out_of_sync ? "danger" : "", "resync every sentinel"),
      model.out_of_sync ? h("span", { class: "bad small" }, " out of sync") : null,
    ),
    h(
      "table",
      { class: "grid" },
      h(
        "thead",
        {},
        h("tr", {}, ...["", "Sentinel", "Status", "Monitored", "Differences", ""].map((t) => h("th", {}, t))),
      ),
      h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: 6, class: "empty" }, "no sentinels"))),
    ),
  );
}
