/** A proxy's self-description (`/codis3/{product}/proxy/proxy-{token}`), as Codis's `models.Proxy`. */
export interface ProxyModel {
  id?: number;
  token: string;
  start_time: string;
  admin_addr: string;
  proto_type: string;
  proxy_addr: string;
  jodis_path?: string;
  product_name: string;
  pid: number;
  pwd: string;
  sys: string;
  hostname: string;
  datacenter: string;
  /**
   * The proxy's `dashboard_lease_timeout` in ms (not in Codis's model; absent or 0: no lease). The dashboard waits
   * this long after the last request it saw from a removed proxy before it stops waiting for its acknowledgement.
   */
  dashboard_lease_ms?: number;
}

/** Sentinel settings (`/codis3/{product}/sentinel`). */
export interface SentinelModel {
  servers?: string[];
  out_of_sync: boolean;
}
