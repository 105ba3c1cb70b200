/**
 * codis-admin's load commands (`--dashboard=ADDR`): `--slots-stats`, `--hotkeys`, `--bigkeys` print the dashboard's
 * merged views of every proxy's statistics, and `--rebalance --by=load|bytes|keys [--max-moves=N] [--confirm]` shows
 * (and with --confirm queues) a plan that evens out the groups' load.
 * @module
 */
import type { BigKeysJSON, ClusterSlotStats, HotKeysJSON } from "../models/load_stats.ts";
import type { LoadPlan } from "../topom/load_plan.ts";
import { newXAuth } from "../util/xauth.ts";
import type { Args } from "./args.ts";
import { type DashboardClient, seg } from "./dashboard_client.ts";
import { prettyJson } from "./format.ts";
import { AdminError } from "./http.ts";

/** Where a command prints its lines. */
type Out = (line: string) => void;

/** Slots listed by `--slots-stats` (the busiest first). */
const TOP_SLOTS = 20;
/** `--max-moves` when not given. */
const DEFAULT_MAX_MOVES = 64;

function xauth(c: DashboardClient): string {
  if (c.productName === undefined) throw new AdminError("internal: dashboard client used before connect()");
  return newXAuth(c.productName, c.opts.auth ?? "");
}

function round(n: number): string {
  return n >= 100 ? String(Math.round(n)) : String(Math.round(n * 100) / 100);
}

/** `--slots-stats`, `--hotkeys`, `--bigkeys`: a table, or the JSON with `--json`. */
export async function loadView(
  c: DashboardClient,
  cmd: "slots-stats" | "hotkeys" | "bigkeys",
  a: Args,
  out: Out,
): Promise<void> {
  const path = cmd === "slots-stats" ? "slots/stats" : cmd;
  const v = await c.http.request("GET", `/api/topom/${path}/${xauth(c)}`);
  if (a.has("json")) return out(prettyJson(v));
  const lines = cmd === "slots-stats"
    ? slotStatsLines(v as ClusterSlotStats)
    : cmd === "hotkeys"
    ? hotKeyLines(v as HotKeysJSON)
    : bigKeyLines(v as BigKeysJSON);
  lines.forEach((l) => out(l));
  const errors = (v as { errors?: Record<string, string> }).errors;
  for (const [token, e] of Object.entries(errors ?? {})) out(`proxy ${token} not read: ${e}`);
}

/** Per group, then the busiest slots. */
export function slotStatsLines(v: ClusterSlotStats): string[] {
  const out = [`window ${v.window_ms / 1000}s`, "group     slots   ops/s      bytes/s    requests   errors"];
  for (const gid of Object.keys(v.groups).sort((x, y) => Number(x) - Number(y))) {
    const g = v.groups[gid];
    out.push(
      `group-${gid}`.padEnd(10) + String(g.slots).padEnd(8) + round(g.ops_per_sec).padEnd(11) +
        round(g.bytes_per_sec).padEnd(11) + String(g.requests).padEnd(11) + g.errors,
    );
  }
  const busy = [...v.slots].sort((x, y) => y.ops_per_sec - x.ops_per_sec || x.id - y.id).slice(0, TOP_SLOTS);
  out.push("slot   group  ops/s      bytes/s    requests   errors  avg_us");
  for (const e of busy) {
    const avg = e.requests > 0 ? Math.round(e.usecs / e.requests) : 0;
    out.push(
      String(e.id).padStart(4, "0").padEnd(7) + `${e.group_id}`.padEnd(7) + round(e.ops_per_sec).padEnd(11) +
        round(e.bytes_per_sec).padEnd(11) + String(e.requests).padEnd(11) + String(e.errors).padEnd(8) + avg,
    );
  }
  return out;
}

/** Estimated ops/s, slot and key. */
export function hotKeyLines(v: HotKeysJSON): string[] {
  if (v.sample_every === 0) return ["hot keys are off (hotkeys_sample_every = 0)"];
  const out = [`window ${v.window_ms / 1000}s, one request in ${v.sample_every} sampled`, "ops/s      slot  key"];
  for (const k of v.keys) out.push(round(k.ops_per_sec).padEnd(11) + String(k.slot).padStart(4, "0") + `  ${k.key}`);
  return out;
}

/** Size, kind, slot and key. */
export function bigKeyLines(v: BigKeysJSON): string[] {
  if (v.threshold === 0) return ["big keys are off (bigkeys_threshold = 0)"];
  const out = [`threshold ${v.threshold} bytes`, "bytes      kind     slot  key"];
  for (const k of v.keys) {
    out.push(String(k.bytes).padEnd(11) + k.kind.padEnd(9) + String(k.slot).padStart(4, "0") + `  ${k.key}`);
  }
  return out;
}

/** `--rebalance --by=...`: the plan; `--confirm` queues its moves. */
export async function rebalanceByLoad(c: DashboardClient, a: Args, out: Out): Promise<void> {
  const by = a.need("by");
  if (by !== "load" && by !== "bytes" && by !== "keys") {
    throw new AdminError(`option --by = ${by}: expected load, bytes or keys`);
  }
  const max = a.has("max-moves") ? a.int("max-moves", 1, 1024) : DEFAULT_MAX_MOVES;
  const plan = await c.http.request<LoadPlan>(
    "PUT",
    `/api/topom/slots/rebalance-load/${xauth(c)}/${seg(by)}/${max}/${a.has("confirm") ? 1 : 0}`,
  );
  if (a.has("json")) return out(prettyJson(plan));
  formatLoadPlan(plan).forEach((l) => out(l));
  if (!a.has("confirm") && plan.moves.length > 0) out("(a preview: add --confirm to queue these moves)");
}

/** The lines of a load plan: the moves as ranges, the load per group before and after, hot slots. */
export function formatLoadPlan(plan: LoadPlan): string[] {
  const out: string[] = [];
  const pad = (n: number) => String(n).padStart(4, "0");
  const sorted = [...plan.moves].sort((a, b) => a.slot - b.slot);
  if (sorted.length === 0) out.push(`nothing to move (${plan.stopped})`);
  let i = 0;
  while (i < sorted.length) {
    let j = i;
    let sum = sorted[i].load;
    while (
      j + 1 < sorted.length && sorted[j + 1].slot === sorted[j].slot + 1 && sorted[j + 1].to === sorted[i].to &&
      sorted[j + 1].from === sorted[i].from
    ) sum += sorted[++j].load;
    out.push(
      `[${pad(sorted[i].slot)},${pad(sorted[j].slot)}] ${sorted[i].from} => ${sorted[i].to}  (${
        round(sum)
      } ${plan.unit})`,
    );
    i = j + 1;
  }
  out.push(`expected ${plan.unit} per group (target ${plan.target}):`);
  for (const gid of Object.keys(plan.before).sort((a, b) => Number(a) - Number(b))) {
    out.push(`  group-${gid}: ${plan.before[gid]} => ${plan.after[gid]}`);
  }
  for (const h of plan.hot_slots) {
    out.push(
      `hot slot ${h.slot} (group-${h.group}): ${h.load} ${plan.unit} alone, more than a group's share; ` +
        "moving it only moves the problem (split its keys or cache them)",
    );
  }
  if (plan.moves.length > 0) out.push(`${plan.moves.length} move(s), stopped: ${plan.stopped}`);
  return out;
}
