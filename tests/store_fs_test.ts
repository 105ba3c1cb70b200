import assert from "node:assert/strict";
import { FsStore, openFsClient } from "../store/fs.ts";
import { StoreError } from "../store/errors.ts";
import { topomPath } from "../store/paths.ts";

const te = new TextEncoder();

Deno.test("fs store: Codis layout, lock file, revisions survive a reopen", async () => {
  const root = await Deno.makeTempDir({ prefix: "codis-fs-" });
  try {
    const c = await openFsClient(root);
    const rev = await c.create(topomPath("demo"), te.encode('{"admin_addr":"x"}'));
    assert.equal(await Deno.readTextFile(`${root}/data/codis3/demo/topom`), '{"admin_addr":"x"}');
    assert.equal(await Deno.readTextFile(`${root}/data.lck`), String(Deno.pid));
    // Our own pid is alive, so a second open is refused.
    const err = await FsStore.open(root).catch((e) => e);
    assert.ok(err instanceof StoreError && /locked by running process/.test(err.message), String(err));
    await c.close();
    await assert.rejects(Deno.stat(`${root}/data.lck`));

    // A file written behind the store's back (e.g. by Codis) is adopted with a fresh revision.
    await Deno.mkdir(`${root}/data/codis3/demo/group`, { recursive: true });
    await Deno.writeTextFile(`${root}/data/codis3/demo/group/group-0001`, "{}");
    // A stale lock (dead pid) is taken over.
    await Deno.writeTextFile(`${root}/data.lck`, "999999999");
    const c2 = await openFsClient(root);
    const n = await c2.read(topomPath("demo"), true);
    assert.equal(n.stat.modRevision, rev);
    const g = await c2.read("/codis3/demo/group/group-0001", true);
    assert.ok(g.stat.modRevision > rev);
    assert.equal(await c2.revision(), g.stat.modRevision);
    await c2.delete("/codis3/demo/group/group-0001");
    await assert.rejects(Deno.stat(`${root}/data/codis3/demo/group`), "empty directories are removed");
    await c2.close();
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
