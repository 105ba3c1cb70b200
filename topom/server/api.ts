/**
 * The dashboard's HTTP API: Codis's `/topom*` and `/api/topom/*` routes (api_schemas.ts), the proxies' long-poll
 * (`/api/topom/proxy/watch`), the Raft operator endpoints and, in Raft mode, the store routes that followers use
 * to forward writes. Followers answer reads from their cache and forward every PUT to the leader.
 * @module
 */
import type { ProxyModel } from "../../models/mod.ts";
import { ProxyAdminClient, ProxyApiError } from "./proxy_client.ts";
import { decodePathSegment, errorResponse, HttpError, jsonResponse, readBodyText } from "../../util/http.ts";
import { logger, setLogLevel } from "../../util/log.ts";
import { newXAuth, xauthEqual } from "../../util/xauth.ts";
import { BadRequestError, matchRoute, type RouteName, validateParams } from "../api_schemas.ts";
import { configJson } from "../config.ts";
import { TopomError } from "../context.ts";
import { createProxy, onlineProxy, removeProxy } from "../proxy_ops.ts";
import { addSentinel, delSentinel, sentinelSync } from "../proxy_ops.ts";
import { clearSentinelFences } from "../sentinel_fence.ts";
import { fenceOnRemoval } from "../proxy_lease.ts";
import { storeLeaseFences } from "./lease_fences.ts";
import { isPureRoute, runPureRoute } from "../pure_routes.ts";
import { METRICS_CONTENT_TYPE, renderDashboardMetrics } from "./metrics.ts";
import type { Topom } from "./topom.ts";
import { forwardToLeader } from "./forward.ts";
import { watchProxy } from "./proxy_watch.ts";
import { handleLoadApi } from "./load_views.ts";
import { handleRaftApi } from "./raft_api.ts";
import { serverInfo } from "./redis.ts";
import { probeSentinel, removeProductMasters, resyncSentinel, sentinelInfo, sentinelMonitored } from "./sentinel_io.ts";
import { sentinelMonitorPlan } from "../sentinel_plan.ts";
import { checkServer } from "./server_check.ts";
import { probeReplicas } from "./promote_io.ts";
import { promoteBest } from "../promote_choice.ts";

const log = logger("api");
const VERSION = "codis-deno 3.2-compatible";
const WATCH = /^\/api\/topom\/proxy\/watch\/([^/]+)\/([^/]+)$/;
const STATS_ROUTES = new Set<RouteName>(["topom", "topom/stats", "stats"]);
/**
 * GETs that connect to a server named in the path. They need no xauth (Codis's FE links to them), so they answer only
 * for the product's own servers; a follower that does not know the address yet (a write it just forwarded) asks the
 * leader.
 */
const ADDR_ROUTES = new Set<RouteName>(["group/info", "sentinels/info", "sentinels/info/monitored"]);
/** PUTs about the addressed process itself, never forwarded. */
const LOCAL_ROUTES = new Set<RouteName>(["shutdown", "loglevel", "reload"]);
/** Largest request body accepted (a full `slots/assign` is ~100 KB; codis-fe forwards at most 4 MB too). */
export const MAX_API_BODY = 4 << 20;

/** Options of {@link dashboardHandler}. */
export interface ApiOptions {
  /** Called after answering `shutdown`. */
  onShutdown?: () => void;
}

/** The xauth of this product's dashboard API (product_auth included, unlike Codis). */
export function dashboardXAuth(product: string, auth: string): string {
  return newXAuth(product, auth);
}

function fail(e: unknown): Response {
  if (e instanceof TopomError || e instanceof BadRequestError || e instanceof HttpError) {
    return errorResponse(e.status, e.message);
  }
  if (e instanceof ProxyApiError) return errorResponse(502, e.message);
  return errorResponse(500, (e as Error)?.message ?? String(e));
}

