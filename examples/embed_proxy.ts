/**
 * A codis-proxy embedded in a Deno program: every slot served by one redis-server (run with `databases 1024`), no
 * dashboard. Usage: `deno run -A examples/embed_proxy.ts [BACKEND_HOST:PORT] [LISTEN_HOST:PORT]`.
 * @module
 */
import { defaultProxyConfig, evenSlotRanges, Proxy } from "../mod.ts";

const backend = Deno.args[0] ?? "127.0.0.1:6379";
const proxy = new Proxy({ ...defaultProxyConfig(), proxy_addr: Deno.args[1] ?? "127.0.0.1:19000" });
const { host, port } = await proxy.listen();
await proxy.fillSlots(evenSlotRanges([backend]));
proxy.start();
console.log(`proxy serving on ${host}:${port}, every slot on ${backend}`);

const stop = async () => {
  await proxy.shutdown();
  Deno.exit(0);
};
Deno.addSignalListener("SIGINT", stop);
Deno.addSignalListener("SIGTERM", stop);
