/**
 * Pub/Sub for one client session.
 *
 * Routing (the same on every proxy, so PUBLISH through any proxy reaches subscribers on any proxy):
 * - a channel belongs to the slot `crc32(channel) % 1024` (with Codis's hash-tag rule, like a key), and lives on the
 *   master serving that slot: SUBSCRIBE subscribes there, PUBLISH publishes there. SSUBSCRIBE / SPUBLISH route the
 *   same way, in Redis's separate shard-channel namespace.
 * - a pattern may match channels of every slot, so PSUBSCRIBE subscribes on every master. A message is published on
 *   exactly one master, so each pattern subscriber receives it once: no duplicates to remove.
 * - each session opens one subscriber connection per master it needs, closed when its last subscription ends or
 *   the session closes.
 * - while subscribed, the session checks every 200 ms that each subscription lives where the routing says: when a
 *   slot moves to another group (or a group is added or removed, for patterns), or a subscriber connection is lost,
 *   it subscribes on the new master first and then unsubscribes from the old one. Messages published to the new
 *   master before that subscription is made are missed, as with any reconnecting Redis subscriber.
 * @module
 */
import type { ProxyCore } from "../core/core.ts";
import { slotOf } from "../../models/hash.ts";
import { concat, encodeValue, errorReply, type ReplyValue } from "../../redis/encode.ts";
import { SubConn } from "../../redis/subscriber.ts";

const latin1 = new TextDecoder("latin1");
/** How often a subscribed session checks that its subscriptions live where the routing says. */
const REROUTE_MS = 200;

/** What the session gives its pub/sub state. */
export interface PubSubHost {
  readonly core: ProxyCore;
  /** Writes a message to the client, after the replies already queued. */
  push(raw: Uint8Array): void;
  /** Called when the subscribed state may have changed. */
  modeChanged(): void;
  /** True for a RESP3 session: confirmations are pushes. */
  resp3(): boolean;
}

type Kind = "channel" | "pattern" | "shard";

interface Sub {
  name: Uint8Array;
  conns: SubConn[];
}

const SUB_CMD: Record<Kind, [string, string]> = {
  channel: ["SUBSCRIBE", "UNSUBSCRIBE"],
  pattern: ["PSUBSCRIBE", "PUNSUBSCRIBE"],
  shard: ["SSUBSCRIBE", "SUNSUBSCRIBE"],
};
const REPLY_KIND: Record<Kind, [string, string]> = {
  channel: ["subscribe", "unsubscribe"],
  pattern: ["psubscribe", "punsubscribe"],
  shard: ["ssubscribe", "sunsubscribe"],
};

/** One session's subscriptions. */
export class PubSub {
  #host: PubSubHost;
  #subs: Record<Kind, Map<string, Sub>> = { channel: new Map(), pattern: new Map(), shard: new Map() };
  #conns = new Map<string, SubConn>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #rerouting = false;

  constructor(host: PubSubHost) {
    this.#host = host;
  }

