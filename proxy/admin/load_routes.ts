/**
 * The proxy admin API's load routes: per-slot statistics, hot keys and big keys. Behind the xauth like the other
 * `/api/proxy/...` routes, since hot and big keys name the users' keys; the per-slot figures (numbers only) are
 * also public at `GET /proxy/slots/stats`, as `/proxy/stats` is.
 * @module
 */
import { HttpError, jsonResponse, type Params, type Router } from "../../util/http.ts";
import type { ProxyControl } from "./control.ts";
import type { LoadViews } from "../stats/load.ts";

/** Adds the load routes to the admin router; `auth` checks the path's xauth (throws a 403). */
export function addLoadRoutes(r: Router, ctl: ProxyControl, auth: (p: Params) => void): void {
  const views = (): LoadViews => {
    if (!ctl.loadViews) throw new HttpError(404, "this proxy keeps no load statistics");
    return ctl.loadViews();
  };
  r.get("/proxy/slots/stats", () => jsonResponse(views().slots));
  r.get("/api/proxy/slots/stats/:xauth", (_q, p) => (auth(p), jsonResponse(views().slots)));
  r.get("/api/proxy/hotkeys/:xauth", (_q, p) => (auth(p), jsonResponse(views().hotkeys)));
  r.get("/api/proxy/bigkeys/:xauth", (_q, p) => (auth(p), jsonResponse(views().bigkeys)));
  // Without the xauth, key names are not served: say where they are.
  for (const what of ["hotkeys", "bigkeys"]) {
    r.get(`/proxy/${what}`, () => {
      throw new HttpError(401, `${what} name users' keys: GET /api/proxy/${what}/:xauth`);
    });
  }
  // All three in one call, for the dashboard's merged views.
  r.get("/api/proxy/load/:xauth", (_q, p) => (auth(p), jsonResponse(views())));
}
