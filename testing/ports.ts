/** Ports this process handed out already: the kernel may offer a released port again before its user binds it. */
const handedOut = new Set<number>();

/**
 * The first port of the kernel's ephemeral range (ports it gives to `bind(0)` and outgoing connections). Test files
 * run as parallel processes, and any of them may listen on port 0: a port picked below this range is never handed to
 * such a listener between freePort() and its user's bind.
 */
const EPHEMERAL_LOW = (() => {
  try {
    const low = Number(Deno.readTextFileSync("/proc/sys/net/ipv4/ip_local_port_range").trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low >= 4096 ? low : 32768;
  } catch {
    return 32768;
  }
})();

/**
 * Where test processes (parallel test files, other checkouts' runs) note the ports they hand out, one empty file per
 * port: a port noted less than {@link RESERVE_MS} ago is not handed out by another process, whose random pick could
 * otherwise fall on it in the while before its user binds it (a child process takes a second or more to start).
 */
const RESERVATIONS = "/tmp/codis-deno-test-ports";
const RESERVE_MS = 120_000;
let reservations: "unknown" | "ready" | "off" = "unknown";

/** Notes `port` as handed out; false when another process did recently. True without a writable /tmp. */
function reserve(port: number): boolean {
  if (reservations === "unknown") {
    try {
      Deno.mkdirSync(RESERVATIONS, { recursive: true });
      reservations = "ready";
      // The notes go with the process (best effort: a crash leaves them to expire).
      globalThis.addEventListener("unload", () => {
        for (const p of handedOut) {
          try {
            Deno.removeSync(`${RESERVATIONS}/${p}`);
          } catch { /* not ours, or gone */ }
        }
      });
    } catch {
      reservations = "off";
    }
  }
  if (reservations === "off") return true;
  const path = `${RESERVATIONS}/${port}`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      Deno.writeFileSync(path, new Uint8Array(0), { createNew: true });
      return true;
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) return true;
      try {
        if (Date.now() - (Deno.statSync(path).mtime?.getTime() ?? 0) < RESERVE_MS) return false;
        Deno.removeSync(path);
      } catch { /* removed by another process meanwhile */ }
    }
  }
  return false;
}

/** Whether 127.0.0.1:port can be listened on now. */
function canListen(port: number): boolean {
  try {
    Deno.listen({ hostname: "127.0.0.1", port }).close();
    return true;
  } catch {
    return false;
  }
}

/**
 * Returns a free TCP port on 127.0.0.1, never the same one twice in this process nor one another test process handed
 * out in the last two minutes: a random one below the kernel's ephemeral range (see {@link EPHEMERAL_LOW}), or one
 * the kernel picks when none is found there.
 */
export function freePort(): number {
  const low = Math.floor(EPHEMERAL_LOW / 2);
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = low + Math.floor(Math.random() * (EPHEMERAL_LOW - low));
    if (!handedOut.has(port) && canListen(port) && reserve(port)) {
      handedOut.add(port);
      return port;
    }
  }
  for (let attempt = 0; attempt < 100; attempt++) {
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (l.addr as Deno.NetAddr).port;
    l.close();
    if (!handedOut.has(port) && reserve(port)) {
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

/**
 * Who listens on TCP `port` (any local address) in this network namespace: "none", "process" when the process `pid`
 * holds the listening socket, "other" when another process does, or "unknown" where /proc cannot tell (not Linux).
 * Unlike a connect, it tells a server's own socket from a stranger's that took the port first.
 */
export function portListener(port: number, pid: number): "none" | "process" | "other" | "unknown" {
  const inodes = new Set<string>();
  try {
    for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
      for (const row of Deno.readTextFileSync(table).split("\n").slice(1)) {
        // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
        const f = row.trim().split(/\s+/);
        if (f.length > 9 && f[3] === "0A" && parseInt(f[1].split(":")[1], 16) === port) inodes.add(`socket:[${f[9]}]`);
      }
    }
  } catch {
    return "unknown";
  }
  if (inodes.size === 0) return "none";
  try {
    for (const fd of Deno.readDirSync(`/proc/${pid}/fd`)) {
      try {
        if (inodes.has(Deno.readLinkSync(`/proc/${pid}/fd/${fd.name}`))) return "process";
      } catch { /* closed meanwhile */ }
    }
  } catch { /* the process is gone */ }
  return "other";
}
