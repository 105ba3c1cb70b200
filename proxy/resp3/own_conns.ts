/**
 * RESP3 sessions (`HELLO 3`). The shared backend connections speak RESP2, and converting RESP2 replies to RESP3
 * would need every command's reply schema, so a RESP3 session gets backend connections of its own, one per master,
 * each switched to RESP3 with `HELLO 3`: the backends then answer in the protocol the client asked for, and the
 * replies still pass through as raw bytes. RESP2 sessions (the common case) are not affected at all.
 *
 * Such a connection is never silently reconnected (it would come back in RESP2): when it is lost, it is dropped and
 * the next request opens a new one.
 * @module
 */
import { BackendConn, type PendingReply } from "../../redis/conn.ts";
import { ackedCommand } from "../commands/flags.ts";
import { callRefusal, type CommandInfo, KEYLESS_SLOT, REASONS, refusalText } from "../commands/mod.ts";
import type { ProxyCore } from "../core/core.ts";
import { slotOf } from "../../models/hash.ts";
import type { Request } from "../forward/request.ts";
import { CROSSSLOT, encodeCommand, errorReply } from "../../redis/encode.ts";
import { copyKeys } from "../forward/forward.ts";
import { SPLIT_KIND, splitBySlot } from "../forward/split.ts";
import { ownConnOptions } from "../core/own_conn.ts";

const HELLO3 = encodeCommand(["HELLO", "3"]);
const EXISTS = new TextEncoder().encode("EXISTS");

interface Own {
  conn: BackendConn;
  /**
   * The connection's generation once opened: BackendConn reconnects on its own after a loss, in RESP2, so a
   * connection whose generation moved on was lost even if it is connected again.
   */
  gen: number;
}

/** One RESP3 session's backend connections. */
export class OwnConns {
  #core: ProxyCore;
  #conns = new Map<string, Own>();

  constructor(core: ProxyCore) {
    this.#core = core;
  }

  /** The session's RESP3 connection to `addr`. */
  conn(addr: string): BackendConn {
    const o = this.#conns.get(addr);
    if (o !== undefined) {
      const s = o.conn.state;
      if (o.conn.generation === o.gen && (s === "connected" || s === "connecting")) return o.conn;
      o.conn.close();
    }
    const conn = new BackendConn(addr, ownConnOptions(this.#core.config));
    conn.connect().catch(() => {});
    this.#conns.set(addr, { conn, gen: conn.generation });
    conn.send(0, HELLO3, {
      onReply: () => {},
      onError: () => conn.close(),
    });
    return conn;
  }

  /**
   * Sends a request for `slot` on the connection to its master. In a locked or migrating slot, an EXISTS of the keys
   * on the shared path first waits for the lock and moves them to the target, as any request there would.
   */
  send(slot: number, raw: Uint8Array, reply: PendingReply, keys: Uint8Array[], write = false): void {
    const route = this.#core.router.slots[slot];
    const run = () => {
      const b = route.backend;
      if (b === null) return reply.onError(`ERR slot ${slot} is not ready, may be offline`);
      const acks = this.#core.writeAcks;
      if (acks === null || !write) return this.conn(b.addr).send(slot, raw, reply);
      // backend_write_acks: the WAIT goes on this session's own connection, which only it waits on.
      const acked = acks.request(reply, null, true, route.model.backend_addr_group_id ?? 0);
      acks.wrap(b, this.conn(b.addr)).send(slot, raw, acked);
    };
    if (!route.locked && route.migrateFrom === null) return run();
    const args = [EXISTS, ...keys];
    const keyRef = { argv: args, pos: Int32Array.from(keys, (_, i) => i + 1), n: keys.length };
    this.#core.send(slot, encodeCommand(args), { onReply: run, onError: run }, keyRef);
  }

  /** Closes every connection (HELLO 2, RESET, or the session closing). */
  close(): void {
    for (const o of this.#conns.values()) o.conn.close();
    this.#conns.clear();
  }
}

/** Routes a forwarded or split command of a RESP3 session over its own connections (see {@link OwnConns}). */
export function routeResp3(
  core: ProxyCore,
  own: OwnConns,
  info: CommandInfo,
  argv: Uint8Array[],
  raw: Uint8Array | null,
  req: Request,
  blocking: (slot: number, raw: Uint8Array, keys: Uint8Array[]) => void,
): void {
  const argc = argv.length;
  const pos = new Int32Array(argc);
  const n = core.commands.keyPositions(info, argv, argc, pos);
  const bytes = raw ?? encodeCommand(argv);
  if (n < 0) return own.send(0, bytes, req, []); // malformed: the backend answers Redis's own error
  if (n === 0) {
    if (info.policy === "split") {
      return req.onReply(errorReply(`ERR wrong number of arguments for '${info.name}' command`));
    }
    if (info.keylessAnywhere) return own.send(KEYLESS_SLOT, bytes, req, [], ackedCommand(info));
    return req.onReply(errorReply(refusalText(info, argv, argc, info.noKeysReason)));
  }
  const slots = new Int32Array(n);
  const keys: Uint8Array[] = [];
  let same = true;
  for (let i = 0; i < n; i++) {
    keys.push(argv[pos[i]]);
    slots[i] = slotOf(argv[pos[i]]);
    if (slots[i] !== slots[0]) same = false;
  }
  if (!same) {
    if (info.policy !== "split") return req.onReply(CROSSSLOT);
    const kind = SPLIT_KIND[info.name];
    return splitBySlot(kind, argv[0], argv, slots, n, kind === "mset" ? 2 : 1, req, (slot, sub, reply, k) => {
      own.send(slot, sub, reply, copyKeys(k), ackedCommand(info));
    });
  }
  const refusal = callRefusal(info, argv, argc);
  if (refusal !== undefined) {
    if (refusal === REASONS.blocking) return blocking(slots[0], bytes, keys);
    return req.onReply(errorReply(refusalText(info, argv, argc, refusal)));
  }
  own.send(slots[0], bytes, req, keys, ackedCommand(info));
}
