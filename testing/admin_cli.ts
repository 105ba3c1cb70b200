import { equal } from "node:assert/strict";

const ROOT = new URL("..", import.meta.url).pathname;

/** What one codis-admin run printed and how it exited. */
export interface AdminRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `deno run -A cli/codis-admin.ts ...args` from the repository root. */
export async function admin(...args: string[]): Promise<AdminRun> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", "cli/codis-admin.ts", ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).output();
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
}

/** Runs codis-admin, asserts it exited 0, and returns its stdout. */
export async function must(...args: string[]): Promise<string> {
  const r = await admin(...args);
  equal(r.code, 0, `codis-admin ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}
