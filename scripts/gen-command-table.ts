/**
 * Regenerates proxy/commands/redis_commands.json and proxy/commands/redis_docs.json from what a real
 * redis-server reports through `COMMAND` and `COMMAND DOCS`, so that the proxy's key positions and flags are
 * Redis's own facts rather than a hand-written list.
 *
 * Usage: deno run -A scripts/gen-command-table.ts   (uses the redis-server on PATH)
 * @module
 */
import { startRedis } from "../testing/redis.ts";
import { redisCall, type RespValue } from "../proxy/commands/mini_resp.ts";
import { type DocEntry, parseCommandEntry, parseDocsReply, type RawCommand } from "../proxy/commands/parse.ts";

const outDir = new URL("../proxy/commands/", import.meta.url);

function check(v: RespValue): RespValue {
  if (v instanceof Error) throw v;
  return v;
}

function serialize(commands: RawCommand[], version: string, help: string[]): string {
  return JSON.stringify({ redis_version: version, command_help: help, commands }) + "\n";
}

async function main(): Promise<void> {
  const redis = await startRedis({ databases: 16 });
  try {
    const info = check(await redisCall(redis.port, ["INFO", "server"])) as Uint8Array;
    const version = /redis_version:([^\r\n]+)/.exec(new TextDecoder().decode(info))?.[1] ?? "unknown";
    const reply = check(await redisCall(redis.port, ["COMMAND"])) as RespValue[];
    const commands = reply.map((e) => parseCommandEntry(e));
    commands.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
    const help = (check(await redisCall(redis.port, ["COMMAND", "HELP"])) as RespValue[]).map((l) => String(l));
    const docsReply = check(await redisCall(redis.port, ["COMMAND", "DOCS"])) as RespValue[];
    const docs: Record<string, DocEntry> = parseDocsReply(docsReply);
    const sortedDocs: Record<string, DocEntry> = {};
    for (const k of Object.keys(docs).sort()) sortedDocs[k] = docs[k];
    const cmdFile = new URL("redis_commands.json", outDir);
    const docFile = new URL("redis_docs.json", outDir);
    await Deno.writeTextFile(cmdFile, serialize(commands, version, help));
    await Deno.writeTextFile(docFile, JSON.stringify({ redis_version: version, docs: sortedDocs }) + "\n");
    const fmt = new Deno.Command(Deno.execPath(), {
      args: ["fmt", "-q", cmdFile.pathname, docFile.pathname],
      stdout: "inherit",
      stderr: "inherit",
    });
    const st = await fmt.output();
    if (!st.success) throw new Error("deno fmt failed on the generated files");
    console.log(`wrote ${commands.length} commands and ${Object.keys(docs).length} docs from redis ${version}`);
  } finally {
    await redis.stop();
  }
}

if (import.meta.main) await main();
