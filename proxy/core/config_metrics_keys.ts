/**
 * The proxy's metrics reporting keys: the JSON overview POSTed to a URL, InfluxDB and StatsD. Kept apart from
 * config_keys.ts, which spreads them into the key table at their place in the default TOML.
 * @module
 */
import { secretFileDoc, secretSpec } from "../../util/secrets.ts";
import type { ConfigKeyDef } from "../../util/config_table.ts";

/** The metrics reporting part of the proxy configuration. */
export interface ProxyMetricsConfig {
  /** URL to POST the JSON overview to periodically. */
  metrics_report_server: string;
  /** Period of metrics_report_server reports. */
  metrics_report_period: number;
  /** InfluxDB URL. */
  metrics_report_influxdb_server: string;
  /** Period of InfluxDB reports. */
  metrics_report_influxdb_period: number;
  /** InfluxDB user. */
  metrics_report_influxdb_username: string;
  /** InfluxDB password. */
  metrics_report_influxdb_password: string;
  /** A file holding metrics_report_influxdb_password. */
  metrics_report_influxdb_password_file: string;
  /** InfluxDB database. */
  metrics_report_influxdb_database: string;
  /** StatsD address HOST:PORT. */
  metrics_report_statsd_server: string;
  /** Period of StatsD reports. */
  metrics_report_statsd_period: number;
  /** StatsD metric name prefix. */
  metrics_report_statsd_prefix: string;
}

/** Key table entries of {@link ProxyMetricsConfig}, in the default TOML's order. */
export const METRICS_KEYS: { [K in keyof ProxyMetricsConfig]: ConfigKeyDef } = {
  metrics_report_server: {
    section: "Metrics reporting",
    kind: "string",
    def: "",
    doc: "URL to POST the JSON overview to periodically. Empty disables.",
  },
  metrics_report_period: { kind: "duration", def: "1s", doc: "Period of metrics_report_server reports." },
  metrics_report_influxdb_server: { kind: "string", def: "", doc: "InfluxDB URL. Empty disables." },
  metrics_report_influxdb_period: { kind: "duration", def: "1s", doc: "Period of InfluxDB reports." },
  metrics_report_influxdb_username: { kind: "string", def: "", doc: "InfluxDB user." },
  metrics_report_influxdb_password: { secret: true, kind: "string", def: "", doc: "InfluxDB password." },
  metrics_report_influxdb_password_file: {
    kind: "string",
    def: "",
    doc: secretFileDoc(secretSpec("metrics_report_influxdb_password")),
  },
  metrics_report_influxdb_database: { kind: "string", def: "", doc: "InfluxDB database." },
  metrics_report_statsd_server: { kind: "string", def: "", doc: "StatsD address HOST:PORT. Empty disables." },
  metrics_report_statsd_period: { kind: "duration", def: "1s", doc: "Period of StatsD reports." },
  metrics_report_statsd_prefix: { kind: "string", def: "", doc: "StatsD metric name prefix." },
};
