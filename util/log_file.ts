/**
 * Codis's `--log=FILE` for our CLIs: every log line is appended to FILE instead of stderr. The file is opened once at
 * start-up (created when missing, never truncated), so an external rotator must copy-truncate it.
 * @module
 */
import { setLogSink } from "./log.ts";

/** An open log file; {@link LogFile.close} sends the lines back to stderr. */
export interface LogFile {
  readonly path: string;
  close(): void;
}

/** Appends every later log line to `path`; throws an Error naming the file when it cannot be opened. */
export function logToFile(path: string): LogFile {
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { append: true, create: true });
  } catch (e) {
    throw new Error(`cannot open log file ${path}: ${(e as Error).message}`);
  }
  // One line is one write call sequence: a short write would otherwise drop the rest of the line.
  setLogSink((line) => {
    for (let off = 0; off < line.length;) off += file.writeSync(line.subarray(off));
  });
  let closed = false;
  return {
    path,
    close() {
      if (closed) return;
      closed = true;
      setLogSink();
      file.close();
    },
  };
}
