/**
 * The dashboard's load views: every proxy's per-slot statistics, hot keys and big keys, read on demand and merged
 * into cluster-wide views (`GET /topom/slots/stats`, `/api/topom/hotkeys/:xauth`, `/api/topom/bigkeys/:xauth`), and
 * rebalancing by load (`PUT /api/topom/slots/rebalance-load/:xauth/:by/:max_moves/:confirm`), which plans with
 * `../load_plan.ts` and queues the moves for the existing slot-move machinery.
 *
 * The per-slot figures are numbers only and public, as `/topom/stats` is; hot and big keys name the users' keys, so
 * they need the xauth.
 * @module
 */
import { MAX_SLOT_NUM } from "../../models/mod.ts";
import {
  type BigKeysJSON,
  type ClusterSlotStats,
  type GroupLoad,
  type HotKeysJSON,
  type LoadViewsJSON,
  mergeBigKeys,
  mergeHotKeys,
  mergeSlotStats,
} from "../../models/load_stats.ts";
import { errorResponse, HttpError, jsonResponse } from "../../util/http.ts";
import { xauthEqual } from "../../util/xauth.ts";
import { type LoadMeasure, loadRebalance } from "../load_plan.ts";
import type { ModelHost } from "./host.ts";
import { ProxyAdminClient } from "./proxy_client.ts";
import { redisCall } from "./redis.ts";

/** What the load views need from the dashboard. */
export interface LoadHost extends ModelHost {
  /** Asks for a scheduler pass soon (queued moves start at once). */
  kick(): void;
}

/** How many hot and big keys the merged views keep. */
const MERGED_KEYS = 100;
/** Largest `max_moves` accepted: every slot once. */
const MAX_MOVES = MAX_SLOT_NUM;

/** Reads every proxy's load views in parallel (1 s timeout each). */
export async function collectLoad(
  t: ModelHost,
): Promise<{ views: LoadViewsJSON[]; errors: Record<string, string> }> {
  const cfg = t.config;
  const views: LoadViewsJSON[] = [];
  const errors: Record<string, string> = {};
  await Promise.all([...t.context().proxies.values()].map(async (p) => {
    const c = new ProxyAdminClient(p.admin_addr, {
      productName: cfg.product_name,
      productAuth: cfg.product_auth,
      timeoutMs: 1000,
    });
    c.setToken(p.token);
    try {
      views.push(await c.load());
    } catch (e) {
      errors[p.token] = (e as Error).message;
    }
  }));
  return { views, errors };
}

/** The merged per-slot figures with each slot's group and the per-group sums. */
export function clusterSlotStats(
  t: ModelHost,
  views: LoadViewsJSON[],
  errors: Record<string, string>,
): ClusterSlotStats {
  const merged = mergeSlotStats(views.map((v) => v.slots));
  const ctx = t.context();
  const groupOf = (id: number) => ctx.slots[id]?.group_id ?? 0;
  const groups: Record<string, GroupLoad> = {};
  for (const g of ctx.groups.values()) {
    groups[String(g.id)] = { slots: 0, requests: 0, errors: 0, ops_per_sec: 0, bytes_per_sec: 0 };
  }
  for (const m of ctx.slots) if (groups[String(m.group_id)]) groups[String(m.group_id)].slots++;
  const slots = merged.slots.map((e) => ({ ...e, group_id: groupOf(e.id) }));
  for (const e of slots) {
    const g = groups[String(e.group_id)];
    if (g === undefined) continue;
    g.requests += e.requests;
    g.errors += e.errors;
    g.ops_per_sec = Math.round((g.ops_per_sec + e.ops_per_sec) * 100) / 100;
    g.bytes_per_sec = Math.round((g.bytes_per_sec + e.bytes_per_sec) * 100) / 100;
  }
  const out: ClusterSlotStats = { window_ms: merged.window_ms, slots, groups };
  if (Object.keys(errors).length > 0) out.errors = errors;
  return out;
}

/** Keys per slot, from `INFO keyspace` of each group's master (slot `s` is database `s`). */
export async function slotKeyCounts(t: ModelHost): Promise<Float64Array> {
  const counts = new Float64Array(MAX_SLOT_NUM);
  const masters = [...t.context().groups.values()].flatMap((g) => g.servers.length > 0 ? [g.servers[0].server] : []);
  await Promise.all(masters.map(async (addr) => {
    let text: string;
    try {
      text = String(await redisCall(addr, t.config.product_auth, ["INFO", "keyspace"]));
    } catch (e) {
      throw new HttpError(502, `server-[${addr}] INFO keyspace: ${(e as Error).message}`);
    }
    for (const m of text.matchAll(/^db(\d+):keys=(\d+)/gm)) {
      const db = Number(m[1]);
      if (db < MAX_SLOT_NUM) counts[db] += Number(m[2]);
    }
  }));
  return counts;
}

