/**
 * Start-up checks that keep the defaults safe: a process whose admin API (or Raft port) is reachable from other
 * hosts must have a secret nobody can guess, because every credential derived from an empty one (the admin xauth,
 * the store signatures) could be computed by anyone from what the public routes show.
 * @module
 */

/** Whether `host` names only this machine: 127.0.0.0/8, ::1 or localhost (not 0.0.0.0 or an empty host). */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  if (h === "localhost" || h === "::1" || h === "0:0:0:0:0:0:0:1") return true;
  const m = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(h);
  return !!m && m.slice(1).every((x) => Number(x) <= 255);
}

/** Whether a "HOST:PORT" address listens on loopback only (an empty host means every interface). */
export function isLoopbackAddr(addr: string): boolean {
  const i = addr.lastIndexOf(":");
  return isLoopbackHost(i < 0 ? addr : addr.slice(0, i));
}

/** What a start-up check found: a reason to refuse to start, a warning to log, or nothing. */
export type SecretCheck = { error: string } | { warning: string } | undefined;

/**
 * The `product_auth` check of a dashboard or proxy: empty on an admin address other hosts can reach is refused
 * (the admin xauth would be computable by anyone), empty on loopback is allowed with a warning.
 */
export function productAuthCheck(adminAddr: string, auth: string): SecretCheck {
  if (auth !== "") return undefined;
  const how = "set it with --product_auth=..., product_auth in the config file, product_auth_file = FILE, " +
    "or the CODIS_PRODUCT_AUTH environment variable";
  if (!isLoopbackAddr(adminAddr)) {
    return {
      error: `product_auth is empty while admin_addr ${adminAddr} is reachable from other hosts: anyone could ` +
        `compute the admin xauth; ${how}`,
    };
  }
  return {
    warning: `product_auth is empty: the admin API on ${adminAddr} is open to every local user; ${how}`,
  };
}
