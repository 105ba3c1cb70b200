import { equal, throws } from "node:assert/strict";
import { Redis } from "ioredis";
import { validateProxyConfig } from "../proxy/config.ts";
import { startProxyFixture } from "../testing/proxy.ts";

Deno.test("proxy: proto_type = unix serves clients on a unix socket (proxy_addr is its path)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "codis-proxy-unix-" });
  const path = `${dir}/proxy.sock`;
  const f = await startProxyFixture(2, { proto_type: "unix", proxy_addr: path });
  const c = new Redis({ path, maxRetriesPerRequest: 0 });
  try {
    equal((await Deno.stat(path)).isSocket, true);
    equal(await c.set("unix-key", "v"), "OK");
    equal(await c.get("unix-key"), "v");
    const both = await c.mget("unix-key", "other");
    equal(JSON.stringify(both), JSON.stringify(["v", null]));
    equal(f.proxy.model().proxy_addr, path);
    const cli = await new Deno.Command("redis-cli", { args: ["-s", path, "GET", "unix-key"], stdout: "piped" })
      .output();
    equal(new TextDecoder().decode(cli.stdout).trim(), "v");
    c.disconnect();
    await f.stop();
    equal(await Deno.stat(path).then(() => true, () => false), false, "the socket file goes with the proxy");
  } finally {
    c.disconnect();
    await f.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("proxy config: unixpacket and worker threads on a unix socket are refused with the reason", () => {
  throws(() => validateProxyConfig({ proto_type: "unixpacket" }), /unixpacket is not supported/);
  throws(() => validateProxyConfig({ proto_type: "unix", proxy_workers: 2 }), /worker threads need a TCP listener/);
});

Deno.test("proxy: proxy_unixsocket_perm sets the socket file's mode (0700 by default)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "codis-proxy-unix-" });
  try {
    for (const [perm, mode] of [[undefined, 0o700], ["0770", 0o770], ["755", 0o755]] as const) {
      const path = `${dir}/proxy-${mode.toString(8)}.sock`;
      const over = perm === undefined ? {} : { proxy_unixsocket_perm: perm };
      const f = await startProxyFixture(1, { proto_type: "unix", proxy_addr: path, ...over });
      try {
        equal((await Deno.stat(path)).mode! & 0o7777, mode, `perm ${perm}`);
      } finally {
        await f.stop();
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  throws(() => validateProxyConfig({ proxy_unixsocket_perm: "0789" }), /not an octal mode/);
  throws(() => validateProxyConfig({ proxy_unixsocket_perm: "4777" }), /not an octal mode/);
});
