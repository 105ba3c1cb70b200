/**
 * Which process opened a TCP connection that a forwarder in this process accepted, on Linux without privileges: the
 * opener's socket is the one whose local address is the accepted connection's remote one (and whose remote address
 * is our listener); the kernel gives its inode (sock_diag, or the line of /proc/net/tcp where FFI is not allowed);
 * the process holding `socket:[inode]` among its /proc/PID/fd links is the opener. Only the processes registered here are searched (and this one, last).
 * Works on loopback, where both ends of every connection are in this network namespace.
 * @module
 */
import { SockDiag } from "./sock_diag.ts";

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

/** The owner of a connection whose opener closed it before it was looked up. */
export const GONE = "(gone)";

/** Names the process (by a name given at registration) that opened a connection. */
export class ConnOwners {
  readonly #names = new Map<number, string>();
  readonly #tables = new Map<number, FdTable>();
  /** null: sock_diag is unavailable (no FFI permission), /proc/net/tcp is read instead. */
  #diag: SockDiag | null | undefined;
  /** Connections held by no registered process nor this one. */
  unknown = 0;
  /** Connections whose opener had closed its end before it was looked up. */
  gone = 0;
  /** Time spent looking, summed over the lookups (ms). */
  ms = 0;

  /** Connections opened by process `pid` are `name`'s. */
  register(pid: number, name: string): void {
    this.#names.set(pid, name);
  }

  /** Releases the netlink socket. */
  close(): void {
    this.#diag?.close();
    this.#diag = undefined;
  }

  /** Process `pid` is gone. */
  forget(pid: number): void {
    this.#names.delete(pid);
    this.#tables.delete(pid);
  }

  /**
   * The registered name of the process that opened `conn` (accepted by this process), `self` when this process
   * opened it, {@link GONE} when the opener closed its end already, "unknown" when no process known holds it.
   * Synchronous: the answer must come before the opener can close its socket, and the async file calls cost tens of
   * milliseconds each on a loaded machine where these cost some microseconds.
   */
  ownerOf(conn: Deno.Conn, self: string): string {
    const t0 = performance.now();
    try {
      return this.#ownerOf(conn.remoteAddr as Deno.NetAddr, conn.localAddr as Deno.NetAddr, self);
    } finally {
      this.ms += performance.now() - t0;
    }
  }

  #inode(local: Deno.NetAddr, remote: Deno.NetAddr): string | undefined {
    this.#diag ??= SockDiag.open() ?? null;
    if (this.#diag) return this.#diag.inode(local, remote);
    try {
      return socketInode(Deno.readTextFileSync("/proc/net/tcp"), local, remote);
    } catch {
      return undefined; // not Linux
    }
  }

  #ownerOf(remote: Deno.NetAddr, local: Deno.NetAddr, self: string): string {
    const inode = this.#inode(remote, local);
    // A socket no process holds any more (inode 0: FIN_WAIT2, TIME_WAIT) or none at all: the opener gave up on
    // the connection (under load, before this process accepted it) and will read nothing from it.
    if (inode === undefined || inode === "0") {
      this.gone++;
      return GONE;
    }
    const link = `socket:[${inode}]`;
    // A new connection's socket is mostly a new descriptor, or one an earlier pass read after it was made: look at
    // those first (one directory read per process), then at every descriptor, since a number may have been closed
    // and reused.
    const pids = [...this.#names.keys()];
    const pid = pids.find((p) => this.#fds(p).fresh(link)) ?? pids.find((p) => this.#fds(p).all(link));
    if (pid !== undefined) return this.#names.get(pid)!;
    if (new FdTable(Deno.pid).all(link)) return self;
    if (this.#inode(remote, local) !== inode) {
      this.gone++;
      return GONE;
    }
    this.unknown++;
    return "unknown";
  }

  #fds(pid: number): FdTable {
    let t = this.#tables.get(pid);
    if (!t) this.#tables.set(pid, t = new FdTable(pid));
    return t;
  }
}

/** One process's descriptors and what each pointed to when last looked at. */
class FdTable {
  readonly #links = new Map<string, string>();

  constructor(readonly pid: number) {}

  /** Whether a descriptor not seen before, or seen pointing to `link`, points to `link` (forgets closed ones). */
  fresh(link: string): boolean {
    const names = this.#names();
    const present = new Set(names);
    for (const fd of this.#links.keys()) if (!present.has(fd)) this.#links.delete(fd);
    for (const [fd, target] of this.#links) if (target === link && this.#read(fd) === link) return true;
    let found = false;
    for (const fd of names) if (!this.#links.has(fd) && this.#read(fd) === link) found = true;
    return found;
  }

  /** Whether any descriptor points to `link`, every one read again. */
  all(link: string): boolean {
    let found = false;
    for (const fd of this.#names()) if (this.#read(fd) === link) found = true;
    return found;
  }

  #names(): string[] {
    try {
      return [...Deno.readDirSync(`/proc/${this.pid}/fd`)].map((e) => e.name);
    } catch {
      return []; // the process is gone
    }
  }

  #read(fd: string): string | undefined {
    try {
      const target = Deno.readLinkSync(`/proc/${this.pid}/fd/${fd}`);
      this.#links.set(fd, target);
      return target;
    } catch {
      this.#links.delete(fd);
      return undefined;
    }
  }
}
