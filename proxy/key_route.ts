/**
 * The routing of a session's keyed commands: the common slot of a command's keys (or CROSSSLOT), forwarding to the
 * slot's backend (replicas for plain reads), and splitting MGET/MSET/DEL/UNLINK/EXISTS/TOUCH across slots. The
 * per-request path allocates nothing here: its scratch arrays are shared by every session, since a request is routed
 * to its end before the next one starts and whoever keeps its keys longer copies them (copyKeys).
 * @module
 */
import { ackedCommand, CMD_READ, CMD_WRITE } from "./commands/flags.ts";
import { callRefusal, type CommandInfo, KEYLESS_SLOT, REASONS, refusalText } from "./commands/mod.ts";
import type { ProxyCore } from "./core/core.ts";
import { slotOf } from "../models/hash.ts";
import type { Request } from "./forward/request.ts";
import { CROSSSLOT, encodeCommand, errorReply } from "../redis/encode.ts";
import { copyKeys, type KeyRef } from "./forward/forward.ts";
import { type SlotSender, SPLIT_KIND, splitBySlot } from "./forward/split.ts";
import { SessionWriteOrder } from "./write_order.ts";

const READ_WRITE = CMD_READ | CMD_WRITE;

/** Runs a blocking command on the session's own connection (session_modes.ts); the session implements it. */
export interface BlockingRunner {
  runBlocking(slot: number, raw: Uint8Array, keys: Uint8Array[], req: Request): void;
}

/** The split parts' sender of sessions without write acks: one per proxy core, not a closure per session. */
let plainSendCore: ProxyCore | null = null;
let plainSend: SlotSender | null = null;

function plainSplitSender(core: ProxyCore): SlotSender {
  if (plainSendCore !== core || plainSend === null) {
    plainSendCore = core;
    plainSend = (slot, sub, reply, keys) => core.send(slot, sub, reply, keys);
  }
  return plainSend;
}

/**
 * The routing scratch, grown to the widest request seen: the key positions of the request being routed, a
 * {@link KeyRef} over them for the migration path, and the slot of each key for splitting.
 */
const scratch = {
  keyPos: new Int32Array(16),
  keyRef: { argv: [], pos: new Int32Array(0), n: 0 } as KeyRef,
  slots: new Int32Array(16),
};
scratch.keyRef.pos = scratch.keyPos;

/** One session's key routing. */
export class KeyRouter {
  #core: ProxyCore;
  #splitSend: SlotSender;
  #blocking: BlockingRunner;
  /** backend_write_acks: the session's order keeper; null when off, so the usual path tests one field. */
  #order: SessionWriteOrder | null;
  /** Whether the split command being sent writes (its parts wait for the replicas). */
  #splitWrites = false;

  constructor(core: ProxyCore, blocking: BlockingRunner) {
    this.#core = core;
    this.#blocking = blocking;
    const order = this.#order = core.writeAcks === null ? null : new SessionWriteOrder(core);
    this.#splitSend = order === null
      ? plainSplitSender(core)
      : (slot, sub, reply, keys) => order.send(slot, sub, reply, keys, this.#splitWrites, false);
  }

  /** The common slot of all keys, -1 when there are none, -2 when they differ, -3 when they cannot be found. */
  keysSlot(info: CommandInfo, argv: Uint8Array[], argc: number): number {
    const pos = this.#keyPositions(info, argv, argc);
    const ref = scratch.keyRef;
    ref.argv = argv;
    ref.n = pos;
    if (pos <= 0) return pos === 0 ? -1 : -3;
    const kp = scratch.keyPos;
    const slot = slotOf(argv[kp[0]]);
    for (let i = 1; i < pos; i++) if (slotOf(argv[kp[i]]) !== slot) return -2;
    return slot;
  }

  #keyPositions(info: CommandInfo, argv: Uint8Array[], argc: number): number {
    if (argc > scratch.keyPos.length) scratch.keyRef.pos = scratch.keyPos = new Int32Array(argc);
    return this.#core.commands.keyPositions(info, argv, argc, scratch.keyPos);
  }

  /** Sends a keyed command to its slot's backend, or answers CROSSSLOT / the refusal. */
  forward(info: CommandInfo, argv: Uint8Array[], argc: number, raw: Uint8Array | null, req: Request): void {
    let slot = this.keysSlot(info, argv, argc);
    if (slot < 0) {
      if (slot === -2) return req.onReply(CROSSSLOT);
      // Malformed key arguments (a bad numkeys...): Redis itself rejects them without running anything.
      if (slot === -3) return this.#core.send(0, raw ?? encodeCommand(argv), req);
      if (!info.keylessAnywhere) return req.onReply(errorReply(refusalText(info, argv, argc, info.noKeysReason)));
      slot = KEYLESS_SLOT; // EVAL script 0: one master runs it, as a Redis Cluster client picks any node
    }
    const refusal = callRefusal(info, argv, argc);
    if (refusal !== undefined) {
      if (refusal === REASONS.blocking) {
        return this.#blocking.runBlocking(slot, raw ?? encodeCommand(argv), copyKeys(scratch.keyRef), req);
      }
      return req.onReply(errorReply(refusalText(info, argv, argc, refusal)));
    }
    // Plain reads may go to replicas; SCAN-like cursors must stay on one server, so they never do.
    const replicaOk = this.#core.router.replicaSlots > 0 && (info.flags & READ_WRITE) === CMD_READ &&
      !info.name.endsWith("scan");
    if (this.#order !== null) {
      return this.#order.send(slot, raw ?? encodeCommand(argv), req, scratch.keyRef, ackedCommand(info), replicaOk);
    }
    this.#core.send(slot, raw ?? encodeCommand(argv), req, scratch.keyRef, replicaOk);
  }

  /** Sends a split command whole when its keys share a slot, or one part per slot otherwise. */
  split(info: CommandInfo, argv: Uint8Array[], argc: number, raw: Uint8Array | null, req: Request): void {
    const n = this.#keyPositions(info, argv, argc);
    if (n <= 0) return req.onReply(errorReply(`ERR wrong number of arguments for '${info.name}' command`));
    if (n > scratch.slots.length) scratch.slots = new Int32Array(n);
    const kp = scratch.keyPos;
    const slots = scratch.slots;
    let same = true;
    for (let i = 0; i < n; i++) {
      slots[i] = slotOf(argv[kp[i]]);
      if (slots[i] !== slots[0]) same = false;
    }
    if (this.#order !== null) this.#splitWrites = ackedCommand(info);
    if (same) {
      scratch.keyRef.argv = argv;
      scratch.keyRef.n = n;
      if (this.#order !== null) return this.#splitSend(slots[0], raw ?? encodeCommand(argv), req, scratch.keyRef);
      return this.#core.send(slots[0], raw ?? encodeCommand(argv), req, scratch.keyRef);
    }
    const kind = SPLIT_KIND[info.name];
    splitBySlot(kind, argv[0], argv, slots, n, kind === "mset" ? 2 : 1, req, this.#splitSend);
  }
}
