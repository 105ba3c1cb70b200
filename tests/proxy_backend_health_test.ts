import { equal, match, ok } from "node:assert/strict";
import { startProxyFixture } from "../testing/proxy.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("proxy: a backend that stops answering fails requests after backend_recv_timeout, then recovers", async () => {
  const f = await startProxyFixture(1, { backend_ping_period: 100, backend_recv_timeout: 400 });
  try {
    const c = f.client({ maxRetriesPerRequest: 0 });
    equal(await c.set("k", "v"), "OK");
    const direct = f.direct(0);
    // The server keeps the connection open but answers nothing: what a hung server or a silent partition looks like.
    equal(await direct.call("CLIENT", "PAUSE", "1500", "ALL"), "OK");
    const err = await c.get("k").then(() => null, (e: Error) => e);
    ok(err !== null, "a request to a backend that does not answer must fail, not hang");
    match(err!.message, /no reply for \d+ ms \(backend_recv_timeout\)/);
    let value: string | null = null;
    for (let i = 0; i < 60 && value !== "v"; i++) {
      value = await c.get("k").catch(() => null);
      if (value !== "v") await sleep(100);
    }
    equal(value, "v", "the proxy reconnects once the backend answers again");
  } finally {
    await f.stop();
  }
});

Deno.test("proxy: an idle backend connection is kept alive with PING every backend_ping_period", async () => {
  const f = await startProxyFixture(1, { backend_ping_period: 100 });
  try {
    const c = f.client();
    equal(await c.set("k", "v"), "OK");
    await sleep(700);
    const direct = f.direct(0);
    const list = String(await direct.call("CLIENT", "LIST"));
    const pinged = list.split("\n").filter((l) => / cmd=ping /.test(l));
    ok(pinged.length >= 1, `expected the proxy's connection to have sent PING last:\n${list}`);
    for (const l of pinged) ok(Number(/ idle=(\d+) /.exec(l)![1]) <= 1, l);
  } finally {
    await f.stop();
  }
});
