/**
 * codis-admin's `--proxy=ADDR` commands (Codis's `cmd/admin/proxy.go`) over the proxy admin API client.
 * @module
 */
import { MAX_SLOT_NUM, type ProxyModel, type Slot } from "../models/mod.ts";
import { ProxyAdminClient, ProxyApiError } from "../topom/server/proxy_client.ts";
import { type Args, onlyOne, type OptionName } from "./args.ts";
import type { Out } from "./dashboard_cmd.ts";
import { logLevelArg } from "./dashboard_cmd.ts";
import { prettyJson } from "./format.ts";
import { AdminError, JsonHttp, oneLine } from "./http.ts";

const COMMANDS: readonly OptionName[] = ["start", "shutdown", "log-level", "fillslots", "reset-stats", "forcegc"];
const OVERVIEW_PARTS = ["overview", "config", "model", "stats", "slots"];

/** Reads and checks a `--fillslots` file: a JSON array of Slot with ids in range. */
export async function readSlotsFile(file: string, locked: boolean): Promise<Slot[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    throw new AdminError(`load slots from file ${file} failed: ${oneLine((e as Error).message)}`);
  }
  let slots: unknown;
  try {
    slots = JSON.parse(text);
  } catch (e) {
    throw new AdminError(`decode slots from json failed: ${oneLine((e as Error).message)}`);
  }
  if (!Array.isArray(slots)) throw new AdminError("decode slots from json failed: expected a JSON array of slots");
  for (const s of slots as Slot[]) {
    if (typeof s !== "object" || s === null || !Number.isInteger(s.id) || s.id < 0 || s.id >= MAX_SLOT_NUM) {
      throw new AdminError(`invalid slot id = ${JSON.stringify((s as Slot | null)?.id ?? null)}`);
    }
    if (locked) s.locked = true;
  }
  return slots as Slot[];
}

/** Runs one proxy command. */
export async function runProxy(a: Args, out: Out, debug?: (l: string) => void): Promise<void> {
  const addr = a.need("proxy");
  const timeoutMs = a.has("timeout") ? a.int("timeout", 1, 3_600_000) : 30_000;
  const cmd = onlyOne(a, COMMANDS);
  if (cmd === undefined) {
    if (a.positionals.length > 1) throw new AdminError(`unexpected argument "${a.positionals[1]}"`);
    const part = a.positionals[0] ?? (a.has("overview") ? "overview" : undefined);
    if (part !== undefined && !OVERVIEW_PARTS.includes(part)) {
      throw new AdminError(`unknown argument "${part}": expected one of ${OVERVIEW_PARTS.join(", ")}`);
    }
    const o = await new JsonHttp([addr], { timeoutMs, debug }).request<Record<string, unknown>>("GET", "/proxy");
    return out(prettyJson(part === undefined || part === "overview" ? o : o?.[part] ?? null));
  }
  if (a.positionals.length > 0) throw new AdminError(`unexpected argument "${a.positionals[0]}" with --${cmd}`);
  // Validate local input before touching the proxy.
  const level = cmd === "log-level" ? logLevelArg(a.need("log-level")) : "";
  const slots = cmd === "fillslots" ? await readSlotsFile(a.need("fillslots"), a.has("locked")) : [];

  const probe = new JsonHttp([addr], { timeoutMs, debug });
  const model = await probe.request<ProxyModel>("GET", "/api/proxy/model");
  if (typeof model?.token !== "string") throw new AdminError(`proxy ${addr} answered a model without token`);
  const c = new ProxyAdminClient(addr, {
    productName: model.product_name ?? "",
    productAuth: a.secret("auth") ?? "",
    timeoutMs,
  });
  c.setToken(model.token);
  try {
    debug?.(`call rpc xping to proxy ${addr}`);
    await c.xping();
    debug?.(`call rpc ${cmd} to proxy ${addr}`);
    switch (cmd) {
      case "start":
        return await c.start();
      case "shutdown":
        return await c.shutdown();
      case "log-level":
        return await c.logLevel(level);
      case "fillslots":
        return await c.fillSlots(slots);
      case "reset-stats":
        return await c.resetStats();
      case "forcegc":
        return await c.forceGC();
    }
  } catch (e) {
    if (e instanceof ProxyApiError) throw new AdminError(oneLine(e.message), e.status);
    throw e;
  }
}
