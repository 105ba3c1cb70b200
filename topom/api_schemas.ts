/**
 * The dashboard's HTTP routes (Codis's `topom_api.go`, reference 3.1) with zod schemas for their path parameters
 * and bodies, and a small matcher, so that bad input is refused with a 400 and a one-line message before any
 * handler runs.
 * @module
 */
import { z } from "zod";
import { MAX_GROUP_ID, MAX_SLOT_NUM } from "../models/mod.ts";

/** A request refused for bad input; answer with `status` (400) and the message. */
export class BadRequestError extends Error {
  override name = "BadRequestError";
  readonly status = 400;
}

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[^\s:\[\]/]+):(\d{1,5})$/;

function intParam(what: string, min: number, max: number) {
  return z.string().transform((s, ctx) => {
    const n = /^-?\d+$/.test(s) ? Number(s) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      ctx.addIssue({ code: "custom", message: `invalid ${what} "${s}": expected an integer in ${min}..${max}` });
      return z.NEVER;
    }
    return n;
  });
}

/** "0"/"1" (any integer: non-zero is true, as Codis parses it) or "true"/"false". */
function boolParam(what: string) {
  return z.string().transform((s, ctx) => {
    if (s === "true") return true;
    if (s === "false") return false;
    if (/^-?\d+$/.test(s)) return Number(s) !== 0;
    ctx.addIssue({ code: "custom", message: `invalid ${what} "${s}": expected 0 or 1` });
    return z.NEVER;
  });
}

/** A HOST:PORT address with a non-empty host. */
export const addrSchema = z.string().refine((s) => {
  const m = HOST_PORT.exec(s);
  return !!m && Number(m[2]) >= 1 && Number(m[2]) <= 65535;
}, { error: (iss) => `invalid address "${String(iss.input)}": expected HOST:PORT` });

const xauth = z.string().min(1, { error: "missing xauth" });
const token = z.string().regex(/^[^/\s]+$/, { error: "invalid proxy token" });
const gid = intParam("group id", 1, MAX_GROUP_ID);
const sid = intParam("slot id", 0, MAX_SLOT_NUM - 1);
const anyGid = intParam("group id", 0, MAX_GROUP_ID);
const levels = ["DEBUG", "INFO", "WARN", "ERROR"];
const logLevel = z.string().transform((s, ctx) => {
  const up = s.toUpperCase() === "WARNING" ? "WARN" : s.toUpperCase();
  if (!levels.includes(up)) {
    ctx.addIssue({ code: "custom", message: `invalid log level "${s}": expected one of ${levels.join(", ")}` });
    return z.NEVER;
  }
  return up;
});
const datacenter = z.string().max(256, { error: "datacenter name too long" });

const X = { xauth };

/** Path-parameter schemas by route name. */
export const PARAMS = {
  "topom": z.object({}),
  "topom/model": z.object({}),
  "topom/stats": z.object({}),
  "topom/slots": z.object({}),
  "model": z.object({}),
  "xping": z.object(X),
  "stats": z.object(X),
  "slots": z.object(X),
  "reload": z.object(X),
  "shutdown": z.object(X),
  "loglevel": z.object({ ...X, value: logLevel }),
  "proxy/create": z.object({ ...X, addr: addrSchema }),
  "proxy/online": z.object({ ...X, addr: addrSchema }),
  "proxy/reinit": z.object({ ...X, token }),
  "proxy/remove": z.object({ ...X, token, force: boolParam("force") }),
  "group/create": z.object({ ...X, gid }),
  "group/remove": z.object({ ...X, gid }),
  "group/resync": z.object({ ...X, gid }),
  "group/resync-all": z.object(X),
  "group/add": z.object({ ...X, gid, addr: addrSchema, datacenter: datacenter.optional() }),
  "group/del": z.object({ ...X, gid, addr: addrSchema }),
  "group/promote": z.object({ ...X, gid, addr: addrSchema }),
  "group/promote-best": z.object({ ...X, gid }),
  "group/replica-groups": z.object({ ...X, gid, addr: addrSchema, value: boolParam("value") }),
  "group/replica-groups-all": z.object({ ...X, value: boolParam("value") }),
  "group/action/create": z.object({ ...X, addr: addrSchema }),
  "group/action/remove": z.object({ ...X, addr: addrSchema }),
  "group/info": z.object({ addr: addrSchema }),
  "slots/action/create": z.object({ ...X, sid, gid }),
  "slots/action/create-some": z.object({
    ...X,
    src: anyGid,
    dst: gid,
    num: intParam("number of slots", 0, MAX_SLOT_NUM),
  }),
  "slots/action/create-range": z.object({ ...X, beg: sid, end: sid, gid }).refine((p) => p.beg <= p.end, {
    error: "invalid slot range: beg must not exceed end",
  }),
  "slots/action/remove": z.object({ ...X, sid }),
  "slots/action/interval": z.object({ ...X, value: intParam("interval (µs)", -(2 ** 31), 2 ** 31) }),
  "slots/action/disabled": z.object({ ...X, value: boolParam("value") }),
  "slots/action/resume": z.object({ ...X, sid }),
  "slots/assign": z.object(X),
  "slots/assign/offline": z.object(X),
  "slots/rebalance": z.object({ ...X, confirm: boolParam("confirm") }),
  "sentinels/add": z.object({ ...X, addr: addrSchema }),
  "sentinels/del": z.object({ ...X, addr: addrSchema, force: boolParam("force") }),
  "sentinels/resync-all": z.object(X),
  "sentinels/info": z.object({ addr: addrSchema }),
  "sentinels/info/monitored": z.object({ addr: addrSchema }),
} as const;

