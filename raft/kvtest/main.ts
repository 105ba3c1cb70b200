/**
 * A tiny replicated key-value process over {@link RaftNode}, for real-process tests and the benchmark.
 *
 * Usage: `deno run -A raft/kvtest/main.ts --id 1 --raft 127.0.0.1:7001 --http 8001 --data DIR
 *   --peers 1=127.0.0.1:7001,2=127.0.0.1:7002,3=127.0.0.1:7003 [--join] [--cluster c] [--tick-ms 100]
 *   [--election-tick 10] [--profile fast] [--snapshot-interval N] [--snapshot-trailing N]`
 * The cluster secret comes from the RAFT_SECRET environment variable (never from the command line).
 *
 * HTTP (127.0.0.1): `POST /put?k=&v=`, `GET /get?k=` (linearizable), `GET /status`, `GET /dump`,
 * `POST /add-learner?id=&addr=`, `POST /promote?id=`, `POST /remove?id=`, `POST /transfer?id=`.
 * Errors are JSON `{error, leader?, leaderAddr?, leaderApi?}` with status 421 for "not the leader".
 *
 * @module
 */

import { parseArgs } from "node:util";
import { NotLeaderError, RaftNode } from "../node/node.ts";
import { KvStateMachine, putCmd } from "./kv.ts";

const { values: a } = parseArgs({
  options: {
    id: { type: "string" },
    raft: { type: "string" },
    http: { type: "string" },
    data: { type: "string" },
    peers: { type: "string", default: "" },
    join: { type: "boolean", default: false },
    cluster: { type: "string", default: "kvtest" },
    "tick-ms": { type: "string" },
    "election-tick": { type: "string" },
    profile: { type: "string", default: "default" },
    "snapshot-interval": { type: "string", default: "10000" },
    "snapshot-trailing": { type: "string", default: "1000" },
  },
});

const peers = new Map<number, string>();
for (const p of a.peers!.split(",").filter(Boolean)) {
  const [id, addr] = p.split("=");
  peers.set(Number(id), addr);
}

const sm = new KvStateMachine();
let node: RaftNode;
try {
  node = await RaftNode.start({
    id: Number(a.id),
    addr: a.raft!,
    peers,
    join: a.join,
    bootstrap: "new",
    dataDir: a.data!,
    clusterId: a.cluster!,
    clusterSecret: Deno.env.get("RAFT_SECRET") ?? "",
    apiAddr: `127.0.0.1:${a.http}`,
    profile: a.profile === "fast" ? "fast" : "default",
    tickMs: a["tick-ms"] ? Number(a["tick-ms"]) : undefined,
    electionTick: a["election-tick"] ? Number(a["election-tick"]) : undefined,
    snapshotInterval: Number(a["snapshot-interval"]),
    snapshotTrailing: Number(a["snapshot-trailing"]),
  }, sm);
} catch (e) {
  console.error(`kvtest: cannot start: ${(e as Error).message}`);
  Deno.exit(1);
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

function fail(e: unknown): Response {
  if (e instanceof NotLeaderError) {
    return json({ error: e.message, leader: e.leader, leaderAddr: e.leaderAddr, leaderApi: e.leaderApiAddr }, 421);
  }
  return json({ error: (e as Error).message, kind: (e as Error).name }, 503);
}

async function handle(req: Request): Promise<Response> {
  const u = new URL(req.url);
  const q = (k: string) => u.searchParams.get(k) ?? "";
  try {
    switch (u.pathname) {
      case "/put":
        return json(await node.propose(putCmd(q("k"), q("v"))));
      case "/get":
        await node.read();
        return json({ value: sm.data.get(q("k")) ?? null });
      case "/status":
        return json(node.status());
      case "/dump":
        await node.read();
        return json({ data: Object.fromEntries(sm.data) });
      case "/add-learner":
        await node.addLearner(Number(q("id")), q("addr"));
        return json({ ok: true });
      case "/promote":
        await node.promote(Number(q("id")));
        return json({ ok: true });
      case "/remove":
        await node.remove(Number(q("id")));
        return json({ ok: true });
      case "/transfer":
        await node.transferLeader(Number(q("id")));
        return json({ ok: true });
      default:
        return json({ error: "not found" }, 404);
    }
  } catch (e) {
    return fail(e);
  }
}

const server = Deno.serve({ hostname: "127.0.0.1", port: Number(a.http), onListen: () => {} }, handle);
console.log(`kvtest ${a.id} ready raft=${node.addr} http=${a.http}`);

const stop = async () => {
  await server.shutdown();
  await node.close();
  Deno.exit(0);
};
Deno.addSignalListener("SIGTERM", stop);
Deno.addSignalListener("SIGINT", stop);
