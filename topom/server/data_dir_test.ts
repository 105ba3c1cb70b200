import assert from "node:assert/strict";
import { prepareDataDir } from "./data_dir.ts";

Deno.test("data dir: created 0700; what an older version left readable is tightened to 0700/0600", async () => {
  const root = await Deno.makeTempDir({ prefix: "codis-datadir-" });
  try {
    await prepareDataDir(`${root}/fresh/node-1`);
    assert.equal((await Deno.stat(`${root}/fresh/node-1`)).mode! & 0o777, 0o700);

    const old = `${root}/old`;
    await Deno.mkdir(`${old}/wal`, { recursive: true, mode: 0o755 });
    await Deno.writeTextFile(`${old}/meta`, "x", { mode: 0o644 });
    await Deno.writeTextFile(`${old}/wal/0001.wal`, "x", { mode: 0o644 });
    await prepareDataDir(old);
    assert.equal((await Deno.stat(old)).mode! & 0o777, 0o700);
    assert.equal((await Deno.stat(`${old}/wal`)).mode! & 0o777, 0o700);
    assert.equal((await Deno.stat(`${old}/meta`)).mode! & 0o777, 0o600);
    assert.equal((await Deno.stat(`${old}/wal/0001.wal`)).mode! & 0o777, 0o600);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
