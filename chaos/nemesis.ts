/**
 * The nemeses: faults applied to the running cluster while the clients work, each recorded in the history with the
 * span it was in force. One disruptive fault at a time (kill, pause, partition, net, raft, operator), chosen by the
 * run's seed; slot migrations (`migrate`) run beside them all the time. Every fault is healed before its loop moves
 * on, and `healEverything` undoes whatever is left when the run ends.
 * @module
 */
import { slotOf } from "../models/hash.ts";
import { type Cluster, sleep } from "./cluster.ts";
import { ApiError, type Dashboard } from "./dashboard_api.ts";
import type { History } from "./history.ts";
import { type Hosts, noRules } from "./hosts.ts";
import type { Proc } from "./procs.ts";
import type { Rng } from "./rng.ts";

/** Every nemesis the tool knows, and the default set. */
export const NEMESES = ["kill", "pause", "partition", "net", "migrate", "raft", "operator", "failover"] as const;
/** A nemesis name. */
export type NemesisName = typeof NEMESES[number];
/** The default set: all but `failover` (a master's loss and promotion are issue 14's subject). */
export const DEFAULT_NEMESES: NemesisName[] = NEMESES.filter((n) => n !== "failover");

/** What the nemeses act on. */
export interface NemesisContext {
  cluster: Cluster;
  net: Hosts;
  history: History;
  rng: Rng;
  log: (msg: string) => void;
  /** The keys the clients use now (the migrate and operator nemeses aim at their slots). */
  liveKeys: () => string[];
  /** Upper bound of a pause in seconds (1-20 by default). */
  maxPauseSeconds: number;
}

const enc = new TextEncoder();

/** Resolves after `ms`, or as soon as `stopped()` is true (checked every 100 ms). */
async function hold(ms: number, stopped: () => boolean): Promise<void> {
  const until = Date.now() + ms;
  while (!stopped() && Date.now() < until) await sleep(Math.min(100, until - Date.now()));
}

/** Runs the chosen nemeses until `stop` resolves, then heals. */
export async function runNemeses(ctx: NemesisContext, enabled: NemesisName[], stop: Promise<void>): Promise<void> {
  let stopped = false;
  stop.then(() => stopped = true);
  const isStopped = () => stopped;
  const disruptive = enabled.filter((n) => n !== "migrate");
  const loops: Promise<void>[] = [];
  if (enabled.includes("migrate")) loops.push(migrateLoop(ctx, ctx.rng.fork(), isStopped));
  if (disruptive.length > 0) {
    const r = ctx.rng.fork();
    loops.push((async () => {
      await hold(r.int(2000, 4000), isStopped);
      while (!stopped) {
        const name = r.pick(disruptive);
        try {
          await ACTIONS[name](ctx, r, isStopped);
        } catch (e) {
          ctx.log(`nemesis ${name}: ${(e as Error).message.split("\n")[0]}`);
        }
        await hold(r.int(2000, 5000), isStopped);
      }
    })());
  }
  await Promise.all(loops);
}

type Action = (ctx: NemesisContext, r: Rng, stopped: () => boolean) => Promise<void>;

