import assert from "node:assert/strict";
import { adminAddrOf, findDashboard } from "./coord_dashboard.ts";

Deno.test("coordinator lookup: the dashboard's admin_addr from a filesystem root, one-line errors", async () => {
  const root = await Deno.makeTempDir({ prefix: "codis-coord-dash-" });
  try {
    const fs = { name: "filesystem" as const, addr: root };
    await assert.rejects(
      findDashboard(fs, "shop", { attempts: 2, intervalMs: 10 }),
      new Error(`no dashboard registered for product shop in filesystem ${root}`),
    );
    await Deno.mkdir(`${root}/data/codis3/shop`, { recursive: true });
    await Deno.writeTextFile(
      `${root}/data/codis3/shop/topom`,
      JSON.stringify({ token: "t", admin_addr: "10.0.0.5:18080", product_name: "shop", pid: 1 }),
    );
    assert.equal(await findDashboard(fs, "shop", { attempts: 1 }), "10.0.0.5:18080");
    // A node that appears while we wait is found.
    const late = findDashboard(fs, "late", { attempts: 50, intervalMs: 20 });
    await Deno.mkdir(`${root}/data/codis3/late`, { recursive: true });
    // Written whole, as the filesystem store writes a node (to a temporary name, then renamed): the lookup polls
    // meanwhile and must not read a half-written file.
    await Deno.writeTextFile(`${root}/data/codis3/late/.topom.tmp`, JSON.stringify({ admin_addr: "127.0.0.1:1" }));
    await Deno.rename(`${root}/data/codis3/late/.topom.tmp`, `${root}/data/codis3/late/topom`);
    assert.equal(await late, "127.0.0.1:1");
    await assert.rejects(findDashboard({ name: "filesystem", addr: `${root}/nope` }, "shop"), /is not a directory/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("coordinator lookup: a topom node without a usable admin_addr is named", () => {
  assert.equal(adminAddrOf('{"admin_addr":"h:1"}', "n"), "h:1");
  assert.throws(() => adminAddrOf("{", "/codis3/p/topom in etcd x"), /\/codis3\/p\/topom in etcd x is not/);
  assert.throws(() => adminAddrOf('{"admin_addr":""}', "n"), /n has no valid admin_addr/);
  assert.throws(() => adminAddrOf("null", "n"), /n has no valid admin_addr/);
});