/** Builds the request handler of one dashboard. */
export function dashboardHandler(t: Topom, opts: ApiOptions = {}): (req: Request) => Promise<Response> {
  const xauth = dashboardXAuth(t.config.product_name, t.config.product_auth);
  const storeHandler = t.coord.storeHandler;
  return async (req) => {
    try {
      if (storeHandler) {
        const r = await storeHandler(req);
        if (r) return r;
      }
      const url = new URL(req.url);
      if (url.pathname === "/" && req.method === "GET") {
        return new Response(null, { status: 302, headers: { location: "/topom" } });
      }
      // The body is read only once the route and its xauth are known good (forward() and dispatch come after).
      let body: string | undefined;
      const readBody = async () => body ??= req.method === "PUT" ? await readBodyText(req, MAX_API_BODY) : "";
      const forward = async (again = false) =>
        forwardToLeader(req, await readBody(), () => t.coord.leaderAdminAddr(), { again });
      const raft = await handleRaftApi(req, { node: t.coord.raft, xauth, isLeader: () => t.isLeader(), forward });
      if (raft) return raft;
      if (url.pathname === "/metrics" && req.method === "GET") {
        return new Response(renderDashboardMetrics(t), { headers: { "content-type": METRICS_CONTENT_TYPE } });
      }
      if (!t.ready) {
        // Loading takes milliseconds once the store has a leader: hold the request briefly rather than fail it.
        for (let i = 0; i < 100 && !t.ready; i++) await new Promise((r) => setTimeout(r, 50));
        if (!t.ready) return errorResponse(503, "dashboard is loading the model");
      }
      const w = WATCH.exec(url.pathname);
      if (w) return await proxyWatch(t, req, xauth, decodePathSegment(w[1]), decodePathSegment(w[2]));
      const load = await handleLoadApi(req, url.pathname, t, { xauth, forward: () => forward() });
      if (load) return load;
      const m = matchRoute(req.method === "HEAD" ? "GET" : req.method, url.pathname);
      if (!m) return errorResponse(404, `no route for ${req.method} ${url.pathname}`);
      if ("methodNotAllowed" in m) return errorResponse(405, `method ${req.method} not allowed on ${url.pathname}`);
      const name = m.route.name;
      const params = validateParams(name, m.params) as Record<string, unknown>;
      if (typeof params.xauth === "string" && !xauthEqual(params.xauth, xauth)) {
        throw new HttpError(401, "invalid xauth, please check product name & auth");
      }
      const unknownAddr = ADDR_ROUTES.has(name) && !knownAddr(t, name, params.addr as string);
      if (
        !t.isLeader() && !LOCAL_ROUTES.has(name) &&
        (m.route.method === "PUT" || STATS_ROUTES.has(name) || unknownAddr)
      ) {
        const r = await forward();
        if (m.route.method === "PUT" || r.status < 500) return r;
      }
      return await dispatch(t, name, params, await readBody(), opts);
    } catch (e) {
      return fail(e);
    }
  };
}

/** Whether `addr` is one of the product's servers (group/info) or sentinels (sentinels/info...). */
function knownAddr(t: Topom, name: RouteName, addr: string): boolean {
  const ctx = t.context();
  if (name === "group/info") {
    for (const g of ctx.groups.values()) if (g.servers.some((x) => x.server === addr)) return true;
    return false;
  }
  return (ctx.sentinel.servers ?? []).includes(addr);
}

async function proxyWatch(t: Topom, req: Request, xauth: string, x: string, token: string): Promise<Response> {
  if (req.method !== "GET") return errorResponse(405, `method ${req.method} not allowed`);
  if (!xauthEqual(x, xauth)) return errorResponse(401, "invalid xauth, please check product name & auth");
  if (!t.isLeader()) {
    return jsonResponse({ Cause: "not leader", Stack: [], leader: t.coord.leaderAdminAddr() }, 421);
  }
  const q = new URL(req.url).searchParams;
  const num = (k: string, def: number) => {
    const v = q.get(k);
    if (v === null || v === "") return def;
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < 0) throw new HttpError(400, `invalid ${k} "${v}": expected an integer ≥ 0`);
    return n;
  };
  const timeout = Math.min(60_000, num("timeout", 30_000));
  return jsonResponse(await watchProxy(t, token, num("applied", 0), num("since", 0), timeout, req.signal));
}

async function fetchProxy(t: Topom, addr: string): Promise<ProxyModel> {
  const c = new ProxyAdminClient(addr, {
    productName: t.config.product_name,
    productAuth: t.config.product_auth,
    timeoutMs: 5000,
  });
  let p: ProxyModel;
  try {
    p = await c.model();
  } catch (e) {
    throw new HttpError(502, `proxy-[${addr}] model: ${(e as ProxyApiError).reason ?? (e as Error).message}`);
  }
  if (p?.product_name !== t.config.product_name) {
    throw new HttpError(400, `proxy-[${addr}] belongs to product "${p?.product_name}", not "${t.config.product_name}"`);
  }
  c.setToken(p.token);
  try {
    await c.xping();
  } catch (e) {
    // A proxy without xping (404) is accepted; any other refusal means another product_auth.
    if (!(e instanceof ProxyApiError && e.status === 404)) {
      throw new HttpError(400, `proxy-[${addr}] xping failed (product_auth mismatch?): ${(e as ProxyApiError).reason}`);
    }
  }
  return p;
}

