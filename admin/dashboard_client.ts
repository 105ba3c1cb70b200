/**
 * A client for the dashboard's HTTP API (reference 3.1, `topom/api_schemas.ts`) and its Raft operator routes,
 * as codis-admin uses it: it learns the product name from `GET /api/topom/model` (unless given), derives the
 * xauth from product name and product auth, and checks it with xping before the first command.
 * @module
 */
import type { Group, ProxyModel, SlotMapping, TopomModel, TopomStats } from "../models/mod.ts";
import { newXAuth } from "../util/xauth.ts";
import { AdminError, JsonHttp, type JsonHttpOptions } from "./http.ts";

/** Options of {@link DashboardClient}. */
export interface DashboardClientOptions extends JsonHttpOptions {
  /** product_auth; part of the dashboard's xauth. */
  auth?: string;
  /** The product name; learnt from the dashboard's model when absent. */
  productName?: string;
}

/** `GET /topom`: the dashboard's overview. */
export interface TopomOverview {
  version?: string;
  compile?: string;
  config?: unknown;
  model?: TopomModel;
  stats?: TopomStats;
}

/** One `slots/assign` entry. */
export interface SlotAssignment {
  id: number;
  group_id: number;
  action: Record<string, never>;
}

/** A path segment: percent-encoded, but with `:` kept so that HOST:PORT reads as in Codis's URLs. */
export function seg(v: string | number): string {
  return encodeURIComponent(String(v)).replace(/%3A/gi, ":");
}

/** The dashboard API client. Call {@link connect} once before the authenticated methods. */
export class DashboardClient {
  readonly http: JsonHttp;
  #xauth: string | undefined;
  #product: string | undefined;

  constructor(addrs: string[], readonly opts: DashboardClientOptions = {}) {
    this.http = new JsonHttp(addrs, opts);
    this.#product = opts.productName;
  }

  /** The product name in use (after {@link connect}). */
  get productName(): string | undefined {
    return this.#product;
  }

  /** Learns the product name if needed, derives the xauth and checks it (`xping`). */
  async connect(): Promise<void> {
    if (this.#product === undefined) {
      const m = await this.model();
      if (typeof m?.product_name !== "string") throw new AdminError("dashboard model has no product_name");
      this.#product = m.product_name;
    }
    this.#xauth = newXAuth(this.#product, this.opts.auth ?? "");
    await this.http.request("GET", `/api/topom/xping/${this.#xauth}`);
  }

  get #x(): string {
    if (this.#xauth === undefined) throw new AdminError("internal: dashboard client used before connect()");
    return this.#xauth;
  }

