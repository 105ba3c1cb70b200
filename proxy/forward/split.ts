/**
 * Multi-key commands that are split across slots (MGET, MSET, DEL, UNLINK, EXISTS, TOUCH): one sub-command per slot,
 * sent in parallel, and one coalesced reply in the client's key order. Not atomic across slots, as in Codis and
 * Redis Cluster proxies.
 * @module
 */
import type { PendingReply } from "../../redis/conn.ts";
import { arrayElements, integerOf, isErrorReply } from "../../redis/decode.ts";
import { bulkSize, concat, digits, integerReply, OK, writeArrayHeader, writeBulk } from "../../redis/encode.ts";
import {
  adoptReply,
  endLend,
  lendReply,
  releaseReply,
  type ReplyBuffer,
  retireReplyBuffer,
  takeReplyBuffer,
} from "../../redis/reply_buffers.ts";
import type { Request } from "./request.ts";
import type { KeyRef } from "./forward.ts";

const encoder = new TextEncoder();
/** A joined MGET reply at least this long is made in a pooled buffer (`../../redis/reply_buffers.ts`). */
const POOLED_JOIN = 4096;

/** How a split command's sub-replies combine. */
export type SplitKind = "mget" | "mset" | "sum";

/** The commands that are split across slots, by command-table name. */
export const SPLIT_KIND: Readonly<Record<string, SplitKind>> = {
  mget: "mget",
  mset: "mset",
  del: "sum",
  unlink: "sum",
  exists: "sum",
  touch: "sum",
};

/** Sends one sub-command to the slot's backend (or fails it). */
export type SlotSender = (slot: number, raw: Uint8Array, reply: PendingReply, keys: KeyRef) => void;

/** Above this many keys, keys are grouped by slot with a Map; below, a scan per group is cheaper than the Map. */
const SCAN_GROUPING_MAX = 32;

/** Reused by every split: the positions of one part's keys in `argv` (the send path copies what it keeps). */
let scratchPos = new Int32Array(64);
const scratchRef: KeyRef = { argv: [], pos: scratchPos, n: 0 };

/**
 * Splits `argv` by the slots of its keys. `slots[i]` is the slot of key i (for MSET, of pair i).
 * `step` is 1 for key lists and 2 for key/value pairs. Each part is encoded straight from the client's argument
 * views, with no intermediate argument list.
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
  if (scratchPos.length < nkeys) scratchRef.pos = scratchPos = new Int32Array(nkeys * 2);
  scratchRef.argv = argv;
  if (nkeys > SCAN_GROUPING_MAX) {
    const groups = groupBySlot(slots, nkeys);
    const join = new SplitJoin(kind, nkeys, groups.size, req);
    for (const [slot, idx] of groups) {
      for (let j = 0; j < idx.length; j++) scratchPos[j] = 1 + idx[j] * step;
      sendPart(join, name, argv, step, idx.length, slot, send);
    }
    return;
  }
  // Few keys: a key whose slot did not occur before it starts a group; the group is every later key of that slot.
  let parts = 0;
  for (let i = 0; i < nkeys; i++) if (!slotSeenBefore(slots, i)) parts++;
  const join = new SplitJoin(kind, nkeys, parts, req);
  for (let i = 0; i < nkeys; i++) {
    if (slotSeenBefore(slots, i)) continue;
    const slot = slots[i];
    let n = 0;
    for (let j = i; j < nkeys; j++) if (slots[j] === slot) scratchPos[n++] = 1 + j * step;
    sendPart(join, name, argv, step, n, slot, send);
  }
}

function slotSeenBefore(slots: Int32Array, i: number): boolean {
  const slot = slots[i];
  for (let j = 0; j < i; j++) if (slots[j] === slot) return true;
  return false;
}

/** The indexes of the keys of each slot, slots in order of first occurrence (many keys: a Map beats scanning). */
function groupBySlot(slots: Int32Array, nkeys: number): Map<number, number[]> {
  const groups = new Map<number, number[]>();
  for (let i = 0; i < nkeys; i++) {
    const s = slots[i];
    let g = groups.get(s);
    if (!g) groups.set(s, g = []);
    g.push(i);
  }
  return groups;
}

