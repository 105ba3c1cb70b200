/**
 * Gathering of queued writes: small parts are copied into one buffer (one write instead of many, and a write is a
 * syscall or a runtime op), big ones are handed over as they are, so that a big value is never copied to be written.
 * @module
 */

/** Parts at least this long are written as they are; shorter runs of parts are gathered into one buffer. */
export const BIG_PART = 64 * 1024;

/** Writes `parts` in order through `write`: runs of small parts gathered, big parts as they are. */
export function writeGathered(parts: readonly Uint8Array[], write: (buf: Uint8Array) => void): void {
  let runStart = 0;
  let runBytes = 0;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    if (part.length < BIG_PART) {
      runBytes += part.length;
      continue;
    }
    if (i > runStart) write(gather(parts, runStart, i, runBytes));
    write(part);
    runStart = i + 1;
    runBytes = 0;
  }
  if (parts.length > runStart) write(gather(parts, runStart, parts.length, runBytes));
}

/** `parts[from, to)` as one buffer (the part itself when there is one). */
export function gather(parts: readonly Uint8Array[], from: number, to: number, bytes: number): Uint8Array {
  if (to - from === 1) return parts[from];
  const buf = new Uint8Array(bytes);
  let off = 0;
  for (let i = from; i < to; i++) {
    buf.set(parts[i], off);
    off += parts[i].length;
  }
  return buf;
}

/** Copies `parts[from, to)` to the start of `dest` (which must be long enough); returns the view of them there. */
export function gatherInto(dest: Uint8Array, parts: readonly Uint8Array[], from: number, to: number): Uint8Array {
  let off = 0;
  for (let i = from; i < to; i++) {
    const part = parts[i];
    if (part.length < 32) { for (let k = 0; k < part.length; k++) dest[off + k] = part[k]; }
    else dest.set(part, off);
    off += part.length;
  }
  return dest.subarray(0, off);
}
