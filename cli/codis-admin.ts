/**
 * codis-admin: Codis's command-line administration tool for proxies, dashboards (and their Raft group) and the
 * coordinator store. `deno run -A cli/codis-admin.ts --help` lists the commands. Any error exits with status 1
 * and one line on stderr.
 * @module
 */
import { parseAdminArgs, USAGE } from "../admin/args.ts";
import { runCoordinator } from "../admin/coord_cmd.ts";
import { runDashboard } from "../admin/dashboard_cmd.ts";
import { AdminError, oneLine } from "../admin/http.ts";
import { runProxy } from "../admin/proxy_cmd.ts";
import { configureAdminCalls } from "../util/admin_calls.ts";
import { readCaCerts } from "../util/tls.ts";

const encoder = new TextEncoder();

/** Runs codis-admin with `argv`; returns the exit status. Output lines go to `out`, errors to `err`. */
export async function main(
  argv: string[],
  out: (line: string) => void = (l) => console.log(l),
  err: (line: string) => void = (l) => Deno.stderr.writeSync(encoder.encode(l + "\n")),
): Promise<number> {
  try {
    const a = parseAdminArgs(argv);
    if (a.has("help")) {
      out(USAGE);
      return 0;
    }
    // Set on every run (tests call main() in one process): HTTPS only when this run asks for it.
    const caFile = a.str("ca-file") ?? "";
    configureAdminCalls(
      a.has("tls") || caFile !== "" ? { caCerts: readCaCerts({ "--ca-file": caFile }, "--ca-file") } : null,
    );
    const debug = a.has("v") ? (l: string) => err(`[debug] ${l}`) : undefined;
    if (a.has("proxy") && a.has("dashboard")) {
      throw new AdminError("options --proxy and --dashboard cannot be used together");
    }
    if (a.has("proxy")) await runProxy(a, out, debug);
    else if (a.has("dashboard")) await runDashboard(a, out, debug);
    else await runCoordinator(a, out);
    return 0;
  } catch (e) {
    const msg = e instanceof AdminError ? e.message : `${(e as Error)?.name ?? "Error"}: ${(e as Error)?.message ?? e}`;
    err(`codis-admin: ${oneLine(msg)}`);
    return 1;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
