/**
 * MONITOR's feed: every command this proxy receives, as one line in Redis's format, to every monitoring session.
 * @module
 */
import { redactedArgs } from "./slowlog.ts";

/** A monitoring session, as the feed sees it. */
export interface MonitorSink {
  /** Queues one line after the session's earlier replies. */
  pushMonitorLine(line: Uint8Array): void;
}

const HEX = "0123456789abcdef";

/** Appends `arg` quoted as Redis's sdscatrepr does: `"..."` with \\ \" \n \r \t \a \b and \xHH escapes. */
function appendRepr(out: string, arg: Uint8Array): string {
  out += '"';
  for (let i = 0; i < arg.length; i++) {
    const b = arg[i];
    switch (b) {
      case 92: // backslash
        out += "\\\\";
        break;
      case 34:
        out += '\\"';
        break;
      case 10:
        out += "\\n";
        break;
      case 13:
        out += "\\r";
        break;
      case 9:
        out += "\\t";
        break;
      case 7:
        out += "\\a";
        break;
      case 8:
        out += "\\b";
        break;
      default:
        out += b >= 32 && b <= 126 ? String.fromCharCode(b) : `\\x${HEX[b >> 4]}${HEX[b & 15]}`;
    }
  }
  return out + '"';
}

/** One MONITOR line: `+<seconds>.<microseconds> [0 <addr>] "ARG" ...` with CRLF; secrets redacted. */
export function monitorLine(epochMs: number, addr: string, argv: readonly Uint8Array[]): Uint8Array {
  const sec = Math.floor(epochMs / 1000);
  const usec = Math.floor((epochMs - sec * 1000) * 1000);
  let line = `+${sec}.${String(usec).padStart(6, "0")} [0 ${addr}]`;
  for (const a of redactedArgs(argv)) line = appendRepr(line + " ", a);
  return new TextEncoder().encode(line + "\r\n");
}

/** The monitoring sessions of one proxy thread. */
export class MonitorFeed {
  #sinks = new Set<MonitorSink>();
  #changed: () => void;

  /** `changed` runs when the first monitor arrives or the last one leaves. */
  constructor(changed: () => void) {
    this.#changed = changed;
  }

  get size(): number {
    return this.#sinks.size;
  }

  add(sink: MonitorSink): void {
    const before = this.#sinks.size;
    this.#sinks.add(sink);
    if (before === 0) this.#changed();
  }

  delete(sink: MonitorSink): void {
    if (this.#sinks.delete(sink) && this.#sinks.size === 0) this.#changed();
  }

  /** Sends one line to every monitor of this thread. */
  push(line: Uint8Array): void {
    for (const s of this.#sinks) s.pushMonitorLine(line);
  }
}
