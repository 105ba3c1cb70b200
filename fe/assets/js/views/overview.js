// Overview: product, coordinator, Σ QPS and sessions over proxies, Σ memory and keys over masters, the dashboard.
import { sparkline } from "../charts.js";
import { h, jsonLink, replace } from "../dom.js";
import { bytes, overview } from "../format.js";

/** How many refreshes of QPS the sparkline shows (app.js keeps as many). */
export const QPS_HISTORY = 20;

/**
 * @param {HTMLElement} el
 * @param {import("../app.js").ViewCtx} ctx
 * @param {number[]} qpsHistory
 */
export function renderOverview(el, ctx, qpsHistory) {
  const o = overview(ctx.topom);
  const raft = ctx.raft;
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("class", "spark");
  sparkline(/** @type {SVGSVGElement} */ (svg), qpsHistory, QPS_HISTORY);
  const row = (/** @type {string} */ k, /** @type {any[]} */ ...v) => h("tr", {}, h("th", {}, k), h("td", {}, ...v));
  const raftText = raft
    ? `leader ${raft.leader || "none"}${raft.leaderApiAddr ? ` (${raft.leaderApiAddr})` : ""}, term ${raft.term}, ` +
      `${(raft.members ?? []).length} members, commit ${raft.commit}`
    : null;
  replace(
    el,
    h("h2", {}, "Overview"),
    h(
      "div",
      { class: "overview" },
      h(
        "table",
        { class: "kv" },
        row("Product", h("strong", {}, o.product)),
        row("Coordinator", o.coordinator || "-"),
        raftText ? row("Raft", raftText) : null,
        row("Dashboard", jsonLink(o.dashboard || "-", ctx.link("/topom"), "the dashboard's overview JSON")),
        row("Version", o.version),
      ),
      h(
        "table",
        { class: "kv" },
        row("QPS", h("strong", {}, String(o.qps)), " ", svg),
        row("Sessions", `${o.sessions} alive on ${o.healthy}/${o.proxies} healthy proxies`),
        row("Memory", `${bytes(o.memory)} (masters of ${o.groups} groups)`),
        row("Keys", String(o.keys)),
      ),
    ),
  );
}
