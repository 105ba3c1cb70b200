/**
 * How this process calls admin HTTP APIs (dashboards, proxies, a dashboard's /api/store): plain HTTP, or HTTPS
 * trusting the cluster's CA. One setting per process, as with Redis TLS: model addresses are bare `HOST:PORT`, and
 * every admin endpoint of a cluster is served the same way, so the scheme is the process's, not the address's.
 * @module
 */
import type { TlsClientOptions } from "./tls.ts";

let scheme = "http";
let client: Deno.HttpClient | undefined;

/** Sets how admin calls are made from now on: HTTPS with these roots, or plain HTTP (null). */
export function configureAdminCalls(options: TlsClientOptions | null): void {
  client?.close();
  client = undefined;
  scheme = options === null ? "http" : "https";
  if (options !== null) {
    const k = options.clientKey;
    client = Deno.createHttpClient(k ? { caCerts: options.caCerts, ...k } : { caCerts: options.caCerts });
  }
}

/** `http` or `https`. */
export function adminScheme(): string {
  return scheme;
}

/** The URL of `pathAndQuery` on the admin endpoint `addr` (`HOST:PORT`; a full `http(s)://` base is kept). */
export function adminUrl(addr: string, pathAndQuery: string): string {
  if (/^https?:\/\//.test(addr)) return addr.replace(/\/+$/, "") + pathAndQuery;
  return `${scheme}://${addr}${pathAndQuery}`;
}

/** `fetch` of an admin URL with this process's TLS client. */
export function adminFetch(url: string, init: RequestInit = {}): Promise<Response> {
  return fetch(url, client === undefined ? init : { ...init, client });
}
