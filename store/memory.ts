/**
 * In-memory store for unit tests: the real namespace state machine, applied directly (this process is always
 * the "leader", so session expiry runs here). Several clients can share one {@link MemoryStore}.
 * @module
 */
import type { CoordClient } from "./client.ts";
import { NamespaceClient } from "./namespace_client.ts";
import { NamespaceHost } from "./namespace_host.ts";
import { type NamespaceOptions, NamespaceStateMachine } from "./namespace_state.ts";

/** Options of {@link MemoryStore}. */
export interface MemoryStoreOptions extends NamespaceOptions {
  /** Session expiry check period (default 50 ms). */
  reapIntervalMs?: number;
}

/** A shared in-memory namespace. Close it to stop its expiry timer. */
export class MemoryStore {
  readonly sm: NamespaceStateMachine;
  readonly host: NamespaceHost;

  constructor(opts: MemoryStoreOptions = {}) {
    this.sm = new NamespaceStateMachine(opts);
    const sm = this.sm;
    this.host = new NamespaceHost(sm, {
      propose: (cmd) => Promise.resolve(sm.applyCommand(cmd)),
      read: () => Promise.resolve(),
      isLeader: () => true,
    }, { reapIntervalMs: opts.reapIntervalMs ?? 50 });
  }

  /** A new client of this store. */
  client(): CoordClient {
    return new NamespaceClient(this.host, "memory");
  }

  /** Stops the store's timers. */
  close(): void {
    this.host.close();
  }
}