const ACTIONS: Record<Exclude<NemesisName, "migrate">, Action> = {
  async kill(ctx, r, stopped) {
    const targets = [...ctx.cluster.dashboards.map((d) => d.proc), ...ctx.cluster.proxies].filter((p) => p.alive);
    if (targets.length === 0) return;
    const p = r.pick(targets);
    const downMs = r.int(1000, 5000);
    const healed = ctx.history.fault("kill", `kill -9 ${p.name}, restart after ${downMs} ms`);
    try {
      await p.kill();
      await hold(downMs, stopped);
    } finally {
      p.start();
      healed();
    }
  },

  async pause(ctx, r, stopped) {
    const targets = ctx.cluster.procs.filter((p) => p.alive && !p.paused);
    if (targets.length === 0) return;
    const p = r.pick(targets);
    const ms = r.int(1000, ctx.maxPauseSeconds * 1000);
    const healed = ctx.history.fault("pause", `SIGSTOP ${p.name} for ${ms} ms`);
    try {
      p.signal("SIGSTOP");
      await hold(ms, stopped);
    } finally {
      p.signal("SIGCONT");
      healed();
    }
  },

  async partition(ctx, r, stopped) {
    const names = [...ctx.net.hosts.keys()];
    const addr = (n: string) => ctx.net.host(n).addr;
    const mode = r.pick(["isolate", "split", "one-way"] as const);
    const ms = r.int(3000, 15_000);
    const changes = new Map<string, { dropFrom: string[]; dropTo: string[] }>();
    const cut = (a: string, b: string, oneWay: boolean) => {
      const ca = changes.get(a) ?? { dropFrom: [], dropTo: [] };
      ca.dropTo.push(addr(b));
      if (!oneWay) ca.dropFrom.push(addr(b));
      changes.set(a, ca);
    };
    let detail: string;
    if (mode === "isolate") {
      const h = r.pick(names);
      for (const o of names) if (o !== h) cut(h, o, false);
      detail = `isolate ${h} for ${ms} ms`;
    } else if (mode === "split") {
      const shuffled = r.shuffle(names);
      const minority = shuffled.slice(0, Math.floor(names.length / 2) - r.int(0, 1));
      const majority = shuffled.slice(minority.length);
      for (const a of minority) for (const b of majority) cut(a, b, false);
      detail = `split {${minority.sort().join(",")}} from the rest for ${ms} ms`;
    } else {
      const [a, b] = r.shuffle(names);
      cut(a, b, true);
      detail = `drop ${a} -> ${b} (one way) for ${ms} ms`;
    }
    const healed = ctx.history.fault("partition", detail);
    try {
      for (const [h, c] of changes) {
        const rules = ctx.net.rules(h);
        for (const a of c.dropFrom) rules.dropFrom.add(a);
        for (const a of c.dropTo) rules.dropTo.add(a);
        await ctx.net.setRules(h, rules);
      }
      await hold(ms, stopped);
    } finally {
      for (const h of changes.keys()) await ctx.net.setRules(h, noRules()).catch(() => {});
      healed();
    }
  },

  async net(ctx, r, stopped) {
    const names = [...ctx.net.hosts.keys()];
    const [a, b] = r.shuffle(names);
    const loss = r.int(5, 25);
    const delay = r.int(20, 200);
    const jitter = r.int(0, Math.floor(delay / 2));
    const ms = r.int(5000, 15_000);
    const healed = ctx.history.fault(
      "net",
      `${a}: ${loss}% loss; its connections to ${b} delayed ${delay}±${jitter} ms; for ${ms} ms`,
    );
    try {
      // `r` itself: namespace mode forks one generator per delayed port from it, as the seeds' replays expect.
      const undo = await ctx.net.slowLink(a, b, { lossPercent: loss, delayMs: delay, jitterMs: jitter }, r);
      try {
        await hold(ms, stopped);
      } finally {
        await undo();
      }
    } finally {
      healed();
    }
  },

  async raft(ctx, r, stopped) {
    const c = ctx.cluster;
    const leader = await c.waitLeader(10_000);
    const st = await c.raftStatus(leader);
    if (!st) return;
    const ids = st.members.map((m) => m.id);
    const voters = st.members.filter((m) => m.voter).map((m) => m.id);
    const learners = st.members.filter((m) => !m.voter).map((m) => m.id);
    const outside = c.dashboards.filter((d) => !ids.includes(d.id));
    const choices: string[] = ["transfer"];
    if (learners.length > 0) choices.push("promote");
    if (outside.length > 0 && learners.length === 0) choices.push("add", "add");
    if (voters.length > 3) choices.push("remove", "remove");
    const what = r.pick(choices);
    if (what === "transfer") {
      const to = r.pick(voters.filter((v) => v !== leader.id).concat(voters.length === 1 ? [leader.id] : []));
      const healed = ctx.history.fault("raft", `transfer leadership ${leader.id} -> ${to}`);
      await c.put(`raft/transfer/XAUTH/${to}`).finally(healed);
    } else if (what === "promote") {
      const id = r.pick(learners);
      const healed = ctx.history.fault("raft", `promote learner ${id}`);
      await c.put(`raft/promote/XAUTH/${id}`).finally(healed);
    } else if (what === "add") {
      const d = r.pick(outside);
      const healed = ctx.history.fault("raft", `add dashboard ${d.id} as a learner, then promote it`);
      try {
        await d.proc.kill();
        await c.resetToJoin(d, c.peerList([...ids, d.id]));
        d.proc.start();
        await waitAnswers(c, d, 60_000);
        await c.put(`raft/add/XAUTH/${d.id}/${d.raftAddr}?learner=1`);
        await hold(r.int(1000, 4000), stopped);
        c.outside.delete(d.id);
        await c.put(`raft/promote/XAUTH/${d.id}`);
      } finally {
        healed();
      }
    } else {
      const id = r.pick(voters);
      const healed = ctx.history.fault("raft", `remove dashboard ${id}${id === leader.id ? " (the leader)" : ""}`);
      try {
        await c.put(`raft/remove/XAUTH/${id}`);
        c.outside.add(id);
        // A removed member is stopped; it comes back only through "add", with an empty data dir and --join.
        await c.dashboards.find((d) => d.id === id)!.proc.kill();
      } finally {
        healed();
      }
    }
  },

  async failover(ctx, r, stopped) {
    const c = ctx.cluster;
    const st = await c.stats();
    const group = r.pick(st.group.models);
    const master = c.redisAt(group.servers[0]?.server ?? "");
    if (!master || !master.alive) return;
    // isolate: cut off from every host; cut: from its replicas and the sentinels only, so that the proxies keep
    // writing to it while the sentinels promote a replica (the split brain write acks are for).
    const how = r.pick(["kill", "pause", "isolate", "cut"] as const);
    const ms = r.int(10_000, 25_000);
    const healed = ctx.history.fault("failover", `${how} group ${group.id}'s master ${master.name} for ${ms} ms`);
    try {
      if (how === "kill") await master.kill();
      else if (how === "pause") master.signal("SIGSTOP");
      else {
        const others = new Set(
          how === "isolate" ? [...ctx.net.hosts.keys()] : [
            ...c.sentinels.map((p) => p.host.name),
            ...group.servers.slice(1).map((x) => c.redisAt(x.server)?.host.name ?? ""),
          ],
        );
        others.delete(master.host.name);
        const rules = ctx.net.rules(master.host.name);
        for (const h of ctx.net.hosts.values()) {
          if (!others.has(h.name)) continue;
          rules.dropFrom.add(h.addr);
          rules.dropTo.add(h.addr);
        }
        await ctx.net.setRules(master.host.name, rules);
      }
      await hold(ms, stopped);
      // Without persistence a master restarted before its replica is promoted comes back empty and its replica
      // resyncs from it (Redis's own rule: never restart such a master automatically). So even when the run is
      // ending, the old master returns only after the promotion (bounded).
      if (how === "kill") await waitPromotion(c, group.id, master.name, 30_000);
    } finally {
      if (how === "kill") master.start();
      else if (how === "pause") master.signal("SIGCONT");
      else await ctx.net.setRules(master.host.name, noRules());
      // The fault lasts until the group is whole again: the old master a synced replica of the new one. Killing the
      // new master before that is a second fault on the same data (the old master came back empty), which no
      // asynchronous replication survives without persistence; the dashboard keeps Sentinel from promoting the
      // unsynced server then, but cannot bring the data back.
      ctx.log(`failover: ${await waitRejoined(c, group.id, master.name, 30_000).catch((e) => e.message)}`);
      healed();
    }
  },

  async operator(ctx, r, stopped) {
    const c = ctx.cluster;
    const candidates = c.proxies.filter((x) => x.alive && !x.paused);
    if (candidates.length === 0) return;
    const p = r.pick(candidates);
    const dashAddrs = c.dashboards.map((d) => d.proc.host.addr);
    const ms = r.int(5000, 12_000);
    const healed = ctx.history.fault("operator", `cut ${p.name} off the dashboards, force-remove it, move a slot`);
    try {
      const rules = ctx.net.rules(p.host.name);
      for (const a of dashAddrs) {
        rules.dropFrom.add(a);
        rules.dropTo.add(a);
      }
      await ctx.net.setRules(p.host.name, rules);
      await hold(2000, stopped);
      const st = await c.stats();
      const model = st.proxy.models.find((m) => m.proxy_addr.startsWith(p.host.addr + ":"));
      if (model) await c.put(`proxy/remove/XAUTH/${model.token}/1`);
      await moveKeySlot(ctx, r, "operator");
      await hold(ms, stopped);
    } finally {
      await ctx.net.setRules(p.host.name, noRules());
      healed();
    }
  },
};

