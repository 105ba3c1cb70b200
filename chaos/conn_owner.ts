/**
 * Which process opened a TCP connection that a forwarder in this process accepted, on Linux without privileges: the
 * opener's socket is the line of /proc/net/tcp whose local address is the accepted connection's remote one (and
 * whose remote address is our listener), which gives its inode; the process holding `socket:[inode]` among its
 * /proc/PID/fd links is the opener. Only the processes registered here are searched (and this one, last).
 * Works on loopback, where both ends of every connection are in this network namespace.
 * @module
 */

/** IPv4 `a.b.c.d:port` as /proc/net/tcp writes it (address in host byte order, little-endian machines). */
export function procNetAddr(ip: string, port: number): string {
  const b = ip.split(".").map(Number);
  const hex = (n: number, w: number) => n.toString(16).toUpperCase().padStart(w, "0");
  return `${hex(b[3], 2)}${hex(b[2], 2)}${hex(b[1], 2)}${hex(b[0], 2)}:${hex(port, 4)}`;
}

/** The inode of the socket whose local address is `local` and remote is `remote`, from /proc/net/tcp's text. */
export function socketInode(procNetTcp: string, local: Deno.NetAddr, remote: Deno.NetAddr): string | undefined {
  const needle = ` ${procNetAddr(local.hostname, local.port)} ${procNetAddr(remote.hostname, remote.port)} `;
  const at = procNetTcp.indexOf(needle);
  if (at < 0) return undefined;
  const end = procNetTcp.indexOf("\n", at);
  const fields = procNetTcp.slice(at, end < 0 ? undefined : end).trim().split(/\s+/);
  // local rem st tx:rx tr:when retrnsmt uid timeout inode
  return fields[8];
}

/** Names the process (by a name given at registration) that opened a connection. */
export class ConnOwners {
  readonly #names = new Map<number, string>();
  /** `socket:[inode]` → pid, from the last scan of the registered processes' descriptors. */
  #sockets = new Map<string, number>();
  /** Connections whose opener was found nowhere (it may have closed at once). */
  unknown = 0;

  /** Connections opened by process `pid` are `name`'s. */
  register(pid: number, name: string): void {
    this.#names.set(pid, name);
  }

  /** Process `pid` is gone. */
  forget(pid: number): void {
    this.#names.delete(pid);
  }

  /**
   * The registered name of the process that opened `conn` (accepted by this process), `self` when this process
   * opened it, "unknown" when no one holds the other end any more.
   */
  ownerOf(conn: Deno.Conn, self: string): string {
    const remote = conn.remoteAddr as Deno.NetAddr, local = conn.localAddr as Deno.NetAddr;
    let inode: string | undefined;
    try {
      inode = socketInode(Deno.readTextFileSync("/proc/net/tcp"), remote, local);
    } catch { /* not Linux */ }
    if (inode === undefined) {
      this.unknown++;
      return "unknown";
    }
    const link = `socket:[${inode}]`;
    let pid = this.#sockets.get(link);
    if (pid === undefined || !this.#names.has(pid)) {
      this.#rescan();
      pid = this.#sockets.get(link);
    }
    if (pid !== undefined) return this.#names.get(pid)!;
    if (holds(Deno.pid, link)) return self;
    this.unknown++;
    return "unknown";
  }

  #rescan(): void {
    const sockets = new Map<string, number>();
    for (const pid of this.#names.keys()) {
      try {
        for (const e of Deno.readDirSync(`/proc/${pid}/fd`)) {
          try {
            const target = Deno.readLinkSync(`/proc/${pid}/fd/${e.name}`);
            if (target.startsWith("socket:")) sockets.set(target, pid);
          } catch { /* closed meanwhile */ }
        }
      } catch { /* the process is gone */ }
    }
    this.#sockets = sockets;
  }
}

function holds(pid: number, link: string): boolean {
  try {
    for (const e of Deno.readDirSync(`/proc/${pid}/fd`)) {
      try {
        if (Deno.readLinkSync(`/proc/${pid}/fd/${e.name}`) === link) return true;
      } catch { /* closed meanwhile */ }
    }
  } catch { /* no /proc */ }
  return false;
}
