// Proxy table: add, reinit (SYNC), remove and force-remove; status, sessions and commands per proxy.
import { button, h, jsonLink, replace } from "../dom.js";
import { proxyStatus } from "../format.js";

/**
 * @param {HTMLElement} el
 * @param {import("../app.js").ViewCtx} ctx
 */
export function renderProxies(el, ctx) {
  const stats = ctx.topom?.stats ?? {};
  const models = [...(stats.proxy?.models ?? [])].sort((a, b) => (a.id ?? 0) - (b.id ?? 0));
  const acks = stats.proxy?.acks ?? {};
  const revision = stats.revision;
  const add = async () => {
    const v = await ctx.ask("New proxy", [{ name: "addr", label: "admin address", placeholder: "127.0.0.1:11080" }]);
    if (!v) return;
    await ctx.act({
      title: "Add proxy",
      body: `Add the proxy whose admin address is ${v.addr}?`,
      path: (x) => `proxy/create/${x}/${encodeURIComponent(v.addr)}`,
    });
  };
  const rows = models.map((p) => {
    const s = stats.proxy?.stats?.[p.token];
    const status = proxyStatus(s);
    const st = s?.stats;
    const switched = !!st?.sentinels?.switched;
    const ack = acks[p.token];
    const behind = ack && revision !== undefined && ack.revision < revision;
    const reinit = () =>
      ctx.act({
        title: "Reinit proxy",
        body: `Send every slot again to proxy ${p.proxy_addr} (its next long-poll answer carries all 1024 slots)?`,
        danger: switched,
        path: (x) => `proxy/reinit/${x}/${encodeURIComponent(p.token)}`,
      });
    const remove = (/** @type {boolean} */ force) =>
      ctx.act({
        title: force ? "Force-remove proxy" : "Remove proxy",
        body: `${force ? "Force-remove" : "Remove"} proxy ${p.proxy_addr} (admin ${p.admin_addr}) from the product?`,
        danger: force,
        path: (x) => `proxy/remove/${x}/${encodeURIComponent(p.token)}/${force ? 1 : 0}`,
      });
    return h(
      "tr",
      {},
      h("td", {}, String(p.id ?? "")),
      h(
        "td",
        { class: "links" },
        jsonLink("F", `http://${p.admin_addr}/proxy`, "the proxy's overview"),
        " ",
        jsonLink("S", `http://${p.admin_addr}/proxy/stats`, "the proxy's stats"),
      ),
      h("td", {}, p.proxy_addr),
      h(
        "td",
        { class: switched ? "bad" : "" },
        p.admin_addr,
        st?.backend?.primary_only ? h("span", { class: "tag", title: "backend_primary_only" }, " S") : null,
        st?.backend?.write_acks?.replicas > 0
          ? h(
            "span",
            {
              class: "tag",
              title: `backend_write_acks: writes wait for ${st.backend.write_acks.replicas} replica(s); ` +
                `waits=${st.backend.write_acks.waits ?? 0}, timeouts=${st.backend.write_acks.timeouts ?? 0}`,
            },
            ` W${st.backend.write_acks.replicas}`,
          )
          : null,
        switched ? h("span", { title: "a sentinel switched a master" }, " [HA]") : null,
      ),
      h("td", {}, button("SYNC", reinit, status === "PENDING" || switched ? "danger small" : "small")),
      h("td", {}, p.datacenter || ""),
      h("td", {}, st ? `total=${st.sessions?.total ?? 0},alive=${st.sessions?.alive ?? 0}` : ""),
      h(
        "td",
        {},
        st
          ? `total=${st.ops?.total ?? 0},fails=${st.ops?.fails ?? 0},rsp.errs=${st.ops?.redis?.errors ?? 0},qps=${
            st.ops?.qps ?? 0
          }`
          : "",
      ),
      h(
        "td",
        { class: behind ? "warn" : "" },
        ack ? String(ack.revision) : "-",
        behind ? h("span", { title: `the model is at revision ${revision}` }, " (behind)") : null,
      ),
      h(
        "td",
        { class: `status ${status.toLowerCase()}`, title: s?.error?.Cause ?? "" },
        status,
      ),
      h(
        "td",
        {},
        button("✕", () => remove(false), "small", "remove"),
        status === "ERROR" || status === "TIMEOUT" ? button("force", () => remove(true), "danger small") : null,
      ),
    );
  });
  replace(
    el,
    h("h2", {}, "Proxy", " ", button("New Proxy", add)),
    h(
      "table",
      { class: "grid" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ...["Id", "", "Proxy", "Admin", "", "DC", "Sessions", "Commands", "Applied rev", "Status", ""].map((t) =>
            h("th", {}, t)
          ),
        ),
      ),
      h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: 11, class: "empty" }, "no proxies"))),
    ),
  );
}
