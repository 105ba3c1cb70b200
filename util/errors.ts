/**
 * Errors shared by the wire protocols of the proxy (RESP requests) and the Raft transport (frames, handshake).
 * @module
 */

/** A peer sent bytes that break the wire protocol; the connection they came on is closed. */
export class ProtocolError extends Error {
  override name = "ProtocolError";
}
