/**
 * `SO_RCVLOWAT` on a backend connection's socket (Linux, through FFI): the kernel then wakes the reader only once at
 * least that many bytes are queued. A batch of writes followed by a `WAIT` (backend_write_acks) is answered in two
 * parts, the writes' replies at once and the WAIT's one replication round trip later; with the low mark set to a lower
 * bound of the bytes still owed through the WAIT's reply, the proxy reads both parts in one wakeup instead of two.
 *
 * A `Deno.Conn` does not show its file descriptor: it is found once per connection by its socket's inode
 * (`/proc/self/net/tcp{,6}` by local and remote port, then `/proc/self/fd`).
 * @module
 */

const SOL_SOCKET = 1;
const SO_RCVLOWAT = 18;

type Lib = Deno.DynamicLibrary<{ setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"]; result: "i32" } }>;
let lib: Lib | null | undefined;
const value = new Int32Array(1);
const valueBytes = new Uint8Array(value.buffer);

function libc(): Lib | null {
  if (lib !== undefined) return lib;
  try {
    lib = Deno.build.os === "linux"
      ? Deno.dlopen("libc.so.6", { setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" } })
      : null;
  } catch {
    lib = null; // no --allow-ffi, or no libc.so.6: reads simply wake as usual
  }
  return lib;
}

function hexPort(port: number): string {
  return port.toString(16).toUpperCase().padStart(4, "0");
}

/** The socket inode of the TCP connection from local port `local` to remote port `remote`, or "" when not listed. */
function socketInode(local: number, remote: number): string {
  const l = `:${hexPort(local)}`;
  const r = `:${hexPort(remote)}`;
  for (const file of ["/proc/self/net/tcp", "/proc/self/net/tcp6"]) {
    let text: string;
    try {
      text = Deno.readTextFileSync(file);
    } catch {
      continue;
    }
    for (const line of text.split("\n")) {
      const f = line.trim().split(/\s+/);
      if (f.length > 9 && f[1].endsWith(l) && f[2].endsWith(r)) return f[9];
    }
  }
  return "";
}

/**
 * The file descriptor of a TCP `Deno.Conn`, or -1 when it cannot be found (not Linux, no FFI, no /proc, not TCP).
 * Reads /proc: call it once per connection, not per request.
 */
export function socketFd(conn: Deno.Conn): number {
  if (libc() === null) return -1;
  const la = conn.localAddr, ra = conn.remoteAddr;
  if (la.transport !== "tcp" || ra.transport !== "tcp") return -1;
  const inode = socketInode(la.port, ra.port);
  if (inode === "" || inode === "0") return -1;
  const link = `socket:[${inode}]`;
  try {
    for (const e of Deno.readDirSync("/proc/self/fd")) {
      try {
        if (Deno.readLinkSync(`/proc/self/fd/${e.name}`) === link) return Number(e.name);
      } catch { /* closed meanwhile */ }
    }
  } catch { /* no /proc */ }
  return -1;
}

/** Sets `SO_RCVLOWAT` of `fd` to `bytes` (≥ 1); false when the call failed. */
export function setRcvLowat(fd: number, bytes: number): boolean {
  const l = libc();
  if (l === null) return false;
  value[0] = bytes;
  return l.symbols.setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, valueBytes, 4) === 0;
}
