/** The dashboard's self-description (`/codis3/{product}/topom`, `GET /api/topom/model`), as Codis's `models.Topom`. */
export interface TopomModel {
  token: string;
  start_time: string;
  admin_addr: string;
  product_name: string;
  pid: number;
  pwd: string;
  sys: string;
}
