/**
 * In-process Raft groups for tests: N members over loopback, each with its own namespace, a RaftStore whose
 * followers forward writes to the leader, and optionally the HTTP store routes on a free port.
 * @module
 */
import { RaftNode } from "../../raft/node/node.ts";
import { sleep } from "../client.ts";
import { NoQuorumError } from "../errors.ts";
import { httpForwarder, storeHandler } from "../http.ts";
import { NamespaceStateMachine } from "../namespace_state.ts";
import { type Forwarder, RaftStore } from "../raft_client.ts";

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** A running test group. */
export interface RaftGroup {
  nodes: Map<number, RaftNode>;
  stores: Map<number, RaftStore>;
  /** HTTP store address per member (only with `http`). */
  http: Map<number, string>;
  secret: string;
  /** Waits for a leader and returns its id. */
  leader(ms?: number): Promise<number>;
  /** Stops one member (server, store timers, node). */
  kill(id: number): Promise<void>;
  /** Starts a stopped member again on its data dir. */
  restart(id: number): Promise<void>;
  /** Stops every member. */
  stop(): Promise<void>;
}

/** Starts `n` members under `root`. With `http`, followers forward over HTTP; otherwise in-process. */
export async function startRaftGroup(root: string, opts: { n?: number; http?: boolean } = {}): Promise<RaftGroup> {
  const ids = Array.from({ length: opts.n ?? 3 }, (_, i) => i + 1);
  const peers = new Map(ids.map((id) => [id, `127.0.0.1:${freePort()}`]));
  const nodes = new Map<number, RaftNode>();
  const stores = new Map<number, RaftStore>();
  const http = new Map<number, string>();
  const servers = new Map<number, Deno.HttpServer>();
  const secret = "store-test-secret";
  const inProcess: Forwarder = (cmd, leader) => {
    const s = stores.get(leader.id);
    return s ? s.proposeLocal(cmd) : Promise.reject(new NoQuorumError(`leader ${leader.id} is down`));
  };
  const forward = opts.http ? httpForwarder(secret, (l) => http.get(l.id)) : inProcess;
  const start = async (id: number) => {
    const sm = new NamespaceStateMachine({ maxHistory: 5000 });
    const node = await RaftNode.start({
      id,
      addr: peers.get(id)!,
      peers,
      bootstrap: "new",
      dataDir: `${root}/n${id}`,
      clusterId: "store-test",
      clusterSecret: secret,
      tickMs: 20,
      snapshotInterval: 200,
      snapshotTrailing: 50,
    }, sm);
    nodes.set(id, node);
    const store = new RaftStore(node, sm, { reapIntervalMs: 50, forward });
    stores.set(id, store);
    if (opts.http) {
      const handle = storeHandler(store.host, { secret });
      const srv = Deno.serve(
        { hostname: "127.0.0.1", port: 0, onListen: () => {} },
        async (req) => (await handle(req)) ?? new Response("not found", { status: 404 }),
      );
      servers.set(id, srv);
      http.set(id, `127.0.0.1:${srv.addr.port}`);
    }
  };
  for (const id of ids) await start(id);
  const leader = async (ms = 5000) => {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      const l = [...nodes.entries()].find(([, node]) => node.status().role === "leader");
      if (l) return l[0];
      await sleep(20);
    }
    throw new Error("no leader");
  };
  const kill = async (id: number) => {
    const srv = servers.get(id);
    servers.delete(id);
    if (srv) await srv.shutdown();
    stores.get(id)?.close();
    stores.delete(id);
    await nodes.get(id)?.close();
    nodes.delete(id);
  };
  const stop = async () => {
    for (const id of [...nodes.keys()]) await kill(id);
  };
  return { nodes, stores, http, secret, leader, kill, restart: start, stop };
}
