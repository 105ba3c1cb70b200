/**
 * A client connection on a file descriptor of an {@link EpollLoop}: reads when the loop says it is readable, one read
 * per round; writes at once with `send()` and queues only what the kernel did not take.
 * @module
 */
import type { ClientSocket, SocketEvents } from "./client_socket.ts";
import { EAGAIN, EINTR, EPOLLERR, EPOLLHUP, EPOLLIN, EPOLLOUT, EPOLLRDHUP } from "./libc.ts";
import { type EpollLoop, type FdHandler, MAX_WANT } from "./epoll_loop.ts";
import { BIG_PART, gatherInto } from "../../util/gather.ts";
import type { PooledBuffer } from "../../util/buffer_pool.ts";

const READABLE = EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR;
const WRITABLE = EPOLLOUT | EPOLLHUP | EPOLLERR;
const SENT = new Uint8Array(0);
const MIN_WANT = 1024;
/**
 * Small replies of one flush are gathered here and sent at once: one buffer shared by every connection of the thread
 * (a send is synchronous, so it is free again when the send returns; what the kernel did not take is copied out).
 */
let gatherBuf = new Uint8Array(64 * 1024);
const MAX_GATHER = 256 * 1024;

/** A TCP connection owned by an epoll loop. */
export class FdSocket implements ClientSocket, FdHandler {
  readonly remote: string;
  lastActive = Date.now();
  readonly #loop: EpollLoop;
  readonly #fd: number;
  #events: SocketEvents | null = null;
  #closed = false;
  #paused = false;
  /** The kernel may hold unread input: set by a readable event, cleared by a short read or EAGAIN. */
  #readable = false;
  #eof = false;
  /** The peer half-closed (RDHUP) or the connection failed: read on until recv says so, whatever a read's length. */
  #hangup = false;
  /** Free slab asked for by the next read: the size of the last one, within bounds. */
  #want = MIN_WANT;
  /** Bytes the kernel did not take yet, oldest first; null while everything was sent. */
  #queue: Uint8Array[] | null = null;
  #queueHead = 0;
  #queued = 0;
  #writeStartedAt = 0;
  #ending = false;
  #ended: (() => void) | null = null;
  #endTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(loop: EpollLoop, fd: number, remote: string) {
    this.#loop = loop;
    this.#fd = fd;
    this.remote = remote;
    loop.add(fd, this, EPOLLIN | EPOLLOUT | EPOLLRDHUP);
  }

  /** The connection's file descriptor (CLIENT LIST's fd). */
  get fd(): number {
    return this.#fd;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get writeWaitingSince(): number {
    return this.#queue !== null ? this.#writeStartedAt : 0;
  }

  get pendingBytes(): number {
    return this.#queued;
  }

  start(events: SocketEvents): void {
    this.#events = events;
    if (this.#readable) this.#loop.again(this);
  }

  onEvents(events: number): void {
    if (this.#closed) return;
    if ((events & WRITABLE) !== 0 && this.#queue !== null) this.#sendQueued();
    if ((events & READABLE) !== 0 && !this.#closed) {
      this.#readable = true;
      if ((events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) !== 0) this.#hangup = true;
      this.#read();
    }
  }

  /** One read: the loop calls again for the rest, after the other ready connections had theirs. */
  #read(): void {
    if (this.#paused || this.#eof || this.#events === null) return;
    const loop = this.#loop;
    // A big value being received is read straight into its own buffer rather than into the shared slab.
    const target = this.#events.readTarget?.() ?? null;
    const n = target === null ? loop.recv(this.#fd, this.#want) : loop.libc.recv(this.#fd, target);
    if (n > 0) {
      // The next read asks for as much free slab as this one took (up to half a slab): big requests stay whole.
      this.#want = n < MIN_WANT ? MIN_WANT : n > MAX_WANT ? MAX_WANT : n;
      // A read that filled what it asked for may have left more in the kernel, and after a hangup the end itself is
      // still to be read: no further edge will say so.
      if (n < (target === null ? loop.asked : target.length) && !this.#hangup) this.#readable = false;
      else loop.again(this);
      this.lastActive = Date.now();
      if (!this.#ending) this.#events.onData(target === null ? loop.chunk : target.subarray(0, n));
      return;
    }
    this.#readable = false;
    if (n === 0) {
      this.#eof = true;
      if (!this.#ending) this.#events.onEnd();
      return;
    }
    if (n === -EAGAIN) return;
    if (n === -EINTR) {
      this.#readable = true;
      loop.again(this);
      return;
    }
    this.destroy(); // reset by peer and the like: the connection is gone
  }

  slabOf(view: Uint8Array): PooledBuffer | null {
    return this.#loop.slabOf(view);
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    if (this.#readable && !this.#closed) this.#loop.again(this);
  }

  write(buf: Uint8Array): void {
    if (this.#closed || this.#ending || buf.length === 0) return;
    if (this.#queue !== null) {
      this.#queue.push(buf);
      this.#queued += buf.length;
      return;
    }
    const n = this.#loop.libc.send(this.#fd, buf);
    if (n === buf.length) {
      this.lastActive = Date.now();
      return;
    }
    if (n < 0 && n !== -EAGAIN && n !== -EINTR) return this.destroy();
    // The kernel's buffer is full: keep the rest until the loop reports the socket writable.
    this.#startQueue(n > 0 ? buf.subarray(n) : buf);
  }

  writeParts(parts: readonly Uint8Array[]): void {
    if (this.#closed || this.#ending) return;
    let i = 0;
    while (i < parts.length && this.#queue === null) {
      // A run of small parts (up to MAX_GATHER bytes) is gathered into the shared buffer; a big part goes as it is.
      let j = i;
      let bytes = 0;
      while (j < parts.length && parts[j].length < BIG_PART && bytes + parts[j].length <= MAX_GATHER) {
        bytes += parts[j++].length;
      }
      if (j - i <= 1) {
        this.write(parts[i++]);
        continue;
      }
      if (gatherBuf.length < bytes) gatherBuf = new Uint8Array(Math.max(bytes, 2 * gatherBuf.length));
      const buf = gatherInto(gatherBuf, parts, i, j);
      i = j;
      const n = this.#loop.libc.send(this.#fd, buf);
      if (n === buf.length) {
        this.lastActive = Date.now();
        continue;
      }
      if (n < 0 && n !== -EAGAIN && n !== -EINTR) return this.destroy();
      // The kernel's buffer is full: keep a copy of the rest (the gather buffer is shared) until the socket is writable.
      this.#startQueue((n > 0 ? buf.subarray(n) : buf).slice());
    }
    for (; i < parts.length; i++) this.write(parts[i]);
  }

  #startQueue(rest: Uint8Array): void {
    this.#queue = [rest];
    this.#queueHead = 0;
    this.#queued = rest.length;
    this.#writeStartedAt = Date.now();
  }

  #sendQueued(): void {
    const q = this.#queue!;
    const libc = this.#loop.libc;
    while (this.#queueHead < q.length) {
      const b = q[this.#queueHead];
      const n = libc.send(this.#fd, b);
      if (n === b.length) {
        q[this.#queueHead++] = SENT;
        this.#queued -= n;
        continue;
      }
      if (n < 0 && n !== -EAGAIN && n !== -EINTR) return this.destroy();
      if (n > 0) {
        q[this.#queueHead] = b.subarray(n);
        this.#queued -= n;
        this.#writeStartedAt = Date.now();
      }
      return;
    }
    this.#queue = null;
    this.#queued = 0;
    this.lastActive = Date.now();
    if (this.#ending) return this.#finishEnd();
    this.#events?.onDrain?.();
  }

  end(last?: Uint8Array, done?: () => void): void {
    if (this.#closed) return void done?.();
    if (last) this.write(last);
    this.#ending = true;
    this.#ended = done ?? null;
    if (this.#queue === null) this.#finishEnd();
  }

  #finishEnd(): void {
    if (this.#closed || this.#endTimer !== undefined) return;
    // Half-close first so the client reads everything before it sees the connection end; the read side goes a
    // moment later.
    this.#loop.libc.shutdownWrite(this.#fd);
    this.#endTimer = setTimeout(() => this.destroy(), 50);
  }

  destroy(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#endTimer);
    this.#queue = null;
    this.#queued = 0;
    this.#loop.remove(this.#fd, this);
    this.#loop.libc.fn.close(this.#fd);
    const ended = this.#ended;
    this.#ended = null;
    ended?.();
    this.#events?.onClose();
  }
}
