import { deepEqual } from "node:assert/strict";
import { atTurnEnd, everyTurnEnd } from "./turn_end.ts";

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

Deno.test("everyTurnEnd: the hook runs first at each turn end that runs, and what it queues runs in the same pass", async () => {
  const seen: string[] = [];
  let queueFromHook = true;
  const remove = everyTurnEnd(() => {
    seen.push("hook");
    if (queueFromHook) atTurnEnd(() => seen.push("queued by hook"));
    queueFromHook = false;
  });
  try {
    await new Promise<void>((done) => {
      atTurnEnd(() => seen.push("a"));
      // Nothing forces a turn end of its own: the hook rides on the one "a" asked for.
      setTimeout(done, 20);
    });
    deepEqual(seen, ["hook", "a", "queued by hook"]);
  } finally {
    remove();
  }
  seen.length = 0;
  await new Promise<void>((done) => atTurnEnd(done));
  deepEqual(seen, [], "a removed hook runs no more");
});