/** Encodes and sends the part made of the `n` keys at `scratchPos` (each with `step - 1` values after it). */
function sendPart(
  join: SplitJoin,
  name: Uint8Array,
  argv: Uint8Array[],
  step: number,
  n: number,
  slot: number,
  send: SlotSender,
): void {
  const raw = encodeParts(name, argv, scratchPos, n, step);
  // MGET places each element at its key's index; the other kinds only count.
  let idx: number[] | null = null;
  if (join.kind === "mget") {
    idx = new Array(n);
    for (let k = 0; k < n; k++) idx[k] = (scratchPos[k] - 1) / step;
  }
  scratchRef.n = n;
  send(slot, raw, new SplitPart(join, idx, n), scratchRef);
}

/** `*N $name $arg...` for `name` followed by `step` arguments at each of the `n` positions, in one allocation. */
function encodeParts(name: Uint8Array, argv: Uint8Array[], pos: Int32Array, n: number, step: number): Uint8Array {
  const argc = 1 + n * step;
  let size = 1 + digits(argc) + 2 + bulkSize(name);
  for (let k = 0; k < n; k++) for (let t = 0; t < step; t++) size += bulkSize(argv[pos[k] + t]);
  const out = new Uint8Array(size);
  let off = writeArrayHeader(out, 0, argc);
  off = writeBulk(out, off, name);
  for (let k = 0; k < n; k++) for (let t = 0; t < step; t++) off = writeBulk(out, off, argv[pos[k] + t]);
  return out;
}

class SplitJoin {
  readonly elements: Uint8Array[];
  sum = 0;
  waiting: number;
  error: Uint8Array | null = null;
  /**
   * The first part the proxy could not serve (backend down, slot offline): the whole request then fails as the proxy's
   * own error, so that stats and session_break_on_failure count it like any request the proxy could not serve.
   */
  failure: string | null = null;
  /**
   * The pooled buffers the parts' replies are views of (`../../redis/reply_buffers.ts`; `elements` holds views of
   * them), released once the joined reply is made; null: none.
   */
  buffers: ReplyBuffer[] | null = null;

  constructor(readonly kind: SplitKind, nkeys: number, parts: number, readonly req: Request) {
    this.elements = kind === "mget" ? new Array(nkeys) : [];
    this.waiting = parts;
  }

  partDone(): void {
    if (--this.waiting > 0) return;
    if (this.failure !== null) {
      this.req.onError(this.failure);
    } else if (this.error) {
      // (Perhaps a view of a part's buffer: the buffers then stay unreleased, and so are never reused.)
      return this.req.onReply(this.error);
    } else if (this.kind === "mget") {
      this.#replyJoined();
    } else if (this.kind === "mset") {
      this.req.onReply(OK);
    } else {
      this.req.onReply(integerReply(this.sum));
    }
    // The joined reply is a copy: nothing reads the parts' replies any more.
    const bufs = this.buffers;
    if (bufs !== null) { for (let i = 0; i < bufs.length; i++) releaseReply(bufs[i]); }
  }

  /** The MGET's reply: its elements in key order under one header; a big one in a pooled buffer, lent to the request. */
  #replyJoined(): void {
    const head = encoder.encode(`*${this.elements.length}\r\n`);
    let size = head.length;
    for (const e of this.elements) size += e.length;
    if (size < POOLED_JOIN) return this.req.onReply(concat([head, ...this.elements]));
    const buf = takeReplyBuffer(size);
    const out = buf.bytes.subarray(0, size);
    out.set(head);
    let off = head.length;
    for (const e of this.elements) {
      out.set(e, off);
      off += e.length;
    }
    lendReply(out, buf);
    try {
      this.req.onReply(out);
    } finally {
      endLend();
    }
    retireReplyBuffer(buf);
  }
}

class SplitPart implements PendingReply {
  constructor(
    private readonly join: SplitJoin,
    private readonly idx: number[] | null,
    private readonly n: number,
  ) {}

  onReply(raw: Uint8Array): void {
    const j = this.join;
    const from = adoptReply(raw);
    if (from !== null) (j.buffers ??= []).push(from);
    if (isErrorReply(raw)) {
      j.error ??= raw;
    } else if (j.kind === "mget") {
      const els = arrayElements(raw);
      if (els === null || els.length !== this.n) {
        j.error ??= encoder.encode("-ERR unexpected reply to a split MGET\r\n");
      } else {
        for (let k = 0; k < els.length; k++) j.elements[this.idx![k]] = els[k];
      }
    } else if (j.kind === "sum") {
      const n = integerOf(raw);
      if (Number.isNaN(n)) j.error ??= encoder.encode("-ERR unexpected reply to a split command\r\n");
      else j.sum += n;
    }
    j.partDone();
  }

  onError(msg: string): void {
    this.join.failure ??= msg;
    this.join.partDone();
  }
}
