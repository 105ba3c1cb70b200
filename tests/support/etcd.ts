import { killerFor } from "./process.ts";
import { freePort, waitForPort } from "./ports.ts";

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
  const child = new Deno.Command("etcd", {
    args: [
      "--name=e1",
      `--data-dir=${dir}`,
      `--listen-client-urls=${client}`,
      `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=e1=${peerUrl}`,
      "--log-level=error",
      "--logger=zap",
    ],
    stdout: "null",
    stderr: "null",
    stdin: "null",
  }).spawn();
  const stop = killerFor(child, dir);
  try {
    await waitForPort(port, 15_000);
    const deadline = Date.now() + 15_000;
    for (;;) {
      const ok = await fetch(`${client}/health`).then(async (r) => {
        const body = await r.text();
        return r.ok && body.includes("true");
      }, () => false);
      if (ok) break;
      if (Date.now() > deadline) throw new Error("etcd did not become healthy within 15 s");
      await new Promise((r) => setTimeout(r, 50));
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return { endpoint: `127.0.0.1:${port}`, port, dir, stop };
}
