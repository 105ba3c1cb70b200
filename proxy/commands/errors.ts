/**
 * Error texts the proxy answers without a backend, byte-exact with Redis 7.0 where Redis has the same error:
 * unknown command, unknown subcommand, wrong arity; plus codis-proxy's own refusal text.
 * @module
 */
import type { CommandInfo } from "./table.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

const ERR_UNKNOWN = enc.encode("-ERR unknown command '");
const ERR_UNKNOWN_MID = enc.encode("', with args beginning with: ");
const ERR_UNKNOWN_SUB = enc.encode("-ERR unknown subcommand '");
const ERR_UNKNOWN_SUB_MID = enc.encode("'. Try ");
const ERR_UNKNOWN_SUB_END = enc.encode(" HELP.");
const CRLF = enc.encode("\r\n");

/** Redis formats arguments with `%.Ns` on C strings: stop at the first NUL byte and after `max` bytes. */
function cstr(b: Uint8Array, max: number): Uint8Array {
  let n = Math.min(b.length, max);
  const nul = b.subarray(0, n).indexOf(0);
  if (nul >= 0) n = nul;
  return b.subarray(0, n);
}

class Builder {
  buf = new Uint8Array(512);
  len = 0;
  push(b: Uint8Array): void {
    if (this.len + b.length > this.buf.length) {
      const g = new Uint8Array(Math.max(this.buf.length * 2, this.len + b.length));
      g.set(this.buf.subarray(0, this.len));
      this.buf = g;
    }
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  byte(c: number): void {
    this.push(Uint8Array.of(c));
  }
  /** Like Redis's rejectCommandFormat: CR and LF inside the message become spaces, then the frame ends. */
  finish(): Uint8Array {
    for (let i = 1; i < this.len; i++) if (this.buf[i] === 13 || this.buf[i] === 10) this.buf[i] = 32;
    this.push(CRLF);
    return this.buf.slice(0, this.len);
  }
}

/**
 * The exact RESP error frame (`-ERR unknown command ...\r\n`) Redis 7 sends for an unknown command: the name and
 * each argument are cut at a NUL byte, the name at 128 bytes, and arguments are appended (quoted, each followed by a
 * space) while the list is shorter than 128 bytes, each cut to the room left.
 */
export function unknownCommandReply(argv: Uint8Array[], argc: number): Uint8Array {
  const b = new Builder();
  b.push(ERR_UNKNOWN);
  b.push(cstr(argv[0], 128));
  b.push(ERR_UNKNOWN_MID);
  let argsLen = 0;
  for (let i = 1; i < argc && argsLen < 128; i++) {
    const a = cstr(argv[i], 128 - argsLen);
    b.byte(39);
    b.push(a);
    b.byte(39);
    b.byte(32);
    argsLen += a.length + 3;
  }
  return b.finish();
}

/** The unknown-command error message (without `-` and CRLF), decoded as UTF-8. */
export function formatUnknownCommand(argv: Uint8Array[], argc: number): string {
  const f = unknownCommandReply(argv, argc);
  return dec.decode(f.subarray(1, f.length - 2));
}

/** The exact RESP error frame for a container command with an unknown subcommand (`OBJECT foo`). */
export function unknownSubcommandReply(argv: Uint8Array[], argc: number): Uint8Array {
  const b = new Builder();
  b.push(ERR_UNKNOWN_SUB);
  b.push(argc > 1 ? cstr(argv[1], 128) : new Uint8Array(0));
  b.push(ERR_UNKNOWN_SUB_MID);
  const name = cstr(argv[0], argv[0].length).slice();
  for (let i = 0; i < name.length; i++) if (name[i] >= 97 && name[i] <= 122) name[i] -= 32;
  b.push(name);
  b.push(ERR_UNKNOWN_SUB_END);
  return b.finish();
}

/** The unknown-subcommand error message (without `-` and CRLF). */
export function formatUnknownSubcommand(argv: Uint8Array[], argc: number): string {
  const f = unknownSubcommandReply(argv, argc);
  return dec.decode(f.subarray(1, f.length - 2));
}

/** Redis's arity error, e.g. `ERR wrong number of arguments for 'object|encoding' command`. */
export function formatWrongArity(info: CommandInfo): string {
  return `ERR wrong number of arguments for '${info.name}' command`;
}

/** codis-proxy's refusal: `ERR command 'CLIENT KILL' is not supported by codis-proxy: <reason>`. */
export function formatRefused(info: CommandInfo, reason = info.reason ?? "refused"): string {
  return `ERR command '${info.displayName}' is not supported by codis-proxy: ${reason}`;
}
