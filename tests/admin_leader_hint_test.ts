/**
 * codis-admin follows a "not leader" hint only from a dashboard it was given (or to one): a chain of hints cannot
 * lead its requests, whose paths carry the xauth, to an address nobody named (issue 12).
 */
import assert from "node:assert/strict";
import { AdminError, JsonHttp } from "../admin/http.ts";

function serve(answer: () => Response, hits: string[], name: string): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () => {
    hits.push(name);
    return answer();
  });
}

const addrOf = (s: Deno.HttpServer<Deno.NetAddr>) => `127.0.0.1:${s.addr.port}`;
const notLeader = (leader: string) =>
  new Response(JSON.stringify({ Cause: "not leader", Stack: [], leader }), { status: 421 });

Deno.test("admin leader hints: one hop from a given dashboard is followed, a hint from elsewhere is not", async () => {
  const hits: string[] = [];
  const target = serve(() => Response.json("OK"), hits, "target");
  const relay = serve(() => notLeader(addrOf(target)), hits, "relay");
  const leader = serve(() => Response.json("OK"), hits, "leader");
  const given = serve(() => notLeader(addrOf(leader)), hits, "given");
  const misleading = serve(() => notLeader(addrOf(relay)), hits, "misleading");
  try {
    // The given dashboard names the leader: followed.
    assert.equal(await new JsonHttp([addrOf(given)]).request("GET", "/topom"), "OK");
    assert.deepEqual(hits.splice(0), ["given", "leader"]);

    // The given dashboard names one that names a third: the third is never asked.
    const err = await new JsonHttp([addrOf(misleading)]).request("GET", "/topom").catch((e) => e);
    assert.ok(err instanceof AdminError, String(err));
    assert.match(err.message, /not following it to 127\.0\.0\.1:\d+/);
    assert.deepEqual(hits.splice(0), ["misleading", "relay"]);

    // Unless the operator named it too.
    assert.equal(await new JsonHttp([addrOf(misleading), addrOf(target)]).request("GET", "/topom"), "OK");
    assert.deepEqual(hits.splice(0), ["misleading", "relay", "target"]);
  } finally {
    for (const s of [target, relay, leader, given, misleading]) await s.shutdown();
  }
});
