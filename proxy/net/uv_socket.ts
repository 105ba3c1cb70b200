/**
 * A client connection handed from the proxy's epoll set to the runtime's own reactor: the accepted fd is adopted by
 * the runtime's native TCP handle (the one `node:net` sockets use, reached through `process.binding("tcp_wrap")`),
 * which reads whenever the kernel says the socket is readable and calls back with the bytes.
 *
 * Why: an fd in the proxy's epoll set is watched, while the event loop sleeps, by an `epoll_wait` blocked on a
 * runtime thread. A lone client's request then wakes that thread, which wakes the event loop, which hands the thread
 * its next `epoll_wait`: one thread hop and two wake-ups more per request than a socket of the runtime's own, which
 * wakes the event loop directly (bench/README.md "One client's wake-ups"). A few connections are adopted this way
 * (`session_epoll_direct`, proxy/listen.ts); the rest stay in the epoll set, whose round-robin reads keep a thousand
 * clients fair.
 * @module
 */
import process from "node:process";
import type { ClientSocket, SocketEvents } from "./client_socket.ts";
import { EAGAIN, EINTR, type Libc } from "./libc.ts";
import { gatherInto } from "../../util/gather.ts";

/** The libuv-style stream state the native handle reports through (node's `stream_wrap` binding). */
interface StreamState {
  streamBaseState: Int32Array;
  kReadBytesOrError: number;
  kLastWriteWasAsync: number;
  WriteWrap: new () => Req;
  ShutdownWrap: new () => Req;
}

/** A write or shutdown request: `oncomplete` runs when an asynchronous one is done. */
interface Req {
  oncomplete: ((status: number) => void) | null;
  /** What an asynchronous write sends, kept alive here (the handle does not keep it). */
  held?: Uint8Array | readonly Uint8Array[] | null;
}

/** The native TCP handle, as far as it is used here. */
interface TcpHandle {
  open(fd: number): number;
  onread: ((buf?: ArrayBuffer) => void) | null;
  /** Reads go into `buf` from now on (the callback then gets no buffer of its own); it must have room. */
  useUserBuffer(buf: Uint8Array): unknown;
  readStart(): number;
  readStop(): number;
  writeBuffer(req: Req, data: Uint8Array): number;
  writev(req: Req, chunks: readonly Uint8Array[], allBuffers: boolean): number;
  shutdown(req: Req): number;
  close(cb?: () => void): void;
}

interface Binding {
  Tcp: new (type: number) => TcpHandle;
  socketType: number;
  stream: StreamState;
}

let binding: Binding | null | undefined;

/** The runtime's native TCP handle, or null where there is none to adopt fds with (checked once). */
function nativeTcp(): Binding | null {
  if (binding !== undefined) return binding;
  binding = null;
  try {
    // deno-lint-ignore no-explicit-any
    const bind = (process as any).binding as (name: string) => any;
    const tcp = bind("tcp_wrap");
    const stream = bind("stream_wrap") as StreamState;
    const proto = tcp?.TCP?.prototype;
    const usable = typeof proto?.open === "function" && typeof proto.readStart === "function" &&
      typeof proto.writeBuffer === "function" && typeof proto.writev === "function" &&
      typeof proto.shutdown === "function" && typeof proto.useUserBuffer === "function" &&
      stream?.streamBaseState instanceof Int32Array &&
      typeof stream.WriteWrap === "function" && typeof stream.ShutdownWrap === "function";
    if (usable) binding = { Tcp: tcp.TCP, socketType: tcp.constants.SOCKET, stream };
  } catch {
    // no node compatibility layer here: connections stay in the epoll set
  }
  return binding;
}

/** Small replies of one flush are gathered into this buffer (one per thread) and sent at once; see writeParts. */
let gatherBuf = new Uint8Array(16 * 1024);
const MAX_GATHER = 256 * 1024;

/** libuv's end of file. */
const UV_EOF = -4095;
/**
 * Read slabs: a connection reads into the free tail of a slab of its own (the parser's views of earlier reads stay
 * valid), a small one, or a big one after a read that filled its whole tail. Below MIN_TAIL free, a new slab is taken.
 */
const SLAB = 4096;
const BIG_SLAB = 64 * 1024;
const MIN_TAIL = 512;

