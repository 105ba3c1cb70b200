import assert from "node:assert/strict";
import type { BackendState } from "../../redis/conn.ts";
import { chooseWriteConn, writeConnCount, type WriteConnView } from "./write_conn_choice.ts";

const conn = (waiting: number, batchOpen = false, state: BackendState = "connected"): WriteConnView => ({
  waiting,
  batchOpen,
  state,
});

Deno.test("write conn choice: the turn's open batch first, else the fewest WAITs out, skipping unusable ones", () => {
  const open = conn(3, true);
  assert.equal(chooseWriteConn([conn(0), open, conn(0)]), open);
  const idle = conn(0);
  assert.equal(chooseWriteConn([conn(2), conn(1), idle, conn(0)]), idle);
  const up = conn(5);
  assert.equal(chooseWriteConn([conn(0, true, "down"), conn(0, false, "closed"), up]), up);
  const connecting = conn(0, false, "connecting");
  assert.equal(chooseWriteConn([conn(1), connecting]), connecting);
  // None usable: the first, whose send reports why.
  const down = conn(0, false, "down");
  assert.equal(chooseWriteConn([down, conn(0, false, "down")]), down);
});

Deno.test("write conn choice: at least four per master, more with backend_primary_parallel", () => {
  assert.equal(writeConnCount(1), 4);
  assert.equal(writeConnCount(8), 8);
});
