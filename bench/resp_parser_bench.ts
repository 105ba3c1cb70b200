/**
 * Request parsing: the proxy's hand-written scanner against npm:redis-parser, on 64 KiB chunks of pipelined
 * `GET key:N` and `SET key:N value` requests; and single requests that span many reads (many arguments, a big value).
 * `deno bench -A bench/resp_parser_bench.ts`
 * @module
 */
import { Buffer } from "node:buffer";
import RedisParser from "redis-parser";
import { encodeCommand } from "../redis/encode.ts";
import { RequestParser } from "../proxy/resp/request_parser.ts";

const N = 20_000;
const parts: Uint8Array[] = [];
for (let i = 0; i < N; i++) {
  parts.push(i % 2 === 0 ? encodeCommand(["GET", `key:${i}`]) : encodeCommand(["SET", `key:${i}`, "value-" + i]));
}
const stream = Buffer.concat(parts);
const CHUNK = 64 * 1024;
const chunks: Uint8Array[] = [];
for (let off = 0; off < stream.length; off += CHUNK) chunks.push(stream.subarray(off, off + CHUNK));

Deno.bench(
  `hand-written scanner (views + raw request bytes), ${N} requests`,
  { group: "parse", baseline: true },
  () => {
    let n = 0;
    const p = new RequestParser({ maxBulkLen: 1 << 29, maxArgs: 1 << 20, maxInlineLen: 1 << 16 }, {
      onRequest() {
        n++;
      },
    });
    for (const c of chunks) p.feed(c);
    if (n !== N) throw new Error(`parsed ${n}`);
  },
);

Deno.bench(`npm:redis-parser (returnBuffers), ${N} requests`, { group: "parse" }, () => {
  let n = 0;
  // deno-lint-ignore no-explicit-any
  const p = new (RedisParser as any)({
    returnBuffers: true,
    returnReply() {
      n++;
    },
    returnError(e: Error) {
      throw e;
    },
  });
  for (const c of chunks) p.execute(Buffer.from(c.buffer, c.byteOffset, c.byteLength));
  if (n !== N) throw new Error(`parsed ${n}`);
});

// What using redis-parser on the hot path would really cost: it hands out arguments but not the request's own bytes,
// so each request would have to be encoded again before it is forwarded.
Deno.bench(`npm:redis-parser + re-encode to forward, ${N} requests`, { group: "parse" }, () => {
  let n = 0;
  // deno-lint-ignore no-explicit-any
  const p = new (RedisParser as any)({
    returnBuffers: true,
    returnReply(argv: Uint8Array[]) {
      if (encodeCommand(argv).length > 0) n++;
    },
    returnError(e: Error) {
      throw e;
    },
  });
  for (const c of chunks) p.execute(Buffer.from(c.buffer, c.byteOffset, c.byteLength));
  if (n !== N) throw new Error(`parsed ${n}`);
});

/** One request fed in reads of `piece` bytes, as a client's big request arrives. */
function feedInPieces(request: Uint8Array, piece: number): void {
  let n = 0;
  const p = new RequestParser({ maxBulkLen: 1 << 29, maxArgs: 1 << 20, maxInlineLen: 1 << 16 }, {
    onRequest() {
      n++;
    },
  });
  for (let off = 0; off < request.length; off += piece) p.feed(request.subarray(off, off + piece));
  if (n !== 1) throw new Error(`parsed ${n}`);
}

const manyArgs = encodeCommand(["MSET", ...Array.from({ length: 200_000 }, (_, i) => `k${i}`)]);
Deno.bench("a request of 200k arguments in 4 KiB reads", { group: "spanning" }, () => feedInPieces(manyArgs, 4096));

const bigValue = encodeCommand(["SET", "big", "x".repeat(16 << 20)]);
Deno.bench("a 16 MiB value in 64 KiB reads", { group: "spanning" }, () => feedInPieces(bigValue, 65536));