/** Load of each slot by `by`: ops/s or bytes/s from the proxies, or keys from the servers. */
async function slotLoads(t: ModelHost, by: LoadMeasure): Promise<Float64Array> {
  if (by === "keys") return await slotKeyCounts(t);
  const { views, errors } = await collectLoad(t);
  if (views.length === 0) {
    const why = Object.values(errors)[0];
    throw new HttpError(502, why ? `no proxy could be read: ${why}` : "no proxy to read load statistics from");
  }
  const loads = new Float64Array(MAX_SLOT_NUM);
  for (const e of mergeSlotStats(views.map((v) => v.slots)).slots) {
    loads[e.id] = by === "bytes" ? e.bytes_per_sec : e.ops_per_sec;
  }
  return loads;
}

const LOAD_ROUTES = /^\/(?:topom\/slots\/stats|api\/topom\/(slots\/stats|hotkeys|bigkeys)\/([^/]+))$/;
const REBALANCE_ROUTE = /^\/api\/topom\/slots\/rebalance-load\/([^/]+)\/([^/]+)\/([^/]+)\/([^/]+)$/;

/** Options of {@link handleLoadApi}. */
export interface LoadApiOptions {
  /** The dashboard's xauth. */
  xauth: string;
  /** Replays the request on the leader (for a PUT reaching a follower). */
  forward: () => Promise<Response>;
}

/** Answers the load routes; null for any other path. */
export async function handleLoadApi(
  req: Request,
  path: string,
  t: LoadHost,
  opts: LoadApiOptions,
): Promise<Response | null> {
  const view = LOAD_ROUTES.exec(path);
  if (view) {
    if (req.method !== "GET" && req.method !== "HEAD") return errorResponse(405, `method ${req.method} not allowed`);
    if (view[2] !== undefined && !xauthEqual(view[2], opts.xauth)) {
      return errorResponse(401, "invalid xauth, please check product name & auth");
    }
    const { views, errors } = await collectLoad(t);
    switch (view[1]) {
      case "hotkeys":
        return jsonResponse(withErrors(mergeHotKeys(views.map((v) => v.hotkeys), MERGED_KEYS), errors));
      case "bigkeys":
        return jsonResponse(withErrors(mergeBigKeys(views.map((v) => v.bigkeys), MERGED_KEYS), errors));
      default:
        return jsonResponse(clusterSlotStats(t, views, errors));
    }
  }
  const bare = /^\/topom\/(hotkeys|bigkeys)$/.exec(path);
  if (bare) return errorResponse(401, `${bare[1]} name users' keys: GET /api/topom/${bare[1]}/:xauth`);
  const rb = REBALANCE_ROUTE.exec(path);
  if (!rb) return null;
  if (req.method !== "PUT") return errorResponse(405, `method ${req.method} not allowed`);
  if (!xauthEqual(rb[1], opts.xauth)) {
    return errorResponse(401, "invalid xauth, please check product name & auth");
  }
  const by = rb[2];
  if (by !== "load" && by !== "bytes" && by !== "keys") {
    return errorResponse(400, `invalid by "${by}": expected load, bytes or keys`);
  }
  const maxMoves = Number(rb[3]);
  if (!/^\d{1,5}$/.test(rb[3]) || maxMoves < 1 || maxMoves > MAX_MOVES) {
    return errorResponse(400, `invalid max_moves "${rb[3]}": expected an integer from 1 to ${MAX_MOVES}`);
  }
  if (rb[4] !== "0" && rb[4] !== "1") return errorResponse(400, `invalid confirm "${rb[4]}": expected 0 or 1`);
  if (!t.isLeader()) return await opts.forward();
  const loads = await slotLoads(t, by);
  return await t.exclusive(async () => {
    const out = loadRebalance(t.context(), loads, by, maxMoves, rb[4] === "1");
    if (out.writes.length > 0) {
      await t.write(out.writes);
      t.kick();
    }
    return jsonResponse(out.plan);
  });
}

function withErrors<T extends HotKeysJSON | BigKeysJSON>(v: T, errors: Record<string, string>): T {
  return Object.keys(errors).length > 0 ? { ...v, errors } : v;
}
