/**
 * codis-admin's `--dashboard=ADDR` commands, as Codis's `cmd/admin/dashboard.go` runs them, plus the Raft
 * operator commands.
 * @module
 */
import { MAX_GROUP_ID, MAX_SLOT_NUM } from "../models/mod.ts";
import { type Args, onlyOne, type OptionName } from "./args.ts";
import { DashboardClient, slotRange, statsGroups, statsProxies } from "./dashboard_client.ts";
import {
  groupStatusLines,
  isRaftStatus,
  prettyJson,
  proxyStatusLines,
  raftStatusLines,
  rebalanceLines,
  slotActionStatusLines,
} from "./format.ts";
import { AdminError, JsonHttp } from "./http.ts";
import { loadView, rebalanceByLoad } from "./load_cmd.ts";

/** Where a command prints its lines. */
export type Out = (line: string) => void;

const COMMANDS: readonly OptionName[] = [
  "shutdown",
  "reload",
  "log-level",
  "slots-assign",
  "slots-status",
  "list-proxy",
  "create-proxy",
  "online-proxy",
  "remove-proxy",
  "reinit-proxy",
  "proxy-status",
  "list-group",
  "create-group",
  "remove-group",
  "resync-group",
  "group-add",
  "group-del",
  "group-status",
  "replica-groups",
  "promote-server",
  "sync-action",
  "slot-action",
  "rebalance",
  "slots-stats",
  "hotkeys",
  "bigkeys",
  "sentinel-add",
  "sentinel-del",
  "sentinel-resync",
  "raft-status",
  "raft-add",
  "raft-promote",
  "raft-remove",
  "raft-transfer",
];

const OVERVIEW_PARTS = ["overview", "config", "model", "stats", "slots", "group", "proxy"];
const LOG_LEVELS: Record<string, string> = {
  DEBUG: "DEBUG",
  INFO: "INFO",
  WARN: "WARN",
  WARNING: "WARN",
  ERROR: "ERROR",
};

/** Validates a log level as Codis does (case-insensitive), returning the canonical name. */
export function logLevelArg(s: string): string {
  const v = LOG_LEVELS[s.toUpperCase()];
  if (!v) throw new AdminError(`option --log-level = ${s}: expected one of DEBUG, INFO, WARN, ERROR`);
  return v;
}

const gidArg = (a: Args) => a.int("gid", 1, MAX_GROUP_ID);
const sidArg = (a: Args, name: OptionName = "sid") => a.int(name, 0, MAX_SLOT_NUM - 1);
const raftIdArg = (a: Args) => a.int("id", 1, Number.MAX_SAFE_INTEGER);

