import { deepEqual } from "node:assert/strict";
import { atTurnEnd } from "./turn_end.ts";

Deno.test("atTurnEnd runs callbacks in order, after the turn's microtasks", async () => {
  const seen: string[] = [];
  await new Promise<void>((done) => {
    atTurnEnd(() => {
      seen.push("a");
      setImmediate(() => seen.push("immediate queued by a"));
    });
    atTurnEnd(() => seen.push("b"));
    queueMicrotask(() => seen.push("microtask"));
    atTurnEnd(() => {
      seen.push("c");
      // Queued while the list runs: not in this pass, but after what was already scheduled.
      atTurnEnd(() => {
        seen.push("queued by c");
        done();
      });
    });
    seen.push("sync");
  });
  deepEqual(seen, ["sync", "microtask", "a", "b", "c", "immediate queued by a", "queued by c"]);
});

Deno.test("atTurnEnd: a throwing callback does not stop the others", async () => {
  const seen: string[] = [];
  const errors: unknown[] = [];
  const onError = (e: ErrorEvent) => {
    errors.push(e.error);
    e.preventDefault();
  };
  globalThis.addEventListener("error", onError);
  try {
    await new Promise<void>((done) => {
      atTurnEnd(() => {
        throw new Error("boom");
      });
      atTurnEnd(() => seen.push("after the throw"));
      atTurnEnd(() => setTimeout(done, 10));
    });
  } finally {
    globalThis.removeEventListener("error", onError);
  }
  deepEqual(seen, ["after the throw"]);
  deepEqual(errors.map((e) => (e as Error).message), ["boom"]);
});
