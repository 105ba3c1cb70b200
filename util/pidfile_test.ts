import * as assert from "node:assert/strict";
import { writePidFile } from "./pidfile.ts";

Deno.test("pid file: a symlink at the path is refused and its target left untouched", async () => {
  const dir = await Deno.makeTempDir({ prefix: "codis-pidfile-" });
  try {
    const target = `${dir}/precious`;
    await Deno.writeTextFile(target, "keep me\n");
    await Deno.symlink(target, `${dir}/p.pid`);
    assert.throws(() => writePidFile(`${dir}/p.pid`), /symbolic link/);
    assert.equal(await Deno.readTextFile(target), "keep me\n");
    assert.ok((await Deno.lstat(`${dir}/p.pid`)).isSymlink);
    // A dangling link is refused too (it would otherwise create a file wherever it points).
    await Deno.symlink(`${dir}/elsewhere`, `${dir}/q.pid`);
    assert.throws(() => writePidFile(`${dir}/q.pid`), /symbolic link/);
    assert.equal(await Deno.lstat(`${dir}/elsewhere`).catch(() => null), null);
    // Nothing is left behind by the refusals.
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["p.pid", "precious", "q.pid"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pid file: a stale regular file is replaced", async () => {
  const dir = await Deno.makeTempDir({ prefix: "codis-pidfile-" });
  try {
    await Deno.writeTextFile(`${dir}/p.pid`, "99999\n");
    const p = writePidFile(`${dir}/p.pid`);
    assert.equal(await Deno.readTextFile(`${dir}/p.pid`), `${Deno.pid}\n`);
    p.remove();
    assert.equal(await Deno.lstat(`${dir}/p.pid`).catch(() => null), null);
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
