/**
 * The Raft cluster secret of a dashboard. It signs the Raft transport and the store's HTTP routes, so it must not be
 * derivable from anything else (product_auth is also the Redis password and the product name is public). When
 * `cluster_secret` is empty, a dashboard whose Raft port other hosts can reach refuses to start; a lone member on
 * loopback generates a random secret once and keeps it (0600) in its data directory.
 * @module
 */
import { isLoopbackAddr } from "../../util/secure_defaults.ts";
import { logger } from "../../util/log.ts";
import type { DashboardConfig } from "../config_keys.ts";
import { parseRaftPeers } from "../config_keys.ts";

const log = logger("coord");

/** The file, in the data directory, holding a generated secret. */
export const GENERATED_SECRET_FILE = "cluster_secret";

const HOW = "set cluster_secret (flag --cluster_secret=..., cluster_secret in the config file, cluster_secret_file = " +
  "FILE, or the CODIS_CLUSTER_SECRET environment variable) to the same random value on every member";

/** Why `cfg` may not run without a `cluster_secret`, or undefined when a generated one is safe. */
export function clusterSecretProblem(cfg: DashboardConfig, join = false): string | undefined {
  if (cfg.cluster_secret !== "") return undefined;
  if (!isLoopbackAddr(cfg.raft_addr)) {
    return `cluster_secret is empty while raft_addr ${cfg.raft_addr} is reachable from other hosts; ${HOW}`;
  }
  const others = parseRaftPeers(cfg.raft_peers).filter((p) => p.id !== cfg.raft_id);
  if (others.length > 0 || join) {
    return `cluster_secret is empty but this dashboard has other Raft members (raft_peers${
      join ? " or --join" : ""
    }); ${HOW}`;
  }
  return undefined;
}

/** 32 random bytes as hex. */
export function randomSecret(): string {
  const b = crypto.getRandomValues(new Uint8Array(32));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/**
 * The secret to use: `cluster_secret`, or (a lone member on loopback) the one kept in `dataDir`, generated at the
 * first start. Throws naming `cluster_secret` when none may be generated. `dataDir` must exist.
 */
export async function resolveClusterSecret(cfg: DashboardConfig, dataDir: string, join = false): Promise<string> {
  if (cfg.cluster_secret !== "") return cfg.cluster_secret;
  const problem = clusterSecretProblem(cfg, join);
  if (problem) throw new Error(problem);
  const path = `${dataDir}/${GENERATED_SECRET_FILE}`;
  let secret: string;
  try {
    secret = (await Deno.readTextFile(path)).trim();
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
    secret = randomSecret();
    // createNew: never follow or overwrite whatever someone put there meanwhile.
    await Deno.writeTextFile(path, secret + "\n", { createNew: true, mode: 0o600 });
  }
  if (secret.length < 32) throw new Error(`${path} holds no usable secret; remove it or ${HOW}`);
  log.warn(
    `cluster_secret is empty: using the random secret kept in ${path}; members added later need it as their ` +
      `cluster_secret`,
  );
  return secret;
}
