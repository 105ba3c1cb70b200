import assert from "node:assert/strict";
import { logger, setLogSink } from "./log.ts";
import { logToFile } from "./log_file.ts";
import { writePidFile } from "./pidfile.ts";
import { openFilesLimit, parseOpenFilesLimit, ulimitProblem } from "./ulimit.ts";

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            1024                 524288               files
Max locked memory         8388608              8388608              bytes
`;

Deno.test("ulimit: the soft open-files limit from /proc/self/limits, and the start-up refusal", () => {
  assert.equal(parseOpenFilesLimit(LIMITS), 1024);
  assert.equal(parseOpenFilesLimit(LIMITS.replace("1024    ", "unlimited")), Infinity);
  assert.equal(parseOpenFilesLimit("Max cpu time unlimited unlimited seconds\n"), undefined);
  assert.equal(ulimitProblem(1024, 1024), undefined);
  assert.equal(ulimitProblem(65536, Infinity), undefined);
  const low = ulimitProblem(65536, 1024)!;
  assert.match(low, /--ulimit=65536: the open-files limit \(ulimit -n\) is 1024, below 65536/);
  assert.match(low, /`ulimit -n 65536`/);
  assert.match(ulimitProblem(10, undefined)!, /cannot read the open-files limit/);
  // This process's own limit is readable here (Linux).
  assert.equal(ulimitProblem(1, openFilesLimit()), undefined);
});

Deno.test("log file: lines are appended to the file, and go back to stderr after close", async () => {
  const dir = await Deno.makeTempDir({ prefix: "codis-logfile-" });
  try {
    const path = `${dir}/x.log`;
    await Deno.writeTextFile(path, "earlier line\n");
    const f = logToFile(path);
    logger("t").info("hello file");
    f.close();
    f.close();
    logger("t").debug("not in the file");
    const text = await Deno.readTextFile(path);
    assert.match(text, /^earlier line\n.* INFO \[t\] hello file\n$/);
    assert.throws(() => logToFile(`${dir}/missing/dir/x.log`), /cannot open log file .*missing\/dir\/x\.log/);
  } finally {
    setLogSink();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pid file: holds the pid, remove() is idempotent", async () => {
  const dir = await Deno.makeTempDir({ prefix: "codis-pidfile-" });
  try {
    const p = writePidFile(`${dir}/p.pid`);
    assert.equal(await Deno.readTextFile(`${dir}/p.pid`), `${Deno.pid}\n`);
    p.remove();
    p.remove();
    assert.equal(await Deno.stat(`${dir}/p.pid`).catch(() => undefined), undefined);
    assert.throws(() => writePidFile(`${dir}/no/such/p.pid`), /cannot write pid file/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
