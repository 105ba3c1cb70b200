/**
 * The routes whose effect is a pure model transition, mapped to it: validate params (api_schemas.ts), take a
 * {@link Context}, call {@link runPureRoute}, store the writes in order, answer `result` (or null) as JSON.
 * Routes with I/O around the transition (proxy create/online/remove, sentinel add/del/resync, promote steps,
 * reload, shutdown) are left to the caller; some entries here expect a pre-check, noted on each.
 * @module
 */
import { parseJsonBody, type RouteName, type RouteParams, slotsAssignBody } from "./api_schemas.ts";
import type { Context, Write } from "./context.ts";
import {
  createGroup,
  enableReplicaGroups,
  enableReplicaGroupsAll,
  groupAddServer,
  groupDelServer,
  removeGroup,
  resyncGroup,
  resyncGroupAll,
  syncCreateAction,
  syncRemoveAction,
} from "./group_ops.ts";
import { promoteStart } from "./promote.ts";
import { slotsRebalance } from "./rebalance.ts";
import { createSlotAction, createSlotActionRange, createSlotActionSome, removeSlotAction } from "./slot_actions.ts";
import { setSlotActionDisabled, setSlotActionInterval } from "./slot_action_settings.ts";
import { slotsAssignGroup, slotsAssignOffline } from "./slots_assign.ts";

/** What the caller supplies besides the route parameters. */
export interface PureEnv {
  /** Running migration executors (promote is refused while any runs). */
  executorsRunning: number;
  /** The raw request body, for `slots/assign`. */
  bodyText?: string;
}

/** The outcome: writes to store in order, and the JSON to answer (null when Codis answers nothing). */
export interface PureOutcome {
  writes: Write[];
  result: unknown;
}

type Handler<N extends RouteName> = (ctx: Context, p: RouteParams<N>, env: PureEnv) => Write[] | PureOutcome;

const HANDLERS: { [N in RouteName]?: Handler<N> } = {
  "group/create": (ctx, p) => createGroup(ctx, p.gid),
  "group/remove": (ctx, p) => removeGroup(ctx, p.gid),
  /** With long-polling proxies, store this once they acknowledge the current revision. */
  "group/resync": (ctx, p) => resyncGroup(ctx, p.gid),
  "group/resync-all": (ctx) => resyncGroupAll(ctx),
  /** Pre-check: the server answers with product_auth, has ≥ 1024 databases (checkServerInfo). */
  "group/add": (ctx, p) => groupAddServer(ctx, p.gid, p.addr, p.datacenter ?? ""),
  "group/del": (ctx, p) => groupDelServer(ctx, p.gid, p.addr),
  /** Starts the promotion; the scheduler then drives nextPromoteStep. */
  "group/promote": (ctx, p, env) => promoteStart(ctx, p.gid, p.addr, env.executorsRunning),
  "group/replica-groups": (ctx, p) => enableReplicaGroups(ctx, p.gid, p.addr, p.value),
  "group/replica-groups-all": (ctx, p) => enableReplicaGroupsAll(ctx, p.value),
  "group/action/create": (ctx, p) => syncCreateAction(ctx, p.addr),
  "group/action/remove": (ctx, p) => syncRemoveAction(ctx, p.addr),
  "slots/action/create": (ctx, p) => createSlotAction(ctx, p.sid, p.gid),
  "slots/action/create-some": (ctx, p) => createSlotActionSome(ctx, p.src, p.dst, p.num),
  "slots/action/create-range": (ctx, p) => createSlotActionRange(ctx, p.beg, p.end, p.gid, true),
  "slots/action/remove": (ctx, p) => removeSlotAction(ctx, p.sid),
  "slots/action/interval": (ctx, p) => setSlotActionInterval(ctx, p.value),
  "slots/action/disabled": (ctx, p) => setSlotActionDisabled(ctx, p.value),
  "slots/assign": (ctx, _p, env) => slotsAssignGroup(ctx, parseJsonBody(slotsAssignBody, env.bodyText ?? "")),
  "slots/assign/offline": (ctx, _p, env) => slotsAssignOffline(ctx, parseJsonBody(slotsAssignBody, env.bodyText ?? "")),
  "slots/rebalance": (ctx, p) => {
    const { plan, writes } = slotsRebalance(ctx, p.confirm);
    return { writes, result: plan };
  },
};

/** Whether route `name` is handled by {@link runPureRoute}. */
export function isPureRoute(name: RouteName): boolean {
  return name in HANDLERS;
}

/**
 * Runs route `name`'s transition. Throws TopomError (refused: its `status`) or BadRequestError (bad body: 400).
 * Throws a plain Error for a route that is not pure.
 */
export function runPureRoute<N extends RouteName>(
  name: N,
  ctx: Context,
  params: RouteParams<N>,
  env: PureEnv,
): PureOutcome {
  const h = HANDLERS[name] as Handler<N> | undefined;
  if (!h) throw new Error(`route ${name} is not a pure transition`);
  const out = h(ctx, params, env);
  return Array.isArray(out) ? { writes: out, result: null } : out;
}
