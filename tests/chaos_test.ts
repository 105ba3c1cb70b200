/**
 * `deno task chaos` end to end, as root (network namespaces): a short fixed-seed run under the default nemeses (on an
 * idle machine its seed draws kill, operator, raft and partition besides migrate) ends with 0 lost acknowledged writes and 0
 * violations, and its last line has the promised format; an interrupted run removes its processes and namespaces.
 * The proxies' dashboard lease is cut to 5 s (through --proxy-arg) so that a force-removed proxy's slots move within
 * the run.
 * @module
 */
import assert from "node:assert/strict";
import { netnsProblem, removeLeftovers } from "../chaos/hosts.ts";

const MAIN = new URL("../chaos/main.ts", import.meta.url).pathname;
const SUMMARY =
  /^chaos: (\d+) ops \((\d+) errors\), (\d+) lost acknowledged writes, (\d+) linearizability violations, (\d+) faults, seed (\d+)$/;
const canRun = (await netnsProblem()) === undefined;

async function namespacesOf(pid: number): Promise<string[]> {
  const out = await new Deno.Command("ip", { args: ["netns", "list"], stdout: "piped", stderr: "null" }).output();
  return new TextDecoder().decode(out.stdout).split("\n").filter((l) => l.startsWith(`codischaos-${pid}-`));
}

async function pidsIn(ns: string): Promise<number[]> {
  const out = await new Deno.Command("ip", { args: ["netns", "pids", ns], stdout: "piped", stderr: "null" }).output();
  return new TextDecoder().decode(out.stdout).split(/\s+/).filter((s) => s !== "").map(Number);
}

function alive(pid: number): boolean {
  try {
    return !Deno.readTextFileSync(`/proc/${pid}/stat`).includes(") Z ");
  } catch {
    return false;
  }
}

function spawnChaos(args: string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/**
 * Runs the chaos tool with `args` and hands it to `check`; the child is killed (SIGKILL) once `check` ends, or after
 * `limitMs` if it is still running then; `cleanup` (the namespaces' leftovers) runs last either way.
 */
async function withChaos(
  args: string[],
  limitMs: number,
  cleanup: () => Promise<unknown>,
  check: (child: Deno.ChildProcess) => Promise<void>,
): Promise<void> {
  const child = spawnChaos(args);
  const killer = setTimeout(() => child.kill("SIGKILL"), limitMs);
  try {
    await check(child);
  } finally {
    clearTimeout(killer);
    try {
      child.kill("SIGKILL");
    } catch { /* exited */ }
    await cleanup();
  }
}

/** Reads a stream to its end, calling `onLine` for each line. */
async function lines(stream: ReadableStream<Uint8Array>, onLine: (l: string) => void): Promise<string[]> {
  const all: string[] = [];
  let rest = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    const parts = (rest + chunk).split("\n");
    rest = parts.pop()!;
    for (const l of parts) {
      all.push(l);
      onLine(l);
    }
  }
  if (rest) all.push(rest);
  return all;
}

