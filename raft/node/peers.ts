/**
 * Where each member of a Raft node's cluster is reached: the Raft peer address and the service (API) address of
 * every member this node knows, kept in step with the transport's peer table.
 *
 * Addresses come from four places, and all of them must end up in the transport, or messages to a member would
 * be dropped: the latest snapshot's metadata, conf-change entries (`addLearner` carries the address), the
 * handshake of a peer that dialed in (it may have moved), and this node's own listener. They also go back out:
 * a snapshot records the members' addresses so that a node recovering from it can dial them.
 * @module
 */

import type { ConfChange, ConfState, NodeId } from "../types.ts";
import type { TcpTransport } from "../transport/tcp.ts";
import type { DiskStorage } from "../storage/disk.ts";
import { decodeConfChange } from "../core/mod.ts";

/** The address book of one {@link RaftNode}; see the module documentation. */
export class PeerBook {
  /** Raft peer addresses, this node's own included. */
  readonly addrs = new Map<NodeId, string>();
  /** Service addresses the members announced (the transport's handshake `meta`). */
  readonly apiAddrs = new Map<NodeId, string>();
  #transport: TcpTransport | undefined;

  constructor(private readonly self: NodeId) {}

  /**
   * Recovery, before the transport runs: the addresses in the snapshot's metadata, then those of conf changes
   * logged after it (later ones win, as they did when the entries were first applied).
   */
  recover(storage: DiskStorage): void {
    const snap = storage.snapshot();
    if (snap) { for (const [id, a] of Object.entries(snap.meta.addrs)) this.addrs.set(Number(id), a); }
    // The log keeps some entries the snapshot already covers (snapshotTrailing): replaying those would put back
    // addresses older than the snapshot's.
    const first = Math.max(storage.firstIndex(), snap ? snap.meta.index + 1 : 0), last = storage.lastIndex();
    for (const e of last >= first ? storage.entries(first, last + 1) : []) {
      if (e.type === "conf") this.learn(decodeConfChange(e.data));
    }
  }

  /**
   * Starts feeding `transport`: this node's own addresses are the listener's and `apiAddr`, and every member known
   * so far becomes a peer (recovery ran before the transport existed).
   */
  attach(transport: TcpTransport, apiAddr: string | undefined): void {
    this.#transport = transport;
    this.addrs.set(this.self, transport.addr);
    if (apiAddr) this.apiAddrs.set(this.self, apiAddr);
    for (const [id, a] of this.addrs) transport.setPeer(id, a);
  }

  /** A peer authenticated and announced its addresses: it may have moved since the log recorded it. */
  heard(id: NodeId, addr: string, apiAddr: string): void {
    if (apiAddr) this.apiAddrs.set(id, apiAddr);
    if (this.addrs.get(id) !== addr) {
      this.addrs.set(id, addr);
      this.#transport?.setPeer(id, addr);
    }
  }

  /** An installed snapshot's members (this node's own entry is ignored: the listener knows better). */
  installed(addrs: Record<string, string>): void {
    for (const [id, a] of Object.entries(addrs)) this.set(Number(id), a);
  }

  /** A conf change seen in the log (during recovery too): `addLearner` and `promote` may carry an address. */
  learn(cc: ConfChange): void {
    if (cc.addr && cc.type !== "remove") this.set(cc.id, cc.addr);
  }

  /** A conf change being applied: as {@link learn}, and a removed member stops being dialed. */
  applied(cc: ConfChange): void {
    this.learn(cc);
    if (cc.type === "remove" && cc.id !== this.self) this.#transport?.removePeer(cc.id);
  }

  /** The Raft address of `id`. */
  addr(id: NodeId): string | undefined {
    return this.addrs.get(id);
  }

  /** The service address of `id`, when it has announced one. */
  apiAddr(id: NodeId): string | undefined {
    return this.apiAddrs.get(id);
  }

  /** The addresses a snapshot records: every voter's and learner's that is known. */
  forSnapshot(conf: ConfState): Record<string, string> {
    const addrs: Record<string, string> = {};
    for (const id of [...conf.voters, ...conf.learners]) {
      const a = this.addrs.get(id);
      if (a) addrs[String(id)] = a;
    }
    return addrs;
  }

  private set(id: NodeId, addr: string): void {
    if (id === this.self) return;
    this.addrs.set(id, addr);
    this.#transport?.setPeer(id, addr);
  }
}
