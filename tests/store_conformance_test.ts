import { runConformance } from "../store/testing/conformance.ts";
import { MemoryStore } from "../store/memory.ts";

Deno.test("store conformance: memory", async (t) => {
  const store = new MemoryStore();
  try {
    await runConformance(t, {
      open: () => Promise.resolve(store.client()),
      sessions: true,
      ttlMs: 300,
      exactlyOnce: true,
    });
  } finally {
    store.close();
  }
});
