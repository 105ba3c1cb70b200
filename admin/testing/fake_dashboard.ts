/**
 * A fake dashboard for codis-admin's tests: answers the model, xping, overview, stats, slots, rebalance and Raft
 * status routes from fixed data, answers "OK" to every other authenticated PUT, and records every request. A
 * follower variant answers 421 with the leader's address.
 * @module
 */
import type { TopomStats } from "../../models/mod.ts";
import { newXAuth } from "../../util/xauth.ts";

/** One recorded request. */
export interface RecordedRequest {
  method: string;
  /** Path with the query string, e.g. `/api/topom/raft/add/<xauth>/4/h:1?learner=1`. */
  path: string;
  body: string;
}

/** Data the fake answers with. */
export interface FakeDashboardOptions {
  product: string;
  auth: string;
  stats?: TopomStats;
  plan?: Record<string, number>;
  raftStatus?: unknown;
  /** PUT paths (after the xauth is replaced by `X`) answered with 400 and this Cause. */
  failures?: Record<string, string>;
  /** Answer 421 `{leader}` to everything (a follower). */
  followerOf?: string;
}

/** A running fake dashboard. */
export interface FakeDashboard {
  addr: string;
  xauth: string;
  requests: RecordedRequest[];
  /** Recorded paths of one method with the xauth replaced by `X`. */
  paths(method?: string): string[];
  close(): Promise<void>;
}

const json = (v: unknown, status = 200) =>
  new Response(JSON.stringify(v, null, "    "), { status, headers: { "content-type": "application/json" } });

/** Starts a fake dashboard on 127.0.0.1 with a kernel-chosen port. */
export function startFakeDashboard(o: FakeDashboardOptions): Promise<FakeDashboard> {
  const xauth = newXAuth(o.product, o.auth);
  const requests: RecordedRequest[] = [];
  const model = { token: "t0", start_time: "now", admin_addr: "", product_name: o.product, pid: 1, pwd: "/", sys: "x" };
  const handler = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    const path = url.pathname + url.search;
    requests.push({ method: req.method, path, body: await req.text() });
    if (o.followerOf !== undefined) return json({ Cause: "not leader", Stack: [], leader: o.followerOf }, 421);
    const p = url.pathname;
    if (req.method === "GET" && p === "/api/topom/model") return json(model);
    if (req.method === "GET" && p === "/api/topom/raft/status") return json(o.raftStatus ?? {});
    if (req.method === "GET" && p === "/topom") {
      return json({ version: "test", compile: "test", config: { product_name: o.product }, model, stats: o.stats });
    }
    const m = /^\/api\/topom\/([a-z-]+(?:\/[a-z-]+)*?)\/([0-9a-f]{32})(\/.*)?$/.exec(p);
    if (!m) return json({ Cause: `no route for ${req.method} ${p}`, Stack: [] }, 404);
    if (m[2] !== xauth) return json({ Cause: "invalid xauth, please check product name & auth", Stack: [] }, 403);
    const route = m[1];
    if (req.method === "GET") {
      if (route === "xping") return json("OK");
      if (route === "stats") return json(o.stats ?? {});
      if (route === "slots") return json(o.stats?.slots ?? []);
      return json({ Cause: `no route for GET ${route}`, Stack: [] }, 404);
    }
    const failure = o.failures?.[p.replace(xauth, "X")];
    if (failure !== undefined) return json({ Cause: failure, Stack: [] }, 400);
    if (route === "slots/rebalance") return json(o.plan ?? {});
    return json("OK");
  };
  return new Promise((resolve) => {
    const server = Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      onListen: ({ port }) => {
        const addr = `127.0.0.1:${port}`;
        model.admin_addr = addr;
        resolve({
          addr,
          xauth,
          requests,
          paths: (method) =>
            requests.filter((r) => !method || r.method === method).map((r) => r.path.replace(xauth, "X")),
          close: () => server.shutdown(),
        });
      },
    }, handler);
  });
}