async function dispatch(
  t: Topom,
  name: RouteName,
  p: Record<string, unknown>,
  body: string,
  opts: ApiOptions,
): Promise<Response> {
  const ok = () => jsonResponse("OK");
  const cfg = t.config;
  if (isPureRoute(name)) {
    return await t.exclusive(async () => {
      const ctx = t.context();
      const out = runPureRoute(name, ctx, p as never, { executorsRunning: t.executor.running(), bodyText: body });
      let warning: string | undefined;
      if (name === "group/add") warning = await checkServer(p.addr as string, cfg.product_auth);
      await t.write(out.writes);
      if (warning) {
        log.warn(warning);
        return jsonResponse({ warning });
      }
      return out.result === null || out.result === undefined ? ok() : jsonResponse(out.result);
    });
  }
  switch (name) {
    case "topom":
      return jsonResponse({
        version: VERSION,
        compile: "deno",
        config: configJson(cfg),
        model: t.model,
        stats: t.stats.json(),
      });
    case "topom/model":
    case "model":
      return jsonResponse(t.model);
    case "topom/stats":
    case "stats":
      return jsonResponse(t.stats.json());
    case "topom/slots":
    case "slots":
      return jsonResponse(t.context().toSlots());
    case "xping":
      return ok();
    case "reload":
      await t.exclusive(() => t.reload());
      return ok();
    case "shutdown":
      setTimeout(() => opts.onShutdown?.(), 50);
      return ok();
    case "loglevel":
      setLogLevel(p.value as string);
      return ok();
    case "proxy/create":
    case "proxy/online": {
      const model = await fetchProxy(t, p.addr as string);
      return await t.exclusive(async () => {
        const ctx = t.context();
        await t.write(name === "proxy/create" ? createProxy(ctx, model) : onlineProxy(ctx, model));
        t.acks.delete(model.token);
        if (t.leaseFences.delete(model.token)) await storeLeaseFences(t);
        return ok();
      });
    }
    case "group/promote-best": {
      const gid = p.gid as number;
      const probes = await probeReplicas(t, gid);
      return await t.exclusive(async () => {
        const out = promoteBest(t.context(), gid, probes, t.executor.running());
        await t.write(out.writes);
        return jsonResponse({ promoted: out.addr });
      });
    }
    case "proxy/reinit":
      t.context().getProxy(p.token as string);
      t.reinitProxy(p.token as string);
      return ok();
    case "proxy/remove":
      return await t.exclusive(async () => {
        const removed = t.context().proxies.get(p.token as string);
        await t.write(removeProxy(t.context(), p.token as string, p.force as boolean, false));
        // It may still serve its old model (cut off, not dead): wait out its lease before moving slots past it.
        const fence = removed && fenceOnRemoval(removed, t.acks.get(removed.token), performance.now(), Date.now());
        if (fence) {
          t.leaseFences.set(fence.token, fence);
          await storeLeaseFences(t);
        }
        t.acks.delete(p.token as string);
        t.kick();
        return ok();
      });
    case "group/info":
      // No xauth here (Codis's FE links to it), so product_auth may only be sent to the product's own servers.
      t.context().getGroupByServer(p.addr as string);
      return jsonResponse(
        await serverInfo(p.addr as string, cfg.product_auth).catch((e) => {
          throw new HttpError(502, `server-[${p.addr}]: ${(e as Error).message}`);
        }),
      );
    case "slots/action/resume":
      await t.exclusive(() => Promise.resolve(t.resumeSlot(p.sid as number)));
      return ok();
    case "sentinels/add":
      addSentinel(t.context(), p.addr as string); // refuse a duplicate before probing
      await probeSentinel(p.addr as string).catch((e) => {
        throw new HttpError(400, `sentinel-[${p.addr}] probe (SENTINEL FLUSHCONFIG) failed: ${(e as Error).message}`);
      });
      return await t.exclusive(async () => {
        await t.write(addSentinel(t.context(), p.addr as string));
        return ok();
      });
    case "sentinels/del":
      return await t.exclusive(async () => {
        const d = delSentinel(t.context(), p.addr as string);
        await t.write(d.before);
        try {
          await removeProductMasters(p.addr as string, cfg.product_name);
        } catch (e) {
          if (!p.force) throw new HttpError(502, `remove sentinel ${p.addr} failed: ${(e as Error).message}`);
        }
        await t.write(d.after);
        return ok();
      });
    case "sentinels/resync-all":
      return await t.exclusive(async () => {
        const ctx = t.context();
        const plan = sentinelMonitorPlan(ctx, cfg);
        await t.write(sentinelSync(ctx, false));
        const servers = ctx.sentinel.servers ?? [];
        const results = await Promise.allSettled(servers.map((a) => resyncSentinel(a, cfg.product_name, plan)));
        const failed = results.flatMap((r, i) =>
          r.status === "rejected" ? [`${servers[i]}: ${r.reason?.message}`] : []
        );
        if (failed.length > 0) throw new HttpError(502, `resync sentinels failed: ${failed.join("; ")}`);
        // Every sentinel now monitors the model's masters afresh: no older view is left to fence off.
        await t.write([...sentinelSync(t.context(), true), ...clearSentinelFences(t.context())]);
        return ok();
      });
    case "sentinels/info":
      if (!knownAddr(t, name, p.addr as string)) throw new HttpError(404, `sentinel-[${p.addr}] does not exist`);
      return jsonResponse(
        await sentinelInfo(p.addr as string).catch((e) => {
          throw new HttpError(502, `sentinel-[${p.addr}]: ${(e as Error).message}`);
        }),
      );
    case "sentinels/info/monitored":
      if (!knownAddr(t, name, p.addr as string)) throw new HttpError(404, `sentinel-[${p.addr}] does not exist`);
      return jsonResponse(
        await sentinelMonitored(p.addr as string, cfg.product_name).catch((e) => {
          throw new HttpError(502, `sentinel-[${p.addr}]: ${(e as Error).message}`);
        }),
      );
  }
  throw new HttpError(404, `route ${name} is not implemented`);
}