/** Runs one dashboard command. */
export async function runDashboard(a: Args, out: Out, debug?: (l: string) => void): Promise<void> {
  const addrs = a.need("dashboard").split(",").map((s) => s.trim()).filter(Boolean);
  const timeoutMs = a.has("timeout") ? a.int("timeout", 1, 3_600_000) : undefined;
  const c = new DashboardClient(addrs, {
    auth: a.secret("auth") ?? "",
    productName: a.str("product_name"),
    timeoutMs,
    debug,
  });
  const cmd = onlyOne(a, COMMANDS);
  if (cmd !== undefined && a.has("overview")) {
    throw new AdminError(`options --${cmd} and --overview cannot be used together`);
  }
  if (cmd !== undefined && a.positionals.length > 0) {
    throw new AdminError(`unexpected argument "${a.positionals[0]}" with --${cmd}`);
  }
  if (cmd === "raft-status") return await raftStatus(c, a, out, debug);
  await c.connect();
  switch (cmd) {
    case undefined:
      return await overview(c, a, out);
    case "list-proxy":
    case "list-group":
      return await overview(c, a, out, cmd);
    case "shutdown":
      return await c.shutdown();
    case "reload":
      return await c.reload();
    case "log-level":
      return await c.logLevel(logLevelArg(a.need("log-level")));
    case "slots-status":
      return out(prettyJson(await c.slots()));
    case "slots-assign":
      return await slotsAssign(c, a, out);
    case "create-proxy":
      return await c.createProxy(a.need("addr"));
    case "online-proxy":
      return await c.onlineProxy(a.need("addr"));
    case "remove-proxy":
      for (const t of await proxyTokens(c, a)) await c.removeProxy(t, a.has("force"));
      return;
    case "reinit-proxy":
      return await reinitProxy(c, a, out);
    case "proxy-status":
      return proxyStatusLines(await c.stats()).forEach((l) => out(l));
    case "create-group":
      return await c.createGroup(gidArg(a));
    case "remove-group":
      return await c.removeGroup(gidArg(a));
    case "resync-group":
      if (a.has("all")) {
        for (const g of statsGroups(await c.stats())) await c.resyncGroup(g.id);
        return;
      }
      return await c.resyncGroup(gidArg(a));
    case "group-add":
      return await c.groupAddServer(gidArg(a), a.need("addr"), a.str("datacenter"));
    case "group-del":
      return await c.groupDelServer(gidArg(a), a.need("addr"));
    case "replica-groups": {
      const v = onlyOne(a, ["enable", "disable"]);
      if (!v) throw new AdminError("option --enable or --disable is required");
      return await c.replicaGroups(gidArg(a), a.need("addr"), v === "enable");
    }
    case "promote-server":
      // Without --addr the dashboard promotes the replica with the most data (largest replication offset).
      if (a.has("addr")) await c.groupPromoteServer(gidArg(a), a.need("addr"));
      else out(`promoting ${await c.groupPromoteBest(gidArg(a))}`);
      // Codis prints the group table right after a promote.
      return groupStatusLines(await c.stats()).forEach((l) => out(l));
    case "group-status":
      return groupStatusLines(await c.stats()).forEach((l) => out(l));
    case "sync-action":
      return await syncAction(c, a);
    case "slot-action":
      return await slotAction(c, a, out);
    case "slots-stats":
    case "hotkeys":
    case "bigkeys":
      return await loadView(c, cmd, a, out);
    case "rebalance":
      if (a.has("by")) return await rebalanceByLoad(c, a, out);
      return rebalanceLines(await c.slotsRebalance(a.has("confirm"))).forEach((l) => out(l));
    case "sentinel-add":
      return await c.addSentinel(a.need("addr"));
    case "sentinel-del":
      return await c.delSentinel(a.need("addr"), a.has("force"));
    case "sentinel-resync":
      return await c.resyncSentinels();
    case "raft-add":
      return printResult(out, await c.raftAdd(raftIdArg(a), a.need("addr"), a.has("learner")));
    case "raft-promote":
      return printResult(out, await c.raftPromote(raftIdArg(a)));
    case "raft-remove":
      return printResult(out, await c.raftRemove(raftIdArg(a)));
    case "raft-transfer":
      return printResult(out, await c.raftTransfer(raftIdArg(a)));
    default:
      throw new AdminError(`option --${cmd} is not a dashboard command`);
  }
}

/** Prints a write's answer when it carries more than Codis's "OK". */
function printResult(out: Out, v: unknown): void {
  if (v !== undefined && v !== null && v !== "OK") out(prettyJson(v));
}

async function overview(c: DashboardClient, a: Args, out: Out, list?: "list-proxy" | "list-group"): Promise<void> {
  if (a.positionals.length > 1) throw new AdminError(`unexpected argument "${a.positionals[1]}"`);
  const part = a.positionals[0] ?? (a.has("overview") ? "overview" : undefined);
  if (a.has("overview") && a.positionals.length > 0) {
    throw new AdminError(`unexpected argument "${a.positionals[0]}" with --overview`);
  }
  if (part !== undefined && !OVERVIEW_PARTS.includes(part)) {
    throw new AdminError(`unknown argument "${part}": expected one of ${OVERVIEW_PARTS.join(", ")}`);
  }
  const o = await c.overview();
  let obj: unknown = o;
  if (list === "list-proxy") obj = o.stats ? statsProxies(o.stats) : null;
  else if (list === "list-group") obj = o.stats ? statsGroups(o.stats) : null;
  else if (part === "config") obj = o.config;
  else if (part === "model") obj = o.model;
  else if (part === "stats") obj = o.stats;
  else if (part === "slots") obj = o.stats?.slots ?? null;
  else if (part === "group") obj = o.stats?.group ?? null;
  else if (part === "proxy") obj = o.stats?.proxy ?? null;
  out(prettyJson(obj));
}

async function slotsAssign(c: DashboardClient, a: Args, out: Out): Promise<void> {
  const beg = sidArg(a, "beg");
  const end = sidArg(a, "end");
  if (beg > end) throw new AdminError(`option --beg = ${beg} is greater than --end = ${end}`);
  const offline = a.has("offline");
  if (offline && a.has("gid")) throw new AdminError("options --gid and --offline cannot be used together");
  const slots = slotRange(beg, end, offline ? 0 : gidArg(a));
  if (!a.has("confirm")) return out(prettyJson(slots));
  if (offline) await c.slotsAssignOffline(slots);
  else await c.slotsAssignGroup(slots);
}

