/**
 * The few libc calls the proxy's client listener makes through FFI (Linux only): sockets, accept4, recv/send and
 * epoll. Every call is synchronous except {@link Libc.waitBlocking}, which runs on a runtime thread.
 *
 * Why not `Deno.Conn`: every pending `read()` is one future in the runtime, and the runtime polls at most 128 I/O
 * futures per turn (tokio's cooperative budget). With a thousand clients the ones that were just served are polled
 * first on every turn and the rest wait, some for a second or more (measured: a bare Deno PONG server at -c 1000 has a
 * p99 of 0.4-1.6 s where twemproxy has 0.07-0.27 s; `strace` shows the same 128 sockets read on every turn). One epoll
 * set read in the proxy's own order serves every ready client once per round.
 * @module
 */

/** Linux constants (the same on x86_64 and aarch64). */
export const AF_INET = 2;
const SOCK_STREAM = 1;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SO_REUSEADDR = 2;
const SO_KEEPALIVE = 9;
const SO_REUSEPORT = 15;
const IPPROTO_TCP = 6;
const TCP_NODELAY = 1;
const TCP_INFO = 11;
/** Where `tcpi_bytes_acked` (u64) sits in `struct tcp_info` (Linux 4.1 and later), and the size read up to it. */
const TCPI_BYTES_ACKED = 120;
const TCP_INFO_LEN = 128;
export const EPOLLIN = 0x1;
export const EPOLLOUT = 0x4;
export const EPOLLERR = 0x8;
export const EPOLLHUP = 0x10;
export const EPOLLRDHUP = 0x2000;
export const EPOLLET = 0x80000000;
const EPOLL_CTL_ADD = 1;
const EPOLL_CTL_DEL = 2;
export const EAGAIN = 11;
export const EINTR = 4;
export const ECONNABORTED = 103;
const MSG_NOSIGNAL = 0x4000;
const SHUT_WR = 1;
const EFD_NONBLOCK = 0o4000;
const EFD_CLOEXEC = 0o2000000;

/** The errors a listener setup reports most, in the words Deno.listen uses. */
const ERRNO_TEXT: Record<number, string> = {
  13: "Permission denied",
  24: "Too many open files",
  98: "Address already in use",
  99: "Cannot assign requested address",
};

