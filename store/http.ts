/**
 * The Raft namespace over HTTP, served by every member (dashboard) process:
 *
 * | method | path (under `basePath`, default `/api/store`) | answer |
 * |---|---|---|
 * | POST | `/propose` (body: a namespace Command) | the ApplyResult (errors of the write itself are inside it) |
 * | GET | `/node?path=P` | `{ node: WireNode \| null }` |
 * | GET | `/list?path=P` | `{ children, exists }` |
 * | GET | `/revision` | `{ revision }` |
 * | GET | `/changes?prefix=P&after=N&timeout=MS` | `{ revision, events }` (long-poll, at most 60 s) |
 * | GET | `/session?id=S` | `{ alive }` |
 *
 * Every request carries `x-store-body-sha256: <hex SHA-256 of the body>` and `x-store-auth: <unix ms>.<hex
 * HMAC-SHA256(cluster_secret, method \n path?query \n ms \n body digest)>`; requests more than 30 s off are refused.
 * The signature is checked before the body is read (then the body must match its digest), so that nobody without
 * the secret can make a member buffer anything. A replayed write is harmless: commands carry request ids.
 * Failures answer with a status (404 not found, 409 exists/conflict, 410 compacted/session gone, 421 not the
 * leader, 503 no quorum, 400 invalid, 401 authentication) and the error's plain form (`ErrorInfo`) as body.
 * @module
 */
import { Buffer } from "node:buffer";
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { WatchEvent } from "./client.ts";
import { errorFromInfo, type ErrorInfo, errorToInfo, NotLeaderError, StoreError } from "./errors.ts";
import { NamespaceClient } from "./namespace_client.ts";
import { type ApplyResult, b64, type Command } from "./namespace_commands.ts";
import type { NamespaceHost } from "./namespace_host.ts";
import type { Forwarder } from "./raft_client.ts";
import { readBodyText } from "../util/http.ts";
import { adminFetch, adminUrl } from "../util/admin_calls.ts";

/** The default mount point. */
export const STORE_BASE_PATH = "/api/store";
const AUTH_HEADER = "x-store-auth";
const DIGEST_HEADER = "x-store-body-sha256";
const MAX_SKEW_MS = 30_000;
const MAX_POLL_MS = 60_000;
/** Largest request body (a proposed command); far above any model write, far below what hurts a member. */
const MAX_BODY_BYTES = 32 << 20;

/** A node on the wire. */
export interface WireNode {
  path: string;
  data: string;
  stat: { createRevision: number; modRevision: number; version: number; session?: string };
}

/** An event on the wire. */
export interface WireEvent {
  type: "put" | "delete";
  path: string;
  revision: number;
  data?: string;
}

/** HTTP status for a store error code. */
export function statusOf(code: ErrorInfo["code"]): number {
  switch (code) {
    case "not_found":
      return 404;
    case "exists":
    case "conflict":
    case "not_empty":
      return 409;
    case "compacted":
    case "session_expired":
      return 410;
    case "not_leader":
      return 421;
    case "no_quorum":
    case "closed":
      return 503;
    case "unsupported":
      return 501;
    default:
      return 400;
  }
}

/** The hex SHA-256 of a request body, as the digest header carries it. */
export function bodyDigest(body: string): string {
  return createHash("sha256").update(body).digest("hex");
}

/** The auth header value for a request whose body has the digest `digest` ({@link bodyDigest}). */
export function signRequest(
  secret: string,
  method: string,
  pathAndQuery: string,
  digest: string,
  now = Date.now(),
): string {
  const mac = createHmac("sha256", secret).update(`${method}\n${pathAndQuery}\n${now}\n${digest}`).digest("hex");
  return `${now}.${mac}`;
}