/** The proxies named by --token, --pid or --addr (Codis's parseProxyTokens). */
async function proxyTokens(c: DashboardClient, a: Args): Promise<string[]> {
  const by = onlyOne(a, ["token", "pid", "addr"]);
  if (by === "token") return [a.need("token")];
  if (by === undefined) throw new AdminError("can't find specific proxy: give --addr, --token or --pid");
  const proxies = statsProxies(await c.stats());
  const tokens = by === "pid"
    ? ((pid) => proxies.filter((p) => p.id === pid))(a.int("pid", 0, Number.MAX_SAFE_INTEGER)).map((p) => p.token)
    : proxies.filter((p) => p.admin_addr === a.need("addr")).map((p) => p.token);
  if (tokens.length === 0 && !a.has("force")) {
    throw new AdminError(
      by === "pid"
        ? `can't find specific proxy with id = ${a.str("pid")}`
        : `can't find specific proxy with addr = ${a.str("addr")}`,
    );
  }
  return tokens;
}

async function reinitProxy(c: DashboardClient, a: Args, out: Out): Promise<void> {
  if (!a.has("all")) {
    for (const t of await proxyTokens(c, a)) await c.reinitProxy(t);
    return;
  }
  for (const p of statsProxies(await c.stats())) {
    out(`reinit proxy: ${prettyJson(p)}`);
    await c.reinitProxy(p.token);
  }
}

async function syncAction(c: DashboardClient, a: Args): Promise<void> {
  const op = onlyOne(a, ["create", "remove"]);
  if (!op) throw new AdminError("--sync-action needs --create or --remove");
  if (op === "create") await c.syncCreateAction(a.need("addr"));
  else await c.syncRemoveAction(a.need("addr"));
}

async function slotAction(c: DashboardClient, a: Args, out: Out): Promise<void> {
  const op = onlyOne(a, [
    "create",
    "remove",
    "create-some",
    "create-range",
    "interval",
    "disabled",
    "resume",
    "status",
  ]);
  switch (op) {
    case "create":
      return await c.slotCreateAction(sidArg(a), gidArg(a));
    case "remove":
      return await c.slotRemoveAction(sidArg(a));
    case "create-some":
      return await c.slotCreateActionSome(
        a.int("gid-from", 0, MAX_GROUP_ID),
        a.int("gid-to", 1, MAX_GROUP_ID),
        a.int("num-slots", 0, MAX_SLOT_NUM),
      );
    case "create-range": {
      const beg = sidArg(a, "beg"), end = sidArg(a, "end");
      if (beg > end) throw new AdminError(`option --beg = ${beg} is greater than --end = ${end}`);
      return await c.slotCreateActionRange(beg, end, gidArg(a));
    }
    case "interval":
      return await c.setSlotActionInterval(a.int("interval", 0, 1_000_000));
    case "disabled":
      return await c.setSlotActionDisabled(a.int("disabled", -(2 ** 31), 2 ** 31) !== 0);
    case "resume":
      return await c.slotResumeAction(sidArg(a));
    case "status":
      return slotActionStatusLines(await c.stats()).forEach((l) => out(l));
    default:
      throw new AdminError(
        "--slot-action needs one of --create, --remove, --create-some, --create-range, --interval, --disabled, " +
          "--resume, --status",
      );
  }
}

/**
 * `--raft-status`: asks the given node; when it is a follower that knows the leader's API address, asks the
 * leader too, since only the leader knows each member's replication lag.
 */
async function raftStatus(c: DashboardClient, a: Args, out: Out, debug?: (l: string) => void): Promise<void> {
  let st = await c.raftStatus();
  if (isRaftStatus(st) && st.role !== "leader" && st.leaderApiAddr && st.leaderApiAddr !== c.http.addr) {
    try {
      const leader = await new JsonHttp([st.leaderApiAddr], c.opts).request("GET", "/api/topom/raft/status");
      if (isRaftStatus(leader)) st = leader;
    } catch (e) {
      debug?.(`leader status unavailable: ${(e as Error).message}`);
    }
  }
  if (a.has("json") || !isRaftStatus(st)) return out(prettyJson(st));
  raftStatusLines(st).forEach((l) => out(l));
}
