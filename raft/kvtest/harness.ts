/**
 * Spawns and drives kvtest processes (raft/kvtest/main.ts) for the real-process tests and the benchmark.
 * @module
 */

import { freePort, waitForPort } from "../../testing/ports.ts";

const MAIN = new URL("./main.ts", import.meta.url).pathname;
const DENO = Deno.execPath();

/** One kvtest process slot: its id, ports and data directory survive restarts. */
export class KvProc {
  child: Deno.ChildProcess | undefined;
  /** Everything the process wrote to stderr (all runs). */
  stderr = "";
  private pump: Promise<void> | undefined;
  readonly raftAddr: string;
  readonly httpPort: number;

  constructor(readonly id: number, readonly dataDir: string, readonly extra: string[] = []) {
    this.raftAddr = `127.0.0.1:${freePort()}`;
    this.httpPort = freePort();
  }

  /** Starts the process; resolves when its HTTP port answers (or rejects with its stderr when it exits). */
  async start(peers: KvProc[], opts: { join?: boolean; waitReady?: boolean } = {}): Promise<void> {
    const args = [
      "run",
      "-A",
      MAIN,
      "--id",
      `${this.id}`,
      "--raft",
      this.raftAddr,
      "--http",
      `${this.httpPort}`,
      "--data",
      this.dataDir,
      "--peers",
      peers.map((p) => `${p.id}=${p.raftAddr}`).join(","),
      ...(opts.join ? ["--join"] : []),
      ...this.extra,
    ];
    this.child = new Deno.Command(DENO, {
      args,
      env: { RAFT_SECRET: "kvtest-secret" },
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const dec = new TextDecoder();
    const stream = this.child.stderr;
    this.pump = (async () => {
      for await (const chunk of stream) this.stderr += dec.decode(chunk, { stream: true });
    })();
    if (opts.waitReady === false) return;
    const exited = this.child.status.then((s) => {
      throw new Error(`kvtest ${this.id} exited with ${s.code}: ${this.stderr}`);
    });
    await Promise.race([waitForPort(this.httpPort, 20_000), exited]);
  }

  /** Waits for the process to exit and returns its exit code. */
  async exitCode(): Promise<number> {
    const s = await this.child!.status;
    await this.pump;
    this.child = undefined;
    return s.code;
  }

  /** kill -9. */
  async kill(): Promise<void> {
    if (!this.child) return;
    try {
      this.child.kill("SIGKILL");
    } catch { /* already gone */ }
    await this.exitCode();
  }

  /** Graceful stop (SIGTERM), then SIGKILL after 3 s. */
  async stop(): Promise<void> {
    if (!this.child) return;
    const c = this.child;
    try {
      c.kill("SIGTERM");
    } catch { /* already gone */ }
    const t = setTimeout(() => {
      try {
        c.kill("SIGKILL");
      } catch { /* already gone */ }
    }, 3000);
    await this.exitCode();
    clearTimeout(t);
  }

  /** Calls the HTTP API; returns status and JSON body. Throws on connection errors. */
  async call(
    path: string,
    method = "GET",
    timeoutMs = 5000,
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetch(`http://127.0.0.1:${this.httpPort}${path}`, {
      method,
      signal: AbortSignal.timeout(timeoutMs),
    });
    const body = await res.json();
    return { status: res.status, body };
  }
}

/** Finds the leader among running processes (highest term wins), or undefined. */
export async function findLeader(procs: KvProc[]): Promise<KvProc | undefined> {
  let best: { p: KvProc; term: number } | undefined;
  for (const p of procs) {
    if (!p.child) continue;
    try {
      const { body } = await p.call("/status", "GET", 1000);
      if (body.role === "leader" && (!best || (body.term as number) > best.term)) {
        best = { p, term: body.term as number };
      }
    } catch { /* down */ }
  }
  return best?.p;
}

/** Waits up to `ms` for a leader. */
export async function waitLeader(procs: KvProc[], ms = 15_000): Promise<KvProc> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const l = await findLeader(procs);
    if (l) return l;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("no leader elected");
}

/** Stops every process, ignoring errors. */
export async function stopAll(procs: KvProc[]): Promise<void> {
  await Promise.all(procs.map((p) => p.kill().catch(() => {})));
}
