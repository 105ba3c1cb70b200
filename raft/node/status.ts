/**
 * Node runtime helpers: bootstrapping a fresh data directory and assembling {@link NodeStatus}.
 * @module
 */

import type { RaftStatus } from "../core/mod.ts";
import type { DiskStorage } from "../storage/disk.ts";
import type { NodeId, Snapshot, StateMachine } from "../types.ts";
import type { MemberStatus, NodeStatus, RaftNodeConfig } from "./types.ts";
import { logger } from "../../util/log.ts";

const log = logger("raft-node");

/** What a node does with its data directory at start (see {@link bootstrapDecision}). */
export type BootstrapDecision = "recover" | "found" | "wait";

/**
 * Pure: "recover" a non-empty data dir; "found" the group in an empty one when this node is a founding member
 * (listed in `peers`, or there are none: a group of one) and either told so (`bootstrap: "new"`) or alone in
 * `peers` (nobody to lose data to); otherwise "wait" empty for a leader (a joiner, a member restarted after losing
 * its data dir, or a founder of a group that another member may already have founded).
 */
export function bootstrapDecision(
  cfg: Pick<RaftNodeConfig, "id" | "peers" | "join" | "bootstrap">,
  empty: boolean,
): BootstrapDecision {
  if (!empty) return "recover";
  const founder = cfg.peers.size === 0 || cfg.peers.has(cfg.id);
  if (cfg.join || !founder) return "wait";
  const alone = [...cfg.peers.keys()].every((id) => id === cfg.id);
  return cfg.bootstrap === "new" || alone ? "found" : "wait";
}

/**
 * Founds the cluster in an empty data directory when {@link bootstrapDecision} says so. Any other fresh node waits
 * to be added or brought up to date, so restarting a joiner without `join`, or a founder after losing its data dir,
 * cannot fork the group. Founding members all start from the same snapshot at index 1 holding the membership (see
 * core/bootstrap.ts); the state machine must be empty.
 */
export async function bootstrapIfFresh(cfg: RaftNodeConfig, storage: DiskStorage, sm: StateMachine): Promise<void> {
  const decision = bootstrapDecision(cfg, storage.isEmpty());
  if (decision === "recover") return;
  if (decision === "wait") {
    const founder = !cfg.join && (cfg.peers.size === 0 || cfg.peers.has(cfg.id));
    if (founder) {
      log.warn(
        `node ${cfg.id}: empty data dir and bootstrap "existing": waiting for the group's leader to send its state ` +
          `(the first start of a new group needs bootstrap "new", raft_bootstrap = "new" for a dashboard)`,
      );
    }
    return;
  }
  const addrs: Record<string, string> = {};
  for (const [id, a] of cfg.peers) addrs[String(id)] = a;
  if (!cfg.peers.has(cfg.id)) addrs[String(cfg.id)] = cfg.advertise ?? cfg.addr;
  const voters = Object.keys(addrs).map(Number).sort((a, b) => a - b);
  const snap: Snapshot = { meta: { index: 1, term: 1, conf: { voters, learners: [] }, addrs }, data: sm.snapshot() };
  await storage.save({ term: 1, vote: 0, commit: 1 }, [], snap);
  log.info(`node ${cfg.id}: bootstrapped cluster ${cfg.clusterId} with voters ${voters.join(",")}`);
}

/** Local facts {@link buildStatus} combines with the core's status. */
export interface StatusParts {
  id: NodeId;
  clusterId: string;
  addr: string;
  applied: number;
  snapshotIndex: number;
  addrs: Map<NodeId, string>;
  apiAddrs: Map<NodeId, string>;
  metrics: NodeStatus["metrics"];
}

/** Assembles a node's status; per-member replication figures exist only on the leader. */
export function buildStatus(st: RaftStatus, p: StatusParts): NodeStatus {
  const members: MemberStatus[] = [];
  const add = (id: NodeId, voter: boolean) => {
    const m: MemberStatus = { id, addr: p.addrs.get(id), voter };
    const api = p.apiAddrs.get(id);
    if (api) m.apiAddr = api;
    const pr = st.progress?.[id];
    if (pr) {
      Object.assign(m, { match: pr.match, state: pr.state, lag: st.lastIndex - pr.match, active: pr.recentActive });
    }
    members.push(m);
  };
  for (const id of st.conf.voters) add(id, true);
  for (const id of st.conf.learners) add(id, false);
  return {
    id: p.id,
    clusterId: p.clusterId,
    addr: p.addr,
    role: st.role,
    term: st.term,
    leader: st.leader,
    leaderAddr: st.leader ? p.addrs.get(st.leader) : undefined,
    leaderApiAddr: st.leader ? p.apiAddrs.get(st.leader) : undefined,
    commit: st.commit,
    applied: p.applied,
    firstIndex: st.firstIndex,
    lastIndex: st.lastIndex,
    snapshotIndex: p.snapshotIndex,
    members,
    metrics: p.metrics,
  };
}
