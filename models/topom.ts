/** The dashboard's self-description (`/codis3/{product}/topom`, `GET /api/topom/model`), as Codis's `models.Topom`. */
export interface TopomModel {
  /** The dashboard's unique token. */
  token: string;
  /** When the dashboard started, as text. */
  start_time: string;
  /** HTTP API address, host:port. */
  admin_addr: string;
  /** Cluster (product) name. */
  product_name: string;
  /** Process id. */
  pid: number;
  /** Working directory. */
  pwd: string;
  /** Operating system description. */
  sys: string;
}
