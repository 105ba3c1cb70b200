/** A proxy's self-description (`/codis3/{product}/proxy/proxy-{token}`), as Codis's `models.Proxy`. */
export interface ProxyModel {
  /** Order of registration, given by the dashboard. */
  id?: number;
  /** The proxy's unique token (a hex digest of its addresses, start time and pid). */
  token: string;
  /** When the proxy started, as text. */
  start_time: string;
  /** Admin HTTP API address, host:port. */
  admin_addr: string;
  /** Client listener type (tcp4, tcp6, unix...). */
  proto_type: string;
  /** Client listener address. */
  proxy_addr: string;
  /** The proxy's Jodis node path, when it registers there. */
  jodis_path?: string;
  /** Cluster (product) name. */
  product_name: string;
  /** Process id. */
  pid: number;
  /** Working directory. */
  pwd: string;
  /** Operating system description. */
  sys: string;
  /** Host name. */
  hostname: string;
  /** Datacenter name (proxy_datacenter). */
  datacenter: string;
  /**
   * The proxy's `dashboard_lease_timeout` in ms (not in Codis's model; absent or 0: no lease). The dashboard waits
   * this long after the last request it saw from a removed proxy before it stops waiting for its acknowledgement.
   */
  dashboard_lease_ms?: number;
}

/** Sentinel settings (`/codis3/{product}/sentinel`). */
export interface SentinelModel {
  /** Sentinel addresses, host:port. */
  servers?: string[];
  /** The sentinels changed since they were last told to monitor the groups. */
  out_of_sync: boolean;
}
