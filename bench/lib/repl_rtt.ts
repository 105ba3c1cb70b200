/**
 * The replication round trip of a master with replicas: the median extra time of `SET` + `WAIT 1 1000` over
 * `SET` + `PING` on one connection — what a write acknowledged by a replica costs at least, whoever sends the WAIT.
 * @module
 */

const enc = new TextEncoder();

/** Sends `payload` and reads until `replies` CRLF-terminated simple replies arrived; returns the elapsed ms. */
export async function roundTrip(
  conn: Deno.Conn,
  payload: Uint8Array,
  replies: number,
  buf: Uint8Array,
): Promise<number> {
  const t0 = performance.now();
  await conn.write(payload);
  let seen = 0;
  while (seen < replies) {
    const n = await conn.read(buf);
    if (n === null) throw new Error("the server closed the connection");
    for (let i = 0; i < n; i++) if (buf[i] === 10) seen++;
  }
  return performance.now() - t0;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : NaN;
}

/** Median of (SET + WAIT 1) − (SET + PING) over `rounds` alternating rounds, in ms, against 127.0.0.1:`port`. */
export async function replicationRoundTripMs(port: number, rounds = 1000): Promise<number> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const buf = new Uint8Array(4096);
  const withWait = enc.encode(
    "*3\r\n$3\r\nSET\r\n$7\r\nrtt-key\r\n$1\r\nx\r\n*3\r\n$4\r\nWAIT\r\n$1\r\n1\r\n$4\r\n1000\r\n",
  );
  const withPing = enc.encode("*3\r\n$3\r\nSET\r\n$7\r\nrtt-key\r\n$1\r\nx\r\n*1\r\n$4\r\nPING\r\n");
  const waits: number[] = [];
  const pings: number[] = [];
  try {
    for (let i = 0; i < rounds; i++) {
      waits.push(await roundTrip(conn, withWait, 2, buf));
      pings.push(await roundTrip(conn, withPing, 2, buf));
    }
  } finally {
    conn.close();
  }
  return median(waits) - median(pings);
}
