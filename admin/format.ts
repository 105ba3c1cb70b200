/**
 * codis-admin's output: JSON indented with four spaces (Go's `json.MarshalIndent(v, "", "    ")`), and the
 * status tables and rebalance plan in Codis's layout.
 * @module
 */
import type { ProxyModel, RaftStatusJson, TopomStats } from "../models/mod.ts";

/** Pretty JSON as Codis prints it (no trailing newline; the caller prints a line). */
export function prettyJson(v: unknown): string {
  return v === undefined ? "null" : JSON.stringify(v, null, "    ");
}

/** Go's `%0Nd`. */
function zeroPad(n: number, width: number): string {
  const s = String(Math.abs(n)).padStart(n < 0 ? Math.max(width - 1, 0) : width, "0");
  return n < 0 ? `-${s}` : s;
}

/** Go's `%-Ns`. */
function padRight(s: string, width: number): string {
  return s.padEnd(width, " ");
}

const digits = (n: number) => String(n).length;

/**
 * `--proxy-status`: one line per proxy, `[ ]` answered, `[E]` error, `[T]` timeout (or no stats), `[?]` not polled:
 * `[ ] proxy-1 [T] <token> [A] <admin addr> [P] <proxy addr>`, then ` [W] N` for a proxy whose writes wait for N
 * replicas (backend_write_acks).
 */
export function proxyStatusLines(s: TopomStats): string[] {
  const models: ProxyModel[] = s.proxy?.models ?? [];
  const stats = s.proxy?.stats ?? {};
  const wpid = Math.max(0, ...models.map((p) => digits(p.id ?? 0)));
  const wa = Math.max(0, ...models.map((p) => (p.admin_addr ?? "").length));
  const wp = Math.max(0, ...models.map((p) => (p.proxy_addr ?? "").length));
  return models.map((p) => {
    const st = stats[p.token];
    const mark = st === undefined || st === null
      ? "[?]"
      : st.error
      ? "[E]"
      : st.timeout || st.stats === undefined || st.stats === null
      ? "[T]"
      : "[ ]";
    const acks = (st?.stats as { backend?: { write_acks?: { replicas?: number } } } | undefined)?.backend?.write_acks
      ?.replicas ?? 0;
    return `${mark} proxy-${zeroPad(p.id ?? 0, wpid)} [T] ${p.token} [A] ${padRight(p.admin_addr ?? "", wa)}` +
      ` [P] ${padRight(p.proxy_addr ?? "", wp)}${acks > 0 ? ` [W] ${acks}` : ""}`;
  });
}

/**
 * `--group-status`: one line per server, `[ ] group-1 [0] <addr>      ==> NO:ONE`; `[X]` when the server's
 * replication (`master_addr:master_link_status`, or `NO:ONE`) differs from what the group expects.
 */
export function groupStatusLines(s: TopomStats): string[] {
  const groups = s.group?.models ?? [];
  const stats = s.group?.stats ?? {};
  let wgid = 0, widx = 0, waddr = 0;
  for (const g of groups) {
    wgid = Math.max(wgid, digits(g.id));
    g.servers.forEach((x, i) => {
      widx = Math.max(widx, digits(i));
      waddr = Math.max(waddr, x.server.length);
    });
  }
  const out: string[] = [];
  for (const g of groups) {
    g.servers.forEach((x, i) => {
      const head = `group-${zeroPad(g.id, wgid)} [${zeroPad(i, widx)}] ${padRight(x.server, waddr)}`;
      const st = stats[x.server];
      if (st === undefined || st === null) return out.push(`[?] ${head}`);
      if (st.error) return out.push(`[E] ${head}`);
      if (st.timeout || !st.stats) return out.push(`[T] ${head}`);
      const master = st.stats.master_addr !== undefined
        ? `${st.stats.master_addr}:${st.stats.master_link_status ?? ""}`
        : "NO:ONE";
      const expect = i === 0 ? "NO:ONE" : `${g.servers[0].server}:up`;
      out.push(`${master === expect ? "[ ]" : "[X]"} ${head}      ==> ${master}`);
    });
  }
  return out;
}

/**
 * `--rebalance`: the plan `{"<sid>": gid}` as ranges of consecutive slots going to one group,
 * `[0000,0255] => 1`, then `done`; `nothing changes` for an empty plan.
 */
