// deno bench proxy/commands/lookup_bench.ts — cost of lookup + keyPositions per request.
import { CommandTable } from "./mod.ts";

const enc = new TextEncoder();
const table = CommandTable.builtin();
const out = new Int32Array(256);

function req(...args: string[]): Uint8Array[] {
  return args.map((a) => enc.encode(a));
}

const get = req("GET", "key:000000012345");
const set = req("SET", "key:000000012345", "xxx");
const mget = req("MGET", ...Array.from({ length: 10 }, (_, i) => `key:${i}`));
const lower = req("get", "key:000000012345");
const evalReq = req("EVAL", "return 1", "2", "a", "b", "x");
const objEnc = req("OBJECT", "ENCODING", "k");

let sink = 0;
function run(argv: Uint8Array[]): void {
  const info = table.lookup(argv, argv.length)!;
  sink += table.keyPositions(info, argv, argv.length, out);
}

Deno.bench("lookup+keyPositions GET", { group: "lookup", baseline: true }, () => run(get));
Deno.bench("lookup+keyPositions get (lower case)", { group: "lookup" }, () => run(lower));
Deno.bench("lookup+keyPositions SET", { group: "lookup" }, () => run(set));
Deno.bench("lookup+keyPositions MGET x10", { group: "lookup" }, () => run(mget));
Deno.bench("lookup+keyPositions EVAL numkeys 2", { group: "lookup" }, () => run(evalReq));
Deno.bench("lookup+keyPositions OBJECT ENCODING", { group: "lookup" }, () => run(objEnc));

// Per-iteration timer overhead dominates single calls; 1000 calls per iteration give ns per call = time / 1000.
const mix = [get, set, mget, lower];
Deno.bench("1000 × lookup+keyPositions GET", { group: "x1000" }, () => {
  for (let i = 0; i < 1000; i++) run(get);
});
Deno.bench("1000 × lookup+keyPositions SET", { group: "x1000" }, () => {
  for (let i = 0; i < 1000; i++) run(set);
});
Deno.bench("1000 × lookup+keyPositions MGET x10", { group: "x1000" }, () => {
  for (let i = 0; i < 1000; i++) run(mget);
});
Deno.bench("1000 × lookup+keyPositions GET/SET/MGET/get mix", { group: "x1000" }, () => {
  for (let i = 0; i < 1000; i++) run(mix[i & 3]);
});

globalThis.addEventListener("unload", () => {
  if (sink === -1) console.log(sink);
});
