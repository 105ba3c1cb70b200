/**
 * The dashboard's `GET /metrics` (Prometheus text format 0.0.4, no auth, like the proxy's): Raft role, term and each
 * member's commit lag; slots and slot actions by state; proxies with their health and how far their applied
 * revision trails the model; groups and servers with their health and replication. Every dashboard answers; the
 * poller's figures (proxies' and servers' health) come from the active (leader) dashboard only, so a follower
 * exports its Raft and model figures and `codis_dashboard_active 0`. deploy/monitoring/ builds on these names.
 * @module
 */
import type { Topom } from "./topom.ts";

/** The Prometheus text exposition format's content type. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

type Labels = Record<string, string | number>;

const esc = (v: string | number) => String(v).replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');

/** Collects families and samples in order. */
class Text {
  readonly lines: string[] = [];
  family(name: string, type: "gauge" | "counter", help: string): void {
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  }
  sample(name: string, labels: Labels, v: number): void {
    const l = Object.entries(labels).map(([k, x]) => `${k}="${esc(x)}"`).join(",");
    this.lines.push(`${name}${l ? `{${l}}` : ""} ${Number.isFinite(v) ? v : 0}`);
  }
  one(name: string, help: string, v: number, labels: Labels = {}): void {
    this.family(name, "gauge", help);
    this.sample(name, labels, v);
  }
}

/** Slot action states, in the order a move goes through them. */
const ACTION_STATES = ["pending", "preparing", "prepared", "migrating", "finished"] as const;

