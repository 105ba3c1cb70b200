/**
 * MONITOR, CLIENT PAUSE and SLOWLOG decisions about commands, and a session's monitor mode. The feed itself is
 * proxy/core/monitor_feed.ts; the session calls {@link pausedOrFed} only while a monitor is attached or a pause is in
 * force (`OperatorHooks.active`), and {@link logSlowRequest} only for a request over the slow log's threshold.
 * @module
 */
import {
  CMD_ADMIN,
  CMD_BLOCKING,
  CMD_READ,
  CMD_SKIP_MONITOR,
  CMD_SKIP_SLOWLOG,
  CMD_WRITE,
  type CommandInfo,
  isBlockingCall,
} from "../commands/mod.ts";
import type { MonitorFeed, MonitorSink } from "../core/monitor_feed.ts";
import type { ProxyCore, SessionState } from "../core/core.ts";
import type { OperatorHooks } from "../core/ops.ts";
import { PAUSE_ALL, type PauseMode } from "../core/client_pause.ts";
import { errorReply } from "../../redis/encode.ts";

/**
 * Commands Redis 7 marks `may-replicate` (its COMMAND output does not show the flag): CLIENT PAUSE WRITE holds them
 * like writes. EXEC is held too (Redis holds it when its transaction writes).
 */
const MAY_REPLICATE = new Set(["publish", "spublish", "eval", "evalsha", "fcall", "pfcount", "exec"]);

/** Scripts are `skip_monitor` but Redis 6.2.4+ shows the call itself. */
const SCRIPTS = new Set(["eval", "eval_ro", "evalsha", "evalsha_ro", "fcall", "fcall_ro"]);

/** Whether a pause in `mode` holds this command: every command in ALL mode, writes in WRITE mode. */
export function pausedBy(mode: PauseMode, info: CommandInfo): boolean {
  return mode === PAUSE_ALL || (info.flags & CMD_WRITE) !== 0 || MAY_REPLICATE.has(info.name);
}

/** What {@link pausedOrFed} needs of a session's modes: whether it monitors, and whether the monitors see a command. */
export interface MonitorView {
  readonly monitoring: boolean;
  monitorSees(info: CommandInfo): boolean;
}

/**
 * CLIENT PAUSE and MONITOR, for a session's command while a pause is in force or a monitor attached: true when the
 * pause holds the command (as Redis postpones a paused client; never a monitoring session's), else the command goes
 * to the monitors (unless `modes` says they do not see it) and false.
 */
export function pausedOrFed(
  ops: OperatorHooks,
  info: CommandInfo,
  argv: Uint8Array[],
  remote: string,
  modes: MonitorView | null,
): boolean {
  if (ops.pause.mode !== 0 && pausedBy(ops.pause.mode, info) && (modes === null || !modes.monitoring)) return true;
  if (ops.feeding && monitored(info) && (modes === null || modes.monitorSees(info))) ops.feed(remote, argv);
  return false;
}

/** Whether MONITOR shows this command: not administration, not refused by the proxy (Redis never runs those). */
export function monitored(info: CommandInfo): boolean {
  if (info.policy === "refused" || (info.flags & CMD_ADMIN) !== 0) return false;
  return (info.flags & CMD_SKIP_MONITOR) === 0 || SCRIPTS.has(info.name);
}

/** A command that reads or writes keys: a monitoring client may not send one (Redis treats it as a replica). */
export function touchesKeyspace(info: CommandInfo): boolean {
  return (info.flags & (CMD_READ | CMD_WRITE)) !== 0 || MAY_REPLICATE.has(info.name);
}

/** Whether a slow request of this command enters the slow log: not EXEC, nor a command that waited by design. */
export function slowLogged(info: CommandInfo, argv: Uint8Array[]): boolean {
  if ((info.flags & (CMD_SKIP_SLOWLOG | CMD_BLOCKING)) !== 0 || info.name === "wait") return false;
  return !isBlockingCall(info, argv, argv.length);
}

/** Hands a request that took `us` microseconds to the slow log, unless its command waited by design. */
export function logSlowRequest(core: ProxyCore, session: SessionState, argv: Uint8Array[], us: number): void {
  const info = core.commands.lookup(argv, argv.length);
  if (info === undefined || !slowLogged(info, argv)) return;
  core.ops.slowlog.add(argv, us, session.remote, session.name);
}

const KEYSPACE_REFUSED = errorReply("ERR Replica can't interact with the keyspace");
/** MONITOR sent again by a monitoring session: Redis answers nothing. */
const NO_REPLY = new Uint8Array(0);

/** A session in MONITOR mode: the lines go out after the session's earlier replies. */
export class MonitorMode implements MonitorSink {
  #feed: MonitorFeed;
  #push: (line: Uint8Array) => void;

  constructor(feed: MonitorFeed, push: (line: Uint8Array) => void) {
    this.#feed = feed;
    this.#push = push;
    feed.add(this);
  }

  pushMonitorLine(line: Uint8Array): void {
    this.#push(line);
  }

  /** What a monitoring session's command gets instead of running, as Redis answers a monitor; null: it runs. */
  refusal(info: CommandInfo): Uint8Array | null {
    if (info.name === "monitor") return NO_REPLY;
    return touchesKeyspace(info) ? KEYSPACE_REFUSED : null;
  }

  stop(): void {
    this.#feed.delete(this);
  }
}
