/**
 * Raft operator endpoints of every dashboard (see README.md in this directory): status, add (learner or voter),
 * promote, remove and leadership transfer. Changes run on the leader (a follower forwards them); bad input is
 * refused with a 4xx before membership changes.
 * @module
 */
import type { RaftStatusJson } from "../../models/mod.ts";
import type { RaftNode } from "../../raft/node/node.ts";
import { decodePathSegment, errorResponse, HttpError, jsonResponse } from "../../util/http.ts";
import { xauthEqual } from "../../util/xauth.ts";
import { addrSchema } from "../api_schemas.ts";

const PREFIX = "/api/topom/raft/";

/** What the Raft endpoints need from the dashboard. */
export interface RaftApiEnv {
  node: RaftNode | undefined;
  xauth: string;
  isLeader(): boolean;
  /** Replays the request on the leader; `again` even if it was forwarded here already. */
  forward(again?: boolean): Promise<Response>;
}

/** The member's status with `lag` (entries behind the leader's last index) filled in where known. */
export function raftStatusJson(node: RaftNode): RaftStatusJson {
  const st = node.status();
  return { ...st, members: st.members.map((m) => ({ ...m, role: m.voter ? "voter" : "learner" })) };
}

async function reachable(addr: string, timeoutMs = 1000): Promise<boolean> {
  const i = addr.lastIndexOf(":");
  const hostname = addr.slice(0, i).replace(/^\[|\]$/g, "");
  const port = Number(addr.slice(i + 1));
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const conn = await Promise.race([
      Deno.connect({ hostname, port }),
      new Promise<never>((_, rej) => timer = setTimeout(() => rej(new Error("timeout")), timeoutMs)),
    ]);
    conn.close();
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

function memberId(s: string): number {
  const id = /^\d+$/.test(s) ? Number(s) : NaN;
  if (!Number.isSafeInteger(id) || id < 1) {
    throw new HttpError(400, `invalid raft id "${s}": expected a positive integer`);
  }
  return id;
}

/** Runs a membership change, retrying for a few seconds while a new leader has not committed in its term yet. */
async function confChange(op: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + 5000;
  for (let i = 0; i < 100; i++) {
    try {
      return await op();
    } catch (e) {
      const msg = (e as Error).message ?? "";
      if (!/not committed an entry of its term|pending conf/i.test(msg) || Date.now() > deadline) {
        throw new HttpError(/refused|pending/i.test(msg) ? 503 : 500, msg);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** Handles `/api/topom/raft/*`; undefined for other paths. */
export async function handleRaftApi(req: Request, env: RaftApiEnv): Promise<Response | undefined> {
  const url = new URL(req.url);
  if (!url.pathname.startsWith(PREFIX)) return undefined;
  const node = env.node;
  try {
    const segs = url.pathname.slice(PREFIX.length).split("/").map(decodePathSegment);
    if (segs[0] === "status" && segs.length <= 2) {
      if (req.method !== "GET") throw new HttpError(405, `method ${req.method} not allowed`);
      if (!node) throw new HttpError(501, "raft endpoints need coordinator_name = raft");
      return jsonResponse(raftStatusJson(node));
    }
    const want: Record<string, number> = { add: 4, promote: 3, remove: 3, transfer: 3 };
    if (!(segs[0] in want) || segs.length !== want[segs[0]]) throw new HttpError(404, `no route for ${url.pathname}`);
    if (req.method !== "PUT") throw new HttpError(405, `method ${req.method} not allowed`);
    if (!xauthEqual(segs[1], env.xauth)) throw new HttpError(401, "invalid xauth");
    if (!node) throw new HttpError(501, "raft endpoints need coordinator_name = raft");
    const id = memberId(segs[2]);
    if (!env.isLeader()) return await env.forward();
    const st = node.status();
    const member = st.members.find((m) => m.id === id);
    switch (segs[0]) {
      case "add": {
        const addr = segs[3];
        if (!addrSchema.safeParse(addr).success) {
          throw new HttpError(400, `invalid address "${addr}": expected HOST:PORT`);
        }
        if (member) throw new HttpError(409, `raft member ${id} already exists (${member.addr ?? "?"})`);
        const dup = st.members.find((m) => m.addr === addr);
        if (dup) throw new HttpError(409, `raft address ${addr} is already used by member ${dup.id}`);
        if (!(await reachable(addr))) {
          throw new HttpError(400, `raft address ${addr} is unreachable: start the new dashboard first`);
        }
        await confChange(() => node.addLearner(id, addr));
        const learner = ["1", "true"].includes(url.searchParams.get("learner") ?? "");
        if (!learner) await confChange(() => node.promote(id));
        return jsonResponse("OK");
      }
      case "promote":
        if (!member) throw new HttpError(404, `raft member ${id} doesn't exist`);
        if (member.voter) throw new HttpError(409, `raft member ${id} is already a voter`);
        await confChange(() => node.promote(id));
        return jsonResponse("OK");
      case "remove": {
        if (!member) throw new HttpError(404, `raft member ${id} doesn't exist`);
        const voters = st.members.filter((m) => m.voter);
        if (member.voter && voters.length <= 1) throw new HttpError(409, `raft member ${id} is the last voter`);
        if (id === st.id) {
          const next = voters.find((m) => m.id !== id && m.active !== false);
          if (!next) throw new HttpError(409, `no other voter to hand leadership to before removing ${id}`);
          await node.transferLeader(next.id);
          return await env.forward(true);
        }
        await confChange(() => node.remove(id));
        return jsonResponse("OK");
      }
      case "transfer":
        if (!member) throw new HttpError(404, `raft member ${id} doesn't exist`);
        if (!member.voter) throw new HttpError(409, `raft member ${id} is a learner: promote it first`);
        if (id !== st.id) await node.transferLeader(id);
        return jsonResponse("OK");
    }
    throw new HttpError(404, `no route for ${url.pathname}`);
  } catch (e) {
    if (e instanceof HttpError) return errorResponse(e.status, e.message);
    return errorResponse(500, (e as Error).message ?? String(e));
  }
}