/** Renders the dashboard's metrics. */
export function renderDashboardMetrics(t: Topom): string {
  const w = new Text();
  const product = t.config.product_name;
  w.one("codis_dashboard_info", "Dashboard identity; the value is always 1.", 1, {
    product_name: product,
    admin_addr: t.model.admin_addr,
  });
  w.one(
    "codis_dashboard_active",
    "1 on the active dashboard (the Raft leader, or the lock holder), else 0.",
    +t.isLeader(),
  );
  w.one("codis_dashboard_model_revision", "Revision of the model this dashboard has applied.", t.cache.revision);

  const raft = t.coord.raft?.status();
  if (raft) {
    w.family("codis_dashboard_raft_role", "gauge", "1 for this member's Raft role.");
    for (const role of ["leader", "follower", "candidate", "learner"]) {
      w.sample("codis_dashboard_raft_role", { role }, +(raft.role === role));
    }
    w.one("codis_dashboard_raft_has_leader", "1 when this member knows a Raft leader, else 0.", +(raft.leader > 0));
    w.one("codis_dashboard_raft_term", "Current Raft term.", raft.term);
    w.one("codis_dashboard_raft_commit_index", "Highest log index known committed.", raft.commit);
    w.one("codis_dashboard_raft_applied_index", "Highest log index applied here.", raft.applied);
    w.one("codis_dashboard_raft_members", "Members in the configuration, voters and learners.", raft.members.length);
    if (raft.role === "leader") {
      w.family("codis_dashboard_raft_member_lag_entries", "gauge", "Leader only: entries a member is behind.");
      for (const m of raft.members) {
        w.sample("codis_dashboard_raft_member_lag_entries", { member: m.id, voter: +m.voter }, m.lag ?? 0);
      }
      w.family("codis_dashboard_raft_member_active", "gauge", "Leader only: 1 when heard from recently.");
      for (const m of raft.members) {
        w.sample("codis_dashboard_raft_member_active", { member: m.id, voter: +m.voter }, +(m.active ?? true));
      }
    }
  }
  if (!t.ready) return w.lines.join("\n") + "\n";

  const ctx = t.context();
  const slotStates = new Map<string, number>(ACTION_STATES.map((s) => [s, 0]));
  let offline = 0;
  let paused = 0;
  for (const s of ctx.slots) {
    if (s.group_id === 0 && !s.action.state) offline++;
    if (s.action.state) slotStates.set(s.action.state, (slotStates.get(s.action.state) ?? 0) + 1);
    if (s.action.state === "migrating" && t.executor.progress(s.id)?.paused) paused++;
  }
  w.one("codis_dashboard_slots_offline", "Slots in no group (offline).", offline);
  w.family("codis_dashboard_slot_actions", "gauge", "Slots with an action, by the action's state.");
  for (const [state, n] of slotStates) w.sample("codis_dashboard_slot_actions", { state }, n);
  w.one("codis_dashboard_slot_actions_paused", "Migrating slots paused on a key (see --slot-action --status).", paused);
  w.one("codis_dashboard_slot_actions_disabled", "1 when slot actions are disabled by the operator.", +t.disabled);

  // Proxies: the poller's view (leader only) and how far each trails the model revision.
  const now = Date.now();
  w.one("codis_dashboard_proxies", "Proxies in the model.", ctx.proxies.size);
  w.family("codis_dashboard_proxy_up", "gauge", "1 when the proxy's stats answered at the last poll (leader only).");
  const proxies = [...ctx.proxies.values()].sort((a, b) => (a.id ?? 0) - (b.id ?? 0));
  const plabels = (p: { token: string; admin_addr: string }) => ({ token: p.token, admin_addr: p.admin_addr });
  for (const p of proxies) {
    const s = t.stats.proxies[p.token];
    w.sample("codis_dashboard_proxy_up", plabels(p), +(!!s && !s.error && !s.timeout));
  }
  w.family("codis_dashboard_proxy_revision_lag", "gauge", "Model revisions the proxy has not applied yet.");
  for (const p of proxies) {
    const ack = t.acks.get(p.token);
    w.sample("codis_dashboard_proxy_revision_lag", plabels(p), ack ? Math.max(0, t.cache.revision - ack.revision) : 0);
  }
  w.family("codis_dashboard_proxy_last_seen_seconds", "gauge", "Seconds since the proxy's last long-poll.");
  for (const p of proxies) {
    const ack = t.acks.get(p.token);
    w.sample("codis_dashboard_proxy_last_seen_seconds", plabels(p), ack ? (now - ack.last_seen) / 1000 : -1);
  }

  // Groups and servers.
  const groups = [...ctx.groups.values()].sort((a, b) => a.id - b.id);
  w.one("codis_dashboard_groups", "Groups in the model.", groups.length);
  w.family("codis_dashboard_group_out_of_sync", "gauge", "1 when the group's servers changed since the last resync.");
  for (const g of groups) w.sample("codis_dashboard_group_out_of_sync", { gid: g.id }, +g.out_of_sync);
  w.family("codis_dashboard_group_promoting", "gauge", "1 while the group is promoting a replica.");
  for (const g of groups) w.sample("codis_dashboard_group_promoting", { gid: g.id }, +!!g.promoting.state);
  const servers = groups.flatMap((g) =>
    g.servers.map((s, i) => ({ gid: g.id, addr: s.server, role: i === 0 ? "master" : "replica", g }))
  );
  const info = (addr: string) => {
    const s = t.stats.servers[addr];
    return s && !s.error && !s.timeout ? s.stats : undefined;
  };
  w.family("codis_dashboard_server_up", "gauge", "1 when the server answered INFO at the last poll (leader only).");
  for (const s of servers) {
    w.sample("codis_dashboard_server_up", { gid: s.gid, addr: s.addr, role: s.role }, +!!info(s.addr));
  }
  const replicas = servers.filter((s) => s.role === "replica");
  w.family("codis_dashboard_server_master_link_up", "gauge", "Replicas: 1 when the link to the master is up.");
  for (const s of replicas) {
    w.sample(
      "codis_dashboard_server_master_link_up",
      { gid: s.gid, addr: s.addr },
      +(info(s.addr)?.master_link_status === "up"),
    );
  }
  w.family("codis_dashboard_server_replication_lag_bytes", "gauge", "Replicas: master offset minus this offset.");
  for (const s of replicas) {
    const master = info(s.g.servers[0].server);
    const lag = Number(master?.master_repl_offset ?? NaN) - Number(info(s.addr)?.slave_repl_offset ?? NaN);
    w.sample("codis_dashboard_server_replication_lag_bytes", { gid: s.gid, addr: s.addr }, Math.max(0, lag || 0));
  }
  w.family("codis_dashboard_server_master_last_io_seconds", "gauge", "Replicas: seconds since the master last spoke.");
  for (const s of replicas) {
    const io = Number(info(s.addr)?.master_last_io_seconds_ago ?? -1);
    w.sample("codis_dashboard_server_master_last_io_seconds", { gid: s.gid, addr: s.addr }, io);
  }
  w.family("codis_dashboard_server_used_memory_bytes", "gauge", "Memory used by the server (INFO used_memory).");
  for (const s of servers) {
    const used = Number(info(s.addr)?.used_memory ?? NaN);
    if (Number.isFinite(used)) w.sample("codis_dashboard_server_used_memory_bytes", { gid: s.gid, addr: s.addr }, used);
  }
  return w.lines.join("\n") + "\n";
}
