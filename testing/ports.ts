/** Ports this process handed out already: the kernel may offer a released port again before its user binds it. */
const handedOut = new Set<number>();

/** Returns a free TCP port on 127.0.0.1, chosen by the kernel, never the same one twice in this process. */
export function freePort(): number {
  for (let attempt = 0; attempt < 100; attempt++) {
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (l.addr as Deno.NetAddr).port;
    l.close();
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error("no fresh free port after 100 attempts");
}

/** Waits until a TCP connect to 127.0.0.1:port succeeds, or throws after `timeoutMs`. */
export async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const c = await Deno.connect({ hostname: "127.0.0.1", port });
      c.close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  throw new Error(`port ${port} did not open within ${timeoutMs} ms`);
}
