/**
 * etcd sessions: one lease per session, renewed with single keepalives on a timer (so `stopRenewing()` really
 * lets it lapse), ephemeral nodes attached to the lease, in-order names from a per-parent counter key.
 * @module
 */
import { Buffer } from "node:buffer";
import { EtcdLeaseInvalidError, type Lease } from "etcd3";
import { checkPath, parentOf, sequenceSuffix, type WriteOptions } from "./client.ts";
import { NoQuorumError, SessionExpiredError } from "./errors.ts";
import { RenewedSession } from "./session_base.ts";
import { type EtcdClient, key, mapError } from "./etcd.ts";

/** A session backed by an etcd lease. */
export class EtcdSession extends RenewedSession {
  /** When etcd last confirmed the lease (the grant, then each keepalive answer). */
  private confirmedAt = performance.now();

  constructor(
    private readonly c: EtcdClient,
    private readonly lease: Lease,
    readonly id: string,
    readonly ttlMs: number,
    autoRenew: boolean,
  ) {
    super();
    if (autoRenew) this.renewEvery(Math.max(100, ttlMs / 3));
  }

  async createEphemeral(path: string, data: Uint8Array, opts?: WriteOptions): Promise<number> {
    this.check();
    return await this.c.create(path, data, opts, this.id);
  }

  async createEphemeralInOrder(prefix: string, data: Uint8Array, opts?: WriteOptions): Promise<string> {
    this.check();
    checkPath(prefix + "0");
    const ctr = key(`\0seq${parentOf(prefix + "0")}`);
    for (let attempt = 0; attempt < 50; attempt++) {
      const cur = (await this.c.etcd.kv.range({ key: ctr })).kvs[0];
      const n = cur ? Number(cur.value.toString()) : 0;
      const path = prefix + sequenceSuffix(n);
      const r = await this.c.txn(
        [
          { key: ctr, target: "Mod", result: "Equal", mod_revision: cur ? Number(cur.mod_revision) : 0 },
          { key: key(path), target: "Create", result: "Equal", create_revision: 0 },
        ],
        [
          { request_put: { key: ctr, value: Buffer.from(String(n + 1)) } },
          { request_put: { key: key(path), value: Buffer.from(data), lease: this.id } },
        ],
        [],
        opts?.requestId,
        path,
      );
      if (r.ok) return path;
      if (r.replay) return r.replay.value.toString();
      // Lost a race on the counter (or the name was taken): bump past it and retry.
      if (!cur || (await this.c.read(path)) !== undefined) {
        await this.c.etcd.kv.txn({
          compare: [{ key: ctr, target: "Mod", result: "Equal", mod_revision: cur ? Number(cur.mod_revision) : 0 }],
          success: [{ request_put: { key: ctr, value: Buffer.from(String(n + 1)) } }],
        });
      }
    }
    throw new NoQuorumError(`etcd: could not allocate an in-order name under ${prefix}`);
  }

  async renew(): Promise<void> {
    this.check();
    if (performance.now() - this.confirmedAt > this.ttlMs) {
      // Cut off from etcd for a whole TTL, counted from when the last confirmed keepalive was sent (etcd counts
      // from when it received it, a little later): etcd drops the lease now, and a standby may then take the lock.
      // Give the session up first rather than waiting for the partition to heal to hear it.
      this.finish();
      throw new SessionExpiredError(this.id);
    }
    const sentAt = performance.now();
    const res = await this.lease.keepaliveOnce().catch((e) => {
      // npm:etcd3 answers a keepalive of a lease the server already dropped with EtcdLeaseInvalidError rather
      // than TTL 0: that is the expiry, and `lost` must resolve so that owners step down and register again.
      if (e instanceof EtcdLeaseInvalidError) return { TTL: "0" };
      return Promise.reject(mapError(e));
    });
    if (Number(res.TTL) <= 0) {
      this.finish();
      throw new SessionExpiredError(this.id);
    }
    this.confirmedAt = Math.max(this.confirmedAt, sentAt);
  }

  protected stillAlive(): Promise<boolean> {
    return this.c.leaseAlive(this.id);
  }

  protected expiryPollMs(): number {
    return 250;
  }

  protected async revoke(): Promise<void> {
    await this.lease.revoke();
  }

  protected release(): void {
    this.lease.release();
  }
}
