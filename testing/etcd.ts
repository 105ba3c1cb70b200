import { startQuietServer } from "./process.ts";
import { freePort } from "./ports.ts";

/** A single-member etcd child process on 127.0.0.1 with a temp data dir. */
export interface EtcdProcess {
  /** Client endpoint, e.g. "127.0.0.1:23790". */
  endpoint: string;
  port: number;
  dir: string;
  /** Kills the server and removes its data dir. Safe to call twice. */
  stop(): Promise<void>;
}

/** Starts `etcd` on free loopback ports and waits until it answers /health. */
export async function startEtcd(): Promise<EtcdProcess> {
  const port = freePort();
  const peer = freePort();
  const dir = await Deno.makeTempDir({ prefix: "codis-etcd-" });
  const client = `http://127.0.0.1:${port}`;
  const peerUrl = `http://127.0.0.1:${peer}`;
  const args = [
    "--name=e1",
    `--data-dir=${dir}`,
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peerUrl}`,
    `--initial-advertise-peer-urls=${peerUrl}`,
    `--initial-cluster=e1=${peerUrl}`,
    "--log-level=error",
    "--logger=zap",
  ];
  const stop = await startQuietServer("etcd", args, dir, {
    probe: () => fetch(`${client}/health`).then(async (r) => r.ok && (await r.text()).includes("true")),
    timeoutMs: 30_000,
    stepMs: 50,
    failure: "etcd did not become healthy within 30 s",
  });
  return { endpoint: `127.0.0.1:${port}`, port, dir, stop };
}
