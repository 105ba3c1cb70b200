/**
 * The proxy's admin HTTP API: Codis's routes and JSON shapes (with normal HTTP error statuses), plus /metrics.
 * @module
 */
import type { SentinelModel, Slot } from "../../models/mod.ts";
import { errorResponse, HttpError, jsonResponse, type Params, readJsonBody, Router } from "../../util/http.ts";
import { logger, setLogLevel } from "../../util/log.ts";
import { proxyXAuth, xauthEqual } from "../../util/xauth.ts";
import { configToJSON } from "../core/config.ts";
import { METRICS_CONTENT_TYPE, renderMetrics } from "./metrics.ts";
import { STATS_SLOTS, type StatsJSON } from "../core/stats.ts";
import type { ProxyControl, SentinelStats } from "./control.ts";
import { parseSlots, SentinelsSchema, zodMessage } from "./schemas.ts";
import { addLoadRoutes } from "./load_routes.ts";
import type { TlsCertifiedKey } from "../../util/tls.ts";

const log = logger("proxy-admin");

/** Version reported by GET /proxy. */
export const PROXY_VERSION = "codis-deno 0.1.0";

/** All stats flag bits (per-command stats, slots, runtime), as the overview and GET /proxy/stats use. */
const STATS_FULL = 0xffff;

/** Options of {@link startAdminServer}. */
export interface AdminServerOptions {
  hostname: string;
  port: number;
  /** Aborting it stops the server gracefully. */
  signal?: AbortSignal;
  /** Serve HTTPS with this certificate and key (`admin_tls_*`). */
  tls?: TlsCertifiedKey | null;
}

/** A running admin server. */
export interface AdminServer {
  addr: Deno.NetAddr;
  /** Resolves when the server has stopped. */
  finished: Promise<void>;
  /** Stops the server (same as aborting the signal). */
  close(): Promise<void>;
}

/** The xauth this proxy accepts (product_auth is inside the hash). */
export function expectedXAuth(ctl: ProxyControl): string {
  return proxyXAuth(ctl.config.product_name, ctl.config.product_auth, ctl.model().token);
}

/**
 * Replaces the xauth segment of an admin path so it can be logged; also any xauth-like (32 hex digits) segment, as
 * a mistyped route (logged too) may carry a valid xauth elsewhere.
 */
export function redactPath(path: string): string {
  return path.replace(/^(\/api\/proxy\/(?:stats\/reset|[a-z]+))\/[^/]+/, "$1/***")
    .replace(/\/[0-9a-fA-F]{32}(?=\/|$)/g, "/***");
}

/** The proxy's stats JSON; `fallbackSentinels` is used when the proxy does not report its own sentinel block. */
export function statsJSON(ctl: ProxyControl, flags: number, fallbackSentinels: SentinelStats = {}): StatsJSON {
  const stats = ctl.stats.toJSON(flags, {
    online: ctl.isOnline(),
    closed: ctl.isClosed(),
    primaryOnly: ctl.config.backend_primary_only,
    // Only when on: with backend_write_acks = 0 the stats keep Codis's shape.
    writeAcks: ctl.writeAckStats?.() ??
      (ctl.config.backend_write_acks > 0
        ? { replicas: ctl.config.backend_write_acks, timeout_ms: ctl.config.backend_write_acks_timeout }
        : undefined),
    sentinels: ctl.sentinelStats?.() ?? fallbackSentinels,
  });
  const dashboard = ctl.dashboardStats?.();
  return dashboard ? { ...stats, dashboard } as StatsJSON : stats;
}

/** Codis's Overview JSON: `{version, compile, config, model, stats, slots}`; slots only with flag 2. */
export function overview(ctl: ProxyControl, flags: number, stats: StatsJSON): Record<string, unknown> {
  const out: Record<string, unknown> = {
    version: PROXY_VERSION,
    compile: `deno ${Deno.version.deno}, v8 ${Deno.version.v8}, typescript ${Deno.version.typescript}`,
    config: configToJSON(ctl.config),
    model: ctl.model(),
    stats,
  };
  if (flags & STATS_SLOTS) out.slots = ctl.slots();
  return out;
}

