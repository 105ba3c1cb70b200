/**
 * Codis's DataStale: a server that answers `-MASTERDOWN` (a replica cut off from its master, with
 * replica-serve-stale-data off) or `-LOADING` (still loading its data) cannot serve reads. Its connection is marked
 * stale, replica reads skip it, and an `INFO` probe tells when it serves again.
 * @module
 */
import { encodeCommand } from "./encode.ts";

/** The probe sent while a connection is stale. */
export const INFO_PROBE = encodeCommand(["INFO"]);

const MASTERDOWN = new TextEncoder().encode("-MASTERDOWN");
const LOADING = new TextEncoder().encode("-LOADING");

function startsWith(raw: Uint8Array, prefix: Uint8Array): boolean {
  if (raw.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (raw[i] !== prefix[i]) return false;
  return true;
}

/** A `-MASTERDOWN` or `-LOADING` error reply. */
export function isStaleError(raw: Uint8Array): boolean {
  return startsWith(raw, MASTERDOWN) || startsWith(raw, LOADING);
}

/** Whether an `INFO` reply's text shows a server that serves reads: loaded, and its master link (if any) up. */
export function servesReads(info: string): boolean {
  return !/^master_link_status:down\r?$/m.test(info) && !/^loading:1\r?$/m.test(info);
}

/** Hands the probe's outcome to the connection: the INFO text, or null when the probe failed. */
export class StaleProbe {
  constructor(private readonly onResult: (info: string | null) => void) {}
  onReply(raw: Uint8Array): void {
    this.onResult(raw[0] === 36 ? new TextDecoder().decode(raw) : null);
  }
  onError(): void {
    this.onResult(null);
  }
}
