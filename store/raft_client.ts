/**
 * The Raft store: a {@link NamespaceStateMachine} replicated by a Raft node (`raft/node/node.ts`), served through a
 * {@link NamespaceHost} and {@link NamespaceClient}s.
 *
 * Wiring (one per dashboard process):
 * ```ts
 * const sm = new NamespaceStateMachine();
 * const node = await RaftNode.start(cfg, sm);
 * const store = new RaftStore(node, sm, { forward });   // forward: send a command to the leader (HTTP)
 * const client = store.client();
 * ```
 * A write on a follower is handed to `forward` (when given) with the leader's id/address, or fails with the
 * store's NotLeaderError carrying them. Raft's "unknown outcome"/"proposal failed" become NoQuorumError; the
 * client retries those under the same request id, which the state machine deduplicates, so a retry after a
 * leader failover applies the write once. Reads and long-polls first pass the node's ReadIndex barrier.
 * @module
 */
import type { CoordClient } from "./client.ts";
import { ClosedError, NoQuorumError, NotLeaderError, StoreError } from "./errors.ts";
import { NamespaceClient, type NamespaceClientOptions } from "./namespace_client.ts";
import { type ApplyResult, type Command, encodeCommand } from "./namespace_commands.ts";
import { type HostOptions, NamespaceHost } from "./namespace_host.ts";
import type { NamespaceStateMachine } from "./namespace_state.ts";

/** What the Raft store needs from a Raft node (RaftNode satisfies it). */
export interface RaftLike {
  propose(data: Uint8Array): Promise<unknown>;
  read(): Promise<void>;
  status(): { id: number; role: string; leader: number; leaderAddr: string | undefined };
}

/** Sends a command to the leader and returns its apply result (e.g. over the dashboard's HTTP API). */
export type Forwarder = (cmd: Command, leader: { id: number; addr: string | undefined }) => Promise<ApplyResult>;

/** Options of {@link RaftStore}. */
export interface RaftStoreOptions extends HostOptions {
  forward?: Forwarder;
}

/** Maps the Raft node's errors onto the store's typed errors (by name, to avoid importing the runtime). */
export function mapRaftError(e: unknown, node: RaftLike): unknown {
  if (e instanceof StoreError) return e;
  const name = (e as Error)?.name;
  if (name === "NotLeaderError") {
    const st = node.status();
    return new NotLeaderError(st.leader || undefined, st.leaderAddr);
  }
  if (name === "UnknownOutcomeError" || name === "ProposalFailedError") {
    return new NoQuorumError(`raft: ${(e as Error).message}`);
  }
  if (name === "NodeClosedError") return new ClosedError("raft node");
  return e;
}

/** One member's Raft-backed namespace. */
export class RaftStore {
  readonly host: NamespaceHost;

  constructor(readonly node: RaftLike, readonly sm: NamespaceStateMachine, opts: RaftStoreOptions = {}) {
    const forward = opts.forward;
    this.host = new NamespaceHost(sm, {
      propose: async (cmd) => {
        try {
          return (await node.propose(encodeCommand(cmd))) as ApplyResult;
        } catch (e) {
          const err = mapRaftError(e, node);
          if (err instanceof NotLeaderError && forward && err.leaderId) {
            try {
              return await forward(cmd, { id: err.leaderId, addr: err.leaderAddr });
            } catch (fe) {
              const m = mapRaftError(fe, node);
              // An unreachable leader (e.g. it just died) is a retriable condition: the command carries its
              // request id, so a retry that races with a late commit still applies once.
              throw m instanceof StoreError && !(m instanceof ClosedError)
                ? m
                : new NoQuorumError(`forwarding to leader ${err.leaderId}: ${m}`);
            }
          }
          throw err;
        }
      },
      read: async () => {
        try {
          await node.read();
        } catch (e) {
          throw mapRaftError(e, node);
        }
      },
      isLeader: () => node.status().role === "leader",
    }, opts);
  }

  /** The apply path for a command forwarded by a follower: propose it here (this node should be the leader). */
  proposeLocal(cmd: Command): Promise<ApplyResult> {
    return this.host.propose(cmd);
  }

  /** A client of this member. */
  client(opts: NamespaceClientOptions = {}): CoordClient {
    return new NamespaceClient(this.host, "raft", opts);
  }

  /** Stops the host's timers (the Raft node is closed by its owner). */
  close(): void {
    this.host.close();
  }
}
