/**
 * Fault injection and cluster administration during a simulation: partitions, crashes, pauses, clock jumps,
 * network degradation, membership changes (learner → promote, remove) and leader transfers.
 * @module
 */

import type { NodeId } from "../types.ts";
import type { SimNode } from "./node.ts";
import type { Simulation } from "./sim.ts";

type Action = (sim: Simulation) => void;

const ACTIONS: [number, string, Action][] = [
  [14, "partition", partition],
  [8, "asymmetric", asymmetric],
  [7, "isolate-leader", isolateLeader],
  [22, "heal", (sim) => sim.network.healAll()],
  [9, "crash", crashOne],
  [1, "crash-all", crashAll],
  [8, "pause", pauseOne],
  [6, "clock-jump", clockJump],
  [8, "net", netConditions],
  [12, "membership", membership],
  [7, "transfer", transfer],
];

/** Weight multipliers per fault profile (chosen per seed). */
export const PROFILES: Record<string, Record<string, number>> = {
  mixed: {},
  churn: { crash: 5, "isolate-leader": 3, transfer: 3, pause: 2, heal: 2 },
  network: { partition: 3, asymmetric: 3, net: 3, crash: 0.3 },
  membership: { membership: 5, transfer: 2 },
  /** Only message loss (20-50%), duplication and delay: linearizability on a lossy network. Not drawn at random. */
  lossy: {
    partition: 0,
    asymmetric: 0,
    "isolate-leader": 0,
    crash: 0,
    "crash-all": 0,
    pause: 0,
    "clock-jump": 0,
    membership: 0,
    transfer: 0,
    heal: 0,
  },
};

/** Runs one randomly chosen fault or admin action. */
export function nemesisStep(sim: Simulation): void {
  const mult = PROFILES[sim.cfg.profile] ?? {};
  const weights = ACTIONS.map(([w, name]) => Math.round(w * (mult[name] ?? 1)));
  let r = sim.rng.int(0, weights.reduce((a, b) => a + b, 0) - 1);
  for (let i = 0; i < ACTIONS.length; i++) {
    const [, name, f] = ACTIONS[i];
    const w = weights[i];
    if (r < w) {
      sim.log(`nemesis ${name}`);
      sim.mix(w, name.length);
      f(sim);
      return;
    }
    r -= w;
  }
}

function live(sim: Simulation): SimNode[] {
  return [...sim.nodes.values()].filter((n) => n.alive && !n.retired);
}

function partition(sim: Simulation): void {
  const ids = live(sim).map((n) => n.id);
  const a = ids.filter(() => sim.rng.chance(0.5));
  const b = ids.filter((id) => !a.includes(id));
  sim.network.healAll();
  sim.network.split(a, b);
}

function asymmetric(sim: Simulation): void {
  const ids = [...sim.nodes.keys()];
  const n = sim.rng.int(1, 3);
  for (let i = 0; i < n; i++) {
    const from = sim.rng.pick(ids), to = sim.rng.pick(ids);
    if (from !== to) sim.network.block(from, to);
  }
}

function isolateLeader(sim: Simulation): void {
  const l = sim.leader();
  if (!l) return;
  const others = [...sim.nodes.keys()].filter((id) => id !== l.id);
  sim.network.healAll();
  sim.network.split([l.id], others);
}

function restartLater(sim: Simulation, n: SimNode, lo: number, hi: number): void {
  sim.schedule(sim.rng.int(lo, hi), () => {
    if (!n.alive && !n.retired && !sim.quiet) n.start();
  });
}

function crashOne(sim: Simulation): void {
  const ns = live(sim);
  if (!ns.length) return;
  const n = sim.rng.chance(0.4) ? sim.leader() ?? sim.rng.pick(ns) : sim.rng.pick(ns);
  n.crash();
  restartLater(sim, n, 20, 1500);
}

function crashAll(sim: Simulation): void {
  for (const n of live(sim)) {
    n.crash();
    restartLater(sim, n, 10, 600);
  }
}

