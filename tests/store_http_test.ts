import assert from "node:assert/strict";
import { HttpStoreClient } from "../store/http_client.ts";
import { bodyDigest, signRequest, storeRequest } from "../store/http.ts";
import { StoreError } from "../store/errors.ts";
import { runConformance } from "../store/testing/conformance.ts";
import { startRaftGroup } from "../store/testing/raft_group.ts";

Deno.test("store conformance: raft over HTTP (3 members, one client on every member, one on a follower)", async (t) => {
  const root = await Deno.makeTempDir({ prefix: "codis-raft-http-" });
  const g = await startRaftGroup(root, { http: true });
  try {
    const l = await g.leader();
    const follower = [...g.http.keys()].find((id) => id !== l)!;
    let turn = 0;
    await runConformance(t, {
      open: () =>
        Promise.resolve(
          new HttpStoreClient({
            endpoints: turn++ % 2 ? [g.http.get(follower)!] : [...g.http.values()],
            secret: g.secret,
          }),
        ),
      sessions: true,
      ttlMs: 2000,
      exactlyOnce: true,
    });
    await t.step("requests without the cluster secret are refused", async () => {
      const err = await storeRequest(g.http.get(l)!, "wrong", "GET", "/revision").catch((e) => e);
      assert.ok(err instanceof StoreError && /authentication/.test(err.message), String(err));
      const digest = bodyDigest("");
      const stale = signRequest(g.secret, "GET", "/api/store/revision", digest, Date.now() - 120_000);
      const res = await fetch(`http://${g.http.get(l)}/api/store/revision`, {
        headers: { "x-store-auth": stale, "x-store-body-sha256": digest },
      });
      assert.equal(res.status, 401);
      await res.body?.cancel();
    });
    await t.step("a raw command posted to a follower is forwarded to the leader", async () => {
      const res = await storeRequest<{ ok: boolean; revision: number }>(
        g.http.get(follower)!,
        g.secret,
        "POST",
        "/propose",
        {
          body: { op: "update", path: "/x/forwarded", data: "" },
        },
      );
      assert.equal(res.ok, true);
      assert.ok(res.revision > 0);
    });
  } finally {
    await g.stop();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("raft over HTTP: a client moves past a dead member and its session survives a leader kill", async () => {
  const root = await Deno.makeTempDir({ prefix: "codis-raft-http-" });
  const g = await startRaftGroup(root, { http: true });
  try {
    const l = await g.leader();
    const others = [...g.http.keys()].filter((id) => id !== l);
    // The dead follower first in the list, then the leader, then the other follower.
    const c = new HttpStoreClient({
      endpoints: [g.http.get(others[0])!, g.http.get(l)!, g.http.get(others[1])!],
      secret: g.secret,
    });
    try {
      await g.kill(others[0]);
      const s = await c.openSession({ ttlMs: 2000 });
      await s.createEphemeral("/jodis/demo/proxy-x", new TextEncoder().encode("x"));
      await g.kill(l); // one member left: bring the first one back for a quorum of two
      await g.restart(others[0]);
      await g.leader(10_000);
      await new Promise((r) => setTimeout(r, 3000)); // longer than the TTL: renewals must have gone through
      assert.ok(await c.read("/jodis/demo/proxy-x"), "the renewing session kept its node across the failover");
      await s.close();
      assert.equal(await c.read("/jodis/demo/proxy-x"), undefined);
    } finally {
      await c.close();
    }
  } finally {
    await g.stop();
    await Deno.remove(root, { recursive: true });
  }
});
