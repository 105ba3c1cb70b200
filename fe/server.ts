/**
 * The FE's request handler (Codis's `cmd/fe`): `GET /list` answers the sorted product names, any path with
 * `?forward=<product>` goes to that product's dashboards, everything else is a static file of the page.
 * @module
 */
import { errorResponse, jsonResponse } from "../util/http.ts";
import type { ProductDirectory } from "./directory.ts";
import { Forwarder, type ForwardOptions } from "./forward.ts";
import { checkHostAndOrigin, consoleHostNames } from "./host_check.ts";
import { staticHandler } from "./static.ts";

/** Options of {@link feHandler}. */
export interface FeOptions extends ForwardOptions {
  /** Absolute path of the static files. */
  assetsDir: string;
  /** The names the console answers to ({@link consoleHostNames}); default: loopback names only. */
  hostNames?: Set<string>;
}

/** The default assets directory: `fe/assets` next to this module. */
export const DEFAULT_ASSETS_DIR = new URL("./assets", import.meta.url).pathname;

/** Builds the FE's handler over a product directory. */
export function feHandler(dir: ProductDirectory, opts: FeOptions): (req: Request) => Promise<Response> {
  const forwarder = new Forwarder(opts);
  const statics = staticHandler(opts.assetsDir);
  const hostNames = opts.hostNames ?? consoleHostNames("");
  return async (req) => {
    try {
      const refused = checkHostAndOrigin(req, hostNames);
      if (refused) return refused;
      const url = new URL(req.url);
      if (url.pathname === "/list") {
        if (req.method !== "GET" && req.method !== "HEAD") {
          return errorResponse(405, `method ${req.method} not allowed`);
        }
        return jsonResponse(await dir.names(), 200, { "cache-control": "no-store" });
      }
      const product = url.searchParams.get("forward");
      if (product !== null) {
        const dashboards = await dir.lookup(product);
        if (!dashboards || dashboards.length === 0) {
          return errorResponse(403, `product ${JSON.stringify(product)} not found`);
        }
        return await forwarder.forward(req, product, dashboards);
      }
      return await statics(req);
    } catch (e) {
      return errorResponse(500, (e as Error)?.message ?? String(e));
    }
  };
}
