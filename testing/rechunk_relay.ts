/**
 * A TCP relay on 127.0.0.1 in front of one server that cuts what the server sends back at seeded random points and
 * writes each piece on its own, often after a short pause, so that the client's reads end in odd places: inside a
 * reply's header, between a bulk and its CRLF, one byte into a big value. Requests pass as they are. For tests of a
 * reader's framing against a real server's stream.
 * @module
 */
import { Rng } from "../raft/sim/prng.ts";
import { freePort } from "./ports.ts";
import { acceptUntilClosed, closeQuietly } from "./conns.ts";

/** A running relay. */
export interface RechunkRelay {
  port: number;
  addr: string;
  /** Pieces written towards clients so far. */
  readonly pieces: number;
  /** Closes the listener and every connection; resolves once every copy loop ended. */
  close(): Promise<void>;
}

/** A piece length: tiny ones, ones of a typical read, and ones around the 64 KiB marks of the readers. */
function pieceLength(rng: Rng): number {
  switch (rng.int(0, 5)) {
    case 0:
      return rng.int(1, 3);
    case 1:
      return rng.int(4, 40);
    case 2:
      return rng.int(41, 4096);
    case 3:
      return rng.int(4097, 60_000);
    case 4:
      return rng.int(60_000, 70_000);
    default:
      return rng.int(70_000, 300_000);
  }
}

/** Starts a relay to `127.0.0.1:targetPort`; each connection's cuts come from `seed` and its number. */
export function startRechunkRelay(targetPort: number, seed: number): RechunkRelay {
  const port = freePort();
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  const conns = new Set<Deno.Conn>();
  const loops: Promise<void>[] = [];
  let pieces = 0;
  let accepted = 0;

  const copy = async (from: Deno.Conn, to: Deno.Conn, rng: Rng | null) => {
    const buf = new Uint8Array(256 * 1024);
    try {
      for (;;) {
        const n = await from.read(buf);
        if (n === null) break;
        for (let off = 0; off < n;) {
          const end = rng === null ? n : Math.min(n, off + pieceLength(rng));
          for (let w = off; w < end;) w += await to.write(buf.subarray(w, end));
          off = end;
          if (rng === null) continue;
          pieces++;
          // A pause lets the piece reach the reader alone instead of merged with the next one.
          if (rng.chance(0.4)) await new Promise((r) => setTimeout(r, rng.int(0, 1)));
        }
      }
    } catch { /* either side went away */ }
    closeQuietly(from);
    closeQuietly(to);
  };

  const open = async (inbound: Deno.Conn, rng: Rng) => {
    conns.add(inbound);
    let outbound: Deno.TcpConn;
    try {
      outbound = await Deno.connect({ hostname: "127.0.0.1", port: targetPort });
    } catch {
      return closeQuietly(inbound);
    }
    conns.add(outbound);
    outbound.setNoDelay(true);
    (inbound as Deno.TcpConn).setNoDelay(true);
    await Promise.all([copy(inbound, outbound, null), copy(outbound, inbound, rng)]);
  };

  loops.push(acceptUntilClosed(listener, (inbound) => {
    loops.push(open(inbound, new Rng(seed * 1000 + accepted++)));
  }));

  return {
    port,
    addr: `127.0.0.1:${port}`,
    get pieces() {
      return pieces;
    },
    async close() {
      try {
        listener.close();
      } catch { /* closed */ }
      for (const c of conns) closeQuietly(c);
      await Promise.all(loops);
    },
  };
}