Deno.test({
  name: "chaos: a short seeded run under the default nemeses loses nothing",
  ignore: !canRun,
  async fn() {
    const args = ["--seconds=45", "--seed=7", "--max-pause=5", "--proxy-arg=--dashboard_lease_timeout=5s"];
    await withChaos(args, 300_000, removeLeftovers, async (child) => {
      const [out, err, status] = await Promise.all([
        lines(child.stdout, () => {}),
        lines(child.stderr, () => {}),
        child.status,
      ]);
      const last = out.filter((l) => l !== "").at(-1) ?? "";
      const m = last.match(SUMMARY);
      assert.ok(m, `no summary line; stdout:\n${out.join("\n")}\nstderr:\n${err.slice(-30).join("\n")}`);
      const [ops, , lost, violations, faults, seed] = m.slice(1).map(Number);
      assert.equal(seed, 7);
      assert.ok(ops > 100, `only ${ops} ops`);
      assert.ok(faults > 3, `only ${faults} faults`);
      assert.equal(lost, 0, out.join("\n"));
      assert.equal(violations, 0, out.join("\n"));
      assert.equal(status.code, 0);
      assert.ok(out.some((l) => l.startsWith("replay: deno task chaos --seconds=45 --seed=7")));
      const faultLine = out.find((l) => l.startsWith("faults: ")) ?? "";
      // How many faults fit in 45 s depends on the machine's load; their order does not (the seed fixes it).
      assert.match(faultLine, /migrate/, faultLine);
      assert.match(faultLine, /kill|operator|raft|partition/, faultLine);
      const html = out.find((l) => l.startsWith("timeline: "))!.slice("timeline: ".length);
      const page = await Deno.readTextFile(html);
      await Deno.remove(html);
      assert.match(page, /<svg/);
      assert.doesNotMatch(page, /(src|href)="http/);
      assert.deepEqual(await namespacesOf(child.pid), []);
    });
  },
});

Deno.test({
  name: "chaos: SIGINT during a run removes its processes and namespaces",
  ignore: !canRun,
  async fn() {
    await withChaos(["--seconds=600", "--seed=1", "--nemesis=pause"], 180_000, removeLeftovers, async (child) => {
      let sawNamespaces = false;
      const running: number[] = [];
      const errDone = lines(child.stderr, (l) => {
        if (l.includes("clients and nemeses running")) {
          (async () => {
            const ns = await namespacesOf(child.pid);
            sawNamespaces = ns.length > 0;
            for (const n of ns) running.push(...await pidsIn(n));
            child.kill("SIGINT");
          })();
        }
      });
      const [, status] = await Promise.all([errDone, child.status, child.stdout.cancel()]);
      assert.ok(sawNamespaces, "the run had no namespaces while running");
      assert.equal(status.code, 130);
      assert.deepEqual(await namespacesOf(child.pid), []);
      assert.ok(running.length >= 9, `expected the cluster's processes in the namespaces, found ${running.length}`);
      assert.deepEqual(running.filter((pid) => alive(pid)), []);
    });
  },
});

Deno.test({
  name: "chaos: on loopback, the forwarders partition a proxy off (its lease expires) and nothing is lost",
  ignore: Deno.build.os !== "linux",
  async fn() {
    // Seed 35's first fault isolates proxy1 for 9.4 s from about 3 s in: cut off from every dashboard for longer
    // than its 3 s lease, it refuses its slots, while its clients (the tool, never cut) still reach it.
    const args = [
      "--loopback",
      "--seconds=12",
      "--seed=35",
      "--nemesis=partition",
      "--proxy-arg=--dashboard_lease_timeout=3s",
    ];
    await withChaos(args, 180_000, () => Promise.resolve(), async (child) => {
      const [out, err, status] = await Promise.all([
        lines(child.stdout, () => {}),
        lines(child.stderr, () => {}),
        child.status,
      ]);
      const all = `stdout:\n${out.join("\n")}\nstderr:\n${err.slice(-30).join("\n")}`;
      const m = (out.filter((l) => l !== "").at(-1) ?? "").match(SUMMARY);
      assert.ok(m, `no summary line; ${all}`);
      const [ops, , lost, violations, faults] = m.slice(1).map(Number);
      assert.ok(ops > 50, `only ${ops} ops; ${all}`);
      assert.ok(faults >= 1, all);
      assert.equal(lost, 0, all);
      assert.equal(violations, 0, all);
      assert.equal(status.code, 0, all);
      const forwarders = out.find((l) => l.startsWith("note: loopback forwarders: ")) ?? "";
      const stalls = Number(forwarders.match(/(\d+) stalls by a cut/)?.[1] ?? 0);
      assert.ok(stalls > 0, `no traffic held by the partition; ${all}`);
      // Every connection between the cluster's processes was matched to its opener's host.
      assert.match(forwarders, /\(0 of unknown opener/, all);
      assert.ok(out.some((l) => l.startsWith("errors: ") && l.includes("proxy lease expired")), all);
      const html = out.find((l) => l.startsWith("timeline: "))!.slice("timeline: ".length);
      await Deno.remove(html);
    });
  },
});
