import assert from "node:assert/strict";
import { isStaleError, servesReads } from "./data_stale.ts";

const enc = (s: string) => new TextEncoder().encode(s);

Deno.test("DataStale: MASTERDOWN and LOADING errors mark a server stale; other replies do not", () => {
  assert.ok(isStaleError(enc("-MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.\r\n")));
  assert.ok(isStaleError(enc("-LOADING Redis is loading the dataset in memory\r\n")));
  for (const r of ["-ERR no such key\r\n", "+OK\r\n", "$9\r\nMASTERDOWN\r\n", "-MASTER\r\n"]) {
    assert.ok(!isStaleError(enc(r)), r);
  }
});

Deno.test("DataStale: INFO shows a server serving reads once loaded and, for a replica, linked to its master", () => {
  assert.ok(servesReads("# Replication\r\nrole:master\r\nconnected_slaves:0\r\n# Persistence\r\nloading:0\r\n"));
  assert.ok(servesReads("role:slave\r\nmaster_link_status:up\r\nloading:0\r\n"));
  assert.ok(!servesReads("role:slave\r\nmaster_link_status:down\r\nloading:0\r\n"));
  assert.ok(!servesReads("role:master\r\nloading:1\r\n"));
});