function verify(secret: string, method: string, pathAndQuery: string, digest: string, header: string | null): boolean {
  if (!header || !/^[0-9a-f]{64}$/.test(digest)) return false;
  const dot = header.indexOf(".");
  const ts = Number(header.slice(0, dot));
  if (!Number.isFinite(ts) || Math.abs(Date.now() - ts) > MAX_SKEW_MS) return false;
  const want = Buffer.from(signRequest(secret, method, pathAndQuery, digest, ts));
  const got = Buffer.from(header);
  return want.length === got.length && timingSafeEqual(want, got);
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

function fail(e: unknown): Response {
  if (e instanceof StoreError) return json(statusOf(e.code), errorToInfo(e));
  return json(500, { code: "invalid", message: String((e as Error)?.message ?? e) });
}

/** Encodes an event for the wire. */
export function wireEvent(e: WatchEvent): WireEvent {
  const w: WireEvent = { type: e.type, path: e.path, revision: e.revision };
  if (e.data) w.data = b64(e.data);
  return w;
}

/** Options of {@link storeHandler}. */
export interface StoreServerOptions {
  /** The cluster secret shared by members and trusted clients. */
  secret: string;
  basePath?: string;
}

/**
 * A request handler for the store routes of one member; answers undefined for other paths so that it can sit in
 * front of the dashboard's own router.
 */
export function storeHandler(
  host: NamespaceHost,
  opts: StoreServerOptions,
): (req: Request) => Promise<Response | undefined> {
  const base = opts.basePath ?? STORE_BASE_PATH;
  const local = new NamespaceClient(host, "raft");
  return async (req) => {
    const url = new URL(req.url);
    if (!url.pathname.startsWith(base + "/")) return undefined;
    const route = url.pathname.slice(base.length);
    const digest = req.headers.get(DIGEST_HEADER) ?? "";
    if (!verify(opts.secret, req.method, url.pathname + url.search, digest, req.headers.get(AUTH_HEADER))) {
      await req.body?.cancel().catch(() => {});
      return json(401, { code: "invalid", message: "store: request authentication failed" });
    }
    let body = "";
    try {
      if (req.method === "POST") body = await readBodyText(req, MAX_BODY_BYTES);
    } catch (e) {
      return json(413, { code: "invalid", message: `store: ${(e as Error).message}` });
    }
    if (bodyDigest(body) !== digest) {
      return json(401, { code: "invalid", message: "store: request body does not match its signed digest" });
    }
    const q = url.searchParams;
    try {
      if (req.method === "POST" && route === "/propose") {
        return json(200, await host.propose(JSON.parse(body) as Command));
      }
      if (req.method !== "GET") return json(405, { code: "invalid", message: `store: ${req.method} not allowed` });
      switch (route) {
        case "/node": {
          const n = await local.read(q.get("path") ?? "");
          return json(200, { node: n ? { path: n.path, data: b64(n.data), stat: n.stat } : null });
        }
        case "/list": {
          const path = q.get("path") ?? "";
          const children = await local.list(path);
          const exists = children.length > 0 || (await local.read(path)) !== undefined;
          return json(200, { children, exists });
        }
        case "/revision":
          return json(200, { revision: await local.revision() });
        case "/changes": {
          const ms = Math.min(MAX_POLL_MS, Math.max(0, Number(q.get("timeout") ?? 0) || 0));
          const b = await local.waitForChanges(q.get("prefix") ?? "/", Number(q.get("after") ?? 0), ms, req.signal);
          return json(200, { revision: b.revision, events: b.events.map(wireEvent) });
        }
        case "/session":
          return json(200, { alive: await local.sessionAlive(q.get("id") ?? "") });
        default:
          return json(404, { code: "invalid", message: `store: no route ${route}` });
      }
    } catch (e) {
      return fail(e);
    }
  };
}

/** Calls a member's store route; throws the typed error of a failure answer. */
export async function storeRequest<T>(
  addr: string,
  secret: string,
  method: "GET" | "POST",
  route: string,
  opts: {
    query?: Record<string, string>;
    body?: unknown;
    timeoutMs?: number;
    signal?: AbortSignal;
    basePath?: string;
  } = {},
): Promise<T> {
  const qs = opts.query ? "?" + new URLSearchParams(opts.query).toString() : "";
  const path = (opts.basePath ?? STORE_BASE_PATH) + route + qs;
  const body = opts.body === undefined ? "" : JSON.stringify(opts.body);
  const digest = bodyDigest(body);
  const ac = new AbortController();
  const t = setTimeout(() => ac.abort(), opts.timeoutMs ?? 10_000);
  const onAbort = () => ac.abort();
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    const res = await adminFetch(adminUrl(addr, path), {
      method,
      headers: {
        [AUTH_HEADER]: signRequest(secret, method, path, digest),
        [DIGEST_HEADER]: digest,
        "content-type": "application/json",
      },
      body: method === "POST" ? body : undefined,
      signal: ac.signal,
    });
    const text = await res.text();
    const parsed = text ? JSON.parse(text) : {};
    if (!res.ok) throw errorFromInfo(parsed as ErrorInfo);
    return parsed as T;
  } finally {
    clearTimeout(t);
    opts.signal?.removeEventListener("abort", onAbort);
  }
}

/**
 * A {@link Forwarder} that sends a follower's write to the leader's `/propose`. `addrOf` maps the leader (Raft id
 * and Raft address) to its HTTP address; answer undefined when it is unknown.
 */
export function httpForwarder(
  secret: string,
  addrOf: (leader: { id: number; addr: string | undefined }) => string | undefined,
  basePath = STORE_BASE_PATH,
): Forwarder {
  return async (cmd, leader) => {
    const http = addrOf(leader);
    if (!http) throw new NotLeaderError(leader.id, leader.addr);
    return await storeRequest<ApplyResult>(http, secret, "POST", "/propose", { body: cmd, basePath });
  };
}