const SYMBOLS = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  listen: { parameters: ["i32", "i32"], result: "i32" },
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  accept4: { parameters: ["i32", "buffer", "buffer", "i32"], result: "i32" },
  // ssize_t results are read as i32: a bigint result would allocate on every call, and no single call moves 2 GB.
  recv: { parameters: ["i32", "buffer", "usize", "i32"], result: "i32" },
  send: { parameters: ["i32", "buffer", "usize", "i32"], result: "i32" },
  shutdown: { parameters: ["i32", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  epoll_create1: { parameters: ["i32"], result: "i32" },
  epoll_ctl: { parameters: ["i32", "i32", "i32", "buffer"], result: "i32" },
  epoll_wait: { parameters: ["i32", "buffer", "i32", "i32"], result: "i32" },
  epoll_wait_blocking: {
    name: "epoll_wait",
    parameters: ["i32", "buffer", "i32", "i32"],
    result: "i32",
    nonblocking: true,
  },
  eventfd: { parameters: ["u32", "i32"], result: "i32" },
  write: { parameters: ["i32", "buffer", "usize"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

type Symbols = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

/**
 * size_t arguments as bigints, made once per value below 64 KiB: a plain number takes FFI's slow path (about 1 µs a
 * call, measured) and a fresh bigint allocates.
 */
const SIZES: bigint[] = [];
function size(n: number): bigint {
  return n < 65536 ? SIZES[n] ??= BigInt(n) : BigInt(n);
}

/** An IPv4 address and port as libc takes them. */
export interface Ipv4Addr {
  host: string;
  port: number;
}

/** Parses a dotted IPv4 literal; null for anything else (names, IPv6). */
export function parseIpv4(host: string): number[] | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  return parts.every((p) => p <= 255) ? parts : null;
}

/** libc through FFI; one per event loop (the library handle is closed with it). */
export class Libc {
  readonly #lib: Deno.DynamicLibrary<typeof SYMBOLS>;
  readonly fn: Symbols;
  readonly #errno: Deno.UnsafePointerView;
  /** Size of `struct epoll_event`: packed (12 bytes) on x86_64, 16 elsewhere. */
  readonly eventSize: number;
  readonly #one = new Int32Array([1]);
  readonly #addr = new Uint8Array(16);
  readonly #addrView = new DataView(this.#addr.buffer);
  readonly #addrLen = new Int32Array(1);
  readonly #ctl: Uint8Array;
  readonly #ctlView: DataView;
  readonly #counter = new BigUint64Array(1);
  #tcpInfo: Uint8Array | null = null;

  private constructor(lib: Deno.DynamicLibrary<typeof SYMBOLS>) {
    this.#lib = lib;
    this.fn = lib.symbols;
    this.#errno = new Deno.UnsafePointerView(lib.symbols.__errno_location()!);
    this.eventSize = Deno.build.arch === "x86_64" ? 12 : 16;
    this.#ctl = new Uint8Array(this.eventSize);
    this.#ctlView = new DataView(this.#ctl.buffer);
  }

  /** Opens libc, or returns why it cannot be used (not Linux, no --allow-ffi, no libc.so.6). */
  static open(): Libc | string {
    if (Deno.build.os !== "linux") return `not Linux (${Deno.build.os})`;
    try {
      return new Libc(Deno.dlopen("libc.so.6", SYMBOLS));
    } catch (e) {
      return (e as Error).message;
    }
  }

  /** errno of the last failed call on this thread. */
  errno(): number {
    return this.#errno.getInt32();
  }

  close(): void {
    this.#lib.close();
  }

  /** A non-blocking IPv4 listening socket; returns the fd and the bound port, or throws with errno's meaning. */
  listen(addr: Ipv4Addr, backlog: number, reusePort: boolean): { fd: number; port: number } {
    const ip = parseIpv4(addr.host);
    if (ip === null) throw new Error(`not an IPv4 address: ${addr.host}`);
    const f = this.fn;
    const fd = f.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) throw this.#error("socket");
    try {
      f.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, this.#one, 4);
      if (reusePort && f.setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, this.#one, 4) !== 0) {
        throw this.#error("setsockopt(SO_REUSEPORT)");
      }
      const a = this.#addr;
      a.fill(0);
      this.#addrView.setUint16(0, AF_INET, true);
      this.#addrView.setUint16(2, addr.port, false);
      a.set(ip, 4);
      if (f.bind(fd, a, 16) !== 0) throw this.#error(`bind ${addr.host}:${addr.port}`);
      if (f.listen(fd, backlog) !== 0) throw this.#error("listen");
      this.#addrLen[0] = 16;
      if (f.getsockname(fd, a, this.#addrLen) !== 0) throw this.#error("getsockname");
      return { fd, port: this.#addrView.getUint16(2, false) };
    } catch (e) {
      f.close(fd);
      throw e;
    }
  }

  /**
   * Accepts one connection: its fd (non-blocking, TCP_NODELAY) and the peer's `host:port`, or -errno when none could
   * be taken (-EAGAIN: no more waiting).
   */
  accept(listenFd: number, keepAlive: boolean): { fd: number; remote: string } | number {
    this.#addrLen[0] = 16;
    const fd = this.fn.accept4(listenFd, this.#addr, this.#addrLen, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return -this.errno();
    this.fn.setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, this.#one, 4);
    if (keepAlive) this.fn.setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, this.#one, 4);
    const a = this.#addr;
    const port = this.#addrView.getUint16(2, false);
    return { fd, remote: `${a[4]}.${a[5]}.${a[6]}.${a[7]}:${port}` };
  }

  /** Bytes received into `buf` (0: EOF), or -errno. */
  recv(fd: number, buf: Uint8Array): number {
    const n = this.fn.recv(fd, buf, size(buf.length), 0);
    return n >= 0 ? n : -this.errno();
  }

  /** Bytes sent from `buf`, or -errno. Never raises SIGPIPE. */
  send(fd: number, buf: Uint8Array): number {
    const n = this.fn.send(fd, buf, size(buf.length), MSG_NOSIGNAL);
    return n >= 0 ? n : -this.errno();
  }

  /**
   * Bytes of `fd`'s stream the peer has acknowledged so far (TCP_INFO's `tcpi_bytes_acked`), or -1 where the kernel
   * does not say: grows while the peer takes what is sent, stands still once its receive window is full.
   */
  bytesAcked(fd: number): number {
    const info = this.#tcpInfo ??= new Uint8Array(TCP_INFO_LEN);
    this.#addrLen[0] = TCP_INFO_LEN;
    if (this.fn.getsockopt(fd, IPPROTO_TCP, TCP_INFO, info, this.#addrLen) !== 0) return -1;
    if (this.#addrLen[0] < TCP_INFO_LEN) return -1;
    const v = new DataView(info.buffer);
    return v.getUint32(TCPI_BYTES_ACKED, true) + v.getUint32(TCPI_BYTES_ACKED + 4, true) * 2 ** 32;
  }

  /** Half-closes the sending side. */
  shutdownWrite(fd: number): void {
    this.fn.shutdown(fd, SHUT_WR);
  }

  /** A new epoll set. */
  epollCreate(): number {
    const fd = this.fn.epoll_create1(SOCK_CLOEXEC);
    if (fd < 0) throw this.#error("epoll_create1");
    return fd;
  }

  /** Adds `fd` to the set with `events`; the event's data is the fd itself. */
  epollAdd(epfd: number, fd: number, events: number): void {
    const v = this.#ctlView;
    v.setUint32(0, events >>> 0, true);
    const at = this.eventSize === 12 ? 4 : 8;
    v.setUint32(at, fd, true);
    v.setUint32(at + 4, 0, true);
    if (this.fn.epoll_ctl(epfd, EPOLL_CTL_ADD, fd, this.#ctl) !== 0) throw this.#error("epoll_ctl");
  }

  /** Removes `fd` from the set (closing it does too; this is for fds that stay open). */
  epollDel(epfd: number, fd: number): void {
    this.fn.epoll_ctl(epfd, EPOLL_CTL_DEL, fd, this.#ctl);
  }

  /** An eventfd, to wake a thread blocked in epoll_wait. */
  eventfd(): number {
    const fd = this.fn.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0) throw this.#error("eventfd");
    return fd;
  }

  /** Adds 1 to an eventfd's counter. */
  signal(fd: number): void {
    this.#counter[0] = 1n;
    this.fn.write(fd, new Uint8Array(this.#counter.buffer), size(8));
  }

  #error(what: string): Error {
    const e = this.errno();
    const name = ERRNO_TEXT[e];
    return new Error(`${what} failed: ${name ? `${name} (os error ${e})` : `errno ${e}`}`);
  }
}
