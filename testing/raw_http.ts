/**
 * HTTP/1.1 requests written byte by byte to 127.0.0.1, for what fetch will not send: a chosen `Host` header, or a
 * body announced by Content-Length but never sent (to see whether a server answers before reading it).
 * @module
 */

/** A raw request. */
export interface RawRequest {
  method: string;
  path: string;
  /** Sent as given; `Host` defaults to 127.0.0.1:port. */
  headers?: Record<string, string>;
  /** Sent after the headers (Content-Length is set from it unless `headers` sets one). */
  body?: string;
  /** Give up waiting for the answer after this long (default 5 s): the answer is then `status: 0`. */
  timeoutMs?: number;
}

/** The answer's status (0: none within the timeout) and body text. */
export interface RawAnswer {
  status: number;
  text: string;
}

/** Sends one request with `Connection: close` and reads the whole answer. */
export async function rawHttp(port: number, req: RawRequest): Promise<RawAnswer> {
  const headers: Record<string, string> = { host: `127.0.0.1:${port}`, connection: "close" };
  for (const [k, v] of Object.entries(req.headers ?? {})) headers[k.toLowerCase()] = v;
  if (req.body !== undefined && headers["content-length"] === undefined) {
    headers["content-length"] = String(new TextEncoder().encode(req.body).length);
  }
  const head = `${req.method} ${req.path} HTTP/1.1\r\n` +
    Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("") + "\r\n";
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const timer = setTimeout(() => {
    try {
      conn.close();
    } catch { /* closed */ }
  }, req.timeoutMs ?? 5000);
  const chunks: Uint8Array[] = [];
  try {
    await conn.write(new TextEncoder().encode(head + (req.body ?? "")));
    const buf = new Uint8Array(64 * 1024);
    for (let i = 0; i < 10_000; i++) {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) break;
      chunks.push(buf.slice(0, n));
    }
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch { /* closed by the timer or the server */ }
  }
  const raw = new TextDecoder().decode(
    chunks.reduce((a, c) => {
      const out = new Uint8Array(a.length + c.length);
      out.set(a);
      out.set(c, a.length);
      return out;
    }, new Uint8Array()),
  );
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(raw);
  const sep = raw.indexOf("\r\n\r\n");
  return { status: m ? Number(m[1]) : 0, text: sep < 0 ? "" : raw.slice(sep + 4) };
}
