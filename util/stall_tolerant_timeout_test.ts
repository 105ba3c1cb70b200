import assert from "node:assert/strict";
import { firedLate } from "./stall_tolerant_timeout.ts";

Deno.test("firedLate: on time within a quarter of the period (at least 50 ms), late beyond it", () => {
  assert.equal(firedLate(1000, 1000, 5000), false);
  assert.equal(firedLate(1000, 2250, 5000), false);
  assert.equal(firedLate(1000, 2251, 5000), true);
  assert.equal(firedLate(1000, 1050, 100), false);
  assert.equal(firedLate(1000, 1051, 100), true);
});
