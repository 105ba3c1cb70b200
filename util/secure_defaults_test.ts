import assert from "node:assert/strict";
import { isLoopbackAddr, productAuthCheck } from "./secure_defaults.ts";

Deno.test("secure defaults: loopback addresses are told from every-interface and other hosts", () => {
  for (const a of ["127.0.0.1:1", "127.1.2.3:1", "localhost:1", "[::1]:1"]) assert.ok(isLoopbackAddr(a), a);
  for (const a of ["0.0.0.0:1", ":1", "[::]:1", "10.0.0.1:1", "127.0.0.1.example:1", "host:1", "127.0.0.256:1"]) {
    assert.ok(!isLoopbackAddr(a), a);
  }
});

Deno.test("secure defaults: an empty product_auth is refused off loopback, warned about on it", () => {
  const refused = productAuthCheck("0.0.0.0:18080", "");
  assert.ok(refused && "error" in refused);
  assert.match(refused.error, /product_auth.*--product_auth=.*product_auth_file.*CODIS_PRODUCT_AUTH/);
  const warned = productAuthCheck("127.0.0.1:18080", "");
  assert.ok(warned && "warning" in warned);
  assert.equal(productAuthCheck("0.0.0.0:18080", "pw"), undefined);
});
