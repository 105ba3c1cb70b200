import { deepEqual, equal, match, ok } from "node:assert/strict";
import { admin } from "../testing/admin_cli.ts";

const server = (addr: string) => ({ server: addr, datacenter: "", action: {}, replica_group: false });

Deno.test("codis-admin coordinator commands on a filesystem store: restore, dump, list, remove-lock, convert", async () => {
  const dir = await Deno.makeTempDir({ prefix: "codis-admin-coord-" });
  try {
    const root = `${dir}/store`;
    await Deno.mkdir(root);
    const FS = `--filesystem=${root}`;
    const config = {
      slots: [{ id: 0, group_id: 1, action: {} }, { id: 1, group_id: 2, action: {} }],
      group: [
        { id: 1, servers: [server("127.0.0.1:6379"), server("127.0.0.1:6380")], promoting: {}, out_of_sync: false },
        { id: 2, servers: [server("127.0.0.1:6381")], promoting: {}, out_of_sync: false },
      ],
    };
    const file = `${dir}/config.json`;
    await Deno.writeTextFile(file, JSON.stringify(config));

    const missing = await admin("--config-dump", "--product=demo", FS);
    equal(missing.code, 1);
    match(missing.stderr, /^codis-admin: can't find product = demo \[v3\]\n$/);

    const preview = await admin(`--config-restore=${file}`, "--product=demo", FS);
    equal(preview.code, 0, preview.stderr);
    deepEqual(JSON.parse(preview.stdout), config);
    equal((await admin("--config-dump", "--product=demo", FS)).code, 1, "a preview writes nothing");

    const restored = await admin(`--config-restore=${file}`, "--product=demo", FS, "--confirm");
    equal(restored.code, 0, restored.stderr);
    const dump = await admin("--config-dump", "--product=demo", FS);
    equal(dump.code, 0, dump.stderr);
    const d = JSON.parse(dump.stdout);
    equal(d.slots.length, 1024);
    deepEqual(d.slots.slice(0, 3), [...config.slots, { id: 2, group_id: 0, action: {} }]);
    deepEqual(d.group, config.group);
    equal(d.proxy, undefined);
    match(dump.stdout, /^\{\n {4}"slots": \[\n/);

    const again = await admin(`--config-restore=${file}`, "--product=demo", FS, "--confirm");
    equal(again.code, 1);
    match(again.stderr, /product demo is not empty/);

    await Deno.writeTextFile(
      `${root}/data/codis3/demo/topom`,
      JSON.stringify({ token: "t", admin_addr: "127.0.0.1:18080", product_name: "demo" }),
    );
    const list = await admin("--dashboard-list", FS);
    equal(list.code, 0, list.stderr);
    deepEqual(JSON.parse(list.stdout), [{ name: "demo", dashboard: "127.0.0.1:18080" }]);
    equal((await admin("--remove-lock", "--product=demo", FS)).code, 0);
    deepEqual(JSON.parse((await admin("--dashboard-list", FS)).stdout), [{ name: "demo", dashboard: "" }]);

    const v1 = `${dir}/v1.json`;
    await Deno.writeTextFile(
      v1,
      JSON.stringify({
        slots: {
          "slot_0": { id: 0, group_id: 1, state: { status: "online" } },
          "slot_1": { id: 1, group_id: 1, state: { status: "offline" } },
        },
        servers: {
          "group_1": {
            "127.0.0.1:6380": { addr: "127.0.0.1:6380", group_id: 1, type: "slave" },
            "127.0.0.1:6379": { addr: "127.0.0.1:6379", group_id: 1, type: "master" },
          },
        },
      }),
    );
    const conv = await admin(`--config-convert=${v1}`);
    equal(conv.code, 0, conv.stderr);
    deepEqual(JSON.parse(conv.stdout), {
      slots: [{ id: 0, group_id: 1, action: {} }],
      group: [{
        id: 1,
        servers: [server("127.0.0.1:6379"), server("127.0.0.1:6380")],
        promoting: {},
        out_of_sync: false,
      }],
    });

    const bad = `${dir}/bad.json`;
    await Deno.writeTextFile(bad, JSON.stringify({ slots: [{ id: 3, group_id: 7, action: {} }] }));
    const [badRestore, noStore, noRoot] = await Promise.all([
      admin(`--config-restore=${bad}`, "--product=demo", FS),
      admin("--config-dump", "--product=demo"),
      admin("--config-dump", "--product=demo", `--filesystem=${dir}/nope`),
    ]);
    match(badRestore.stderr, /^codis-admin: invalid config .*slot-0003 with group-0007 doesn't exist or empty\n$/);
    match(noStore.stderr, /^codis-admin: invalid coordinator/);
    match(noRoot.stderr, /is not a directory/);
    ok([badRestore, noStore, noRoot].every((r) => r.code === 1));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
