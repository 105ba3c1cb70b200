/**
 * What the stores' {@link Session} implementations share. {@link RenewedSession} is the lifecycle of a session that
 * the client keeps alive by renewing it (etcd leases, namespace sessions): the `lost` promise, the renewal timer,
 * the expiry poll once `stopRenewing()` is called, and a one-time end. {@link OpenSessions} is a client's set of
 * sessions still open, closed together when the client closes.
 * @module
 */
import type { Session, WriteOptions } from "./client.ts";
import { SessionExpiredError } from "./errors.ts";

/** A session renewed by the client on a timer; subclasses say how to renew, probe, revoke and release. */
export abstract class RenewedSession implements Session {
  abstract readonly id: string;
  abstract readonly ttlMs: number;
  readonly lost: Promise<void>;
  private markLost!: () => void;
  private timer: ReturnType<typeof setInterval> | undefined;
  private gone = false;

  constructor() {
    this.lost = new Promise((r) => this.markLost = r);
  }

  abstract createEphemeral(path: string, data: Uint8Array, opts?: WriteOptions): Promise<number>;
  abstract createEphemeralInOrder(prefix: string, data: Uint8Array, opts?: WriteOptions): Promise<string>;
  abstract renew(): Promise<void>;
  /** Whether the server still holds the session; polled once nobody renews it. */
  protected abstract stillAlive(): Promise<boolean>;
  /** How often {@link stillAlive} is polled after `stopRenewing()`. */
  protected abstract expiryPollMs(): number;
  /** Ends the session on the server (its ephemeral nodes go with it). */
  protected abstract revoke(): Promise<void>;
  /** Frees what the subclass holds locally; called once, when the session is over. */
  protected abstract release(): void;

  /** Starts renewing every `periodMs` in the background (errors are left to the next round and to `lost`). */
  protected renewEvery(periodMs: number): void {
    this.timer = setInterval(() => this.renew().catch(() => {}), periodMs);
  }

  stopRenewing(): void {
    this.clearTimer();
    // Nobody renews now: watch for the server's expiry decision so that `lost` still resolves.
    if (!this.gone) {
      this.timer = setInterval(() => {
        this.stillAlive().then((alive) => alive || this.finish(), () => {});
      }, this.expiryPollMs());
    }
  }

  async close(): Promise<void> {
    if (this.gone) return;
    this.clearTimer();
    try {
      await this.revoke();
    } finally {
      this.finish();
    }
  }

  /** Throws SessionExpiredError once the session is over. */
  protected check(): void {
    if (this.gone) throw new SessionExpiredError(this.id);
  }

  /** Marks the session over (once): stops the timer, releases, resolves `lost`. */
  protected finish(): void {
    if (this.gone) return;
    this.gone = true;
    this.clearTimer();
    this.release();
    this.markLost();
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}

/** A client's open sessions: each leaves the set when it is lost; {@link closeAll} closes those left. */
export class OpenSessions {
  private readonly open = new Set<Session>();

  /** Tracks `s` until its `lost` resolves; returns it. */
  add<S extends Session>(s: S): S {
    this.open.add(s);
    s.lost.then(() => this.open.delete(s));
    return s;
  }

  /** Closes every open session; failures are ignored (the server expires what it could not revoke). */
  async closeAll(): Promise<void> {
    await Promise.allSettled([...this.open].map((s) => s.close()));
  }
}
