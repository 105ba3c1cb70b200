/**
 * Differential testing: the same commands sent raw to the proxy and straight to one Redis holding the same keys,
 * with the raw replies compared byte for byte (after an optional per-command normalisation, for replies whose
 * order Redis itself does not define, such as KEYS).
 */
import { equal } from "node:assert/strict";
import { scanReply } from "../redis/reply_framer.ts";
import { encodeCommand } from "../redis/encode.ts";

/** A raw RESP connection that sends commands one at a time and returns each raw reply as text. */
export class RawClient {
  #conn: Deno.TcpConn;
  #buf = new Uint8Array(0);

  private constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
  }

  static async connect(port: number): Promise<RawClient> {
    return new RawClient(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  /** Sends one command and reads its whole reply (bounded by `timeoutMs`). */
  async call(args: (string | Uint8Array)[], timeoutMs = 5000): Promise<string> {
    await this.#conn.write(encodeCommand(args));
    return await this.read(timeoutMs);
  }

  /** Sends one command without reading its reply (read it, or the frames before it, with {@link read}). */
  async send(args: (string | Uint8Array)[]): Promise<void> {
    await this.#conn.write(encodeCommand(args));
  }

  /** Reads the next whole reply (for pushed messages). */
  async read(timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const end = this.#buf.length > 0 ? scanReply(this.#buf, 0) : -1;
      if (end >= 0) {
        const out = new TextDecoder().decode(this.#buf.subarray(0, end));
        this.#buf = this.#buf.slice(end);
        return out;
      }
      if (Date.now() > deadline) throw new Error("timed out waiting for a reply");
      const chunk = new Uint8Array(65536);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const n = await Promise.race([
        this.#conn.read(chunk),
        new Promise<"timeout">((r) => timer = setTimeout(() => r("timeout"), Math.max(1, deadline - Date.now()))),
      ]).finally(() => clearTimeout(timer));
      if (n === "timeout") continue;
      if (n === null) throw new Error("connection closed by the peer");
      const next = new Uint8Array(this.#buf.length + n);
      next.set(this.#buf);
      next.set(chunk.subarray(0, n), this.#buf.length);
      this.#buf = next;
    }
  }

  close(): void {
    try {
      this.#conn.close();
    } catch { /* already closed */ }
  }
}

/** A command for {@link diffCommands}, with an optional normalisation of both replies. */
export type DiffCase = string[] | { cmd: string[]; norm?: (reply: string) => string };

/** Sorts the elements of a flat array reply of bulk strings (KEYS, SMEMBERS...). */
export function sortedArray(reply: string): string {
  const lines = reply.split("\r\n");
  const head = lines[0];
  const items: string[] = [];
  for (let i = 1; i + 1 < lines.length; i += 2) items.push(`${lines[i]}\r\n${lines[i + 1]}`);
  return [head, ...items.sort()].join("\r\n");
}

/** Runs every case against both ports in order and asserts equal replies. */
export async function diffCommands(proxyPort: number, redisPort: number, cases: DiffCase[]): Promise<void> {
  const a = await RawClient.connect(proxyPort);
  const b = await RawClient.connect(redisPort);
  try {
    for (const c of cases) {
      const { cmd, norm } = Array.isArray(c) ? { cmd: c, norm: undefined } : c;
      const n = norm ?? ((s: string) => s);
      const got = n(await a.call(cmd));
      const want = n(await b.call(cmd));
      equal(got, want, `${cmd.join(" ")}: proxy ${JSON.stringify(got)} vs redis ${JSON.stringify(want)}`);
    }
  } finally {
    a.close();
    b.close();
  }
}
