import { deepEqual, equal, match, ok } from "node:assert/strict";
import { admin } from "../testing/admin_cli.ts";
import { ProxyAdminClient } from "../topom/server/proxy_client.ts";
import { startProxyFixture } from "../testing/proxy.ts";

Deno.test("codis-admin --proxy against a live proxy: overview parts, fillslots --locked, xauth errors", async () => {
  const f = await startProxyFixture(2, { product_name: "adm", product_auth: "pa" }, { requirepass: "pa" });
  const dir = await Deno.makeTempDir({ prefix: "codis-admin-proxy-" });
  try {
    const P = `--proxy=127.0.0.1:${f.adminPort}`;
    const file = `${dir}/slots.json`;
    await Deno.writeTextFile(
      file,
      JSON.stringify([{ id: 5, backend_addr: f.backends[1].addr, backend_addr_group_id: 2 }]),
    );
    const bad = `${dir}/bad.json`;
    await Deno.writeTextFile(bad, JSON.stringify([{ id: 1024 }]));

    const [model, stats, all, config] = await Promise.all([
      admin(P, "model"),
      admin(P, "stats"),
      admin(P),
      admin(P, "config"),
    ]);
    equal(model.code, 0, model.stderr);
    const m = JSON.parse(model.stdout);
    equal(m.product_name, "adm");
    match(model.stdout, /^\{\n {4}"/);
    equal(typeof JSON.parse(stats.stdout).ops.total, "number");
    ok(["version", "config", "model", "stats"].every((k) => k in JSON.parse(all.stdout)));
    equal(JSON.parse(config.stdout).product_name, "adm");

    const fill = await admin(P, "--auth=pa", "--fillslots", file, "--locked");
    equal(fill.code, 0, fill.stderr);
    const c = new ProxyAdminClient(`127.0.0.1:${f.adminPort}`, { productName: "adm", productAuth: "pa" });
    const s5 = (await c.slots())[5];
    equal(s5.backend_addr, f.backends[1].addr);
    equal(s5.locked, true);

    for (const args of [["--reset-stats"], ["--forcegc"], ["--log-level=info"], ["--start"]]) {
      const r = await admin(P, "-a", "pa", ...args);
      equal(r.code, 0, `${args}: ${r.stderr}`);
    }
    equal((await c.stats()).online, true);

    const [wrong, badFile, badLevel] = await Promise.all([
      admin(P, "--auth=nope", "--reset-stats"),
      admin(P, "--auth=pa", `--fillslots=${bad}`),
      admin(P, "--auth=pa", "--log-level=chatty"),
    ]);
    for (const r of [wrong, badFile, badLevel]) {
      equal(r.code, 1);
      equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
    }
    match(wrong.stderr, /^codis-admin: proxy admin .*xping\/\*\*\*/);
    match(badFile.stderr, /invalid slot id = 1024/);
    match(badLevel.stderr, /--log-level = chatty/);
    deepEqual((await c.slots())[5].locked, true, "a refused fillslots changed nothing");
  } finally {
    await f.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
