/**
 * The cluster's processes as the nemeses see them: a command line bound to a host, started, SIGKILLed, stopped and
 * continued by pid, restarted with the same command line. Each one's stderr is appended to its own log file.
 * @module
 */
import type { Host, Hosts } from "./hosts.ts";

/** What a process is, for the nemeses' choices. */
export type Role = "dashboard" | "proxy" | "redis" | "sentinel" | "console";

/** One cluster process (or its slot while it is down). */
export class Proc {
  #child: Deno.ChildProcess | undefined;
  #exited: Promise<unknown> = Promise.resolve();
  /** SIGSTOPped and not continued yet. */
  paused = false;

  constructor(
    readonly name: string,
    readonly role: Role,
    readonly host: Host,
    readonly cmd: string,
    /** The command line; a dashboard's changes when it rejoins after removal. */
    public args: string[],
    readonly logFile: string,
    private readonly net: Hosts,
    /** Environment for the process: where its secrets go (a command line is visible to every user). */
    private readonly env: Record<string, string> = {},
  ) {}

  /** Whether the process runs (paused counts as running). */
  get alive(): boolean {
    return this.#child !== undefined;
  }

  /** Spawns the process; a no-op while it runs. */
  start(): void {
    if (this.#child) return;
    const child = this.net.spawn(this.host, this.cmd, this.args, { stderr: "piped", env: this.env });
    const file = Deno.openSync(this.logFile, { append: true, create: true });
    const stderr = child.stderr;
    // A plain loop (not pipeTo) so that the log is written while the process runs, not when it ends.
    const copied = (async () => {
      try {
        for await (const chunk of stderr) file.writeSync(chunk);
      } catch { /* the process is gone */ }
      file.close();
    })();
    this.#child = child;
    this.paused = false;
    this.#exited = Promise.all([child.status, copied]).finally(() => {
      if (this.#child === child) this.#child = undefined;
    });
  }

  /** Sends `signal`; false when the process is not running. */
  signal(signal: Deno.Signal): boolean {
    if (!this.#child) return false;
    try {
      this.#child.kill(signal);
    } catch {
      return false;
    }
    if (signal === "SIGSTOP") this.paused = true;
    if (signal === "SIGCONT") this.paused = false;
    return true;
  }

  /** SIGKILL (a paused process dies too) and waits for the exit. */
  async kill(): Promise<void> {
    if (!this.#child) return;
    this.signal("SIGKILL");
    await this.#exited;
    this.#child = undefined;
    this.paused = false;
  }

  /** The last `n` lines of the log. */
  tail(n = 20): string {
    try {
      return Deno.readTextFileSync(this.logFile).trimEnd().split("\n").slice(-n).join("\n");
    } catch {
      return "(no log)";
    }
  }
}
