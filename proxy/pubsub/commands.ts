/**
 * PUBLISH and PUBSUB introspection, routed as described in pubsub.ts: a channel's questions go to the master of its
 * slot, cluster-wide questions to every master.
 * @module
 */
import type { ProxyCore } from "../core.ts";
import { slotOf } from "../hash.ts";
import type { Request } from "../request.ts";
import { arrayElements, integerOf } from "../../redis/decode.ts";
import { concat, encodeCommand, errorReply, integerReply } from "../../redis/encode.ts";
import { callEveryMaster, firstError } from "../keyspace/fanout.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const latin1 = new TextDecoder("latin1");

/** PUBLISH channel message: on the master of the channel's slot; the reply counts subscribers on every proxy. */
export function publish(core: ProxyCore, argv: Uint8Array[], raw: Uint8Array | null, req: Request): void {
  core.send(slotOf(argv[1]), raw ?? encodeCommand(argv), req);
}

/** PUBSUB CHANNELS / NUMSUB / NUMPAT / SHARDCHANNELS / SHARDNUMSUB / HELP. */
export async function pubsubCommand(core: ProxyCore, argv: Uint8Array[]): Promise<Uint8Array> {
  const sub = dec.decode(argv[1]).toLowerCase();
  switch (sub) {
    case "channels":
    case "shardchannels": {
      const replies = await callEveryMaster(core, argv);
      const err = firstError(replies);
      if (err) return err;
      const seen = new Set<string>();
      const out: Uint8Array[] = [];
      for (const r of replies) {
        for (const c of arrayElements(r) ?? []) {
          const id = latin1.decode(c);
          if (!seen.has(id)) {
            seen.add(id);
            out.push(c);
          }
        }
      }
      return concat([enc.encode(`*${out.length}\r\n`), ...out]);
    }
    case "numsub":
    case "shardnumsub": {
      const parts = await Promise.all(
        argv.slice(2).map(async (ch) => {
          const b = core.router.slots[slotOf(ch)].backend;
          if (b === null) return null;
          const r = await b.connFor(0).call(0, [argv[0], argv[1], ch]);
          return arrayElements(r);
        }),
      );
      const out: Uint8Array[] = [];
      parts.forEach((p, i) => {
        const ch = argv[2 + i];
        out.push(enc.encode(`$${ch.length}\r\n`), ch, enc.encode("\r\n"));
        out.push(p && p.length === 2 ? p[1] : integerReply(0));
      });
      return concat([enc.encode(`*${parts.length * 2}\r\n`), ...out]);
    }
    case "numpat": {
      // Every pattern subscription is made on every master: any one of them counts them all.
      const replies = await callEveryMaster(core, argv);
      const err = firstError(replies);
      if (err) return err;
      return integerReply(Math.max(0, ...replies.map(integerOf)));
    }
    case "help":
      return (await callEveryMaster(core, argv))[0];
    default:
      return errorReply(`ERR unknown subcommand '${sub}'. Try PUBSUB HELP.`);
  }
}