  #put(path: string, body?: unknown): Promise<unknown> {
    return this.http.request("PUT", `/api/topom/${path}`, body);
  }

  /** GET /api/topom/model (no auth). */
  model(): Promise<TopomModel> {
    return this.http.request("GET", "/api/topom/model");
  }
  /** GET /topom (no auth). */
  overview(): Promise<TopomOverview> {
    return this.http.request("GET", "/topom");
  }
  /** GET /api/topom/stats/:xauth. */
  stats(): Promise<TopomStats> {
    return this.http.request("GET", `/api/topom/stats/${this.#x}`);
  }
  /** GET /api/topom/slots/:xauth. */
  slots(): Promise<unknown> {
    return this.http.request("GET", `/api/topom/slots/${this.#x}`);
  }
  /** PUT /api/topom/reload/:xauth. */
  async reload(): Promise<void> {
    await this.#put(`reload/${this.#x}`);
  }
  /** PUT /api/topom/shutdown/:xauth. */
  async shutdown(): Promise<void> {
    await this.#put(`shutdown/${this.#x}`);
  }
  /** PUT /api/topom/loglevel/:xauth/:value. */
  async logLevel(level: string): Promise<void> {
    await this.#put(`loglevel/${this.#x}/${seg(level)}`);
  }

  /** PUT /api/topom/proxy/create/:xauth/:addr. */
  async createProxy(addr: string): Promise<void> {
    await this.#put(`proxy/create/${this.#x}/${seg(addr)}`);
  }
  /** PUT /api/topom/proxy/online/:xauth/:addr. */
  async onlineProxy(addr: string): Promise<void> {
    await this.#put(`proxy/online/${this.#x}/${seg(addr)}`);
  }
  /** PUT /api/topom/proxy/reinit/:xauth/:token. */
  async reinitProxy(token: string): Promise<void> {
    await this.#put(`proxy/reinit/${this.#x}/${seg(token)}`);
  }
  /** PUT /api/topom/proxy/remove/:xauth/:token/:force. */
  async removeProxy(token: string, force: boolean): Promise<void> {
    await this.#put(`proxy/remove/${this.#x}/${seg(token)}/${force ? 1 : 0}`);
  }

  /** PUT /api/topom/group/create/:xauth/:gid. */
  async createGroup(gid: number): Promise<void> {
    await this.#put(`group/create/${this.#x}/${gid}`);
  }
  /** PUT /api/topom/group/remove/:xauth/:gid. */
  async removeGroup(gid: number): Promise<void> {
    await this.#put(`group/remove/${this.#x}/${gid}`);
  }
  /** PUT /api/topom/group/resync/:xauth/:gid. */
  async resyncGroup(gid: number): Promise<void> {
    await this.#put(`group/resync/${this.#x}/${gid}`);
  }
  /** PUT /api/topom/group/add/:xauth/:gid/:addr[/:datacenter]. */
  async groupAddServer(gid: number, addr: string, datacenter?: string): Promise<void> {
    const dc = datacenter ? `/${seg(datacenter)}` : "";
    await this.#put(`group/add/${this.#x}/${gid}/${seg(addr)}${dc}`);
  }
  /** PUT /api/topom/group/del/:xauth/:gid/:addr. */
  async groupDelServer(gid: number, addr: string): Promise<void> {
    await this.#put(`group/del/${this.#x}/${gid}/${seg(addr)}`);
  }
  /** PUT /api/topom/group/promote/:xauth/:gid/:addr. */
  async groupPromoteServer(gid: number, addr: string): Promise<void> {
    await this.#put(`group/promote/${this.#x}/${gid}/${seg(addr)}`);
  }
  /** PUT /api/topom/group/promote/:xauth/:gid: the dashboard picks the replica; resolves with its address. */
  async groupPromoteBest(gid: number): Promise<string> {
    const r = await this.#put(`group/promote/${this.#x}/${gid}`) as { promoted?: string };
    return r?.promoted ?? "";
  }
  /** PUT /api/topom/group/replica-groups/:xauth/:gid/:addr/:value. */
  async replicaGroups(gid: number, addr: string, enable: boolean): Promise<void> {
    await this.#put(`group/replica-groups/${this.#x}/${gid}/${seg(addr)}/${enable ? 1 : 0}`);
  }
  /** PUT /api/topom/group/action/create/:xauth/:addr. */
  async syncCreateAction(addr: string): Promise<void> {
    await this.#put(`group/action/create/${this.#x}/${seg(addr)}`);
  }
  /** PUT /api/topom/group/action/remove/:xauth/:addr. */
  async syncRemoveAction(addr: string): Promise<void> {
    await this.#put(`group/action/remove/${this.#x}/${seg(addr)}`);
  }

  /** PUT /api/topom/slots/action/create/:xauth/:sid/:gid. */
  async slotCreateAction(sid: number, gid: number): Promise<void> {
    await this.#put(`slots/action/create/${this.#x}/${sid}/${gid}`);
  }
  /** PUT /api/topom/slots/action/create-some/:xauth/:src/:dst/:num. */
  async slotCreateActionSome(src: number, dst: number, num: number): Promise<void> {
    await this.#put(`slots/action/create-some/${this.#x}/${src}/${dst}/${num}`);
  }
  /** PUT /api/topom/slots/action/create-range/:xauth/:beg/:end/:gid. */
  async slotCreateActionRange(beg: number, end: number, gid: number): Promise<void> {
    await this.#put(`slots/action/create-range/${this.#x}/${beg}/${end}/${gid}`);
  }
  /** PUT /api/topom/slots/action/remove/:xauth/:sid. */
  async slotRemoveAction(sid: number): Promise<void> {
    await this.#put(`slots/action/remove/${this.#x}/${sid}`);
  }
  /** PUT /api/topom/slots/action/interval/:xauth/:value. */
  async setSlotActionInterval(us: number): Promise<void> {
    await this.#put(`slots/action/interval/${this.#x}/${us}`);
  }
  /** PUT /api/topom/slots/action/disabled/:xauth/:value. */
  async setSlotActionDisabled(disabled: boolean): Promise<void> {
    await this.#put(`slots/action/disabled/${this.#x}/${disabled ? 1 : 0}`);
  }
  /** PUT /api/topom/slots/action/resume/:xauth/:sid (ours). */
  async slotResumeAction(sid: number): Promise<void> {
    await this.#put(`slots/action/resume/${this.#x}/${sid}`);
  }
  /** PUT /api/topom/slots/assign/:xauth with `[{id, group_id}]`. */
  async slotsAssignGroup(slots: SlotAssignment[]): Promise<void> {
    await this.#put(`slots/assign/${this.#x}`, slots);
  }
  /** PUT /api/topom/slots/assign/:xauth/offline with `[{id, group_id: 0}]`. */
  async slotsAssignOffline(slots: SlotAssignment[]): Promise<void> {
    await this.#put(`slots/assign/${this.#x}/offline`, slots);
  }
  /** PUT /api/topom/slots/rebalance/:xauth/:confirm; answers the plan `{"<sid>": gid}`. */
  async slotsRebalance(confirm: boolean): Promise<Record<string, number>> {
    return ((await this.#put(`slots/rebalance/${this.#x}/${confirm ? 1 : 0}`)) ?? {}) as Record<string, number>;
  }

  /** PUT /api/topom/sentinels/add/:xauth/:addr. */
  async addSentinel(addr: string): Promise<void> {
    await this.#put(`sentinels/add/${this.#x}/${seg(addr)}`);
  }
  /** PUT /api/topom/sentinels/del/:xauth/:addr/:force. */
  async delSentinel(addr: string, force: boolean): Promise<void> {
    await this.#put(`sentinels/del/${this.#x}/${seg(addr)}/${force ? 1 : 0}`);
  }
  /** PUT /api/topom/sentinels/resync-all/:xauth. */
  async resyncSentinels(): Promise<void> {
    await this.#put(`sentinels/resync-all/${this.#x}`);
  }

  /** GET /api/topom/raft/status (no auth). */
  raftStatus(): Promise<unknown> {
    return this.http.request("GET", "/api/topom/raft/status");
  }
  /** PUT /api/topom/raft/add/:xauth/:id/:addr[?learner=1]. */
  async raftAdd(id: number, addr: string, learner: boolean): Promise<unknown> {
    return await this.#put(`raft/add/${this.#x}/${id}/${seg(addr)}${learner ? "?learner=1" : ""}`);
  }
  /** PUT /api/topom/raft/promote/:xauth/:id. */
  async raftPromote(id: number): Promise<unknown> {
    return await this.#put(`raft/promote/${this.#x}/${id}`);
  }
  /** PUT /api/topom/raft/remove/:xauth/:id. */
  async raftRemove(id: number): Promise<unknown> {
    return await this.#put(`raft/remove/${this.#x}/${id}`);
  }
  /** PUT /api/topom/raft/transfer/:xauth/:id. */
  async raftTransfer(id: number): Promise<unknown> {
    return await this.#put(`raft/transfer/${this.#x}/${id}`);
  }
}

/** The groups of a stats answer, tolerant of a dashboard that leaves parts out. */
export function statsGroups(s: TopomStats | undefined): Group[] {
  return s?.group?.models ?? [];
}

/** The proxies of a stats answer. */
export function statsProxies(s: TopomStats | undefined): ProxyModel[] {
  return s?.proxy?.models ?? [];
}

/** The slot mappings `beg..end` (inclusive) for group `gid` (0 = offline), as Codis's --slots-assign builds them. */
export function slotRange(beg: number, end: number, gid: number): SlotAssignment[] {
  const out: SlotAssignment[] = [];
  for (let id = beg; id <= end; id++) out.push({ id, group_id: gid, action: {} });
  return out;
}

/** Re-exported for callers that format slot mappings. */
export type { SlotMapping };