async function waitPromotion(c: Cluster, gid: number, oldMaster: string, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const st = await c.stats().catch(() => undefined);
    const master = st?.group.models.find((g) => g.id === gid)?.servers[0]?.server;
    if (master && c.redisAt(master)?.name !== oldMaster) return;
    await sleep(500);
  }
}

/**
 * Waits (bounded) until `oldMaster` is group `gid`'s master again or a replica of its master with its link up, as the
 * dashboard's last poll saw it; says which.
 */
async function waitRejoined(c: Cluster, gid: number, oldMaster: string, ms: number): Promise<string> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const st = await c.stats().catch(() => undefined);
    const servers = st?.group.models.find((g) => g.id === gid)?.servers ?? [];
    const master = servers[0]?.server;
    if (master && c.redisAt(master)?.name === oldMaster) return `${oldMaster} is group ${gid}'s master`;
    const old = servers.find((x) => c.redisAt(x.server)?.name === oldMaster)?.server;
    const info = old ? st?.group.stats[old]?.stats : undefined;
    if (info?.role === "slave" && info.master_link_status === "up" && info.master_addr === master) {
      return `${oldMaster} is a replica of ${master}, link up (offset ${info.slave_repl_offset})`;
    }
    await sleep(500);
  }
  return `${oldMaster} did not rejoin group ${gid} within ${ms} ms`;
}

