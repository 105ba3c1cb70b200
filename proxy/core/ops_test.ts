import { deepEqual, equal } from "node:assert/strict";
import { monitorLine } from "./monitor_feed.ts";
import { redactedArgs, SlowLog, slowlogArgs } from "./slowlog.ts";
import { OperatorHooks } from "./ops.ts";
import { PAUSE_ALL, PAUSE_WRITE } from "./client_pause.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const texts = (a: readonly Uint8Array[]) => a.map((b) => new TextDecoder().decode(b));

Deno.test("slow log arguments: 32 kept, the last saying how many more; 128 bytes each, then how many more", () => {
  const argv = [enc("RPUSH"), enc("k"), ...Array.from({ length: 40 }, (_, i) => enc(`v${i}`))];
  const got = texts(slowlogArgs(argv));
  equal(got.length, 32);
  equal(got[30], "v28");
  equal(got[31], "... (11 more arguments)");
  const long = texts(slowlogArgs([enc("SET"), enc("k"), enc("x".repeat(200))]));
  equal(long[2], "x".repeat(128) + "... (72 more bytes)");
  deepEqual(texts(slowlogArgs([enc("GET"), enc("x".repeat(128))])), ["GET", "x".repeat(128)]);
});

Deno.test("AUTH and HELLO's AUTH pair are redacted, other commands untouched", () => {
  deepEqual(texts(redactedArgs([enc("auth"), enc("u"), enc("pw")])), ["auth", "(redacted)", "(redacted)"]);
  deepEqual(texts(redactedArgs([enc("HELLO"), enc("3"), enc("AUTH"), enc("u"), enc("p"), enc("SETNAME"), enc("n")])), [
    "HELLO",
    "3",
    "AUTH",
    "(redacted)",
    "(redacted)",
    "SETNAME",
    "n",
  ]);
  const plain = [enc("ECHO"), enc("auth")];
  equal(redactedArgs(plain), plain);
});

Deno.test("MONITOR lines: Redis's timestamp, address and sdscatrepr quoting", () => {
  const line = new TextDecoder().decode(
    monitorLine(1700000000123.4567, "127.0.0.1:5000", [
      enc("SET"),
      enc('a"b\\'),
      new Uint8Array([10, 13, 9, 7, 8, 1, 255]),
    ]),
  );
  equal(line, '+1700000000.123456 [0 127.0.0.1:5000] "SET" "a\\"b\\\\" "\\n\\r\\t\\a\\b\\x01\\xff"\r\n');
  equal(
    new TextDecoder().decode(monitorLine(1700000000000, "a:1", [enc("PING")])),
    '+1700000000.000000 [0 a:1] "PING"\r\n',
  );
});

Deno.test("the slow log keeps the newest max_len entries; a negative threshold turns it off", () => {
  const log = new SlowLog(5, 2);
  for (const k of ["a", "b", "c"]) log.add([enc("GET"), enc(k)], 7, "h:1", null);
  equal(log.length, 2);
  deepEqual(log.newest(-1).map((e) => [e.id, texts(e.args)[1]]), [[2, "c"], [1, "b"]]);
  deepEqual(log.newest(1).map((e) => e.id), [2]);
  log.maxLen = 1;
  equal(log.length, 1);
  log.slowerThanUs = -1;
  equal(log.thresholdUs, Infinity);
  equal(log.slowerThanUs, -1);
  log.reset();
  equal(log.length, 0);
});

Deno.test("OperatorHooks.active is 0 with no monitor and no pause, non-zero otherwise", () => {
  const ops = new OperatorHooks({ slowlog_log_slower_than: 10000, slowlog_max_len: 128 });
  try {
    equal(ops.active, 0);
    const sink = { pushMonitorLine() {} };
    ops.monitors.add(sink);
    equal(ops.active !== 0, true);
    ops.monitors.delete(sink);
    equal(ops.active, 0);
    let resumed = 0;
    ops.pause.pause(60_000, PAUSE_WRITE);
    ops.pause.pause(10, PAUSE_ALL); // the stronger mode, the later end
    equal(ops.pause.mode, PAUSE_ALL);
    ops.pause.wait(() => resumed++);
    equal(resumed, 0);
    ops.pause.unpause();
    equal(resumed, 1);
    equal(ops.active, 0);
  } finally {
    ops.close();
  }
});