  /** Starts or stops the routing check with the subscribed state. */
  #watchRoutes(): void {
    const on = this.active;
    if (on && this.#timer === undefined) this.#timer = setInterval(() => this.#reroute(), REROUTE_MS);
    if (!on && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  /** Moves subscriptions whose master changed (or whose connection was lost) to where the routing says now. */
  #reroute(): void {
    if (this.#rerouting) return;
    const acks: Promise<unknown>[] = [];
    for (const kind of ["channel", "pattern", "shard"] as Kind[]) {
      for (const sub of this.#subs[kind].values()) {
        const want = this.#targets(kind, sub.name);
        const have = new Set(sub.conns.map((c) => c.addr));
        if (want.length === 0 || (want.length === have.size && want.every((a) => have.has(a)))) continue;
        const stale = sub.conns.filter((c) => !want.includes(c.addr));
        const added = want.filter((a) => !have.has(a)).map((a) => this.#conn(a));
        sub.conns = sub.conns.filter((c) => want.includes(c.addr)).concat(added);
        for (const c of added) acks.push(c.command([SUB_CMD[kind][0], sub.name], 1).catch(() => {}));
        for (const c of stale) acks.push(c.command([SUB_CMD[kind][1], sub.name], 1).catch(() => {}));
      }
    }
    if (acks.length === 0) return;
    this.#rerouting = true;
    Promise.all(acks).then(() => {
      this.#rerouting = false;
      this.#closeIdle();
    });
  }

  /** True while the session has any subscription (Redis's subscribed state). */
  get active(): boolean {
    return this.#count() > 0 || this.#subs.shard.size > 0;
  }

  /** Subscriptions of each kind, for CLIENT LIST. */
  counts(): { sub: number; psub: number; ssub: number } {
    return { sub: this.#subs.channel.size, psub: this.#subs.pattern.size, ssub: this.#subs.shard.size };
  }

  #count(): number {
    return this.#subs.channel.size + this.#subs.pattern.size;
  }

  #countFor(kind: Kind): number {
    return kind === "shard" ? this.#subs.shard.size : this.#count();
  }

  #conn(addr: string): SubConn {
    let c = this.#conns.get(addr);
    if (c === undefined) {
      const cfg = this.#host.core.config;
      c = new SubConn(
        addr,
        { auth: cfg.product_auth, connectTimeoutMs: cfg.backend_connect_timeout },
        (raw) => this.#host.push(raw),
        () => this.#dropConn(addr),
      );
      this.#conns.set(addr, c);
    }
    return c;
  }

  /** A lost subscriber connection: its subscriptions stay, and the routing check makes them again. */
  #dropConn(addr: string): void {
    const c = this.#conns.get(addr);
    if (c === undefined) return;
    this.#conns.delete(addr);
    for (const m of Object.values(this.#subs)) for (const s of m.values()) s.conns = s.conns.filter((x) => x !== c);
  }

  /** The masters a subscription lives on. */
  #targets(kind: Kind, name: Uint8Array): string[] {
    const router = this.#host.core.router;
    if (kind === "pattern") return [...new Set(router.slots.filter((r) => r.backend).map((r) => r.backend!.addr))];
    const b = router.slots[slotOf(name)].backend;
    return b ? [b.addr] : [];
  }

  /** SUBSCRIBE / PSUBSCRIBE / SSUBSCRIBE: resolves with the confirmations, once every master confirmed. */
  async subscribe(kind: Kind, names: Uint8Array[]): Promise<Uint8Array> {
    const frames: ReplyValue[] = [];
    const acks: Promise<unknown>[] = [];
    const map = this.#subs[kind];
    for (const name of names) {
      const id = latin1.decode(name);
      if (!map.has(id)) {
        const addrs = this.#targets(kind, name);
        if (addrs.length === 0) return errorReply(`ERR slot ${slotOf(name)} is not ready, may be offline`);
        const conns = addrs.map((a) => this.#conn(a));
        map.set(id, { name: name.slice(), conns });
        for (const c of conns) acks.push(c.command([SUB_CMD[kind][0], name], 1));
      }
      frames.push([REPLY_KIND[kind][0], name, this.#countFor(kind)]);
    }
    this.#host.modeChanged();
    this.#watchRoutes();
    await Promise.all(acks);
    return concat(frames.map((f) => this.#frame(f)));
  }

  /** UNSUBSCRIBE / PUNSUBSCRIBE / SUNSUBSCRIBE; no names: all of that kind. */
  async unsubscribe(kind: Kind, names: Uint8Array[]): Promise<Uint8Array> {
    const map = this.#subs[kind];
    const list = names.length > 0 ? names : [...map.values()].map((s) => s.name);
    const frames: ReplyValue[] = [];
    const acks: Promise<unknown>[] = [];
    for (const name of list) {
      const id = latin1.decode(name);
      const s = map.get(id);
      if (s !== undefined) {
        map.delete(id);
        for (const c of s.conns) acks.push(c.command([SUB_CMD[kind][1], name], 1).catch(() => {}));
      }
      frames.push([REPLY_KIND[kind][1], name, this.#countFor(kind)]);
    }
    if (list.length === 0) frames.push([REPLY_KIND[kind][1], null, this.#countFor(kind)]);
    await Promise.all(acks);
    this.#closeIdle();
    this.#host.modeChanged();
    this.#watchRoutes();
    return concat(frames.map((f) => this.#frame(f)));
  }

  /** A confirmation frame: an array in RESP2, a push in RESP3. */
  #frame(v: ReplyValue): Uint8Array {
    const b = encodeValue(v);
    if (this.#host.resp3()) b[0] = 62;
    return b;
  }

  /** Closes subscriber connections no subscription uses any more. */
  #closeIdle(): void {
    const used = new Set<SubConn>();
    for (const m of Object.values(this.#subs)) for (const s of m.values()) for (const c of s.conns) used.add(c);
    for (const [addr, c] of this.#conns) {
      if (!used.has(c)) {
        this.#conns.delete(addr);
        c.close();
      }
    }
  }

  /** Drops every subscription at once (RESET, or the session closing). */
  close(): void {
    for (const m of Object.values(this.#subs)) m.clear();
    this.#watchRoutes();
    for (const c of this.#conns.values()) c.close();
    this.#conns.clear();
  }
}
