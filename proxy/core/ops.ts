/**
 * The proxy's operator state: its slow log, MONITOR's feed and CLIENT PAUSE. The per-request path tests one field,
 * {@link OperatorHooks.active}, and does nothing more while no monitor is attached and no pause is in force.
 * @module
 */
import { ClientPause } from "./client_pause.ts";
import type { ProxyOpsConfig } from "./config_ops_keys.ts";
import { MonitorFeed } from "./monitor_feed.ts";
import { SlowLog } from "./slowlog.ts";

/** One proxy's (one worker thread's) slow log, monitors and pause. */
export class OperatorHooks {
  /** Non-zero while a monitor is attached or a pause is in force: the one check each request makes. */
  active = 0;
  readonly slowlog: SlowLog;
  readonly monitors: MonitorFeed;
  readonly pause: ClientPause;

  constructor(cfg: ProxyOpsConfig) {
    this.slowlog = new SlowLog(cfg.slowlog_log_slower_than, cfg.slowlog_max_len);
    const update = () => this.active = (this.monitors.size > 0 ? 1 : 0) | (this.pause.mode !== 0 ? 2 : 0);
    this.monitors = new MonitorFeed(update);
    this.pause = new ClientPause(update);
  }

  close(): void {
    this.pause.close();
  }
}