function pauseOne(sim: Simulation): void {
  const ns = live(sim).filter((n) => !n.paused);
  if (!ns.length) return;
  const n = sim.rng.chance(0.4) ? sim.leader() ?? sim.rng.pick(ns) : sim.rng.pick(ns);
  n.pause();
  const ms = sim.rng.int(30, 900);
  const jump = sim.rng.chance(0.5) ? Math.min(Math.floor(ms / sim.cfg.tickMs), 3 * sim.cfg.electionTick) : 0;
  const inc = n.incarnation;
  sim.schedule(ms, () => {
    if (n.incarnation === inc) n.resume(jump);
  });
}

function clockJump(sim: Simulation): void {
  const ns = live(sim).filter((n) => !n.paused);
  if (!ns.length) return;
  sim.rng.pick(ns).tick(sim.rng.int(1, 3 * sim.cfg.electionTick));
}

function netConditions(sim: Simulation): void {
  sim.network.cond = {
    drop: sim.rng.pick(sim.cfg.profile === "lossy" ? [0.2, 0.3, 0.5] : [0, 0, 0.02, 0.1, 0.3, 0.5]),
    dup: sim.rng.pick([0, 0, 0.05, 0.2]),
  };
}

function transfer(sim: Simulation): void {
  const l = sim.leader();
  if (!l) return;
  const voters = l.core!.status().conf.voters.filter((id) => id !== l.id);
  if (!voters.length) return;
  try {
    l.core!.transferLeader(sim.rng.pick(voters));
  } catch { /* lost leadership meanwhile */ }
  l.kick();
}

/** One admin step: remove a dead member, promote a caught-up learner, add a learner, or remove someone. */
export function membership(sim: Simulation): void {
  const l = sim.leader();
  if (!l) return;
  const core = l.core!;
  const st = core.status();
  const members = [...st.conf.voters, ...st.conf.learners];
  const dead = members.filter((id) => sim.nodes.get(id)?.retired);
  const propose = (type: "addLearner" | "promote" | "remove", id: NodeId): boolean => {
    try {
      core.proposeConfChange({ type, id });
      sim.log(`admin ${type} ${id} via ${l.id}`);
      l.kick();
      return true;
    } catch {
      return false;
    }
  };
  if (dead.length) {
    propose("remove", dead[0]);
    return;
  }
  for (const id of st.conf.learners) {
    const pr = st.progress?.[id];
    const n = sim.nodes.get(id);
    if (pr && n?.alive && pr.match + 5 >= st.commit) {
      propose("promote", id);
      return;
    }
  }
  if (sim.quiet) return;
  const size = members.length;
  if (size < sim.cfg.maxMembers && st.conf.learners.length === 0 && sim.rng.chance(0.5)) {
    const id = sim.addNode();
    if (!propose("addLearner", id)) sim.retire(id);
    return;
  }
  // Voters never drop below 3: removing one of two voters needs both to commit the removal, so with the other one
  // down the group is wedged (etcd's documentation warns of the same).
  const pool = [...(st.conf.voters.length > 3 ? st.conf.voters : []), ...st.conf.learners];
  if (pool.length) propose("remove", sim.rng.pick(pool));
}

/** Stops, for good, processes that are no longer members (after a grace period for those joining). */
export function reap(sim: Simulation): void {
  const l = sim.leader();
  if (!l) return;
  const conf = l.core!.status().conf;
  for (const n of sim.nodes.values()) {
    if (n.retired) continue;
    if (conf.voters.includes(n.id) || conf.learners.includes(n.id)) {
      sim.markMember(n.id);
      continue;
    }
    // Give joining nodes time to be added, and removed ones time to try (and fail) to disrupt the group.
    if (sim.now - Math.max(sim.createdAt(n.id), sim.notMemberSince(n.id)) < 1500) continue;
    sim.retire(n.id);
  }
}