export function rebalanceLines(plan: Record<string, number>): string[] {
  const sids = Object.keys(plan).map(Number).filter(Number.isInteger).sort((a, b) => a - b);
  if (sids.length === 0) return ["nothing changes"];
  const out: string[] = [];
  let gid = -1, beg = 0, end = -1;
  const flush = () => out.push(`[${zeroPad(beg, 4)},${zeroPad(end, 4)}] => ${gid}`);
  for (const sid of sids) {
    const to = plan[String(sid)];
    if (beg <= end) {
      if (sid === end + 1 && to === gid) {
        end = sid;
        continue;
      }
      flush();
    }
    beg = sid;
    end = sid;
    gid = to;
  }
  if (beg <= end) flush();
  out.push("done");
  return out;
}

/** Whether `v` has the shape of a Raft node status: checks the fields codis-admin cannot print without. */
export function isRaftStatus(v: unknown): v is RaftStatusJson {
  const s = v as RaftStatusJson;
  return typeof s === "object" && s !== null && typeof s.id === "number" && typeof s.term === "number" &&
    Array.isArray(s.members);
}

/**
 * `--raft-status`: a summary line of the node asked, then a table of members with their role, addresses and,
 * from the leader's view, replicated index, lag in entries and liveness (`-` where unknown).
 */
export function raftStatusLines(s: RaftStatusJson): string[] {
  const leader = s.leader ? `${s.leader} (${s.leaderApiAddr ?? s.leaderAddr ?? "?"})` : "none";
  const head = `node ${s.id}: ${s.role}, term ${s.term}, leader ${leader}, commit ${s.commit}, applied ${s.applied}` +
    (s.lastIndex !== undefined ? `, last ${s.lastIndex}` : "");
  const rows = [["id", "role", "raft addr", "api addr", "match", "lag", "active"]];
  for (const m of [...s.members].sort((a, b) => a.id - b.id)) {
    const role = !m.voter ? "learner" : m.id === s.leader ? "leader" : "follower";
    const opt = (v: number | undefined) => (v === undefined ? "-" : String(v));
    rows.push([
      String(m.id),
      role,
      m.addr ?? "-",
      m.apiAddr ?? "-",
      opt(m.match),
      opt(m.lag),
      m.active === undefined ? "-" : m.active ? "yes" : "no",
    ]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return [head, ...rows.map((r) => r.map((v, c) => (c === r.length - 1 ? v : v.padEnd(widths[c]))).join("  "))];
}

/** A slot's entry in the stats `slot_action.slots` (with our `paused` flag). */
interface SlotActionView {
  state?: string;
  keys_left?: number;
  error?: string;
  paused?: boolean;
  held_by?: string[];
}

/**
 * `--slot-action --status` (ours): the switches, Codis's progress line, then one line per slot with an action in
 * the order they run, `[ ] slot-0042 1 => 2 migrating keys_left=10`; `[P]` paused on a key (resume it once the
 * cause is fixed), `[E]` the last run failed (retried by itself), each followed by `==> reason`.
 */
export function slotActionStatusLines(s: TopomStats): string[] {
  const sa = s.slot_action;
  const out = [
    `slot-action: disabled = ${sa?.disabled ?? false}, interval = ${sa?.interval ?? 0} us, ` +
    `executors = ${sa?.executor ?? 0}`,
  ];
  if (sa?.progress?.status) out.push(`progress: ${sa.progress.status}`);
  const views = (sa?.slots ?? {}) as Record<string, SlotActionView>;
  const slots = (s.slots ?? []).filter((m) => m.action?.state)
    .sort((a, b) => (a.action.index ?? 0) - (b.action.index ?? 0) || a.id - b.id);
  if (slots.length === 0) out.push("no slot actions");
  for (const m of slots) {
    const v = views[String(m.id)] ?? {};
    const mark = v.paused ? "[P]" : v.error ? "[E]" : "[ ]";
    let line = `${mark} slot-${zeroPad(m.id, 4)} ${m.group_id} => ${m.action.target_id ?? 0} ${m.action.state}`;
    if (v.keys_left !== undefined) line += ` keys_left=${v.keys_left}`;
    if (v.held_by?.length) line += ` held_by=${v.held_by.join(",")}`;
    out.push(line);
    if (v.paused) out.push(`      ==> paused: ${v.error ?? "?"} (then: --slot-action --resume --sid=${m.id})`);
    else if (v.error) out.push(`      ==> ${v.error}`);
  }
  return out;
}
