/**
 * Differential test fixtures: a proxy over `groups` groups beside one plain redis-server, and helpers to compare
 * what both answer (raw pipelines, INFO fields, CLIENT LIST lines).
 * @module
 */
import type { ProxyConfig } from "../proxy/core/config.ts";
import { type ProxyFixture, readUntil, startProxyFixture } from "./proxy.ts";
import { type RedisProcess, startRedis } from "./redis.ts";
import { decodeReply } from "../redis/decode.ts";

/** Runs `fn` with a proxy over `groups` groups and a plain redis-server to compare it with; stops both after. */
export async function withProxyAndRedis(
  groups: number,
  overrides: Partial<ProxyConfig>,
  fn: (f: ProxyFixture, r: RedisProcess) => Promise<void>,
): Promise<void> {
  const f = await startProxyFixture(groups, overrides);
  try {
    const r = await startRedis();
    try {
      await fn(f, r);
    } finally {
      await r.stop();
    }
  } finally {
    await f.stop();
  }
}

/**
 * Sends `input` (raw RESP, a whole pipeline) on a new connection and returns everything read until the text ends
 * with `end` (or the peer closes, or `timeoutMs` pass).
 */
export async function pipelineExchange(port: number, input: string, end: string, timeoutMs = 5000): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(new TextEncoder().encode(input));
    return await readUntil(conn, (s) => s.endsWith(end), timeoutMs);
  } finally {
    conn.close();
  }
}

/** RESP for a pipeline of commands. */
export function respPipeline(cmds: string[][]): string {
  return cmds.map((c) =>
    `*${c.length}\r\n${c.map((a) => `$${new TextEncoder().encode(a).length}\r\n${a}\r\n`).join("")}`
  )
    .join("");
}

/** The fields of an INFO reply (raw RESP bulk or verbatim, or its text) as a map, and its section headers in order. */
export function infoFields(reply: string): { sections: string[]; fields: Map<string, string> } {
  const sections: string[] = [];
  const fields = new Map<string, string>();
  for (const line of reply.split("\r\n")) {
    if (line.startsWith("# ")) sections.push(line.slice(2));
    else {
      const colon = line.indexOf(":");
      if (colon > 0 && !line.startsWith("$") && !line.startsWith("=")) {
        fields.set(line.slice(0, colon), line.slice(colon + 1));
      }
    }
  }
  return { sections, fields };
}

/** A `CLIENT LIST` / `CLIENT INFO` reply (raw RESP) as one field map per client line, keeping the field order. */
export function clientLines(reply: string): Map<string, string>[] {
  const v = decodeReply(new TextEncoder().encode(reply));
  const body = v instanceof Uint8Array ? new TextDecoder().decode(v) : String(v);
  return body.split("\n").filter((l) => l !== "").map((l) =>
    new Map(l.split(" ").map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]))
  );
}
