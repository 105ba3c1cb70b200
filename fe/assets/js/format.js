// Pure helpers that turn the dashboard's overview JSON (GET /topom) into what the page shows. No DOM: Deno tests
// import this module.

/**
 * "1.5 GB"-style size.
 * @param {number} n bytes
 */
export function bytes(n) {
  if (!Number.isFinite(n) || n < 0) return "-";
  const units = ["B", "KB", "MB", "GB", "TB", "PB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(2)} ${units[i]}`;
}

/**
 * Keys of a server over all its databases, from INFO's `dbN:keys=K,expires=E,...` fields.
 * @param {Record<string, string> | undefined} info
 */
export function infoKeys(info) {
  let keys = 0, dbs = 0;
  for (const [k, v] of Object.entries(info ?? {})) {
    if (!/^db\d+$/.test(k)) continue;
    const m = /(?:^|,)keys=(\d+)/.exec(v);
    if (m) {
      keys += Number(m[1]);
      dbs++;
    }
  }
  return { keys, dbs };
}

/**
 * A proxy's status as Codis's page names it.
 * @param {any} s the proxy's entry of stats.proxy.stats
 * @returns {"HEALTHY" | "PENDING" | "TIMEOUT" | "ERROR"}
 */
export function proxyStatus(s) {
  if (!s) return "PENDING";
  if (s.timeout) return "TIMEOUT";
  if (s.error) return "ERROR";
  return s.stats?.online ? "HEALTHY" : "PENDING";
}

/**
 * A server's or sentinel's status from its stats entry.
 * @param {any} s
 */
export function redisStatus(s) {
  if (!s) return "PENDING";
  if (s.timeout) return "TIMEOUT";
  if (s.error) return "ERROR";
  return "HEALTHY";
}

/**
 * Overview figures: Σ proxies' QPS and alive sessions, Σ masters' memory and keys.
 * @param {any} topom GET /topom
 */
export function overview(topom) {
  const stats = topom?.stats ?? {};
  const cfg = topom?.config ?? {};
  let qps = 0, sessions = 0, proxies = 0, healthy = 0;
  for (const p of stats.proxy?.models ?? []) {
    proxies++;
    const s = stats.proxy?.stats?.[p.token];
    if (proxyStatus(s) !== "HEALTHY") continue;
    healthy++;
    qps += Number(s.stats.ops?.qps ?? 0);
    sessions += Number(s.stats.sessions?.alive ?? 0);
  }
  let memory = 0, keys = 0;
  const groups = stats.group?.models ?? [];
  for (const g of groups) {
    const master = g.servers?.[0]?.server;
    const info = master ? stats.group?.stats?.[master]?.stats : undefined;
    if (!info) continue;
    memory += Number(info.used_memory ?? 0);
    keys += infoKeys(info).keys;
  }
  const coordName = cfg.coordinator_name ?? "";
  const coordAddr = coordName === "raft" ? cfg.raft_peers ?? "" : cfg.coordinator_addr ?? "";
  return {
    product: topom?.model?.product_name ?? cfg.product_name ?? "",
    coordinator: coordAddr ? `${coordName} @ ${coordAddr}` : coordName,
    qps,
    sessions,
    proxies,
    healthy,
    memory,
    keys,
    groups: groups.length,
    dashboard: topom?.model?.admin_addr ?? "",
    version: topom?.version ?? "",
  };
}

/**
 * Contiguous slot ranges, e.g. [0,1,2,5] → "0-2, 5".
 * @param {number[]} ids
 */
export function ranges(ids) {
  const s = [...ids].sort((a, b) => a - b);
  const out = [];
  for (let i = 0; i < s.length;) {
    let j = i;
    while (j + 1 < s.length && s[j + 1] === s[j] + 1) j++;
    out.push(i === j ? `${s[i]}` : `${s[i]}-${s[j]}`);
    i = j + 1;
  }
  return out.join(", ");
}

/**
 * A rebalance plan `{sid: gid}` as lines "group G ← N slots (ranges)".
 * @param {Record<string, number>} plan
 */
export function describePlan(plan) {
  /** @type {Map<number, number[]>} */
  const by = new Map();
  for (const [sid, gid] of Object.entries(plan ?? {})) {
    const list = by.get(Number(gid)) ?? [];
    list.push(Number(sid));
    by.set(Number(gid), list);
  }
  return [...by.entries()].sort((a, b) => a[0] - b[0]).map(([g, ids]) =>
    `group ${g} ← ${ids.length} slot${ids.length === 1 ? "" : "s"} (${ranges(ids)})`
  );
}

/**
 * Per group id, the number of slots it holds (0 = offline).
 * @param {{id: number, group_id: number}[]} slots
 */
export function slotCounts(slots) {
  /** @type {Map<number, number>} */
  const m = new Map();
  for (const s of slots ?? []) m.set(s.group_id, (m.get(s.group_id) ?? 0) + 1);
  return m;
}

/**
 * A sentinel's summary from its monitored masters: `masters=N,down=N,slaves=avg,sentinels=avg`.
 * @param {Record<string, {master: Record<string, string>}> | undefined} monitored
 */
export function sentinelSummary(monitored) {
  const list = Object.values(monitored ?? {});
  const n = list.length;
  let down = 0, slaves = 0, sentinels = 0;
  for (const { master } of list) {
    if (/(^|,)(s_down|o_down|down)(,|$)/.test(master.flags ?? "")) down++;
    slaves += Number(master["num-slaves"] ?? 0);
    sentinels += Number(master["num-other-sentinels"] ?? 0) + 1;
  }
  const avg = (/** @type {number} */ x) => (n === 0 ? 0 : Math.round((x / n) * 100) / 100);
  return `masters=${n},down=${down},slaves=${avg(slaves)},sentinels=${avg(sentinels)}`;
}

/**
 * How a group server relates to the master the sentinels agree on (Codis's ha_* classes).
 * @param {string | undefined} haMaster
 * @param {string} server
 * @param {number} index
 */
export function haStatus(haMaster, server, index) {
  if (!haMaster) return "ha_undefined";
  if (server === haMaster) return index === 0 ? "ha_master" : "ha_real_master";
  return index === 0 ? "ha_not_master" : "ha_slave";
}

/**
 * A server's replication as seen in its INFO: "NO:ONE" for a master, "host:port:up|down" for a replica, and
 * whether that is what the group expects (index 0 a master, others replicas of index 0 with the link up).
 * @param {Record<string, string> | undefined} info
 * @param {string} groupMaster
 * @param {number} index
 */
export function replication(info, groupMaster, index) {
  if (!info) return { text: "-", ok: false };
  if (!info.master_addr) return { text: "NO:ONE", ok: index === 0 };
  const link = info.master_link_status ?? "down";
  return {
    text: `${info.master_addr}:${link}`,
    ok: index !== 0 && info.master_addr === groupMaster && link === "up",
  };
}
