import assert from "node:assert/strict";
import type { PendingReply } from "../redis/conn.ts";
import { decodeReply } from "../redis/decode.ts";
import { encodeCommand, encodeValue } from "../redis/encode.ts";
import { Request } from "./request.ts";
import { splitBySlot } from "./split.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

interface Sent {
  slot: number;
  raw: Uint8Array;
  reply: PendingReply;
  keys: string[];
}

/** Runs a split with a fake sender; returns what was sent and the request. */
function split(kind: "mget" | "mset" | "sum", cmd: string[], slotOfKey: (k: string) => number) {
  const argv = cmd.map(enc);
  const step = kind === "mset" ? 2 : 1;
  const nkeys = (argv.length - 1) / step;
  const slots = new Int32Array(nkeys);
  for (let i = 0; i < nkeys; i++) slots[i] = slotOfKey(cmd[1 + i * step]);
  const req = new Request({ requestDone() {} }, cmd[0].toLowerCase(), 0);
  const sent: Sent[] = [];
  splitBySlot(kind, argv[0], argv, slots, nkeys, step, req, (slot, raw, reply, keys) => {
    const ks: string[] = [];
    for (let i = 0; i < keys.n; i++) ks.push(dec(keys.argv[keys.pos[i]]));
    sent.push({ slot, raw, reply, keys: ks });
  });
  return { sent, req };
}

Deno.test("split: few keys — one part per slot, encoded like the whole command, replies in key order", () => {
  const slot = (k: string) => Number(k.slice(1, 2));
  const { sent, req } = split("mget", ["MGET", "k1a", "k2a", "k1b", "k3a", "k2b"], slot);
  assert.deepEqual(sent.map((s) => s.slot), [1, 2, 3]);
  assert.deepEqual(sent[0].raw, encodeCommand(["MGET", "k1a", "k1b"]));
  assert.deepEqual(sent[1].raw, encodeCommand(["MGET", "k2a", "k2b"]));
  assert.deepEqual(sent.map((s) => s.keys), [["k1a", "k1b"], ["k2a", "k2b"], ["k3a"]]);
  // Answer out of order; the coalesced reply follows the client's key order.
  sent[2].reply.onReply(encodeValue(["v3a"]));
  sent[0].reply.onReply(encodeValue(["v1a", null]));
  assert.equal(req.reply, null);
  sent[1].reply.onReply(encodeValue(["v2a", "v2b"]));
  assert.deepEqual(
    (decodeReply(req.reply!) as (Uint8Array | null)[]).map((v) => v && dec(v)),
    ["v1a", "v2a", null, "v3a", "v2b"],
  );
});

Deno.test("split: many keys take the map path with the same result; MSET keeps pairs; sums add up", () => {
  const keys = Array.from({ length: 100 }, (_, i) => `key:${i}`);
  const slot = (k: string) => Number(k.slice(4)) % 7;
  const { sent, req } = split("mget", ["MGET", ...keys], slot);
  assert.equal(sent.length, 7);
  for (const s of sent) {
    assert.deepEqual(s.raw, encodeCommand(["MGET", ...s.keys]));
    s.reply.onReply(encodeValue(s.keys.map((k) => `v-${k}`)));
  }
  assert.deepEqual((decodeReply(req.reply!) as Uint8Array[]).map(dec), keys.map((k) => `v-${k}`));

  const mset = split("mset", ["MSET", "a1", "x", "b2", "y", "a3", "z"], (k) => k.charCodeAt(0));
  assert.deepEqual(mset.sent[0].raw, encodeCommand(["MSET", "a1", "x", "a3", "z"]));
  assert.deepEqual(mset.sent[1].raw, encodeCommand(["MSET", "b2", "y"]));
  for (const s of mset.sent) s.reply.onReply(enc("+OK\r\n"));
  assert.equal(dec(mset.req.reply!), "+OK\r\n");

  const del = split("sum", ["DEL", ...keys], slot);
  for (const s of del.sent) s.reply.onReply(enc(`:${s.keys.length}\r\n`));
  assert.equal(dec(del.req.reply!), ":100\r\n");
});

Deno.test("split: an error from one part becomes the reply, once every part has answered", () => {
  const { sent, req } = split("sum", ["EXISTS", "a", "b"], (k) => k.charCodeAt(0));
  sent[0].reply.onError("ERR backend down");
  assert.equal(req.reply, null);
  sent[1].reply.onReply(enc(":1\r\n"));
  assert.equal(dec(req.reply!), "-ERR backend down\r\n");
});