/** Builds the admin API router over a proxy. Exposed for tests and for embedding in another server. */
export function adminRouter(ctl: ProxyControl): Router {
  let sentinels: SentinelModel = { servers: [], out_of_sync: false };
  let cachedToken = "";
  let cachedXAuth = "";

  const auth = (p: Params) => {
    const token = ctl.model().token;
    if (token !== cachedToken) {
      cachedXAuth = proxyXAuth(ctl.config.product_name, ctl.config.product_auth, token);
      cachedToken = token;
    }
    if (!xauthEqual(p.xauth ?? "", cachedXAuth)) {
      throw new HttpError(403, "invalid xauth, please check product_name & product_auth");
    }
  };
  const stats = (flags: number): StatsJSON => statsJSON(ctl, flags, { servers: sentinels.servers ?? [] });
  const parseFlags = (s: string | undefined): number => {
    if (s === undefined) return 0;
    if (!/^\d{1,10}$/.test(s)) throw new HttpError(400, `invalid stats flags "${s}": expected a non-negative integer`);
    return Number(s);
  };
  const ok = () => jsonResponse("OK");

  const r = new Router();
  r.get("/", () => new Response(null, { status: 302, headers: { location: "/proxy" } }));
  r.get("/proxy", () => jsonResponse(overview(ctl, STATS_FULL, stats(STATS_FULL))));
  r.get("/proxy/model", () => jsonResponse(ctl.model()));
  r.get("/proxy/stats", () => jsonResponse(stats(STATS_FULL)));
  r.get("/proxy/slots", () => jsonResponse(ctl.slots()));
  r.get("/metrics", () => new Response(renderMetrics(ctl), { headers: { "content-type": METRICS_CONTENT_TYPE } }));

  r.get("/api/proxy/model", () => jsonResponse(ctl.model()));
  r.get("/api/proxy/xping/:xauth", (_q, p) => (auth(p), ok()));
  r.get("/api/proxy/stats/:xauth", (_q, p) => (auth(p), jsonResponse(stats(0))));
  r.get("/api/proxy/stats/:xauth/:flags", (_q, p) => (auth(p), jsonResponse(stats(parseFlags(p.flags)))));
  r.get("/api/proxy/slots/:xauth", (_q, p) => (auth(p), jsonResponse(ctl.slots())));
  addLoadRoutes(r, ctl, auth);

  r.put("/api/proxy/start/:xauth", async (_q, p) => {
    auth(p);
    if (ctl.isClosed()) throw new HttpError(409, "proxy is closed");
    await ctl.start();
    return ok();
  });
  r.put("/api/proxy/stats/reset/:xauth", async (_q, p) => {
    auth(p);
    if (ctl.resetStats) await ctl.resetStats();
    else {
      ctl.stats.reset();
      ctl.resetLoad?.();
    }
    return ok();
  });
  r.put("/api/proxy/forcegc/:xauth", (_q, p) => {
    auth(p);
    // Only available with --v8-flags=--expose-gc; otherwise V8 collects on its own schedule.
    (globalThis as { gc?: () => void }).gc?.();
    return ok();
  });
  r.put("/api/proxy/shutdown/:xauth", (_q, p) => {
    auth(p);
    // Answer first: shutting down closes this server, which waits for in-flight responses.
    setTimeout(() => {
      Promise.resolve().then(() => ctl.shutdown()).catch((e) => log.error(`shutdown failed: ${(e as Error).message}`));
    }, 0);
    return ok();
  });
  r.put("/api/proxy/loglevel/:xauth/:value", (_q, p) => {
    auth(p);
    if (!setLogLevel(p.value)) {
      throw new HttpError(400, `invalid log level "${p.value}": expected DEBUG, INFO, WARN or ERROR`);
    }
    return ok();
  });
  r.put("/api/proxy/fillslots/:xauth", async (req, p) => {
    auth(p);
    let slots: Slot[];
    try {
      slots = parseSlots(await readJsonBody(req));
    } catch (e) {
      if (e instanceof HttpError) throw e;
      throw new HttpError(400, (e as Error).message);
    }
    if (ctl.isClosed()) throw new HttpError(409, "proxy is closed");
    await ctl.fillSlots(slots);
    return ok();
  });
  r.put("/api/proxy/sentinels/:xauth", async (req, p) => {
    auth(p);
    const parsed = SentinelsSchema.safeParse(await readJsonBody(req));
    if (!parsed.success) throw new HttpError(400, `invalid sentinels: ${zodMessage(parsed.error)}`);
    const model: SentinelModel = { servers: parsed.data.servers ?? [], out_of_sync: parsed.data.out_of_sync ?? false };
    if (ctl.setSentinels) await ctl.setSentinels(model);
    sentinels = model;
    return ok();
  });
  r.put("/api/proxy/sentinels/:xauth/rewatch", async (_q, p) => {
    auth(p);
    await ctl.rewatchSentinels?.();
    return ok();
  });
  return r;
}

/**
 * Serves the admin API on `hostname:port` (port 0 picks a free port). Non-GET /api calls are logged with the
 * client address and X-Real-IP/X-Forwarded-For, with the xauth segment redacted.
 */
export function startAdminServer(ctl: ProxyControl, opts: AdminServerOptions): AdminServer {
  const router = adminRouter(ctl);
  const ac = new AbortController();
  const onAbort = () => ac.abort();
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  if (opts.signal?.aborted) ac.abort();
  const server = Deno.serve({
    hostname: opts.hostname,
    port: opts.port,
    ...(opts.tls ?? {}),
    signal: ac.signal,
    onListen: () => {},
    onError: (e) => {
      log.error(`admin handler failed: ${(e as Error).message}`);
      return errorResponse(500, "internal error");
    },
  }, async (req, info) => {
    const url = new URL(req.url);
    if (req.method !== "GET" && url.pathname.startsWith("/api/")) {
      const remote = (info.remoteAddr as Deno.NetAddr).hostname;
      const fwd = req.headers.get("x-real-ip") ?? req.headers.get("x-forwarded-for");
      log.info(`${req.method} ${redactPath(url.pathname)} from ${remote}${fwd ? ` (${fwd})` : ""}`);
    }
    return await router.handle(req, info);
  });
  const finished = server.finished.finally(() => opts.signal?.removeEventListener("abort", onAbort));
  return {
    addr: server.addr,
    finished,
    close: async () => {
      ac.abort();
      await finished;
    },
  };
}
