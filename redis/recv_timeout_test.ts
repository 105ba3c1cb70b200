import assert from "node:assert/strict";
import { recvTimeoutReason } from "./recv_timeout.ts";

Deno.test("recv timeout reason: keeps the part clients match on and says what tells the causes apart", () => {
  const stalled = recvTimeoutReason({
    quietMs: 63129.4,
    waiting: 1000,
    readPending: true,
    unsentBytes: 0,
    sinceWriteMs: 63130,
    longestCheckGapMs: 33020,
  });
  assert.equal(
    stalled,
    "no reply for 63129 ms (backend_recv_timeout): 1000 requests waiting, a read waiting on the server, " +
      "0 bytes not yet sent, last write 63130 ms ago, health checks up to 33020 ms apart",
  );
  const stuck = recvTimeoutReason({
    quietMs: 30500,
    waiting: 1,
    readPending: false,
    unsentBytes: 17,
    sinceWriteMs: 30600,
    longestCheckGapMs: 1001,
  });
  assert.match(stuck, /^no reply for 30500 ms \(backend_recv_timeout\): 1 request waiting, /);
  assert.match(stuck, /no read waiting \(the read loop stopped\), 17 bytes not yet sent/);
});