/** A client connection on the runtime's native TCP handle. */
export class UvSocket implements ClientSocket {
  readonly remote: string;
  readonly fd: number;
  lastActive = Date.now();
  readonly #handle: TcpHandle;
  readonly #state: StreamState;
  readonly #libc: Libc;
  readonly #onGone: () => void;
  #events: SocketEvents | null = null;
  #slab: Uint8Array | null = null;
  #used = 0;
  /** Where the read in progress goes: the slab's tail, or a big value's own buffer (SocketEvents.readTarget). */
  #into: Uint8Array | null = null;
  #intoSlab = false;
  #bigNext = false;
  #closed = false;
  #reading = false;
  #paused = false;
  #eof = false;
  /** A write request object, reused while writes complete at once (an asynchronous one keeps its own). */
  #req: Req;
  /** Bytes handed to asynchronous writes that have not completed, and how many such writes there are. */
  #pending = 0;
  #pendingWrites = 0;
  #writeStartedAt = 0;
  /** The peer's acknowledged bytes when last looked at (see writeWaitingSince). */
  #acked = -1;
  #ending = false;
  #ended: (() => void) | null = null;
  #endTimer: ReturnType<typeof setTimeout> | undefined;

  private constructor(b: Binding, handle: TcpHandle, libc: Libc, fd: number, remote: string, onGone: () => void) {
    this.#handle = handle;
    this.#libc = libc;
    this.#state = b.stream;
    this.#req = new b.stream.WriteWrap();
    this.fd = fd;
    this.remote = remote;
    this.#onGone = onGone;
  }

