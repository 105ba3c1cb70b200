/**
 * CONFIG GET through the proxy masks every password-like Redis parameter, not only requirepass and masterauth: the
 * backends' values are the product's secrets. Checked against a real redis-server holding a value in each.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { isSecretConfigParameter } from "../proxy/keyspace/secret_config.ts";
import { startProxyFixture } from "../testing/proxy.ts";

const PRODUCT_AUTH = "product-secret-1";
const SECRETS: Record<string, string> = {
  masterauth: "secret-masterauth",
  masteruser: "secret-masteruser",
  "tls-key-file-pass": "secret-key-pass",
  "tls-client-key-file-pass": "secret-client-key-pass",
};

Deno.test("isSecretConfigParameter: Redis 7's sensitive parameters and any *pass*, not tls-auth-clients", () => {
  for (const p of ["requirepass", "masterauth", "masteruser", "tls-key-file-pass", "TLS-CLIENT-KEY-FILE-PASS"]) {
    ok(isSecretConfigParameter(p), p);
  }
  ok(isSecretConfigParameter("some-future-secret"));
  for (const p of ["tls-auth-clients", "tls-key-file", "maxmemory", "acllog-max-len", "databases"]) {
    ok(!isSecretConfigParameter(p), p);
  }
});

Deno.test("proxy: CONFIG GET * shows none of the backends' password-like values", async () => {
  const fx = await startProxyFixture(1, { product_auth: PRODUCT_AUTH }, { requirepass: PRODUCT_AUTH });
  try {
    const direct = fx.direct(0);
    for (const [k, v] of Object.entries(SECRETS)) equal(await direct.config("SET", k, v), "OK");
    const straight = await direct.config("GET", "*") as string[];
    for (const v of [PRODUCT_AUTH, ...Object.values(SECRETS)]) ok(straight.includes(v), `redis-server holds ${v}`);

    const viaProxy = await fx.client().config("GET", "*") as string[];
    const got = new Map<string, string>();
    for (let i = 0; i + 1 < viaProxy.length; i += 2) got.set(viaProxy[i], viaProxy[i + 1]);
    for (const k of ["requirepass", ...Object.keys(SECRETS)]) equal(got.get(k), "", k);
    for (const v of [PRODUCT_AUTH, ...Object.values(SECRETS)]) ok(!viaProxy.includes(v), `${v} is not shown`);
    equal(got.get("tls-auth-clients"), "yes"); // not a secret: shown as Redis has it
    deepEqual(await fx.client().config("GET", "tls-key-file-pass"), ["tls-key-file-pass", ""]);
  } finally {
    await fx.stop();
  }
});
