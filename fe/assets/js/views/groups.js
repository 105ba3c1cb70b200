// Groups: new group, add server, resync all, replica groups on/off; per group resync and remove; per server the
// HA view, replication, replica-group switch, sync action (SLAVEOF), memory, keys, promote and remove.
import { button, h, jsonLink, replace } from "../dom.js";
import { bytes, haStatus, infoKeys, redisStatus, replication } from "../format.js";

/**
 * @param {HTMLElement} el
 * @param {import("../app.js").ViewCtx} ctx
 */
export function renderGroups(el, ctx) {
  const stats = ctx.topom?.stats ?? {};
  /** @type {any[]} */
  const groups = [...(stats.group?.models ?? [])].sort((a, b) => a.id - b.id);
  const masters = stats.sentinels?.masters ?? {};

  const newGroup = async () => {
    const v = await ctx.ask("New group", [{ name: "gid", label: "group id", type: "number", min: 1, max: 9999 }]);
    if (!v) return;
    await ctx.act({ title: "New group", body: `Create group ${v.gid}?`, path: (x) => `group/create/${x}/${v.gid}` });
  };
  const addServer = async (/** @type {string} */ gid = "") => {
    const v = await ctx.ask("Add server", [
      { name: "addr", label: "server address", placeholder: "127.0.0.1:6379" },
      { name: "dc", label: "datacenter", required: false },
      { name: "gid", label: "group id", type: "number", min: 1, max: 9999, value: gid },
    ]);
    if (!v) return;
    const dc = v.dc ? `/${encodeURIComponent(v.dc)}` : "";
    await ctx.act({
      title: "Add server",
      body: `Add ${v.addr}${v.dc ? ` (datacenter ${v.dc})` : ""} to group ${v.gid}?`,
      path: (x) => `group/add/${x}/${v.gid}/${encodeURIComponent(v.addr)}${dc}`,
    });
  };
  const resyncAll = () =>
    ctx.act({
      title: "Resync all groups",
      body: "Tell every proxy the current master of every group again?",
      path: (x) => `group/resync-all/${x}`,
    });
  const replicaAll = (/** @type {boolean} */ on) =>
    ctx.act({
      title: `${on ? "Enable" : "Disable"} replica reads`,
      body: `${on ? "Enable" : "Disable"} replica groups on every server of every group?`,
      path: (x) => `group/replica-groups-all/${x}/${on ? 1 : 0}`,
    });

  const cards = groups.map((g) => {
    const master = g.servers[0]?.server ?? "";
    const ha = masters[String(g.id)];
    const haForeign = ha && !g.servers.some((/** @type {any} */ s) => s.server === ha);
    const resync = () =>
      ctx.act({
        title: `Resync group ${g.id}`,
        body: `Tell every proxy group ${g.id}'s master (${master || "none"}) again?`,
        danger: g.out_of_sync,
        path: (x) => `group/resync/${x}/${g.id}`,
      });
    const remove = () =>
      ctx.act({ title: "Remove group", body: `Remove group ${g.id}?`, path: (x) => `group/remove/${x}/${g.id}` });
    const rows = g.servers.map((/** @type {any} */ s, /** @type {number} */ i) => serverRow(ctx, g, s, i, master, ha));
    return h(
      "div",
      { class: "group" },
      h(
        "div",
        { class: "group-head" },
        h("strong", {}, `Group ${g.id}`),
        g.out_of_sync ? h("span", { class: "bad" }, " OUT OF SYNC") : null,
        g.promoting?.state ? h("span", { class: "warn" }, ` promoting: ${g.promoting.state}`) : null,
        haForeign ? h("span", { class: "bad" }, ` [HA] the sentinels' master ${ha} is not in this group`) : null,
        h("span", { class: "sep" }),
        button("SYNC", resync, g.out_of_sync ? "danger small" : "small", "resync this group's master to the proxies"),
        button("Add Server", () => addServer(String(g.id)), "small"),
        g.servers.length === 0 ? button("Remove", remove, "small") : null,
      ),
      h(
        "table",
        { class: "grid" },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ...["", "Server", "DC", "Master", "Replica", "Sync", "Memory", "Keys", "Status", ""].map((t) =>
              h("th", {}, t)
            ),
          ),
        ),
        h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: 10, class: "empty" }, "no servers"))),
      ),
    );
  });
  replace(
    el,
    h(
      "h2",
      {},
      "Group",
      " ",
      button("New Group", newGroup),
      button("Add Server", () => addServer()),
      button("GROUPS: SYNC ALL", resyncAll),
      button("REPLICA(S): ENABLE ALL", () => replicaAll(true)),
      button("DISABLE ALL", () => replicaAll(false)),
    ),
    cards.length ? cards : h("p", { class: "empty" }, "no groups"),
  );
}

