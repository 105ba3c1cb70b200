/**
 * Messages between the primary thread of a proxy in worker mode and its worker threads. Every request carries an
 * id and gets exactly one `done` answer; workers also post a `report` with their stats every second.
 * @module
 */
import type { SentinelModel, Slot } from "../../models/mod.ts";
import type { BackendInfo } from "../admin/control.ts";
import type { ProxyConfig } from "../core/config.ts";
import type { StatsSnapshot } from "../core/stats.ts";
import type { OpsAnswer, OpsQuery } from "../core/ops.ts";
import type { LoadViews } from "../stats/load.ts";

/** What the primary asks of a worker. */
export type WorkerRequest =
  | {
    op: "init";
    id: number;
    /** The worker's config: the primary's, with the listener address it bound and its share of max clients. */
    config: ProxyConfig;
    slots: Slot[];
    version: string;
    online: boolean;
    /** Session ids are `index + 1 + k * count`, unique across the threads (the primary is index 0). */
    index: number;
    count: number;
    /** The primary's `--log-level` and `--log` file, so that every thread logs alike. */
    logLevel?: string;
    logFile?: string;
  }
  | { op: "fillSlots"; id: number; slots: Slot[] }
  | { op: "start"; id: number }
  | { op: "setLease"; id: number; until: number; leaseMs: number; expired: boolean }
  | { op: "setSentinels"; id: number; sentinels: SentinelModel }
  | { op: "resetStats"; id: number }
  | { op: "shutdown"; id: number };

/**
 * MONITOR and CLIENT PAUSE shared by the threads, in both directions and with no answer: a thread tells the primary
 * how many monitors it has, the lines for the others' monitors and its pauses; the primary tells each thread how many
 * monitors the others have, and relays the lines and pauses.
 */
export type OpsNotice =
  | { op: "monitors"; count: number }
  | { op: "monitorLine"; line: Uint8Array }
  | { op: "pause"; ms: number; mode: 0 | 1 | 2 }
  | { op: "unpause" }
  // CLIENT LIST / CLIENT KILL over every thread: a thread asks (`ask`), the primary queries the others (`query`,
  // answered by `reply`) and answers the asker with what they said (`answer`).
  | { op: "ask"; qid: number; query: OpsQuery }
  | { op: "answer"; qid: number; answers: OpsAnswer[] }
  | { op: "query"; qid: number; query: OpsQuery }
  | { op: "reply"; qid: number; answer: OpsAnswer };

/** What a worker tells the primary. */
export type WorkerMessage =
  | { op: "done"; id: number; error?: string }
  | {
    op: "report";
    stats: StatsSnapshot;
    backends: BackendInfo[];
    load?: LoadViews;
    /** The thread's `backend_write_acks` counters, when the setting is on. */
    writeAcks?: Record<string, number>;
  }
  | OpsNotice;
