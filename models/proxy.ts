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
}

/** Sentinel settings (`/codis3/{product}/sentinel`). */
export interface SentinelModel {
  servers?: string[];
  out_of_sync: boolean;
}