/**
 * One server of a group.
 * @param {import("../app.js").ViewCtx} ctx
 * @param {any} g
 * @param {any} s
 * @param {number} i
 * @param {string} master
 * @param {string | undefined} ha
 */
function serverRow(ctx, g, s, i, master, ha) {
  const st = ctx.topom?.stats?.group?.stats?.[s.server];
  const info = st?.stats;
  const status = redisStatus(st);
  const rep = replication(info, master, i);
  const haCls = haStatus(ha, s.server, i);
  const keys = infoKeys(info);
  const maxmem = Number(info?.maxmemory ?? 0);
  const action = s.action?.state
    ? s.action.state === "pending" ? `pending:${s.action.index ?? ""}` : s.action.state
    : "";
  const addr = encodeURIComponent(s.server);
  const promote = () =>
    ctx.act({
      title: "Promote server",
      body: `Make ${s.server} the master of group ${g.id} (the current master ${master} becomes a replica)?`,
      danger: true,
      path: (x) => `group/promote/${x}/${g.id}/${addr}`,
    });
  const del = () =>
    ctx.act({
      title: "Remove server",
      body: `Remove ${s.server} from group ${g.id}?`,
      path: (x) => `group/del/${x}/${g.id}/${addr}`,
    });
  const sync = () =>
    ctx.act({
      title: "Sync server",
      body: i === 0
        ? `Make ${s.server} a master (SLAVEOF NO ONE)?`
        : `Make ${s.server} a replica of ${master} (SLAVEOF)?`,
      path: (x) => `group/action/create/${x}/${addr}`,
    });
  const cancelSync = () =>
    ctx.act({
      title: "Cancel sync",
      body: `Cancel the pending sync action of ${s.server}?`,
      path: (x) => `group/action/remove/${x}/${addr}`,
    });
  const replica = (/** @type {Event} */ ev) => {
    const on = /** @type {HTMLInputElement} */ (ev.target).checked;
    /** @type {HTMLInputElement} */ (ev.target).checked = !on; // the next refresh shows the stored value
    ctx.act({
      title: `${on ? "Enable" : "Disable"} replica reads`,
      body: `${on ? "Let" : "Stop"} proxies ${on ? "read from" : "reading from"} ${s.server}?`,
      path: (x) => `group/replica-groups/${x}/${g.id}/${addr}/${on ? 1 : 0}`,
    });
  };
  return h(
    "tr",
    {},
    h("td", { class: "links" }, jsonLink("S", ctx.link(`/api/topom/group/info/${addr}`), "the server's INFO")),
    h("td", { class: haCls, title: haCls }, s.server, ha === s.server ? " [HA]" : ""),
    h("td", {}, s.datacenter || ""),
    h("td", { class: rep.ok ? "good" : "bad" }, rep.text),
    h(
      "td",
      {},
      h("input", { type: "checkbox", checked: !!s.replica_group, onchange: replica, title: "replica group" }),
    ),
    h(
      "td",
      {},
      action ? h("span", { class: "warn" }, action, " ") : null,
      s.action?.state === "pending"
        ? button("cancel", cancelSync, "small")
        : button("SLAVEOF", sync, rep.ok ? "small" : "danger small", "sync the server's replication to the group"),
    ),
    h("td", {}, info ? `${bytes(Number(info.used_memory ?? 0))} / ${maxmem === 0 ? "INF." : bytes(maxmem)}` : ""),
    h("td", { title: `${keys.dbs} non-empty databases` }, info ? String(keys.keys) : ""),
    h("td", { class: `status ${status.toLowerCase()}`, title: st?.error?.Cause ?? "" }, status),
    h(
      "td",
      {},
      i > 0 ? button("PROMOTE", promote, "small") : null,
      button("✕", del, "small", "remove from the group"),
    ),
  );
}