/** A route name. */
export type RouteName = keyof typeof PARAMS;
/** The validated parameters of route `N`. */
export type RouteParams<N extends RouteName> = z.output<(typeof PARAMS)[N]>;

/** One route: method, Codis's path pattern (`:name` segments) and its name in {@link PARAMS}. */
export interface Route {
  method: "GET" | "PUT";
  path: string;
  name: RouteName;
}

const A = "/api/topom";
/**
 * Every route, in Codis's order: the unauthenticated overview (`GET /topom...`; `GET /` redirects to `/topom`)
 * and `/api/topom/*`, plus our `slots/action/resume`. Optional segments (`group/add`'s datacenter) appear twice.
 */
export const ROUTES: readonly Route[] = [
  { method: "GET", path: "/topom", name: "topom" },
  { method: "GET", path: "/topom/model", name: "topom/model" },
  { method: "GET", path: "/topom/stats", name: "topom/stats" },
  { method: "GET", path: "/topom/slots", name: "topom/slots" },
  { method: "GET", path: `${A}/model`, name: "model" },
  { method: "GET", path: `${A}/xping/:xauth`, name: "xping" },
  { method: "GET", path: `${A}/stats/:xauth`, name: "stats" },
  { method: "GET", path: `${A}/slots/:xauth`, name: "slots" },
  { method: "PUT", path: `${A}/reload/:xauth`, name: "reload" },
  { method: "PUT", path: `${A}/shutdown/:xauth`, name: "shutdown" },
  { method: "PUT", path: `${A}/loglevel/:xauth/:value`, name: "loglevel" },
  { method: "PUT", path: `${A}/proxy/create/:xauth/:addr`, name: "proxy/create" },
  { method: "PUT", path: `${A}/proxy/online/:xauth/:addr`, name: "proxy/online" },
  { method: "PUT", path: `${A}/proxy/reinit/:xauth/:token`, name: "proxy/reinit" },
  { method: "PUT", path: `${A}/proxy/remove/:xauth/:token/:force`, name: "proxy/remove" },
  { method: "PUT", path: `${A}/group/create/:xauth/:gid`, name: "group/create" },
  { method: "PUT", path: `${A}/group/remove/:xauth/:gid`, name: "group/remove" },
  { method: "PUT", path: `${A}/group/resync/:xauth/:gid`, name: "group/resync" },
  { method: "PUT", path: `${A}/group/resync-all/:xauth`, name: "group/resync-all" },
  { method: "PUT", path: `${A}/group/add/:xauth/:gid/:addr`, name: "group/add" },
  { method: "PUT", path: `${A}/group/add/:xauth/:gid/:addr/:datacenter`, name: "group/add" },
  { method: "PUT", path: `${A}/group/del/:xauth/:gid/:addr`, name: "group/del" },
  { method: "PUT", path: `${A}/group/promote/:xauth/:gid/:addr`, name: "group/promote" },
  // Ours: the dashboard picks the replica (promote_choice.ts) and answers {"promoted": addr}.
  { method: "PUT", path: `${A}/group/promote/:xauth/:gid`, name: "group/promote-best" },
  { method: "PUT", path: `${A}/group/replica-groups/:xauth/:gid/:addr/:value`, name: "group/replica-groups" },
  { method: "PUT", path: `${A}/group/replica-groups-all/:xauth/:value`, name: "group/replica-groups-all" },
  { method: "PUT", path: `${A}/group/action/create/:xauth/:addr`, name: "group/action/create" },
  { method: "PUT", path: `${A}/group/action/remove/:xauth/:addr`, name: "group/action/remove" },
  { method: "GET", path: `${A}/group/info/:addr`, name: "group/info" },
  { method: "PUT", path: `${A}/slots/action/create/:xauth/:sid/:gid`, name: "slots/action/create" },
  { method: "PUT", path: `${A}/slots/action/create-some/:xauth/:src/:dst/:num`, name: "slots/action/create-some" },
  { method: "PUT", path: `${A}/slots/action/create-range/:xauth/:beg/:end/:gid`, name: "slots/action/create-range" },
  { method: "PUT", path: `${A}/slots/action/remove/:xauth/:sid`, name: "slots/action/remove" },
  { method: "PUT", path: `${A}/slots/action/interval/:xauth/:value`, name: "slots/action/interval" },
  { method: "PUT", path: `${A}/slots/action/disabled/:xauth/:value`, name: "slots/action/disabled" },
  // Ours: run a slot whose move paused on a key again, once the operator has fixed the cause.
  { method: "PUT", path: `${A}/slots/action/resume/:xauth/:sid`, name: "slots/action/resume" },
  { method: "PUT", path: `${A}/slots/assign/:xauth`, name: "slots/assign" },
  { method: "PUT", path: `${A}/slots/assign/:xauth/offline`, name: "slots/assign/offline" },
  { method: "PUT", path: `${A}/slots/rebalance/:xauth/:confirm`, name: "slots/rebalance" },
  { method: "PUT", path: `${A}/sentinels/add/:xauth/:addr`, name: "sentinels/add" },
  { method: "PUT", path: `${A}/sentinels/del/:xauth/:addr/:force`, name: "sentinels/del" },
  { method: "PUT", path: `${A}/sentinels/resync-all/:xauth`, name: "sentinels/resync-all" },
  { method: "GET", path: `${A}/sentinels/info/:addr`, name: "sentinels/info" },
  { method: "GET", path: `${A}/sentinels/info/:addr/monitored`, name: "sentinels/info/monitored" },
];

