/**
 * The proxy's own event loop for client connections: one epoll set (edge-triggered) polled from the JavaScript
 * thread, and a listener that accepts through it.
 *
 * Each round, every ready connection gets one read, in the order the kernel reported them; a connection that had more
 * to read than one read took goes to the end of the round, so one busy client does not hold the others (Redis and
 * twemproxy do the same). The set is polled without waiting at the end of every event-loop turn that runs anyway
 * (util/turn_end.ts: backend replies and flushes cause them), and one `epoll_wait` blocks on a runtime thread the rest
 * of the time, so that a client's input wakes the loop when nothing else does. The loop never re-queues itself with
 * `setImmediate`: that keeps the runtime from polling its own sockets (the backends).
 *
 * Reads go into one slab shared by every connection of the loop: each read fills the slab's free tail, so the
 * parser's zero-copy views stay valid, and an idle connection holds no buffer at all. A slab the loop has moved on
 * from comes back to the loop's pool once every request read into it is done with it (`util/buffer_pool.ts`: the
 * session counts and releases them, or pins the slab when something else keeps views of it).
 * @module
 */
import { logger } from "../../util/log.ts";
import { everyTurnEnd } from "../../util/turn_end.ts";
import { BufferPool, type PooledBuffer } from "../../util/buffer_pool.ts";
import { EAGAIN, ECONNABORTED, EINTR, EPOLLET, EPOLLIN, type Ipv4Addr, Libc } from "./libc.ts";

const log = logger("epoll");

/** Something registered in the loop, called with the epoll event mask of its fd. */
export interface FdHandler {
  onEvents(events: number): void;
  /**
   * Rarely ready (a listener): left to the blocking `epoll_wait`. A set that holds only such fds is not polled at
   * turn ends, which would cost a syscall per turn and find nothing.
   */
  readonly quiet?: boolean;
  /** Closes the handler's fd (the loop closes everything still registered when it closes). */
  destroy(): void;
}

/** Events returned by one epoll_wait. */
const MAX_EVENTS = 1024;
/** Shared read slab; a new one is taken when the free tail is below MIN_TAIL. */
const SLAB = 64 * 1024;
const MIN_TAIL = 1024;
/**
 * Free slabs a loop keeps for reuse (1 MiB): enough for the slabs a burst of 16 KB requests from 50 clients has in
 * flight; what is freed beyond it goes to the garbage collector.
 */
const MAX_FREE_SLABS = 16;
/** This thread's read slabs: taken by its loop, and given back once nothing reads views of them. */
const readSlabs = new BufferPool(SLAB, MAX_FREE_SLABS);
/** The most free tail a connection may ask for (see recv). */
export const MAX_WANT = SLAB / 2;
/** Connections accepted per round before the others' reads get their turn. */
const ACCEPT_BATCH = 256;

/** An epoll set and the handlers of its fds. */
export class EpollLoop {
  readonly libc: Libc;
  readonly #epfd: number;
  readonly #wakeFd: number;
  #handlers: (FdHandler | undefined)[] = [];
  #count = 0;
  /** Registered fds that are not {@link FdHandler.quiet}: while there are none, turn ends do not poll. */
  #busy = 0;
  /** Handlers that may have more to read: served after the next poll's events. */
  #again: FdHandler[] = [];
  #spare: FdHandler[] = [];
  readonly #evSync: Uint8Array;
  readonly #evSyncView: DataView;
  readonly #evBlock: Uint8Array;
  readonly #evBlockView: DataView;
  #blocking: Promise<void> | null = null;
  #closed = false;
  #unhook: () => void;
  #current: PooledBuffer = readSlabs.take();
  #slab: Uint8Array = this.#current.bytes;
  #used = 0;
  /** The bytes of the last successful {@link recv}. */
  chunk: Uint8Array = this.#slab.subarray(0, 0);
  /** How many bytes the last {@link recv} asked for: a read that got them all may have left more behind. */
  asked = 0;

