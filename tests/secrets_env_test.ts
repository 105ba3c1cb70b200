/**
 * Secrets kept out of a process's arguments: a codis-proxy child gets session_auth from CODIS_SESSION_AUTH and
 * product_auth from a 0600 file named by --product_auth_file, and both take effect (clients need the password; the
 * proxy authenticates to a redis-server with requirepass).
 */
import { equal, ok } from "node:assert/strict";
import { Redis } from "ioredis";
import { startCodisProxy } from "../testing/codis_proxy.ts";
import { startRedis } from "../testing/redis.ts";

Deno.test("codis-proxy: session_auth from the environment and product_auth from a file", async () => {
  const productAuth = `pa-${crypto.randomUUID()}`;
  const sessionAuth = `sa-${crypto.randomUUID()}`;
  const dir = await Deno.makeTempDir({ prefix: "codis-secrets-" });
  const redis = await startRedis({ requirepass: productAuth });
  let proxy: Awaited<ReturnType<typeof startCodisProxy>> | null = null;
  const clients: Redis[] = [];
  const client = (password?: string) => {
    const c = new Redis({ port: proxy!.port, host: "127.0.0.1", maxRetriesPerRequest: 0, password });
    c.on("error", () => {});
    clients.push(c);
    return c;
  };
  try {
    await Deno.writeTextFile(`${dir}/product_auth`, `${productAuth}\n`, { mode: 0o600 });
    const args = [`--backend=${redis.addr}`, `--product_auth_file=${dir}/product_auth`];
    ok(!args.join(" ").includes(productAuth) && !args.join(" ").includes(sessionAuth), "no secret in the arguments");
    proxy = await startCodisProxy(args, { CODIS_SESSION_AUTH: sessionAuth });

    const anonymous = client();
    const refused = await anonymous.ping().then(() => "PONG", (e: Error) => e.message);
    ok(refused.startsWith("NOAUTH"), refused);
    const wrong = await client("not-it").ping().then(() => "PONG", (e: Error) => e.message);
    ok(wrong.startsWith("WRONGPASS"), wrong);

    const c = client(sessionAuth);
    equal(await c.set("secrets-env-key", "v"), "OK"); // reaches the backend: product_auth came from the file
    equal(await c.get("secrets-env-key"), "v");
  } finally {
    for (const c of clients) c.disconnect();
    await proxy?.stop();
    await redis.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
