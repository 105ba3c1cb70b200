/**
 * Entry point of a proxy worker thread (worker mode, `proxy_workers > 1`): a full data path — its own listener on
 * the shared address (SO_REUSEPORT), sessions and backend connections — driven by the primary thread, which keeps
 * the admin API and the dashboard connection and fans every model change out to the workers.
 * @module
 */
/// <reference no-default-lib="true" />
/// <reference lib="deno.worker" />
import { setLogLevel } from "../../util/log.ts";
import { logToFile } from "../../util/log_file.ts";
import { Proxy } from "../proxy.ts";
import type { OpsNotice, WorkerMessage, WorkerRequest } from "./protocol.ts";
import type { OpsAnswer } from "../core/ops.ts";

let proxy: Proxy | null = null;
let reporter: ReturnType<typeof setInterval> | undefined;
/** This thread's questions to the others, by id, waiting for the primary's answer. */
const asking = new Map<number, (answers: OpsAnswer[]) => void>();
let nextQid = 1;

function post(m: WorkerMessage): void {
  self.postMessage(m);
}

function report(): void {
  if (proxy !== null) {
    post({
      op: "report",
      stats: proxy.stats.snapshot(),
      backends: proxy.backends(),
      load: proxy.load.views(),
      writeAcks: proxy.writeAckStats(),
    });
  }
}

async function handle(m: WorkerRequest): Promise<void> {
  if (m.op === "init") {
    if (m.logLevel) setLogLevel(m.logLevel);
    if (m.logFile) logToFile(m.logFile);
    const p = new Proxy(m.config);
    proxy = p;
    p.setVersion(m.version);
    p.setSessionIds(m.index + 1, m.count);
    p.ops.setPeers({
      monitors: (count) => post({ op: "monitors", count }),
      line: (line) => post({ op: "monitorLine", line }),
      pause: (ms, mode) => post({ op: "pause", ms, mode }),
      unpause: () => post({ op: "unpause" }),
      ask: (query) =>
        new Promise((resolve) => {
          const qid = nextQid++;
          asking.set(qid, resolve);
          post({ op: "ask", qid, query });
        }),
    });
    await p.fillSlots(m.slots);
    await p.listen();
    if (m.online) p.start();
    reporter = setInterval(report, 1000);
    return;
  }
  const p = proxy;
  if (p === null) throw new Error("worker is not initialised");
  switch (m.op) {
    case "fillSlots":
      return await p.fillSlots(m.slots);
    case "start":
      return p.start();
    case "setLease":
      return await p.setLease(m.until, m.leaseMs, m.expired);
    case "setSentinels":
      return p.setSentinels(m.sentinels);
    case "resetStats":
      p.stats.reset();
      p.load.reset();
      return report();
    case "shutdown":
      clearInterval(reporter);
      await p.shutdown();
      return;
  }
}

/** MONITOR and CLIENT PAUSE from the other threads, relayed by the primary: no answer. */
function notice(m: OpsNotice): void {
  const ops = proxy?.ops;
  if (ops === undefined) return;
  if (m.op === "monitors") ops.setRemoteMonitors(m.count);
  else if (m.op === "monitorLine") ops.deliver(m.line);
  else if (m.op === "pause") ops.pause.pause(m.ms, m.mode);
  else if (m.op === "unpause") ops.pause.unpause();
  else if (m.op === "query") post({ op: "reply", qid: m.qid, answer: ops.answerQuery(m.query) });
  else if (m.op === "answer") {
    asking.get(m.qid)?.(m.answers);
    asking.delete(m.qid);
  }
}

self.onmessage = (e: MessageEvent<WorkerRequest | OpsNotice>) => {
  const m = e.data;
  if (!("id" in m)) return notice(m);
  handle(m).then(
    () => post({ op: "done", id: m.id }),
    (err) => post({ op: "done", id: m.id, error: (err as Error).message }),
  ).finally(() => {
    if (m.op === "shutdown") self.close();
  });
};
