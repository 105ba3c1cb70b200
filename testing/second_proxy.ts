/** A second in-process proxy over the same backends as a fixture, for tests across proxies. */
import { evenSlotRanges } from "../models/slots.ts";
import { defaultProxyConfig, type ProxyConfig } from "../proxy/config.ts";
import { Proxy } from "../proxy/proxy.ts";
import { freePort, waitForPort } from "./ports.ts";
import type { ProxyFixture } from "./proxy.ts";

/** Starts another proxy routing the fixture's slots the same way; `shutdown()` it before `f.stop()`. */
export async function startSecondProxy(
  f: ProxyFixture,
  overrides: Partial<ProxyConfig> = {},
): Promise<{ proxy: Proxy; port: number }> {
  const port = freePort();
  const proxy = new Proxy({ ...defaultProxyConfig(), proxy_addr: `127.0.0.1:${port}`, ...overrides });
  try {
    await proxy.fillSlots(evenSlotRanges(f.backends.map((b) => b.addr)));
    await proxy.listen();
    proxy.start();
    for (const pool of proxy.router.pools.values()) await pool.connect().catch(() => {});
    await waitForPort(port);
    return { proxy, port };
  } catch (e) {
    await proxy.shutdown();
    throw e;
  }
}