  /**
   * Adopts the connected socket `fd`, or returns null (the fd untouched) where the runtime cannot. `onGone` runs once
   * when the connection is closed.
   */
  static adopt(libc: Libc, fd: number, remote: string, onGone: () => void): UvSocket | null {
    const b = nativeTcp();
    if (b === null) return null;
    const handle = new b.Tcp(b.socketType);
    if (handle.open(fd) !== 0) return null;
    return new UvSocket(b, handle, libc, fd, remote, onGone);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Since when the peer has taken none of a write that had to wait, or 0. The handle does not say how much of a write
   * it has sent, so progress is the peer's acknowledged byte count moving since the last look (the session's sweep
   * looks a few times per session_send_timeout).
   */
  get writeWaitingSince(): number {
    if (this.#pendingWrites === 0) return 0;
    const acked = this.#libc.bytesAcked(this.fd);
    if (acked !== this.#acked) {
      this.#acked = acked;
      this.#writeStartedAt = Date.now();
    }
    return this.#writeStartedAt;
  }

  get pendingBytes(): number {
    return this.#pending;
  }

  start(events: SocketEvents): void {
    this.#events = events;
    this.#handle.onread = this.#onRead;
    this.#startReading();
  }

  #onRead = (): void => {
    if (this.#closed) return;
    const n = this.#state.streamBaseState[this.#state.kReadBytesOrError];
    if (n > 0) {
      this.lastActive = Date.now();
      const into = this.#into!;
      if (this.#intoSlab) {
        this.#used += n;
        // A read that filled the whole tail means a burst: the next slab is a big one.
        if (n === into.length) this.#bigNext = true;
      }
      if (!this.#ending) this.#events!.onData(into.subarray(0, n));
      if (!this.#closed) this.#nextBuffer();
      return;
    }
    if (n === 0) return; // nothing this time (libuv's EAGAIN)
    this.#stopReading();
    if (n === UV_EOF) {
      this.#eof = true;
      if (!this.#ending) this.#events!.onEnd();
      return;
    }
    this.destroy(); // reset by peer and the like: the connection is gone
  };

  /** Points the handle's next read at a big value's own buffer, or at the slab's free tail. */
  #nextBuffer(): void {
    const target = this.#events!.readTarget?.() ?? null;
    if (target !== null && target.length > 0) {
      this.#into = target;
      this.#intoSlab = false;
    } else {
      let slab = this.#slab;
      if (slab === null || slab.length - this.#used < MIN_TAIL) {
        // A new slab is small unless the last read filled its tail: a big one is given back once a burst is over.
        slab = this.#slab = new Uint8Array(this.#bigNext ? BIG_SLAB : SLAB);
        this.#bigNext = false;
        this.#used = 0;
      }
      this.#into = this.#used === 0 ? slab : slab.subarray(this.#used);
      this.#intoSlab = true;
    }
    this.#handle.useUserBuffer(this.#into);
  }

  #startReading(): void {
    if (this.#reading || this.#paused || this.#eof || this.#closed || this.#events === null) return;
    this.#nextBuffer();
    if (this.#handle.readStart() !== 0) return this.destroy();
    this.#reading = true;
  }

  #stopReading(): void {
    if (!this.#reading) return;
    this.#reading = false;
    this.#handle.readStop();
  }

  pause(): void {
    this.#paused = true;
    this.#stopReading();
  }

  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#startReading();
  }

  write(buf: Uint8Array): void {
    if (this.#closed || this.#ending || buf.length === 0) return;
    if (this.#pendingWrites === 0) {
      // Nothing is queued in the handle: send at once, as FdSocket does; only what the kernel does not take goes to
      // the handle, which sends it when the socket is writable (and keeps the order of what follows).
      const n = this.#libc.send(this.fd, buf);
      if (n === buf.length) {
        this.lastActive = Date.now();
        return;
      }
      if (n < 0 && n !== -EAGAIN && n !== -EINTR) return this.destroy();
      if (n > 0) buf = buf.subarray(n);
    }
    this.#settle(this.#handle.writeBuffer(this.#req, buf), buf.length, buf);
  }

  writeParts(parts: readonly Uint8Array[]): void {
    if (this.#closed || this.#ending) return;
    if (parts.length === 1) return this.write(parts[0]);
    let bytes = 0;
    for (let i = 0; i < parts.length; i++) bytes += parts[i].length;
    if (bytes === 0) return;
    if (this.#pendingWrites > 0) {
      // Held as a copy: the caller may reuse its array (the session's flush does), and with it emptied nothing would
      // keep the parts alive until the handle has written them (measured: misaligned replies after a collection).
      const held = parts.slice();
      return this.#settle(this.#handle.writev(this.#req, held, true), bytes, held);
    }
    if (bytes > MAX_GATHER) {
      for (let i = 0; i < parts.length; i++) this.write(parts[i]);
      return;
    }
    // Gathered into one buffer shared by the thread's direct sockets: free again once send returns, and what the
    // kernel did not take is copied out before it goes to the handle.
    if (gatherBuf.length < bytes) gatherBuf = new Uint8Array(Math.max(bytes, 2 * gatherBuf.length));
    const all = gatherInto(gatherBuf, parts, 0, parts.length);
    const n = this.#libc.send(this.fd, all);
    if (n === all.length) {
      this.lastActive = Date.now();
      return;
    }
    if (n < 0 && n !== -EAGAIN && n !== -EINTR) return this.destroy();
    const rest = (n > 0 ? all.subarray(n) : all).slice();
    this.#settle(this.#handle.writeBuffer(this.#req, rest), rest.length, rest);
  }

  /**
   * After a write was handed over: a failure closes, an asynchronous write is counted until it completes. The handle
   * does not keep its buffers alive: `held` is kept here until the write completes (else the collector may free them
   * under it: measured, a reply stream with holes of zeros).
   */
  #settle(err: number, bytes: number, held: Uint8Array | readonly Uint8Array[]): void {
    if (err !== 0) return this.destroy();
    if (this.#state.streamBaseState[this.#state.kLastWriteWasAsync] === 0) {
      this.lastActive = Date.now();
      return;
    }
    // The kernel did not take it all: the handle keeps the request (and the buffers) until it has.
    const req = this.#req;
    this.#req = new this.#state.WriteWrap();
    if (this.#pendingWrites++ === 0) {
      this.#writeStartedAt = Date.now();
      this.#acked = this.#libc.bytesAcked(this.fd);
    }
    this.#pending += bytes;
    req.held = held;
    req.oncomplete = (status) => {
      req.oncomplete = null;
      req.held = null;
      if (this.#closed) return;
      this.#pending -= bytes;
      this.#pendingWrites--;
      if (status !== 0) return this.destroy();
      this.lastActive = Date.now();
      if (this.#pendingWrites > 0) return;
      if (this.#ending) return this.#finishEnd();
      this.#events?.onDrain?.();
    };
  }

  end(last?: Uint8Array, done?: () => void): void {
    if (this.#closed) return void done?.();
    if (last) this.write(last);
    this.#ending = true;
    this.#ended = done ?? null;
    if (this.#pendingWrites === 0) this.#finishEnd();
  }

  #finishEnd(): void {
    if (this.#closed || this.#endTimer !== undefined) return;
    // Half-close first so the client reads everything before it sees the connection end; the read side goes a
    // moment later (as FdSocket does).
    const req = new this.#state.ShutdownWrap();
    req.oncomplete = () => {};
    this.#handle.shutdown(req);
    this.#endTimer = setTimeout(() => this.destroy(), 50);
  }

  destroy(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#endTimer);
    this.#stopReading();
    this.#handle.onread = null;
    this.#pending = 0;
    this.#pendingWrites = 0;
    this.#handle.close();
    this.#onGone();
    const ended = this.#ended;
    this.#ended = null;
    ended?.();
    this.#events?.onClose();
  }
}
