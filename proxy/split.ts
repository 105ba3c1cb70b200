/**
 * Multi-key commands that are split across slots (MGET, MSET, DEL, UNLINK, EXISTS, TOUCH): one sub-command per slot,
 * sent in parallel, and one coalesced reply in the client's key order. Not atomic across slots, as in Codis and
 * Redis Cluster proxies.
 * @module
 */
import type { PendingReply } from "./backend/conn.ts";
import { arrayElements, integerOf, isErrorReply } from "./resp/decode.ts";
import { concat, encodeCommand, integerReply, OK } from "./resp/encode.ts";
import type { Request } from "./request.ts";
import type { KeyRef } from "./slot_forward.ts";

const encoder = new TextEncoder();

/** How a split command's sub-replies combine. */
export type SplitKind = "mget" | "mset" | "sum";

/** Sends one sub-command to the slot's backend (or fails it). */
export type SlotSender = (slot: number, raw: Uint8Array, reply: PendingReply, keys: KeyRef) => void;

/**
 * Splits `argv` by the slots of its keys. `slots[i]` is the slot of key i (for MSET, of pair i).
 * `step` is 1 for key lists and 2 for key/value pairs.
 */
export function splitBySlot(
  kind: SplitKind,
  name: Uint8Array,
  argv: Uint8Array[],
  slots: Int32Array,
  nkeys: number,
  step: number,
  req: Request,
  send: SlotSender,
): void {
  const groups = new Map<number, number[]>();
  for (let i = 0; i < nkeys; i++) {
    const s = slots[i];
    let g = groups.get(s);
    if (!g) groups.set(s, g = []);
    g.push(i);
  }
  const join = new SplitJoin(kind, nkeys, groups.size, req);
  for (const [slot, idx] of groups) {
    const args: Uint8Array[] = [name];
    const pos = new Int32Array(idx.length);
    for (let j = 0; j < idx.length; j++) {
      const a = 1 + idx[j] * step;
      pos[j] = args.length;
      for (let k = 0; k < step; k++) args.push(argv[a + k]);
    }
    send(slot, encodeCommand(args), new SplitPart(join, idx), { argv: args, pos, n: idx.length });
  }
}

class SplitJoin {
  readonly elements: Uint8Array[];
  sum = 0;
  waiting: number;
  error: Uint8Array | null = null;

  constructor(readonly kind: SplitKind, nkeys: number, parts: number, readonly req: Request) {
    this.elements = kind === "mget" ? new Array(nkeys) : [];
    this.waiting = parts;
  }

  partDone(): void {
    if (--this.waiting > 0) return;
    if (this.error) {
      this.req.onReply(this.error);
    } else if (this.kind === "mget") {
      this.req.onReply(concat([encoder.encode(`*${this.elements.length}\r\n`), ...this.elements]));
    } else if (this.kind === "mset") {
      this.req.onReply(OK);
    } else {
      this.req.onReply(integerReply(this.sum));
    }
  }
}

class SplitPart implements PendingReply {
  constructor(private readonly join: SplitJoin, private readonly idx: number[]) {}

  onReply(raw: Uint8Array): void {
    const j = this.join;
    if (isErrorReply(raw)) {
      j.error ??= raw;
    } else if (j.kind === "mget") {
      const els = arrayElements(raw);
      if (els === null || els.length !== this.idx.length) {
        j.error ??= encoder.encode("-ERR unexpected reply to a split MGET\r\n");
      } else {
        for (let k = 0; k < els.length; k++) j.elements[this.idx[k]] = els[k];
      }
    } else if (j.kind === "sum") {
      const n = integerOf(raw);
      if (Number.isNaN(n)) j.error ??= encoder.encode("-ERR unexpected reply to a split command\r\n");
      else j.sum += n;
    }
    j.partDone();
  }

  onError(msg: string): void {
    this.join.error ??= encoder.encode(`-${msg}\r\n`);
    this.join.partDone();
  }
}
