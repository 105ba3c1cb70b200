import assert from "node:assert/strict";
import { type DashboardGroup, setupGroups, startDashboards } from "../testing/dashboard.ts";
import { type CodisProxyProcess, startCodisProxy } from "../testing/codis_proxy.ts";
import { type RedisProcess, startRedis } from "../testing/redis.ts";
import { sleep } from "../testing/wait.ts";

async function cli(port: number, args: string[], stdin?: string): Promise<string> {
  const p = new Deno.Command("redis-cli", {
    args: ["-p", String(port), ...args],
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const w = p.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const out = await p.output();
  return new TextDecoder().decode(out.stdout).trim();
}

Deno.test("dashboard + real codis-proxy: slots assigned by long-poll, 64 slots migrate with data while the leader is killed", async () => {
  const redis: RedisProcess[] = [];
  let g: DashboardGroup | undefined;
  let proxy: CodisProxyProcess | undefined;
  try {
    g = await startDashboards({ product: "dash-e2e" });
    const x = g.xauth;
    const leader = await g.leader();
    redis.push(await startRedis(), await startRedis());
    await setupGroups(g, leader.admin, redis);

    proxy = await startCodisProxy([
      `--dashboard=${g.nodes.map((d) => d.admin).join(",")}`,
      "--product_name=dash-e2e",
    ]);
    const port = proxy.port;
    for (let i = 0; i < 200 && (await cli(port, ["PING"])) !== "PONG"; i++) await sleep(50);
    const N = 3000;
    let cmds = "";
    for (let i = 0; i < N; i++) cmds += `SET key:${i} v${i}\n`;
    await cli(port, [], cmds);
    assert.equal(await cli(port, ["GET", "key:42"]), "v42");

    // Migrate half the slots; kill -9 the leader while they move.
    const t0 = Date.now();
    const create = await g.call(leader.admin, "PUT", `/api/topom/slots/action/create-range/${x}/0/63/2`);
    assert.equal(create.status, 200);
    await sleep(300);
    await leader.kill("SIGKILL");
    const next = await g.leader(15_000);
    const deadline = Date.now() + 60_000;
    let left = 64;
    while (Date.now() < deadline) {
      const st = (await g.call(next.admin, "GET", "/topom/stats")).json;
      left = st.slots.filter((s: { id: number; group_id: number; action: { state?: string } }) =>
        s.action.state || (s.group_id !== 2 && s.id < 64)
      ).length;
      if (left === 0) {
        break;
      }
      await sleep(200);
    }
    assert.equal(left, 0, "every slot migrated");
    console.log(`64 slots (${N} keys in all) migrated in ${Date.now() - t0} ms, with a leader kill -9 at 300 ms`);
    // Every key readable through the proxy, and each lives in exactly one group.
    let script = "";
    for (let i = 0; i < N; i++) script += `GET key:${i}\n`;
    const values = (await cli(port, [], script)).split("\n");
    assert.equal(values.length, N);
    for (let i = 0; i < N; i++) assert.equal(values[i], `v${i}`);
    const keys = async (r: RedisProcess) => {
      const info = await cli(r.port, ["INFO", "keyspace"]);
      return [...info.matchAll(/keys=(\d+)/g)].reduce((a, m) => a + Number(m[1]), 0);
    };
    const [k1, k2] = [await keys(redis[0]), await keys(redis[1])];
    assert.equal(k1 + k2, N);
    assert.ok(k2 > N / 32 && k1 > N / 2, `split ${k1}/${k2}`);
  } finally {
    await proxy?.stop();
    await g?.stop();
    for (const r of redis) await r.stop();
  }
});