  private constructor(libc: Libc) {
    this.libc = libc;
    this.#epfd = libc.epollCreate();
    this.#wakeFd = libc.eventfd();
    libc.epollAdd(this.#epfd, this.#wakeFd, EPOLLIN | EPOLLET);
    const size = MAX_EVENTS * libc.eventSize;
    this.#evSync = new Uint8Array(size);
    this.#evSyncView = new DataView(this.#evSync.buffer);
    this.#evBlock = new Uint8Array(size);
    this.#evBlockView = new DataView(this.#evBlock.buffer);
    this.#unhook = everyTurnEnd(this.#poll);
    this.#arm();
  }

  /** A new loop, or why there cannot be one here (see {@link Libc.open}). */
  static create(): EpollLoop | string {
    const libc = Libc.open();
    if (typeof libc === "string") return libc;
    try {
      return new EpollLoop(libc);
    } catch (e) {
      libc.close();
      return (e as Error).message;
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Registered fds (listeners and connections). */
  get size(): number {
    return this.#count;
  }

  /** Registers `fd` (edge-triggered `events`); an fd that is ready already reports so at once. */
  add(fd: number, handler: FdHandler, events: number): void {
    const old = this.#handlers[fd];
    if (old === undefined) this.#count++;
    else if (!old.quiet) this.#busy--;
    if (!handler.quiet) this.#busy++;
    this.#handlers[fd] = handler;
    this.libc.epollAdd(this.#epfd, fd, events | EPOLLET);
  }

  /** Forgets `fd`; its owner closes it, which takes it out of the epoll set. */
  remove(fd: number, handler: FdHandler): void {
    if (this.#handlers[fd] !== handler) return;
    this.#handlers[fd] = undefined;
    this.#count--;
    if (!handler.quiet) this.#busy--;
  }

  /** Serves `h` again after the next poll: it may have more input than its last read took. */
  again(h: FdHandler): void {
    if (this.#closed) return;
    this.#again.push(h);
    // No edge will report input that is already there: a poll must come. (atTurnEnd would not do from inside the
    // poll, which runs as a turn-end hook: what is queued there runs in the same pass.) This re-queues only while
    // some connection has input waiting, so it never spins idle.
    if (!this.#kickQueued) {
      this.#kickQueued = true;
      setImmediate(this.#kick);
    }
  }

  #kickQueued = false;
  #kick = (): void => {
    this.#kickQueued = false;
    this.#poll();
  };

  /**
   * Receives from `fd` into the shared slab: returns the byte count (0: EOF) with the bytes in {@link chunk}, or
   * -errno. A new slab is taken when the free tail is below `want` (a connection whose requests are big asks for
   * room for one, so that a request stays in one read and is parsed in place).
   */
  recv(fd: number, want = MIN_TAIL): number {
    let slab = this.#slab;
    let used = this.#used;
    if (slab.length - used < want) {
      this.#current.retire();
      const next = this.#current = readSlabs.take();
      slab = this.#slab = next.bytes;
      used = 0;
    }
    this.asked = slab.length - used;
    const n = this.libc.recv(fd, used === 0 ? slab : slab.subarray(used));
    if (n > 0) {
      this.chunk = slab.subarray(used, used + n);
      this.#used = used + n;
    }
    return n;
  }

  /** The slab `view` was read into, when it is the one being filled; null otherwise. */
  slabOf(view: Uint8Array): PooledBuffer | null {
    return view.buffer === this.#slab.buffer ? this.#current : null;
  }

  /** One round, at a turn end: the events ready now, then the handlers left with more to read. */
  #poll = (): void => {
    if (this.#closed || (this.#busy === 0 && this.#again.length === 0)) return;
    const n = this.libc.fn.epoll_wait(this.#epfd, this.#evSync, MAX_EVENTS, 0);
    const again = this.#again;
    this.#again = this.#spare;
    if (n > 0) this.#dispatch(n, this.#evSyncView);
    for (let i = 0; i < again.length; i++) again[i].onEvents(EPOLLIN);
    again.length = 0;
    this.#spare = again;
    this.#arm();
  };

  /** Keeps one epoll_wait blocked on a runtime thread: it returns (and dispatches) when a client sends. */
  #arm(): void {
    if (this.#blocking !== null || this.#closed) return;
    this.#blocking = this.libc.fn.epoll_wait_blocking(this.#epfd, this.#evBlock, MAX_EVENTS, -1).then((n) => {
      this.#blocking = null;
      if (this.#closed) return;
      if (n > 0) this.#dispatch(n, this.#evBlockView);
      this.#arm();
    });
  }

  #dispatch(n: number, view: DataView): void {
    const size = this.libc.eventSize;
    const dataAt = size === 12 ? 4 : 8;
    const handlers = this.#handlers;
    for (let i = 0; i < n; i++) {
      const off = i * size;
      const h = handlers[view.getUint32(off + dataAt, true)];
      if (h === undefined) continue; // the wake-up eventfd, or an fd closed earlier in this batch
      try {
        h.onEvents(view.getUint32(off, true));
      } catch (e) {
        // A bug in one connection's handling must not stop the others'.
        log.error(`client connection event handler failed: ${(e as Error)?.stack ?? e}`);
        h.destroy();
      }
    }
  }

  /** Closes every fd still registered, stops polling, and releases libc once no epoll_wait is running. */
  async close(): Promise<void> {
    if (this.#closed) return;
    for (const h of this.#handlers) h?.destroy();
    this.#closed = true;
    this.#unhook();
    this.#handlers = [];
    this.#count = 0;
    this.#busy = 0;
    this.#again = [];
    this.libc.signal(this.#wakeFd);
    if (this.#blocking !== null) await this.#blocking;
    this.libc.fn.close(this.#epfd);
    this.libc.fn.close(this.#wakeFd);
    this.libc.close();
  }
}

/** Options of an {@link FdListener}. */
export interface FdListenerOptions {
  backlog: number;
  /** SO_REUSEPORT, for worker threads sharing the address. */
  reusePort: boolean;
  /** SO_KEEPALIVE on accepted connections. */
  keepAlive: boolean;
}

/** A TCP (IPv4) listener in an {@link EpollLoop}: accepts in batches and hands each connection's fd over. */
export class FdListener implements FdHandler {
  readonly port: number;
  readonly quiet = true;
  readonly #loop: EpollLoop;
  readonly #fd: number;
  readonly #keepAlive: boolean;
  readonly #onConnection: (fd: number, remote: string) => void;
  #closed = false;
  #retry: ReturnType<typeof setTimeout> | undefined;

  constructor(
    loop: EpollLoop,
    addr: Ipv4Addr,
    opts: FdListenerOptions,
    onConnection: (fd: number, remote: string) => void,
  ) {
    this.#loop = loop;
    const { fd, port } = loop.libc.listen(addr, opts.backlog, opts.reusePort);
    this.#fd = fd;
    this.port = port;
    this.#keepAlive = opts.keepAlive;
    this.#onConnection = onConnection;
    loop.add(fd, this, EPOLLIN);
  }

  onEvents(): void {
    if (this.#closed) return;
    const libc = this.#loop.libc;
    for (let i = 0; i < ACCEPT_BATCH; i++) {
      const r = libc.accept(this.#fd, this.#keepAlive);
      if (typeof r !== "number") {
        this.#onConnection(r.fd, r.remote);
        continue;
      }
      if (r === -EAGAIN) return;
      if (r === -EINTR || r === -ECONNABORTED) continue;
      // Out of file descriptors and the like: the connections stay queued; try again shortly rather than spin.
      log.warn(`accept failed: errno ${-r}`);
      this.#retry ??= setTimeout(() => {
        this.#retry = undefined;
        this.onEvents();
      }, 50);
      return;
    }
    // More may be waiting: accept them after this round's reads.
    this.#loop.again(this);
  }

  destroy(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#retry);
    this.#loop.remove(this.#fd, this);
    this.#loop.libc.fn.close(this.#fd);
  }
}
