/**
 * What the test relays (fault_forwarder.ts, rechunk_relay.ts) do alike with their connections: accept until the
 * listener closes, and close a connection that may be closed already.
 * @module
 */

/** Closes `c`, ignoring that it was closed already. */
export function closeQuietly(c: Deno.Conn): void {
  try {
    c.close();
  } catch { /* closed */ }
}

/** Hands each connection `listener` accepts to `onConn`; resolves once the listener is closed. */
export async function acceptUntilClosed(listener: Deno.Listener, onConn: (conn: Deno.Conn) => void): Promise<void> {
  for (;;) {
    let conn: Deno.Conn;
    try {
      conn = await listener.accept();
    } catch {
      return;
    }
    onConn(conn);
  }
}
