/**
 * Codis's slot commands, built on the database-per-slot layout.
 * @module
 */
import { MAX_SLOT_NUM } from "../../models/slots.ts";
import type { ProxyCore } from "../core.ts";
import { slotOf } from "../hash.ts";
import type { Request } from "../request.ts";
import { parseIntStrict } from "../../util/bytes.ts";
import { encodeCommand, encodeValue, errorReply, type ReplyValue } from "../../redis/encode.ts";
import { slotKeyCounts } from "./keyspace.ts";

const decoder = new TextDecoder();

function intArg(a: Uint8Array): number | null {
  return parseIntStrict(a, 0, a.length);
}

/** SLOTSMAPPING [slot]: `[id, backend_addr, migrate_from, [[replica addrs]...]]` per slot, as Codis. */
export function slotsMapping(core: ProxyCore, argv: Uint8Array[]): Uint8Array {
  const one = (id: number): ReplyValue => {
    const m = core.router.slots[id].model;
    return [id, m.backend_addr ?? "", m.migrate_from ?? "", (m.replica_groups ?? []).map((g) => [...g])];
  };
  if (argv.length > 1) {
    const id = intArg(argv[1]);
    if (id === null || id < 0 || id >= MAX_SLOT_NUM) {
      return errorReply(`ERR invalid slot number, must be in [0,${MAX_SLOT_NUM})`);
    }
    return encodeValue([one(id)]);
  }
  const all: ReplyValue[] = [];
  for (let i = 0; i < MAX_SLOT_NUM; i++) all.push(one(i));
  return encodeValue(all);
}

/** SLOTSHASHKEY key [key ...]: the slot of each key. */
export function slotsHashKey(argv: Uint8Array[]): Uint8Array {
  const out: number[] = [];
  for (let i = 1; i < argv.length; i++) out.push(slotOf(argv[i]));
  return encodeValue(out);
}

/** SLOTSINFO [start] [count]: `[[slot, keys], ...]` for each non-empty slot in the range. */
export async function slotsInfo(core: ProxyCore, argv: Uint8Array[]): Promise<Uint8Array> {
  const start = argv.length > 1 ? intArg(argv[1]) : 0;
  const count = argv.length > 2 ? intArg(argv[2]) : MAX_SLOT_NUM;
  if (start === null || start < 0 || count === null || count < 0) return errorReply("ERR invalid slot range");
  const counts = await slotKeyCounts(core);
  const out: ReplyValue[] = [];
  for (let s = start; s < Math.min(MAX_SLOT_NUM, start + count); s++) {
    const c = counts.get(s);
    if (c && c.keys > 0) out.push([s, c.keys]);
  }
  return encodeValue(out);
}

/** SLOTSSCAN slot cursor [COUNT n]: SCAN in the slot's database on its master. */
export function slotsScan(core: ProxyCore, argv: Uint8Array[], req: Request): void {
  const slot = intArg(argv[1]);
  if (slot === null || slot < 0 || slot >= MAX_SLOT_NUM) {
    return req.onReply(errorReply(`ERR invalid slot number, must be in [0,${MAX_SLOT_NUM})`));
  }
  const args: (string | Uint8Array)[] = ["SCAN", argv[2]];
  for (let i = 3; i < argv.length; i += 2) {
    const opt = decoder.decode(argv[i]).toUpperCase();
    if (opt !== "COUNT" || i + 1 >= argv.length) return req.onReply(errorReply("ERR syntax error"));
    args.push("COUNT", argv[i + 1]);
  }
  core.send(slot, encodeCommand(args), req);
}