/** A matched route with its raw (decoded, unvalidated) path parameters. */
export interface RouteMatch {
  route: Route;
  params: Record<string, string>;
}

/**
 * Finds the route for `method` and `pathname`. Returns undefined when no path matches, or `{ methodNotAllowed }`
 * when the path exists for another method (answer 405). Segments are percent-decoded.
 */
export function matchRoute(method: string, pathname: string): RouteMatch | { methodNotAllowed: true } | undefined {
  const segs = pathname.replace(/\/+$/, "").split("/");
  let other = false;
  for (const route of ROUTES) {
    const pat = route.path.split("/");
    if (pat.length !== segs.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < pat.length && ok; i++) {
      if (pat[i].startsWith(":")) {
        try {
          params[pat[i].slice(1)] = decodeURIComponent(segs[i]);
        } catch {
          ok = false;
        }
      } else ok = pat[i] === segs[i];
    }
    if (!ok) continue;
    if (route.method !== method.toUpperCase()) {
      other = true;
      continue;
    }
    return { route, params };
  }
  return other ? { methodNotAllowed: true } : undefined;
}

function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  return issue.message;
}

/** Validates route `name`'s raw path parameters; throws {@link BadRequestError} with the first problem. */
export function validateParams<N extends RouteName>(name: N, params: Record<string, string>): RouteParams<N> {
  const r = (PARAMS[name] as z.ZodType).safeParse(params);
  if (!r.success) throw new BadRequestError(firstIssue(r.error));
  return r.data as RouteParams<N>;
}

const slotAssignment = z.object({
  id: z.number({ error: "slot id must be a number" }).int().min(0).max(MAX_SLOT_NUM - 1, {
    error: `slot id must be in 0..${MAX_SLOT_NUM - 1}`,
  }),
  group_id: z.number({ error: "group_id must be a number" }).int().min(0).max(MAX_GROUP_ID, {
    error: `group_id must be in 0..${MAX_GROUP_ID}`,
  }),
  action: z.object({
    index: z.number().int().optional(),
    state: z.string().optional(),
    target_id: z.number().int().optional(),
  }).optional(),
});

/** Body of `slots/assign` and `slots/assign/offline`: `[{id, group_id, action?}]`. */
export const slotsAssignBody = z.array(slotAssignment, { error: "body must be a JSON array of {id, group_id}" });

/** The validated `slots/assign` body. */
export type SlotsAssignBody = z.output<typeof slotsAssignBody>;

/** Parses and validates a JSON request body text with `schema`; throws {@link BadRequestError}. */
export function parseJsonBody<T extends z.ZodType>(schema: T, text: string): z.output<T> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new BadRequestError("request body is not valid JSON");
  }
  const r = schema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    const where = issue.path.length > 0 ? `body.${issue.path.join(".")}: ` : "";
    throw new BadRequestError(`${where}${issue.message}`);
  }
  return r.data;
}