async function waitAnswers(c: Cluster, d: Dashboard, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await c.raftStatus(d, 1000)) return;
    await sleep(200);
  }
  throw new Error(`dashboard ${d.id} did not answer within ${ms} ms`);
}

/** Moves the slot of one of the clients' keys to another group; returns the slot, or undefined when refused. */
async function moveKeySlot(ctx: NemesisContext, r: Rng, by: string): Promise<number | undefined> {
  const st = await ctx.cluster.stats();
  const sid = slotOf(enc.encode(r.pick(ctx.liveKeys())));
  const from = st.slots[sid]?.group_id;
  const others = [...ctx.cluster.groups.keys()].filter((g) => g !== from);
  if (others.length === 0 || st.slots[sid]?.action?.state) return undefined;
  const to = r.pick(others);
  await ctx.cluster.put(`slots/action/create/XAUTH/${sid}/${to}`);
  ctx.log(`${by}: slot ${sid} (group ${from} -> ${to})`);
  return sid;
}

/** Slot moves and rebalances, beside everything else; each action is a fault band until the slot settles. */
async function migrateLoop(ctx: NemesisContext, r: Rng, stopped: () => boolean): Promise<void> {
  const pending = new Map<number, () => void>();
  await hold(r.int(1000, 3000), stopped);
  while (!stopped()) {
    try {
      const st = await ctx.cluster.stats();
      for (const [sid, healed] of pending) {
        if (!st.slots[sid]?.action?.state) {
          healed();
          pending.delete(sid);
        }
      }
      const what = r.next();
      if (what < 0.6) {
        const sid = await moveKeySlot(ctx, r, "migrate");
        if (sid !== undefined && !pending.has(sid)) pending.set(sid, ctx.history.fault("migrate", `move slot ${sid}`));
      } else if (what < 0.8) {
        const beg = r.int(0, 1000);
        const end = beg + r.int(3, 15);
        const gid = r.pick([...ctx.cluster.groups.keys()]);
        await ctx.cluster.put(`slots/action/create-range/XAUTH/${beg}/${end}/${gid}`);
        const healed = ctx.history.fault("migrate", `move slots ${beg}-${end} to group ${gid}`);
        pending.set(beg, healed);
      } else {
        const plan = await ctx.cluster.put(`slots/rebalance/XAUTH/1`) as Record<string, number> | undefined;
        const n = Object.keys(plan ?? {}).length;
        if (n > 0) {
          const first = Number(Object.keys(plan!)[0]);
          pending.set(first, ctx.history.fault("migrate", `rebalance (${n} slots)`));
        }
      }
    } catch (e) {
      // Refusals (a slot already moving, no leader during an election) are the weather here, not faults.
      if (!(e instanceof ApiError)) ctx.log(`migrate: ${(e as Error).message.split("\n")[0]}`);
    }
    await hold(r.int(1000, 4000), stopped);
  }
  for (const healed of pending.values()) healed();
}

/** Undoes every fault: clears the network rules, continues paused processes, restarts dead ones that belong. */
export async function healEverything(ctx: NemesisContext): Promise<void> {
  await ctx.net.healAll();
  for (const p of ctx.cluster.procs) if (p.paused) p.signal("SIGCONT");
  const restart: Proc[] = [...ctx.cluster.proxies];
  for (const d of ctx.cluster.dashboards) if (!ctx.cluster.outside.has(d.id)) restart.push(d.proc);
  for (const p of restart) if (!p.alive) p.start();
}
